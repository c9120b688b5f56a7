/**
 * What makes a plan trustworthy, through the real provider methods: misspelled inputs are refused at
 * check with a suggestion (no host), refresh hands back inputs in the program's shape, a UUID chosen
 * later never reformats, and an apply the host ignored fails instead of reporting success. The apply
 * tests run the real scripts under a real sh with fake zfs/zpool/blkid tools (shell functions).
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { makeProviderImplementation } from "../../provider/adapter";
import { connectionSchema } from "../../provider/connection";
import type { Host, HostStats, RunOptions, RunResult } from "../../provider/host/host";
import { RemoteCommandError } from "../../provider/host/errors";
import { useHostFor } from "../../provider/host/pool";
import type { Shell } from "../../provider/host/quote";
import { frameScript } from "../../provider/host/script";
import { closestName, INPUT_KEYS } from "../../provider/inputs";
import { definitions } from "../../provider/runtime";
import { stableUuid, sizeToBytes, zvolDevicePath } from "../../provider/derive";

const ssh = { host: "192.0.2.10", privateKey: "k" };

/** A minimal valid input set per resource, and a misspelling of one of its real properties. */
const cases: Record<string, { inputs: Record<string, unknown>; typo: [string, string] }> = {
    ZfsVolume: { inputs: { connection: ssh, name: "tank/docker", size: "1G" }, typo: ["sparce", "sparse"] },
    Ext4Filesystem: { inputs: { connection: ssh, device: "/dev/zvol/tank/docker" }, typo: ["lable", "label"] },
    FstabEntry: { inputs: { connection: ssh, spec: "UUID=0a1b2c3d-0000-4000-8000-000000000000", mountPoint: "/var/lib/docker", fsType: "ext4" }, typo: ["mountpoint", "mountPoint"] },
    DockerStorageConfig: { inputs: { connection: ssh }, typo: ["restrat", "restart"] },
};

