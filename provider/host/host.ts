/** What a resource needs from a machine: run a script, count what it did. */
import { Shell } from "./quote";

export interface RunOptions {
    /** Human name of the step, for errors and logs ("create zvol tank/docker"). */
    step: string;
    /** True when the script changes the host: counted, and serialized per host by the caller. */
    mutating: boolean;
    /** What to do when it fails; goes into the error. */
    hint?: string;
    /** Return instead of throwing on these exit codes. */
    allowExitCodes?: number[];
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
