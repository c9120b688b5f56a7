/**
 * Faults in the middle of an apply, on a real test host, for each resource's create, update and
 * delete (13 operations), the SSH connection is cut after the first remote command, and the host loses
 * power mid-apply. After each, running the same operation again, as the next `pulumi up` does,
 * converges; nothing is formatted twice; a file written to the volume keeps its checksum; the fstab and
 * daemon.json are never half-written.
 */
import { strict as assert } from "assert";
import { makeProviderImplementation } from "../../provider/adapter";
import { connectionSchema } from "../../provider/connection";
import { closeAllHosts, hostFor } from "../../provider/host/pool";
import { dockerStorageConfig } from "../../provider/resources/dockerStorageConfig";
import { ext4Filesystem } from "../../provider/resources/ext4Filesystem";
import { fstabEntry } from "../../provider/resources/fstabEntry";
import { zfsVolume } from "../../provider/resources/zfsVolume";
import { ensurePool, sharedHosts, uniqueName } from "../hosts/fleet";
import type { TestHost } from "../hosts/harness";

type Implementation = ReturnType<typeof makeProviderImplementation>;
type Outs = Record<string, unknown>;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("faults mid-apply on a real host: cut connections and power loss", function () {
    let host: TestHost;
    let scratch: string;
    const volume = `tank/${uniqueName("faults")}`;
    const device = `/dev/zvol/${volume}`;
    const tally = { injected: 0, interrupted: 0, survived: 0, powerCycles: 0, hung: 0 };
    /** Seconds per fault, from the operation's start to the end of its recovery: where this suite's time goes. */
    const timings: string[] = [];
    /** Facts that must never change once known: the filesystem's UUID and the canary file's checksum. */
    const fixed: { uuid?: string; canary?: string } = {};

    before(async () => {
        [host] = await sharedHosts(1);
        await ensurePool(host);
        scratch = `/srv/${uniqueName("faults")}`;
        await host.exec(`mkdir -p ${scratch}/mnt && printf '# the users own fstab\\nLABEL=other /other ext4 defaults 0 0' > ${scratch}/fstab && printf '{"log-level": "warn"}' > ${scratch}/daemon.json`);
    });
    after(async () => {
        console.log(`      faults injected: ${tally.injected} (${tally.powerCycles} power cycles), interrupted an apply: ${tally.interrupted}, converged after: ${tally.survived}/${tally.injected}` +
            (tally.hung ? `; the guest hung after a boot ${tally.hung} time(s) and was power-cycled again` : ""));
        console.log(`      seconds per fault (fault incl. any boot / recovery): ${timings.join(", ")}`);
        await host.exec(`umount ${scratch}/mnt 2>/dev/null; zfs destroy -f ${volume} 2>/dev/null; rm -rf ${scratch}`, { allowFail: true });
        // The in-process provider's SSH master would otherwise stay open into the next suite's session counts.
        await closeAllHosts();
    });

    // The provider logs in as the sudo user, so cutting its sessions leaves the harness's root one alone.
    const connection = () => ({ host: host.host, port: host.port, user: "deployer", privateKey: host.privateKey, hostKey: host.hostKey, sudo: true, sudoPassword: "deployer-pw", dialErrorLimit: 30 });
    const stats = () => hostFor(connectionSchema.parse(connection())).stats;

    async function checkedInputs(impl: Implementation, inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
        const result = await impl.check!({}, inputs);
        assert.deepEqual(result.failures ?? [], []);
        return result.inputs as Record<string, unknown>;
    }

    /** Starts `op`, injects the fault once its second remote command has started, returns whether it failed. */
    async function withFault(kind: "cut" | "power", op: () => Promise<unknown>): Promise<boolean> {
        const base = stats().roundTrips;
        let settled = false;
        const outcome = op().then(
            () => undefined,
            (error: Error) => error,
        ).finally(() => (settled = true));
        while (!settled && stats().roundTrips < base + 2) {
            await sleep(10);
        }
        // A create of what already exists is one read: there is no apply to cut, so the test must not ask for one.
        assert.ok(!settled || stats().roundTrips >= base + 2, "the operation ran at least two remote commands");
        // Into the apply script rather than at its very start.
        await sleep(kind === "power" ? 700 : 300);
        tally.injected++;
        if (kind === "cut") {
            await host.exec("pkill -KILL -f '^sshd: deployer' || true");
        } else {
            tally.powerCycles++;
            await host.kill();
        }
        const error = await outcome;
        if (kind === "power") {
            await powerOn();
        }
        if (error) {
            tally.interrupted++;
        }
        return error !== undefined;
    }

    async function powerOn(): Promise<void> {
        await host.start();
        await ensurePool(host);
        // After an import the zvol's /dev link comes from udev a moment later.
        await host.exec(`zfs list -H ${volume} >/dev/null 2>&1 || exit 0; udevadm settle; i=0; while [ ! -e ${device} ] && [ $i -lt 100 ]; do i=$((i+1)); sleep 0.1; done`);
    }

    /**
     * `step`, and once more after a power cycle if it failed because the guest stopped answering: under
     * emulation a guest kernel once locked up (soft lockups on both vCPUs) half a minute after a power
     * cycle. A hung host is one more fault; what this file claims is that running again converges.
     * Any failure while the guest still answers is the step's own and fails the test.
     */
    async function unlessHung<T>(step: () => Promise<T>): Promise<T> {
        try {
            return await step();
        } catch (error) {
            if (await host.answers()) {
                throw error;
            }
            tally.hung++;
            console.log(`      ${host.name} stopped answering (${(error as Error).message.split("\n")[0].slice(0, 200)}); power-cycling it (console log: ${host.consoleLog()})`);
            await host.kill();
            await powerOn();
            return step();
        }
    }

    /** What may be on disk after any fault: whole files only, the user's lines and values kept. */
    async function assertNothingHalfWritten(): Promise<void> {
        const fstab = (await host.exec(`cat ${scratch}/fstab`)).stdout;
        assert.ok(fstab.startsWith("# the users own fstab\nLABEL=other /other ext4 defaults 0 0"), `the user's lines are intact: ${JSON.stringify(fstab)}`);
        for (const line of fstab.split("\n").filter((l) => l.trim() && !l.startsWith("#"))) {
            assert.equal(line.trim().split(/\s+/).length, 6, `a whole fstab line: ${JSON.stringify(line)}`);
        }
        const daemonJson = JSON.parse((await host.exec(`cat ${scratch}/daemon.json`)).stdout) as Record<string, unknown>;
        assert.equal(daemonJson["log-level"], "warn", "daemon.json parses and keeps the user's key");
        const uuid = (await host.exec(`blkid -p -s UUID -o value ${device}`, { allowFail: true })).stdout.trim();
        if (fixed.uuid) {
            assert.equal(uuid, fixed.uuid, "the filesystem was not formatted again");
        }
        if (fixed.canary) {
            await host.exec(`mountpoint -q ${scratch}/mnt || mount ${device} ${scratch}/mnt`);
            assert.equal((await host.exec(`sha256sum ${scratch}/mnt/canary`)).stdout, fixed.canary, "the file on the volume kept its checksum");
        }
    }

    /** A fault during `op`, then `op` again as the next `pulumi up` would run it, then a converge that writes nothing. */
    async function survives(kind: "cut" | "power", op: () => Promise<Outs | undefined>, converge?: (outs: Outs) => Promise<unknown>): Promise<Outs | undefined> {
        const started = Date.now();
        await withFault(kind, op);
        const faulted = Date.now();
        await unlessHung(assertNothingHalfWritten);
        const outs = await unlessHung(op);
        if (converge && outs) {
            const writes = stats().writes;
            await converge(outs);
            assert.equal(stats().writes, writes, "after recovery, converging again writes nothing");
        }
        await assertNothingHalfWritten();
        tally.survived++;
        timings.push(`${kind} ${Math.round((faulted - started) / 100) / 10}/${Math.round((Date.now() - faulted) / 100) / 10}`);
        return outs;
    }

    const volumes = makeProviderImplementation(zfsVolume);
    const filesystems = makeProviderImplementation(ext4Filesystem);
    const entries = makeProviderImplementation(fstabEntry);
    const configs = makeProviderImplementation(dockerStorageConfig);
    let vol: Record<string, unknown>, fs: Record<string, unknown>, line: Record<string, unknown>, docker: Record<string, unknown>;
    let volOuts: Outs, fsOuts: Outs, lineOuts: Outs, dockerOuts: Outs;

    it("creates: a cut and a power loss during each: zfs create, mkfs, the fstab write + mount, the daemon.json write", async () => {
        vol = await checkedInputs(volumes, { connection: connection(), name: volume, size: "256M", forceDestroy: true });
        const makeVolume = async () => (await volumes.create(vol)).outs;
        volOuts = (await survives("cut", makeVolume, (o) => volumes.update!(volume, o, vol)))!;
        // Destroyed again while empty, so the power loss below lands in a real zfs create.
        await volumes.delete!(volume, volOuts);
        volOuts = (await survives("power", makeVolume, (o) => volumes.update!(volume, o, vol)))!;
        assert.equal((await host.exec(`zfs get -H -o value volsize ${volume}`)).stdout.trim(), "256M", "one volume, of the size asked");

        fs = await checkedInputs(filesystems, { connection: connection(), device, label: "faults", deviceSizeBytes: 256 * 2 ** 20, wipeOnDelete: true });
        const makeFs = async () => (await filesystems.create(fs)).outs;
        fsOuts = (await survives("cut", makeFs, (o) => filesystems.update!(device, o, fs)))!;
        // Wiped again without a fault, so the power loss below also lands in a real mkfs.
        await filesystems.delete!(device, fsOuts);
        fsOuts = (await survives("power", makeFs, (o) => filesystems.update!(device, o, fs)))!;
        fixed.uuid = String(fsOuts.uuid);

        line = await checkedInputs(entries, { connection: connection(), spec: `UUID=${fixed.uuid}`, mountPoint: `${scratch}/mnt`, fsType: "ext4", fstabPath: `${scratch}/fstab` });
        const addLine = async () => (await entries.create(line)).outs;
        lineOuts = (await survives("cut", addLine, (o) => entries.update!(String(o.mountPoint ?? `${scratch}/mnt`), o, line)))!;
        await entries.delete!(`${scratch}/mnt`, lineOuts);
        lineOuts = (await survives("power", addLine, (o) => entries.update!(String(o.mountPoint ?? `${scratch}/mnt`), o, line)))!;
        await host.exec(`head -c 4M /dev/urandom > ${scratch}/mnt/canary && sync`);
        fixed.canary = (await host.exec(`sha256sum ${scratch}/mnt/canary`)).stdout;

        docker = await checkedInputs(configs, { connection: connection(), storageDriver: "overlay2", restart: false, requiresMountsFor: [], daemonJsonPath: `${scratch}/daemon.json` });
        const configure = async () => (await configs.create(docker)).outs;
        dockerOuts = (await survives("cut", configure, (o) => configs.update!(`${scratch}/daemon.json`, o, docker)))!;
        await configs.delete!(`${scratch}/daemon.json`, dockerOuts);
        dockerOuts = (await survives("power", configure, (o) => configs.update!(`${scratch}/daemon.json`, o, docker)))!;
        assert.deepEqual(JSON.parse((await host.exec(`cat ${scratch}/daemon.json`)).stdout), { "log-level": "warn", "storage-driver": "overlay2" });
    });

    it("updates: a cut and a power loss during each: grow the volume and the filesystem, relabel, fstab options, storage driver", async () => {
        const grow = async (megabytes: number, kind: "cut" | "power") => {
            const grownVol = { ...vol, size: `${megabytes}M` };
            volOuts = (await survives(kind, async () => (await volumes.update!(volume, volOuts, grownVol)).outs, (o) => volumes.update!(volume, o, grownVol)))!;
            const grownFs = { ...fs, deviceSizeBytes: megabytes * 2 ** 20 };
            fsOuts = (await survives(kind, async () => (await filesystems.update!(device, fsOuts, grownFs)).outs, (o) => filesystems.update!(device, o, grownFs)))!;
            assert.equal(fsOuts.sizeBytes, megabytes * 2 ** 20);
            fs = grownFs;
        };
        await grow(384, "cut");
        await grow(512, "power");
        const relabel = async (label: string, kind: "cut" | "power") => {
            const relabelled = { ...fs, label };
            fsOuts = (await survives(kind, async () => (await filesystems.update!(device, fsOuts, relabelled)).outs, (o) => filesystems.update!(device, o, relabelled)))!;
            assert.equal((await host.exec(`blkid -p -s LABEL -o value ${device}`)).stdout.trim(), label);
            fs = relabelled;
        };
        await relabel("faults2", "cut");
        await relabel("faults3", "power");

        const withOptions = async (options: string[], kind: "cut" | "power") => {
            const optioned = { ...line, options };
            lineOuts = (await survives(kind, async () => (await entries.update!(`${scratch}/mnt`, lineOuts, optioned)).outs, (o) => entries.update!(`${scratch}/mnt`, o, optioned)))!;
            const ours = (await host.exec(`cat ${scratch}/fstab`)).stdout.split("\n").find((l) => !l.startsWith("#") && l.includes(`${scratch}/mnt`)) ?? "";
            // The boot-safe options (nofail, the zvol's systemd ordering) follow the ones asked for.
            assert.ok(`${ours.trim().split(/\s+/)[3]},`.startsWith(`${options.join(",")},`), `the line has the options asked for first: ${JSON.stringify(ours)}`);
            line = optioned;
        };
        await withOptions(["defaults", "noatime"], "cut");
        await withOptions(["defaults", "nodiratime"], "power");

        const withDriver = async (storageDriver: string, kind: "cut" | "power") => {
            const next = { ...docker, storageDriver };
            dockerOuts = (await survives(kind, async () => (await configs.update!(`${scratch}/daemon.json`, dockerOuts, next)).outs, (o) => configs.update!(`${scratch}/daemon.json`, o, next)))!;
            assert.equal(JSON.parse((await host.exec(`cat ${scratch}/daemon.json`)).stdout)["storage-driver"], storageDriver);
            docker = next;
        };
        await withDriver("vfs", "cut");
        await withDriver("overlay2", "power");
    });

    it("deletes: a cut and a power loss during each, and everything is put back as it was", async () => {
        const removeConfig = async (kind: "cut" | "power") => {
            await survives(kind, async () => (await configs.delete!(`${scratch}/daemon.json`, dockerOuts), undefined));
            assert.deepEqual(JSON.parse((await host.exec(`cat ${scratch}/daemon.json`)).stdout), { "log-level": "warn" });
        };
        await removeConfig("cut");
        dockerOuts = (await configs.create(docker)).outs;
        await removeConfig("power");

        fixed.canary = undefined;
        const usersFstab = Buffer.from("# the users own fstab\nLABEL=other /other ext4 defaults 0 0").toString("base64");
        const removeLine = async (kind: "cut" | "power") => {
            await survives(kind, async () => (await entries.delete!(`${scratch}/mnt`, lineOuts), undefined));
            assert.equal((await host.exec(`base64 -w0 ${scratch}/fstab`)).stdout, usersFstab, `byte for byte, without a final newline as it was (${kind})`);
        };
        await removeLine("cut");
        lineOuts = (await entries.create(line)).outs;
        await removeLine("power");

        fixed.uuid = undefined;
        const wipe = async (kind: "cut" | "power") => {
            await survives(kind, async () => (await filesystems.delete!(device, fsOuts), undefined));
            assert.equal((await host.exec(`blkid -p -s TYPE -o value ${device}`, { allowFail: true })).stdout.trim(), "", `wiped (${kind})`);
        };
        await wipe("cut");
        fsOuts = (await filesystems.create(fs)).outs;
        await wipe("power");

        const destroy = async (kind: "cut" | "power") => {
            await survives(kind, async () => (await volumes.delete!(volume, volOuts), undefined));
            assert.equal((await host.exec(`zfs list -H ${volume}`, { allowFail: true })).exitCode, 1, `the volume is gone (${kind})`);
        };
        await destroy("cut");
        volOuts = (await volumes.create(vol)).outs;
        await destroy("power");
    });
});