describe("trust: strict inputs, program-shaped refresh, verified applies", () => {
    it("every registered resource has a strict-input case here", () => {
        assert.deepEqual(Object.keys(definitions).sort(), Object.keys(cases).sort());
    });

    for (const [kind, { inputs, typo }] of Object.entries(cases)) {
        describe(`${kind}: check`, () => {
            const provider = makeProviderImplementation(definitions[kind]);

            it("accepts the minimal inputs", async () => {
                assert.deepEqual((await provider.check!({}, inputs)).failures, []);
            });

            it(`refuses '${typo[0]}' naming it and suggesting '${typo[1]}' (no host contacted: the address is unroutable)`, async () => {
                const result = await provider.check!({}, { ...inputs, [typo[0]]: false });
                assert.deepEqual(result.failures, [{ property: typo[0], reason: `unknown property '${typo[0]}'; did you mean '${typo[1]}'?` }]);
            });

            it("reads its own state back (outputs and the recorded input names do not trip the schema)", async () => {
                const state = { ...inputs, [INPUT_KEYS]: Object.keys(inputs), line: "x", sizeBytes: 1, activeDriver: "overlay2", __provider: "p" };
                const diff = await provider.diff!("id", state, inputs);
                assert.equal(diff.changes, false);
            });
        });
    }

    it("names far from every property get the list instead of a guess", () => {
        assert.equal(closestName("zzzzzzzz", ["size", "name"]), undefined);
        assert.equal(closestName("forceDestory", ["force", "forceDestroy", "sparse"]), "forceDestroy");
        assert.equal(closestName("restrat", ["restart", "requiresMountsFor"]), "restart");
    });

    it("a bad connection key is refused by name too", async () => {
        const provider = makeProviderImplementation(definitions.ZfsVolume);
        const result = await provider.check!({}, { ...cases.ZfsVolume.inputs, connection: { ...ssh, hostkey: "x" } });
        assert.ok((result.failures ?? []).some((f) => f.property.startsWith("connection") && /hostkey/.test(f.reason)), JSON.stringify(result.failures));
    });

    it("ZfsVolume accepts the device path and byte size its class computes for previews, and ignores them in diff", async () => {
        const provider = makeProviderImplementation(definitions.ZfsVolume);
        const inputs = { ...cases.ZfsVolume.inputs, devicePath: zvolDevicePath("tank/docker"), sizeBytes: sizeToBytes("1G") };
        assert.deepEqual((await provider.check!({}, inputs)).failures, []);
        assert.equal((await provider.diff!("tank/docker", { ...cases.ZfsVolume.inputs, sparse: true }, inputs)).changes, false);
    });

    describe("a UUID chosen by the program", () => {
        const provider = makeProviderImplementation(definitions.Ext4Filesystem);
        const device = "/dev/zvol/tank/docker";
        const made = "11111111-2222-4333-8444-555555555555";
        const chosen = stableUuid("project", "stack", "fs");

        it("is stable and a valid version-5 UUID", () => {
            assert.equal(stableUuid("project", "stack", "fs"), chosen);
            assert.notEqual(stableUuid("project", "stack", "fs2"), chosen);
            assert.match(chosen, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        });

        it("set on a filesystem made without one (0.1.0 state) → no change: it keeps its UUID", async () => {
            const legacyState = { connection: ssh, device, label: "docker", uuid: made, reservedBlocksPercent: 5, extraOptions: [], force: false, wipeOnDelete: false, sizeBytes: 1 };
            const diff = await provider.diff!(device, legacyState, { connection: ssh, device, label: "docker", uuid: chosen });
            assert.deepEqual([diff.changes, diff.replaces], [false, []]);
        });

        it("changed on a filesystem made with one → a replacement, as before", async () => {
            const state = { connection: ssh, device, uuid: made, [INPUT_KEYS]: ["connection", "device", "uuid"] };
            const diff = await provider.diff!(device, state, { connection: ssh, device, uuid: chosen });
            assert.deepEqual(diff.replaces, ["uuid"]);
        });
    });

    it("FstabEntry: a spec unknown at preview (its filesystem is being replaced) is a replacement", async () => {
        const provider = makeProviderImplementation(definitions.FstabEntry);
        const inputs = cases.FstabEntry.inputs;
        const diff = await provider.diff!("/var/lib/docker", { ...inputs }, { ...inputs, spec: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" });
        assert.deepEqual(diff.replaces, ["spec"]);
    });

    describe("apply, read back, plan again (real scripts, fake tools)", () => {
        const local = connectionSchema.parse({ type: "local" });
        let dir: string;
        beforeEach(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "pzd-trust-"));
        });
        afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

        /** zfs/zpool/blkid/udevadm as shell functions over a state file; `honourSet` false = a host that ignores `zfs set`. */
        function fakeZfsHost(options: { volsize: number; honourSet: boolean; zpoolFails?: string }): Host & { scripts: string[] } {
            const state = path.join(dir, "volsize");
            fs.writeFileSync(state, String(options.volsize));
            const fakes = `zpool() { ${options.zpoolFails ? `echo ${JSON.stringify(options.zpoolFails)} >&2; return 1` : "echo tank"}; }
zfs() {
  case "$1" in
    get) printf 'type\\tvolume\\t-\\nvolsize\\t%s\\tlocal\\nvolblocksize\\t16384\\tdefault\\nrefreservation\\t0\\tdefault\\nguid\\t42\\t-\\npulumi-zfs-docker:managed\\ttrue\\tlocal\\n' "$(cat ${state})";;
    set) ${options.honourSet ? `echo "\${2#volsize=}" > ${state}` : ":"};;
    list) ;;
  esac
}
blkid() { return 2; }
udevadm() { :; }
`;
            const scripts: string[] = [];
            const stats: HostStats = { connections: 0, roundTrips: 0, writes: 0 };
            return {
                name: "localhost",
                stats,
                scripts,
                async run(script: Shell, opts: RunOptions): Promise<RunResult> {
                    scripts.push(script.text);
                    stats.roundTrips++;
                    // The device node "exists" for the observe script: it tests -e on /dev/zvol/..., so point it at /dev/null.
                    const text = frameScript(script).replace(/\/dev\/zvol\/tank\/x/g, "/dev/null");
                    const run = spawnSync("sh", ["-s"], { input: fakes + text, encoding: "utf8" });
                    if (run.status !== 0) throw new RemoteCommandError("localhost", opts.step, run.status ?? undefined, run.stderr, 0, "");
                    return { stdout: run.stdout, stderr: run.stderr, exitCode: 0 };
                },
                async close() {},
            };
        }

        const volume = { connection: { type: "local" }, name: "tank/x", size: "2G" };
        const olds = { ...volume, size: "1G", sparse: true, properties: {}, forceDestroy: false, [INPUT_KEYS]: ["connection", "name", "size"] };

        it("a grow the host ignored fails, naming the resource, the host and what did not take", async () => {
            useHostFor(local, fakeZfsHost({ volsize: 2 ** 30, honourSet: false }));
            const provider = makeProviderImplementation(definitions.ZfsVolume);
            await assert.rejects(provider.update!("tank/x", olds, volume), (error: Error) => {
                assert.equal(error.name, "NotAppliedError");
                assert.match(error.message, /^ZfsVolume tank\/x on localhost: the host did not take every change: .*grow tank\/x from 1G to 2G/);
                return true;
            });
        });

        it("a grow the host took succeeds, and its outputs record which inputs the program set", async () => {
            const host = fakeZfsHost({ volsize: 2 ** 30, honourSet: true });
            useHostFor(local, host);
            const provider = makeProviderImplementation(definitions.ZfsVolume);
            const result = await provider.update!("tank/x", olds, volume);
            assert.equal(result.outs?.sizeBytes, 2 * 2 ** 30);
            assert.deepEqual(result.outs?.[INPUT_KEYS], ["connection", "name", "size"]);
            assert.equal(host.scripts.length, 2, "read, then apply and read back together: two round trips");
            assert.match(host.scripts[1], /zfs set volsize=[^]*pzd-read-back-[0-9a-f]{16}[^]*zfs get/, "the read back rides with the apply");
        });

        it("refresh of an unchanged volume returns exactly the program's inputs, as it wrote them", async () => {
            useHostFor(local, fakeZfsHost({ volsize: 2 * 2 ** 30, honourSet: true }));
            const provider = makeProviderImplementation(definitions.ZfsVolume);
            const given = { ...volume, devicePath: "/dev/zvol/tank/x", sizeBytes: 2 * 2 ** 30 };
            const state = { ...given, sparse: true, properties: {}, forceDestroy: false, [INPUT_KEYS]: ["connection", "name", "size", "devicePath", "sizeBytes"] };
            const read = await provider.read!("tank/x", state);
            assert.deepEqual(read.inputs, given);
        });

        it("refresh shows real drift in the program's own shape: only the key that differs", async () => {
            useHostFor(local, fakeZfsHost({ volsize: 3 * 2 ** 30, honourSet: true }));
            const provider = makeProviderImplementation(definitions.ZfsVolume);
            const state = { ...volume, sizeBytes: 2 * 2 ** 30, sparse: true, properties: {}, forceDestroy: false, [INPUT_KEYS]: ["connection", "name", "size", "sizeBytes"] };
            const read = await provider.read!("tank/x", state);
            assert.deepEqual(read.inputs, { ...volume, size: "3G", sizeBytes: 3 * 2 ** 30 });
        });

        it("a zpool that cannot be used (no rights) is an error that says so, never 'pool does not exist'", async () => {
            useHostFor(local, fakeZfsHost({ volsize: 2 ** 30, honourSet: true, zpoolFails: "cannot open '/dev/zfs': Permission denied" }));
            const provider = makeProviderImplementation(definitions.ZfsVolume);
            await assert.rejects(provider.read!("tank/x", { ...volume, [INPUT_KEYS]: ["connection", "name", "size"] }), (error: Error) => {
                assert.match(error.message, /^ZfsVolume tank\/x: /);
                assert.match(error.message, /reading pool tank failed; the tool said:\n.*Permission denied/);
                assert.doesNotMatch(error.message, /does not exist/);
                return true;
            });
        });
    });
});
