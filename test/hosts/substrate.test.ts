/**
 * The substrate every host test stands on: two real guests with OpenZFS and Docker, a sparse zvol
 * formatted ext4, a pool that comes back after a power cycle, and a hung guest replaced.
 * npx mocha --require test/hosts/fleet.ts --timeout 1800000 test/hosts/substrate.test.ts
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { bootTimes, ensurePool, sharedHosts, uniqueName } from "./fleet";
import { imageDir, TestHost } from "./harness";

/** Polls on the guest, in one round trip, for a device link udev creates asynchronously. */
function waitForDevice(device: string, seconds = 60): string {
    return `udevadm settle; i=0; while [ ! -e ${device} ]; do i=$((i+1)); [ $i -le ${seconds * 2} ] || { echo "${device} did not appear within ${seconds} s" >&2; exit 1; }; sleep 0.5; done`;
}

function rssMiB(host: TestHost): number | undefined {
    const pid = host.qemuPid();
    const kb = pid ? /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] : undefined;
    return kb ? Math.round(Number(kb) / 1024) : undefined;
}

describe("test hosts: ZFS, zvol, ext4 and Docker on real guests", function () {
    let hosts: TestHost[];
    const volumes = new Map<TestHost, string>();
    const dockers = new Map<TestHost, string>();

    before(async function () {
        hosts = await sharedHosts(2);
    });

    after(async function () {
        const ready = hosts ? fs.readFileSync(path.join(await imageDir(), "ready"), "utf8").trim() : "no image";
        console.log(`      image: ${ready}`);
        for (const boot of bootTimes()) {
            console.log(`      ${boot.name}: ${boot.kind} boot to SSH ${boot.seconds} s`);
        }
        for (const host of hosts ?? []) {
            console.log(`      ${host.name}: qemu RSS ${rssMiB(host) ?? "?"} MiB (accel ${host.accel}), docker ${dockers.get(host) ?? "?"}`);
        }
    });

    it("creates a pool, a sparse zvol formatted ext4, and finds Docker answering on every host", async function () {
        await Promise.all(hosts.map(async (host) => {
            await ensurePool(host);
            const name = uniqueName("substrate");
            const dataset = `tank/${name}`;
            const device = `/dev/zvol/${dataset}`;
            volumes.set(host, dataset);
            const out = await host.exec([
                `zfs create -s -V 1G ${dataset}`,
                waitForDevice(device),
                `mkfs.ext4 -q ${device}`,
                `blkid -o value -s TYPE ${device}`,
                `zfs get -H -p -o value volsize,refreservation ${dataset}`,
            ].join(" && "));
            assert.deepStrictEqual(out.stdout.trim().split("\n"), ["ext4", String(1024 ** 3), "0"], `${host.name}: expected an ext4, 1 GiB, sparse zvol`);

            const docker = await host.exec("docker info --format '{{.ServerVersion}} {{.Driver}}'");
            dockers.set(host, docker.stdout.trim());
            assert.match(docker.stdout.trim(), /^\d+\.\d+\.\d+\S* \w+$/, `${host.name}: docker info should name a version and a storage driver, got ${JSON.stringify(docker.stdout)}`);
        }));
    });

    it("imports the pool again and recreates the zvol device after a power cycle", async function () {
        const host = hosts[1];
        const dataset = volumes.get(host);
        assert.ok(dataset, "the previous test must have created a zvol on this host");
        await host.reboot();
        // After boot has settled, the import and the udev links must already be there: no polling here.
        const state = await host.exec("systemctl is-system-running --wait", { allowFail: true });
        assert.strictEqual(state.stdout.trim(), "running", `${host.name}: boot did not finish cleanly; failed units: ${(await host.exec("systemctl --failed --no-legend", { allowFail: true })).stdout}`);
        const out = await host.exec(`zpool list -H -o name,health tank && test -e /dev/zvol/${dataset} && blkid -o value -s TYPE /dev/zvol/${dataset}`, { allowFail: true });
        assert.strictEqual(out.exitCode, 0, `${host.name}: pool or zvol missing after reboot: ${out.stderr} (console log: ${host.consoleLog()})`);
        assert.deepStrictEqual(out.stdout.trim().split("\n"), ["tank\tONLINE", "ext4"]);
    });

    it("a shared guest that hangs is replaced by a new one at the next sharedHosts(), the others kept", async function () {
        const [kept, hung] = hosts;
        // A stopped qemu is what a locked-up guest kernel looks like from outside: the process runs, SSH never answers.
        process.kill(hung.qemuPid()!, "SIGSTOP");
        assert.strictEqual(await hung.answers(), false, `${hung.name}: a stopped guest must not count as answering`);
        const again = await sharedHosts(2);
        assert.strictEqual(again[0], kept, "the guest that answers is kept");
        assert.notStrictEqual(again[1], hung, "the hung guest is replaced");
        assert.strictEqual(hung.qemuPid(), undefined, "the hung guest's qemu is gone");
        assert.strictEqual((await again[1].exec("zpool list -H -o name 2>/dev/null || true")).stdout.trim(), "", "the new guest boots on new disks");
        assert.ok(bootTimes().some((b) => b.name === hung.name), "the replaced guest's boots are still reported");
        hosts = again;
    });
});
