/**
 * What a provider may leave on this machine once its `pulumi` command is over: private directories
 * (/tmp/pzd-<pid>-*) and ssh masters (their ControlPath is in such a directory). The test process's own
 * in-process hosts have theirs too, and are left out.
 */
import * as fs from "fs";

export interface Leftovers {
    dirs: string[];
    ssh: number[];
}

function pids(): number[] {
    return fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p)).map(Number);
}

/** Reads a /proc file of a process that may be gone meanwhile. */
function procText(pid: number, file: string): string | undefined {
    try {
        return fs.readFileSync(`/proc/${pid}/${file}`, "utf8");
    } catch {
        return undefined;
    }
}

export function providerDirs(): string[] {
    return fs.readdirSync("/tmp").filter((d) => /^pzd-\d+-\w{6}$/.test(d) && !d.startsWith(`pzd-${process.pid}-`)).sort();
}

export function leftovers(): Leftovers {
    const ssh = pids().filter((pid) => {
        if (procText(pid, "comm")?.trim() !== "ssh") return false;
        const args = procText(pid, "cmdline")?.replace(/\0/g, " ") ?? "";
        return /ControlPath=\/tmp\/pzd-\d+-/.test(args) && !args.includes(`/tmp/pzd-${process.pid}-`);
    });
    return { dirs: providerDirs(), ssh };
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (error) {
        return (error as NodeJS.ErrnoException).code === "EPERM";
    }
}

/**
 * What a test compares against afterwards: the leftovers now, less directories whose owner is dead.
 * Those (an earlier run's SIGKILLed provider) are swept by the next provider that starts, so they
 * must not count as something that should have stayed.
 */
export function baseline(): Leftovers {
    const now = leftovers();
    return { ...now, dirs: now.dirs.filter((d) => alive(Number(/^pzd-(\d+)-/.exec(d)![1]))) };
}

/**
 * Polls until the leftovers are back to `before`, for up to `timeoutMs`: a provider's cleanup ends a
 * moment after its CLI, and a provider orphaned by a killed CLI first lets its remote commands finish.
 */
export async function settled(before: Leftovers, timeoutMs = 10_000): Promise<Leftovers> {
    const deadline = Date.now() + timeoutMs;
    let after = leftovers();
    while (JSON.stringify(after) !== JSON.stringify(before) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        after = leftovers();
    }
    return after;
}

/** A killed CLI orphans the engine's language host (and the program under it): not ours, but a test must not leak it. */
export function killLanguageHostsIn(projectDir: string): void {
    for (const pid of pids()) {
        if (!procText(pid, "comm")?.startsWith("pulumi-language")) continue;
        try {
            if (fs.readlinkSync(`/proc/${pid}/cwd`) === projectDir) process.kill(pid, "SIGKILL");
        } catch {
            // Gone meanwhile.
        }
    }
}
