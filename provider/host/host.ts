/** What a resource needs from a machine: run a script, count what it did. */
import { permissionHint, RemoteCommandError, RemoteTimeoutError, sudoHint } from "./errors";
import { Shell } from "./quote";
import { TIMEOUT_EXIT, TIMEOUT_MARKER } from "./script";
import { traceRoundTrip } from "./trace";

export interface RunOptions {
    /** Human name of the step, for errors and logs ("create zvol tank/docker"). */
    step: string;
    /** True when the script changes the host: counted, and serialized per host by the caller. */
    mutating: boolean;
    /** What to do when it fails; goes into the error. */
    hint?: string;
    /** Return instead of throwing on these exit codes. */
    allowExitCodes?: number[];
    /**
     * How long the step may run on the host before it is stopped, in whole seconds. Default
     * READ_TIMEOUT_SECONDS or MUTATION_TIMEOUT_SECONDS (script.ts); PZD_TIMEOUT_SECONDS overrides all.
     */
    timeoutSeconds?: number;
    /**
     * At most this many dials if the connection has to be opened (default: the connection's
     * dialErrorLimit). A best-effort look after a failed apply gives up quickly on a host that went away.
     */
    dialAttempts?: number;
    /** The part of the script an error names the tools of: an apply sent with the read that verifies it is about the apply. */
    about?: Shell;
}

export interface RunResult {
    stdout: string;
    stderr: string;
    exitCode: number;
}

export interface HostStats {
    /** Connections opened (SSH dials that succeeded, or 0 for local). */
    connections: number;
    /** Scripts run: each is one round trip over an open connection. */
    roundTrips: number;
    /** Scripts that changed the host. */
    writes: number;
}

export interface Host {
    readonly name: string;
    run(script: Shell, options: RunOptions): Promise<RunResult>;
    readonly stats: HostStats;
    close(): Promise<void>;
}

/** How a framed script ended, as execa reports it. */
export interface Finished {
    exitCode?: number | null;
    stdout: string;
    stderr: string;
    /** Our local limit (execa's `timeout`) stopped it. */
    timedOut?: boolean;
}

export interface SettleContext {
    /** Date.now() when the step started. */
    started: number;
    /** The limit the script was framed with (timeoutSecondsFor). */
    timeoutSeconds: number;
    /** The connection runs as root through sudo: decides what a "Permission denied" hint says. */
    sudo: boolean;
    /** The transport's own reading of the failure (ssh's exit 255), which wins over the others. */
    transportHint?: string;
}

/**
 * Shared by every Host: a finished run becomes its result, or the typed error that tells what
 * happened: RemoteTimeoutError when a limit stopped it, RemoteCommandError (with a hint) otherwise.
 */
export function settle(hostName: string, script: Shell, options: RunOptions, run: Finished, context: SettleContext): RunResult {
    const durationMs = Date.now() - context.started;
    const lines = run.stderr.split("\n");
    const onHost = lines.some((l) => l.startsWith(TIMEOUT_MARKER));
    const stderr = onHost ? lines.filter((l) => !l.startsWith(TIMEOUT_MARKER)).join("\n") : run.stderr;
    const exitCode = run.exitCode ?? -1;
    traceRoundTrip({ at: context.started, ms: durationMs, host: hostName, step: options.step, mutating: options.mutating, exitCode });
    if ((onHost && exitCode === TIMEOUT_EXIT) || run.timedOut) {
        throw new RemoteTimeoutError(hostName, options.step, context.timeoutSeconds, stderr, durationMs, String(options.about ?? script), options.mutating, onHost ? "host" : "local");
    }
    if (exitCode !== 0 && !(options.allowExitCodes ?? []).includes(exitCode)) {
        const hint = context.transportHint ?? sudoHint(stderr) ?? permissionHint(stderr, context.sudo) ?? options.hint ?? "";
        throw new RemoteCommandError(hostName, options.step, exitCode, stderr, durationMs, hint, String(options.about ?? script));
    }
    return { stdout: run.stdout, stderr, exitCode };
}
