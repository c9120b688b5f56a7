/**
 * A real POSIX shell is the consumer of every script we build, so the unit tests hand the scripts to
 * one instead of pattern-matching their text: what matters is which argv the tools would receive.
 * Nothing here stands in for the code under test; the fake tools only record what they were given.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

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
