/**
 * The provider process's private 0700 directory for control sockets, pinned known_hosts, the askpass
 * helper and short-lived key files, and the cleanup that keeps none of it behind.
 *
 * The engine stops a provider with SIGINT to its process group and SIGKILLs it after a grace period,
 * so Node's "exit" handlers alone never ran (each `pulumi` command left a /tmp/pzd-* directory and its
 * ssh masters). We clean up on SIGINT/SIGTERM too, and a directory whose owner died without cleaning
 * (SIGKILL, power loss) is swept, with its masters closed, by the next provider that starts.
 */
import * as fs from "fs";
import * as path from "path";
import execa from "execa";

/** `pzd-<pid>-<random>`: the pid lets a later process tell a dead owner's directory from a live one's. */
const DIR_PATTERN = /^pzd-(\d+)-[A-Za-z0-9]{6}$/;
/** 0.2.0 named its directories `pzd-<random>`; their owner is unknown, so only old ones are swept. */
const LEGACY_DIR_PATTERN = /^pzd-[A-Za-z0-9]{6}$/;
const LEGACY_MAX_AGE_MS = 60 * 60 * 1000;

let privateDir: string | undefined;
/** Masters to close when the provider process ends, so no connection outlives the `pulumi up`. */
const openMasters = new Map<string, string>();

/** Short base path: unix socket paths are limited to ~108 bytes. */
export function privateDirBase(): string {
    return process.env.PZD_PRIVATE_DIR_BASE ?? "/tmp";
}

export function ensurePrivateDir(): string {
    if (!privateDir) {
        const base = privateDirBase();
        sweepStaleDirs(base);
        privateDir = fs.mkdtempSync(path.join(base, `pzd-${process.pid}-`));
        fs.chmodSync(privateDir, 0o700);
        process.once("exit", cleanUp);
        watchParent();
        for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
            process.once(signal, () => {
                cleanUp();
                // The conventional status of a process ended by this signal.
                process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
            });
        }
    }
    return privateDir;
}

const PARENT_POLL_MS = 2000;
/** An orphan waits this long at most for its work to end: every remote command has its own timeout, but nothing must keep it alive for ever. */
const ORPHAN_GRACE_MS = 15 * 60 * 1000;
let workInFlight = 0;

/**
 * Brackets a provider operation (and each remote command), so a provider orphaned by a killed CLI lets
 * it finish rather than cut it off: between two commands of one operation, or while it dials, it is not idle.
 */
export async function inFlight<T>(work: () => Promise<T>): Promise<T> {
    workInFlight++;
    try {
        return await work();
    } finally {
        workInFlight--;
    }
}

function watchParent(): void {
    const parent = process.ppid;
    let orphanedAt: number | undefined;
    const timer = setInterval(() => {
        if (process.ppid === parent) {
            return;
        }
        orphanedAt ??= Date.now();
        if (workInFlight === 0 || Date.now() - orphanedAt > ORPHAN_GRACE_MS) {
            cleanUp();
            process.exit(129);
        }
    }, PARENT_POLL_MS);
    // The watch must never be what keeps the provider alive.
    timer.unref();
}

export function writePrivateFile(name: string, content: string, mode = 0o600): string {
    const file = path.join(ensurePrivateDir(), name);
    fs.writeFileSync(file, content, { mode });
    return file;
}

/**
 * An askpass helper that prints a secret held only in its environment: the target's by default, the
 * jump host's when PZD_SSH_HOP=proxy (set on the ProxyCommand), so the two hops may have different ones.
 */
export function askpassScript(): string {
    const file = path.join(ensurePrivateDir(), "askpass");
    if (!fs.existsSync(file)) {
        writePrivateFile("askpass", '#!/bin/sh\ncase "$PZD_SSH_HOP" in\n  proxy) printf "%s\\n" "$PZD_PROXY_SECRET" ;;\n  *) printf "%s\\n" "$PZD_SSH_SECRET" ;;\nesac\n', 0o700);
    }
    return file;
}

export function registerMaster(controlPath: string, host: string): void {
    openMasters.set(controlPath, host);
}

export function forgetMaster(controlPath: string): void {
    openMasters.delete(controlPath);
}

function closeMaster(controlPath: string, host = "pzd"): void {
    // The destination is only a label for `-O exit`: the control socket names the connection.
    execa.sync("ssh", ["-o", `ControlPath=${controlPath}`, "-O", "exit", host], { reject: false, stdio: "ignore", timeout: 5000 });
}

function cleanUp(): void {
    for (const [controlPath, host] of openMasters) {
        try {
            closeMaster(controlPath, host);
        } catch {
            // ssh could not be started: the master ends with ControlPersist, the directory goes anyway.
        }
    }
    openMasters.clear();
    if (privateDir) {
        try {
            // A master that was just told to exit may still be removing its socket: retry, never throw on the way out.
            fs.rmSync(privateDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
        } catch {
            // What is left is swept by the next provider, which sees this process gone.
        }
        privateDir = undefined;
    }
}

function processAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (error) {
        // EPERM: it exists but belongs to someone else, so it is not our dead provider.
        return (error as NodeJS.ErrnoException).code === "EPERM";
    }
}

/** Removes the private directories of providers that died without cleaning up; returns their names. */
export function sweepStaleDirs(base: string, now = Date.now()): string[] {
    let entries: string[];
    try {
        entries = fs.readdirSync(base);
    } catch {
        return [];
    }
    const uid = process.getuid?.();
    const swept: string[] = [];
    for (const entry of entries) {
        const dir = path.join(base, entry);
        const owner = DIR_PATTERN.exec(entry);
        if (!owner && !LEGACY_DIR_PATTERN.test(entry)) {
            continue;
        }
        let stat: fs.Stats;
        try {
            stat = fs.lstatSync(dir);
        } catch {
            continue;
        }
        if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid)) {
            continue;
        }
        const stale = owner ? Number(owner[1]) !== process.pid && !processAlive(Number(owner[1])) : now - stat.mtimeMs > LEGACY_MAX_AGE_MS;
        if (!stale) {
            continue;
        }
        try {
            for (const socket of fs.readdirSync(dir).filter((name) => name.startsWith("cm-"))) {
                closeMaster(path.join(dir, socket));
            }
            fs.rmSync(dir, { recursive: true, force: true });
            swept.push(entry);
        } catch {
            // Another provider is sweeping it at the same moment: it is theirs to finish.
        }
    }
    return swept;
}
