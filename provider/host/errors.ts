/** Typed errors that carry the whole story and say what to do next. */
import { TIMEOUT_ENV, TIMEOUT_EXIT, toolsIn } from "./script";

/**
 * A command on a host failed. The message is short; `details` has the masked script and stderr.
 * When the tool's own words do not say which tool it was, the message names the tools the step runs.
 */
export class RemoteCommandError extends Error {
    readonly name: string = "RemoteCommandError";
    /** The host tools the step's script runs (zfs, blkid, systemctl...), in order. */
    readonly tools: string[];
    constructor(
        readonly host: string,
        readonly step: string,
        readonly exitCode: number | undefined,
        readonly stderr: string,
        readonly durationMs: number,
        readonly hint: string,
        readonly script?: string,
    ) {
        const tools = script === undefined ? [] : toolsIn(script);
        const said = lastLines(stderr, 6);
        const runs = tools.length > 0 && !tools.some((t) => said.includes(t)) ? `; it runs ${tools.join(", ")}` : "";
        super(`${step} failed on ${host} (exit ${exitCode ?? "unknown"} after ${durationMs} ms${runs}): ${said || "no error output"}${hint ? `\nWhat to do: ${hint}` : ""}`);
        this.tools = tools;
    }
}

/**
 * A step did not finish within its time limit and was stopped. A RemoteCommandError too, so whoever
 * handles failed commands handles this one; `timedOut` tells it apart, as in execa.
 */
export class RemoteTimeoutError extends RemoteCommandError {
    readonly name: string = "RemoteTimeoutError";
    readonly timedOut = true;
    constructor(
        host: string,
        step: string,
        readonly timeoutSeconds: number,
        stderr: string,
        durationMs: number,
        script: string,
        readonly mutating: boolean,
        /** "host": the host's own `timeout` stopped it; "local": only our end was stopped (no GNU timeout there, or the connection hung). */
        readonly stoppedBy: "host" | "local",
    ) {
        super(host, step, stoppedBy === "host" ? TIMEOUT_EXIT : undefined, stderr, durationMs, "", script);
        const tools = this.tools;
        const culprit = tools.length === 0 ? "one of its commands" : tools.length === 1 ? tools[0] : `one of ${tools.join(", ")} (the tools it runs)`;
        const stopped =
            stoppedBy === "host"
                ? "and was stopped on the host"
                : `and our end was stopped after ${Math.round(durationMs / 1000)} s; the host has no GNU timeout (or the connection hung), so what it started may still be running there`;
        const effect = mutating
            ? "It was changing the host: what it finished before it was stopped stays, and a file it was replacing is either the old or the new one, never half of each. "
            : "It only reads the host: nothing was changed. ";
        // The shell's own "Terminated" for the killed tool says nothing the message does not.
        const said = lastLines(stderr.split("\n").filter((l) => l.trim() !== "Terminated" && l.trim() !== "Killed").join("\n"), 4);
        this.message =
            `${step} on ${host} did not finish within ${timeoutSeconds} s ${stopped}; the host may be hung on ${culprit}. ${effect}` +
            (said ? `Its last words: ${said}\n` : "") +
            `What to do: log in to ${host} and look for the stuck process (ps -eo pid,stat,etime,args${tools.length > 0 ? ` | grep -E '${tools.join("|")}'` : ""}); ` +
            "one in state D waits on the kernel, e.g. a suspended pool (zpool status -x) or a failing disk (dmesg). " +
            `When it answers again, run ${mutating ? "`pulumi refresh`, then " : ""}\`pulumi up\`. ` +
            `If the host is only slow, give every step more time with ${TIMEOUT_ENV}=<seconds> in the environment of pulumi.`;
    }
}

/** We could not reach or authenticate to a host. Dials are retried before this is thrown. */
export class ConnectionError extends Error {
    readonly name = "ConnectionError";
    constructor(
        readonly host: string,
        readonly attempts: number,
        readonly stderr: string,
    ) {
        super(`could not connect to ${host} after ${attempts} attempt(s): ${lastLines(stderr, 4)}\n${connectionHint(stderr)}`);
    }
}

/** A host's output did not have the shape a parser expects. The raw text is kept for the bug report. */
export class ParseError extends Error {
    readonly name = "ParseError";
    constructor(
        readonly what: string,
        readonly raw: string,
    ) {
        super(
            `could not parse ${what}: ${JSON.stringify(raw.slice(0, 400))}. The tool printed something this package does not expect ` +
                "(a broken installation, a version it does not know, or a bug in pulumi-zfs-docker). " +
                "What to do: run that command on the host by hand; if its output looks right, please report it with this output.",
        );
    }
}

/** The desired state cannot be reached safely; nothing on the host was changed. */
export class RefusedError extends Error {
    readonly name = "RefusedError";
    constructor(message: string) {
        super(message);
    }
}

/** sudo itself refused: what to change in the connection. */
export function sudoHint(stderr: string): string | undefined {
    if (/sudo: a password is required|sudo: no askpass program|incorrect password attempt|sudo: a terminal is required/.test(stderr)) {
        return "sudo needs a password for this user: set connection.sudoPassword (kept secret), or allow NOPASSWD for it";
    }
    if (/is not in the sudoers file|not allowed to execute/.test(stderr)) {
        return "this user may not use sudo: connect as root or grant it sudo rights";
    }
    return undefined;
}

/** A tool refused for lack of rights (zfs as a plain user, the Docker socket, systemd over D-Bus). */
export function permissionHint(stderr: string, sudo: boolean): string | undefined {
    if (!/Permission denied|must be run as root|Operation not permitted|Access denied|Interactive authentication required|not permitted to|insufficient privileges/i.test(stderr)) {
        return undefined;
    }
    return sudo
        ? "the host refused the tool even through sudo: check that sudo gives root there (sudo -n id), and look for SELinux or AppArmor denials in its logs"
        : "the user this connects as lacks the rights for it: connect as root, or set connection.sudo: true (with connection.sudoPassword if sudo asks for one)";
}

function lastLines(text: string, count: number): string {
    return text.trim().split("\n").slice(-count).join("\n");
}

function connectionHint(stderr: string): string {
    if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(stderr)) {
        return "What to do: pin the server's key with connection.hostKey (the line from /etc/ssh/ssh_host_ed25519_key.pub), add it to known_hosts, or set connection.acceptUnknownHostKey=true to trust it on first use.";
    }
    if (/Permission denied/i.test(stderr)) {
        return "What to do: check connection.user and the key or password; the server refused them.";
    }
    return "What to do: check connection.host and connection.port, and that sshd runs on the host.";
}

/** An apply ran without error, but reading the host again shows the change did not take. */
export class NotAppliedError extends Error {
    readonly name = "NotAppliedError";
    constructor(readonly pending: string[]) {
        super(
            `the host did not take every change: after applying, it still needs ${pending.join("; ")}. ` +
                "What to do: check the host's logs and whether a tool ignored the request (e.g. a property the installed OpenZFS does not support), then run `pulumi up` again.",
        );
    }
}
