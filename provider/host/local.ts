/** The machine running Pulumi, for `connection: { type: "local" }`. Same framing as over SSH. */
import execa from "execa";
import type { LocalConnection } from "../connection";
import type { Host, HostStats, RunOptions, RunResult } from "./host";
import { settle } from "./host";
import { Shell } from "./quote";
import { frameScript, localTimeoutMs, remoteCommand, timeoutSecondsFor } from "./script";

export class LocalHost implements Host {
    readonly name = "localhost";
    readonly stats: HostStats = { connections: 0, roundTrips: 0, writes: 0 };

    constructor(private readonly connection: LocalConnection) {}

    async run(script: Shell, options: RunOptions): Promise<RunResult> {
        const { command, stdinPrefix } = remoteCommand(this.connection);
        const timeoutSeconds = timeoutSecondsFor(options);
        const started = Date.now();
        this.stats.roundTrips++;
        if (options.mutating) {
            this.stats.writes++;
        }
        const result = await execa("sh", ["-c", command], {
            input: stdinPrefix + frameScript(script, timeoutSeconds),
            reject: false,
            stripFinalNewline: false,
            timeout: localTimeoutMs(timeoutSeconds),
        });
        return settle(this.name, script, options, result, { started, timeoutSeconds, sudo: this.connection.sudo });
    }

    async close(): Promise<void> {}
}
