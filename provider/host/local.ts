/** The machine running Pulumi, for `connection: { type: "local" }`. Same framing as over SSH. */
import execa from "execa";
import type { LocalConnection } from "../connection";
import { RemoteCommandError } from "./errors";
import type { Host, HostStats, RunOptions, RunResult } from "./host";
import { Shell } from "./quote";
import { frameScript, remoteCommand } from "./script";
import { sudoHint } from "./ssh";

export class LocalHost implements Host {
    readonly name = "localhost";
    readonly stats: HostStats = { connections: 0, roundTrips: 0, writes: 0 };

    constructor(private readonly connection: LocalConnection) {}

    async run(script: Shell, options: RunOptions): Promise<RunResult> {
        const { command, stdinPrefix } = remoteCommand(this.connection);
        const started = Date.now();
        this.stats.roundTrips++;
        if (options.mutating) {
            this.stats.writes++;
        }
        const result = await execa("sh", ["-c", command], { input: stdinPrefix + frameScript(script), reject: false, stripFinalNewline: false });
        const exitCode = result.exitCode ?? -1;
        if (exitCode !== 0 && !(options.allowExitCodes ?? []).includes(exitCode)) {
            throw new RemoteCommandError(this.name, options.step, exitCode, result.stderr, Date.now() - started, sudoHint(result.stderr) ?? options.hint ?? "", String(script));
        }
        return { stdout: result.stdout, stderr: result.stderr, exitCode };
    }

    async close(): Promise<void> {}
}
