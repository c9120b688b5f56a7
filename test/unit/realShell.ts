/**
 * A real POSIX shell is the consumer of every script we build, so the unit tests hand the scripts to
 * one instead of pattern-matching their text: what matters is which argv the tools would receive.
 * Nothing here stands in for the code under test; the fake tools only record what they were given.
 */
import { spawnSync } from "child_process";
import execa from "execa";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Host, RunOptions, RunResult } from "../../provider/host/host";
import { settle } from "../../provider/host/host";
import type { Shell } from "../../provider/host/quote";
import { frameScript, localTimeoutMs, remoteCommand, SCRIPT_PREAMBLE, timeoutSecondsFor } from "../../provider/host/script";

export interface ShellRun {
    status: number | null;
    stdout: string;
    stderr: string;
}

/** Runs `shell -c command` (dash is /bin/sh on Debian; bash is sh on RHEL-likes). */
export function runShell(command: string, options: { shell?: string; input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): ShellRun {
    const result = spawnSync(options.shell ?? "/bin/sh", ["-c", command], {
        input: options.input ?? "",
        env: options.env ?? process.env,
        cwd: options.cwd,
        encoding: "utf8",
        timeout: 10_000,
    });
    if (result.error) {
        throw result.error;
    }
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The argv a shell builds from `words` (already quoted shell text), byte for byte. */
export function wordsOf(words: string, cwd?: string): string[] {
    // printf '%s\0' keeps empty words, newlines and trailing spaces visible.
    const run = runShell(`printf '%s\\0' ${words}`, { cwd });
    if (run.status !== 0) {
        throw new Error(`the shell rejected ${JSON.stringify(words)}: ${run.stderr}`);
    }
    const out = run.stdout.split("\0");
    out.pop();
    return out;
}

export interface Invocation {
    tool: string;
    args: string[];
}

const RECORDER = `#!/bin/sh
{ printf '%s\\0' "$#" "\${0##*/}"; for a in "$@"; do printf '%s\\0' "$a"; done; } >>"$PZD_RECORD"
`;

/**
 * Runs a script with `tools` replaced by recorders on PATH and returns every call in order,
 * plus the shell's own output. Scripts that set PATH themselves (framed ones) would bypass this.
 */
export function runRecorded(script: string, tools: string[]): ShellRun & { calls: Invocation[] } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pzd-unit-"));
    try {
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        const recorder = path.join(dir, "recorder");
        fs.writeFileSync(recorder, RECORDER, { mode: 0o755 });
        for (const tool of tools) {
            fs.symlinkSync(recorder, path.join(bin, tool));
        }
        const record = path.join(dir, "record");
        fs.writeFileSync(record, "");
        const run = runShell(script, { env: { PATH: `${bin}:/usr/bin:/bin`, PZD_RECORD: record, LC_ALL: "C" }, cwd: dir });
        return { ...run, calls: parseRecord(fs.readFileSync(record, "utf8")) };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function parseRecord(text: string): Invocation[] {
    const fields = text.split("\0");
    const calls: Invocation[] = [];
    let i = 0;
    while (i < fields.length - 1) {
        const count = Number(fields[i]);
        calls.push({ tool: fields[i + 1], args: fields.slice(i + 2, i + 2 + count) });
        i += 2 + count;
    }
    return calls;
}

/**
 * The basic programs a framed script may use besides the tools under test. A FakeToolsHost's PATH
 * holds only these and the fakes, so a tool not faked is "not installed", whatever this machine has.
 */
const BASE_PROGRAMS = [
    "sh", "dash", "bash", "cat", "date", "timeout", "sleep", "mktemp", "base64", "sha256sum", "cut", "chmod", "chown", "mv", "rm", "mkdir",
    "dirname", "basename", "readlink", "stat", "head", "tail", "grep", "wc", "sync", "env", "tr", "sed", "ls", "cp", "id", "printf",
];

/** A tool's behaviour: the body of a `#!/bin/sh` script run with the tool's arguments, after the call is recorded. */
export type FakeTools = Record<string, string>;

/**
 * A Host that runs the real framed scripts, exactly as LocalHost does (frameScript with the step's
 * limit, `sh -c` + the sudo-free remote command, settle), through /bin/sh, with `tools` as small
 * programs on PATH that record their argv. Only the framing's PATH line is changed, to put the fakes
 * first and leave out the rest of this machine. `rewrite` swaps fixed paths in a script (a zvol's
 * device node for /dev/null), so a test can give it a device that exists.
 */
export class FakeToolsHost implements Host {
    readonly stats = { connections: 0, roundTrips: 0, writes: 0 };
    /** A scratch directory the test may put files in (a daemon.json); removed by close(). */
    readonly dir: string;
    readonly scripts: string[] = [];
    private readonly bin: string;
    private readonly base: string;
    private readonly record: string;

    constructor(
        readonly name: string,
        tools: FakeTools,
        private readonly options: { rewrite?: Array<[string, string]>; sudo?: boolean } = {},
    ) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "pzd-host-"));
        this.bin = path.join(this.dir, "bin");
        this.base = path.join(this.dir, "base");
        this.record = path.join(this.dir, "record");
        fs.mkdirSync(this.bin);
        fs.mkdirSync(this.base);
        fs.writeFileSync(this.record, "");
        for (const program of BASE_PROGRAMS) {
            const real = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"].map((d) => path.join(d, program)).find((p) => fs.existsSync(p));
            if (real) fs.symlinkSync(real, path.join(this.base, program));
        }
        for (const [tool, body] of Object.entries(tools)) {
            fs.writeFileSync(path.join(this.bin, tool), RECORDER + body + "\n", { mode: 0o755 });
        }
    }

    async run(script: Shell, options: RunOptions): Promise<RunResult> {
        const { command } = remoteCommand({ sudo: false });
        const timeoutSeconds = timeoutSecondsFor(options);
        const started = Date.now();
        this.stats.roundTrips++;
        if (options.mutating) this.stats.writes++;
        this.scripts.push(script.text);
        const pathLine = /^export PATH=.*$/m.exec(SCRIPT_PREAMBLE)?.[0];
        if (!pathLine) throw new Error("the preamble no longer sets PATH: FakeToolsHost must be updated");
        let framed = frameScript(script, timeoutSeconds).replace(pathLine, `export PATH=${this.bin}:${this.base}`);
        for (const [from, to] of this.options.rewrite ?? []) framed = framed.split(from).join(to);
        const result = await execa("/bin/sh", ["-c", command], {
            input: framed,
            reject: false,
            stripFinalNewline: false,
            extendEnv: false,
            env: { PATH: this.base, PZD_RECORD: this.record, TMPDIR: this.dir, HOME: this.dir },
            timeout: localTimeoutMs(timeoutSeconds),
        });
        return settle(this.name, script, options, result, { started, timeoutSeconds, sudo: this.options.sudo ?? false });
    }

    /** Every call of a fake tool so far, in order. */
    calls(): Invocation[] {
        return parseRecord(fs.readFileSync(this.record, "utf8"));
    }

    async close(): Promise<void> {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}
