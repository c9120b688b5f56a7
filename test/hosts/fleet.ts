/**
 * Guests shared by a whole mocha run: booting is the expensive part (~1 min each under emulation, more
 * when several boot at once), so tests borrow the same hosts and name what they create uniquely.
 * Load with `mocha --require test/hosts/fleet.ts` so the root hook powers them off at the end; without
 * it they are still killed when the process exits.
 */
import { strict as assert } from "assert";
import * as crypto from "crypto";
import { startHosts, TestHost } from "./harness";

const hosts: TestHost[] = [];
/** Hosts that stopped answering and were replaced: their boots still count in bootTimes(). */
const retired: TestHost[] = [];
let growing: Promise<void> = Promise.resolve();

/**
 * The first `count` shared hosts, booting only those not booted yet. A host that no longer answers (a
 * guest kernel that locked up under emulation, a test that left it powered off) is replaced by a new
 * one first, so one lost guest fails the test that lost it and not every later file that shares it.
 */
export async function sharedHosts(count: number): Promise<TestHost[]> {
    const grow = growing.then(async () => {
        await replaceLostHosts(Math.min(count, hosts.length));
        if (hosts.length < count) {
            hosts.push(...(await startHosts(count - hosts.length)));
        }
    });
    // A failed boot must not poison later callers: they get their own attempt.
    growing = grow.catch(() => undefined);
    await grow;
    return hosts.slice(0, count);
}

async function replaceLostHosts(count: number): Promise<void> {
    const answering = await Promise.all(hosts.slice(0, count).map((h) => h.answers()));
    const lost = answering.flatMap((up, i) => (up ? [] : [i]));
    if (lost.length === 0) {
        return;
    }
    for (const i of lost) {
        process.stderr.write(`testhost: ${hosts[i].name} no longer answers SSH; replacing it with a new guest (its console log: ${hosts[i].consoleLog()})\n`);
        await hosts[i].kill();
        await hosts[i].stop();
        retired.push(hosts[i]);
    }
    const fresh = await startHosts(lost.length);
    lost.forEach((at, i) => (hosts[at] = fresh[i]));
}

/** Boot-to-SSH seconds of every boot of every shared host, for the suite to print. */
export function bootTimes(): { name: string; kind: string; seconds: number }[] {
    return [...retired, ...hosts].flatMap((h) => h.boots.map((b) => ({ name: h.name, ...b })));
}

/** Imports the pool if it is on the disk but not imported (after kill()), creates it on /dev/vdb if absent. */
export async function ensurePool(host: TestHost, pool = "tank"): Promise<void> {
    if (!/^[A-Za-z][\w.:-]*$/.test(pool)) {
        throw new Error(`ensurePool: ${JSON.stringify(pool)} is not a plain pool name; pick letters, digits, - _ . :`);
    }
    await host.exec(`modprobe zfs; zpool list -H -o name ${pool} >/dev/null 2>&1 || zpool import -f ${pool} 2>/dev/null || zpool create -f ${pool} /dev/vdb`);
}

/**
 * Each host's clock in seconds, read a second after boot is over: the journal is asked in whole
 * seconds, so the start of Docker at boot is never counted by dockerStarts below.
 */
export function hostClocks(hosts: TestHost[]): Promise<string[]> {
    return Promise.all(hosts.map(async (h) => (await h.exec("systemctl is-system-running --wait >/dev/null 2>&1; sleep 1; date +%s")).stdout.trim()));
}

/** How many times docker.service started on each host since `since` (from hostClocks): the journal counts. */
export function dockerStarts(hosts: TestHost[], since: string[]): Promise<number[]> {
    return Promise.all(hosts.map(async (h, i) => Number((await h.exec(`journalctl -u docker.service --since @${since[i]} -o cat --no-pager | grep -c '^Started ' || true`)).stdout.trim())));
}

let counter = 0;

/** A name no other test of this or a concurrent run uses; valid for ZFS datasets, files and units. */
export function uniqueName(prefix: string): string {
    return `${prefix}-${process.pid.toString(36)}${(++counter).toString(36)}${crypto.randomBytes(2).toString("hex")}`;
}

export const mochaHooks = {
    async afterAll(this: Mocha.Context) {
        this.timeout(300_000);
        // The disks are thrown away, so a graceful poweroff would only cost time.
        await Promise.all(hosts.splice(0).map(async (h) => {
            await h.kill();
            await h.stop();
        }));
    },
};

/**
 * docker.service waits for the mount at /var/lib/docker as systemd has it loaded (Requires and After,
 * no reload owed), and local-fs.target still pulls the mount in at boot.
 */
export async function assertDockerRequiresDataRoot(host: TestHost): Promise<void> {
    const deps = (await host.exec("systemctl show -p Requires -p After -p NeedDaemonReload docker.service; systemctl show -p WantedBy var-lib-docker.mount")).stdout;
    assert.match(deps, /^Requires=.*\bvar-lib-docker\.mount\b/m);
    assert.match(deps, /^After=.*\bvar-lib-docker\.mount\b/m);
    assert.match(deps, /^NeedDaemonReload=no$/m);
    assert.match(deps, /^WantedBy=.*\blocal-fs\.target\b/m, "the mount is still pulled in at boot by local-fs.target");
}

/** What a late zvol at boot looks like: Docker started while its data root is unmounted must mount it first. */
export async function assertDockerMountsItsDataRootFirst(host: TestHost): Promise<void> {
    await host.exec("systemctl stop docker.socket docker.service && umount /var/lib/docker && ! findmnt /var/lib/docker >/dev/null");
    await host.exec("systemctl start docker.service");
    assert.match((await host.exec("findmnt -n -o FSTYPE /var/lib/docker")).stdout, /ext4/);
}
