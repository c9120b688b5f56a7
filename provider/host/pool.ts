/**
 * One Host per machine for the whole provider process (the engine runs many resources at once), and a
 * per-machine lock so two resources never change the same host's fstab or daemon.json concurrently.
 */
import type { Connection } from "../connection";
import { hostIdentity } from "../connection";
import type { Host } from "./host";
import { LocalHost } from "./local";
import { SshHost } from "./ssh";

const hosts = new Map<string, Host>();
const locks = new Map<string, Promise<unknown>>();

export function hostFor(connection: Connection): Host {
    const key = JSON.stringify(connection);
    let host = hosts.get(key);
    if (!host) {
        host = connection.type === "local" ? new LocalHost(connection) : new SshHost(connection);
        hosts.set(key, host);
    }
    return host;
}

/** Serves `connection` with the caller's Host: the unit tests run the real scripts through a shell with fake tools. */
export function useHostFor(connection: Connection, host: Host): void {
    hosts.set(JSON.stringify(connection), host);
}

/** Runs `work` after every earlier mutation of the same machine has finished. */
export async function withHostLock<T>(connection: Connection, work: () => Promise<T>): Promise<T> {
    const key = hostIdentity(connection);
    const previous = locks.get(key) ?? Promise.resolve();
    const current = previous.catch(() => undefined).then(work);
    locks.set(key, current);
    try {
        return await current;
    } finally {
        if (locks.get(key) === current) {
            locks.delete(key);
        }
    }
}

export async function closeAllHosts(): Promise<void> {
    await Promise.all([...hosts.values()].map((h) => h.close()));
    hosts.clear();
}

export function allHostStats(): Record<string, { connections: number; roundTrips: number; writes: number }> {
    const out: Record<string, { connections: number; roundTrips: number; writes: number }> = {};
    for (const host of hosts.values()) {
        out[host.name] = { ...host.stats };
    }
    return out;
}
