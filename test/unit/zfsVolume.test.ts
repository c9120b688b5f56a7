import { strict as assert } from "assert";
import { ParseError, RefusedError } from "../../provider/host/errors";
import { frameScript } from "../../provider/host/script";
import { planScript } from "../../provider/plan";
import type { ZfsVolumeDesired, ZfsVolumeObserved } from "../../provider/resources/zfsVolume";
import { observeScript, OWNER_PROPERTY, parseObserved, parseZfsGet, planDeleteZfsVolume, planZfsVolume, zfsVolume, zfsVolumeSchema } from "../../provider/resources/zfsVolume";
import { runRecorded, runShell } from "./realShell";

const G = 2 ** 30;

/**
 * `zfs get -H -p -o property,value,source all tank/x` on OpenZFS 2.1.11 (Debian bookworm), for a sparse
 * 1G volume created with `-o compression=lz4 -o pulumi-zfs-docker:managed=true`. Tab-separated.
 */
const ZFS_GET_SPARSE_1G = [
    ["type", "volume", "-"],
    ["creation", "1700741141", "-"],
    ["used", "57344", "-"],
    ["available", "15987630080", "-"],
    ["referenced", "57344", "-"],
    ["compressratio", "1.00x", "-"],
    ["reservation", "0", "default"],
    ["volsize", "1073741824", "local"],
    ["volblocksize", "8192", "default"],
    ["checksum", "on", "default"],
    ["compression", "lz4", "local"],
    ["readonly", "off", "default"],
    ["createtxg", "27", "-"],
    ["copies", "1", "default"],
    ["refreservation", "0", "default"],
    ["guid", "9217718458062212731", "-"],
    ["primarycache", "all", "default"],
    ["secondarycache", "all", "default"],
    ["usedbysnapshots", "0", "-"],
    ["usedbydataset", "57344", "-"],
    ["usedbychildren", "0", "-"],
    ["usedbyrefreservation", "0", "-"],
    ["logbias", "latency", "default"],
    ["objsetid", "259", "-"],
    ["dedup", "off", "default"],
    ["mlslabel", "none", "default"],
    ["sync", "standard", "default"],
    ["refcompressratio", "1.00x", "-"],
    ["written", "57344", "-"],
    ["logicalused", "28672", "-"],
    ["logicalreferenced", "28672", "-"],
    ["volmode", "default", "default"],
    ["snapshot_limit", "18446744073709551615", "default"],
    ["snapshot_count", "18446744073709551615", "default"],
    ["snapdev", "hidden", "default"],
    ["context", "none", "default"],
    ["fscontext", "none", "default"],
    ["defcontext", "none", "default"],
    ["rootcontext", "none", "default"],
    ["redundant_metadata", "all", "default"],
    ["encryption", "off", "default"],
    ["keylocation", "none", "default"],
    ["keyformat", "none", "default"],
    ["pbkdf2iters", "0", "default"],
    [OWNER_PROPERTY, "true", "local"],
];

/** The same listing with some rows replaced or added (and `null` to drop one). */
function zfsGet(changes: Record<string, [string, string] | null> = {}): string {
    const rows = new Map(ZFS_GET_SPARSE_1G.map(([p, v, s]) => [p, [v, s] as [string, string] | null]));
    for (const [property, row] of Object.entries(changes)) rows.set(property, row);
    return [...rows].filter(([, row]) => row !== null).map(([p, row]) => `${p}\t${row![0]}\t${row![1]}`).join("\n") + "\n";
}

/** What the observe script prints, section by section. */
function observeOutput(parts: { pool?: string; props?: string; device?: string; snapshots?: string }): string {
    return `@@pool\n${parts.pool ?? "yes"}\n@@props\n${parts.props ?? zfsGet()}@@device\n${parts.device ?? "present=1"}\n@@snapshots\n${parts.snapshots ?? "0"}\n`;
}

const connection = { host: "192.0.2.10" };
const desired = (overrides: Record<string, unknown> = {}): ZfsVolumeDesired => zfsVolumeSchema.parse({ connection, name: "tank/x", size: "1G", properties: { compression: "lz4" }, ...overrides });
const observed = (parts: Parameters<typeof observeOutput>[0] = {}): ZfsVolumeObserved => parseObserved(observeOutput(parts));
const ABSENT: ZfsVolumeObserved = { poolExists: true, exists: false, properties: new Map(), snapshots: 0, devicePresent: false };

function refused(fn: () => unknown, message: RegExp): void {
    assert.throws(fn, (error: unknown) => {
        assert.ok(error instanceof RefusedError, `expected a RefusedError, got ${String(error)}`);
        assert.match(error.message, message);
        return true;
    });
}

/** The argv of every zfs call in a plan, as a real shell passes them. */
function zfsCalls(script: string) {
    return runRecorded(script, ["zfs", "reboot", "udevadm", "blkid"]).calls;
}

describe("resources/zfsVolume", () => {
    describe("facts: parseZfsGet", () => {
        it("reads every property with its value and source, sizes as bytes", () => {
            const props = parseZfsGet(zfsGet());
            assert.equal(props.size, ZFS_GET_SPARSE_1G.length);
            assert.deepEqual(props.get("type"), { value: "volume", source: "-" });
            assert.deepEqual(props.get("volsize"), { value: "1073741824", source: "local" });
            assert.deepEqual(props.get("volblocksize"), { value: "8192", source: "default" });
            assert.deepEqual(props.get("refreservation"), { value: "0", source: "default" });
            assert.deepEqual(props.get("compression"), { value: "lz4", source: "local" });
            assert.deepEqual(props.get(OWNER_PROPERTY), { value: "true", source: "local" });
            // Larger than 2^53: kept as text, never through Number.
            assert.equal(props.get("guid")?.value, "9217718458062212731");
        });

        it("keeps spaces in values and sources (inherited from ...)", () => {
            const props = parseZfsGet("com.example:note\ta note with spaces\tlocal\ncompression\tlz4\tinherited from tank\n");
            assert.deepEqual(props.get("com.example:note"), { value: "a note with spaces", source: "local" });
            assert.deepEqual(props.get("compression"), { value: "lz4", source: "inherited from tank" });
        });

        it("is empty for a dataset that does not exist (the script prints nothing)", () => {
            assert.equal(parseZfsGet("").size, 0);
        });

        it("throws a ParseError with the line when the columns are not three", () => {
            assert.throws(() => parseZfsGet("type volume -\n"), (e: unknown) => e instanceof ParseError && e.raw === "type volume -");
        });
    });

    describe("facts: parseObserved", () => {
        it("reads a full answer: pool, props, device with its blkid signature, snapshots", () => {
            const o = observed({
                device: "present=1\nDEVNAME=/dev/zvol/tank/x\nUUID=6f0c7a52-3d1e-4c52-9a0e-2b7f1d9c4e11\nVERSION=1.0\nBLOCK_SIZE=4096\nTYPE=ext4\nUSAGE=filesystem",
                snapshots: "2",
            });
            assert.equal(o.poolExists, true);
            assert.equal(o.exists, true);
            assert.equal(o.properties.get("volsize")?.value, "1073741824");
            assert.equal(o.signature, "ext4");
            assert.equal(o.snapshots, 2);
            assert.equal(o.devicePresent, true);
        });

        it("reads a blank device and a partition table", () => {
            assert.equal(observed({ device: "present=1" }).signature, undefined);
            assert.equal(observed({ device: "present=1\nPTUUID=0a1b2c3d\nPTTYPE=gpt" }).signature, "gpt partition table");
        });

        it("reads an absent volume on an existing pool, and a missing pool", () => {
            const absent = observed({ props: "", device: "present=0", snapshots: "0" });
            assert.deepEqual({ ...absent, properties: absent.properties.size }, { poolExists: true, exists: false, properties: 0, signature: undefined, snapshots: 0, devicePresent: false });
            assert.equal(observed({ pool: "no", props: "", device: "present=0" }).poolExists, false);
        });

        it("tells a filesystem of the same name from a volume", () => {
            const fs = observed({ props: "type\tfilesystem\t-\nmounted\tyes\t-\n", device: "present=0" });
            assert.equal(fs.exists, false);
            assert.equal(fs.properties.size, 2);
        });

        it("accepts wc -l output with leading spaces (BSD and busybox pad it)", () => {
            assert.equal(observed({ snapshots: "       3" }).snapshots, 3);
        });

        it("throws a ParseError with the raw output when a section is missing or garbled", () => {
            const noSnapshots = "@@pool\nyes\n@@props\n@@device\npresent=0\n";
            assert.throws(() => parseObserved(noSnapshots), (e: unknown) => e instanceof ParseError && e.raw === noSnapshots);
            assert.throws(() => parseObserved(observeOutput({ snapshots: "wc: not found" })), ParseError);
        });
    });

    describe("facts: the observe script under a real shell", () => {
        // zfs, zpool and blkid are shell functions defined before the framed script: functions win
        // over PATH, which the preamble resets. The device does not exist here, so present=0.
        const fakes = (props: string) => `zpool() { [ "$1 $2 $3 $4" = "list -H -o name" ] && [ "$5" = tank ] && echo tank; }
zfs() {
  case "$1" in
    get) [ "$*" = "get -H -p -o property,value,source all tank/pzd-unit-none" ] && printf '%s' '${props.replace(/'/g, "'\\''")}';;
    list) [ "$*" = "list -H -t snapshot -o name -d 1 tank/pzd-unit-none" ] && printf 'tank/pzd-unit-none@a\\ntank/pzd-unit-none@b\\n';;
  esac
}
`;
        it("prints every section parseObserved needs, in one round trip", () => {
            const run = runShell("exec sh -s", { input: fakes(zfsGet()) + frameScript(observeScript("tank/pzd-unit-none")) });
            assert.equal(run.status, 0, run.stderr);
            const o = parseObserved(run.stdout);
            assert.equal(o.poolExists, true);
            assert.equal(o.exists, true);
            assert.equal(o.properties.get("volsize")?.value, "1073741824");
            assert.equal(o.snapshots, 2);
            assert.equal(o.devicePresent, false);
        });

        it("quotes a hostile name in the observe script", () => {
            const script = observeScript("tank/x; reboot").text;
            const run = runRecorded(script, ["zpool", "zfs", "blkid", "reboot"]);
            assert.ok(!run.calls.some((c) => c.tool === "reboot"), JSON.stringify(run.calls));
            assert.deepEqual(run.calls.find((c) => c.tool === "zfs")?.args, ["get", "-H", "-p", "-o", "property,value,source", "all", "tank/x; reboot"]);
        });
    });

    describe("operations: planZfsVolume", () => {
        it("absent → one create action: sparse, owned, the wanted properties, then wait for udev", () => {
            const plan = planZfsVolume(desired(), ABSENT);
            assert.equal(plan.actions.length, 1);
            const [action] = plan.actions;
            assert.equal(action.description, "create sparse volume tank/x of 1G");
            assert.ok(action.script.text.startsWith("zfs create -p -s -V 1073741824 -o pulumi-zfs-docker:managed=true -o compression=lz4 tank/x\n"), action.script.text);
            assert.match(action.script.text, /udevadm settle --timeout=60/);
            assert.match(action.script.text, /while \[ ! -e \/dev\/zvol\/tank\/x \]/);
            assert.match(action.script.text, /exit 70/);
        });

        it("absent, not sparse, with a volblocksize → no -s, volblocksize in bytes", () => {
            const plan = planZfsVolume(desired({ sparse: false, volblocksize: "16K", properties: {} }), ABSENT);
            assert.ok(plan.actions[0].script.text.startsWith("zfs create -p -V 1073741824 -o pulumi-zfs-docker:managed=true -o volblocksize=16384 tank/x\n"));
            assert.equal(plan.actions[0].description, "create volume tank/x of 1G");
        });

        it("the create script is valid sh and waits for the device (stopped at the deadline check)", () => {
            // Run only up to the wait loop: the device never appears here.
            const script = planScript(planZfsVolume(desired(), ABSENT)).text.split("\n").filter((l) => !l.startsWith("i=0;")).join("\n");
            const run = runRecorded(script, ["zfs", "udevadm"]);
            assert.equal(run.status, 0, run.stderr);
            assert.deepEqual(run.calls.map((c) => [c.tool, ...c.args]), [
                ["zfs", "create", "-p", "-s", "-V", "1073741824", "-o", "pulumi-zfs-docker:managed=true", "-o", "compression=lz4", "tank/x"],
                ["udevadm", "settle", "--timeout=60"],
            ]);
        });

        it("present, owned, same → no-op with a reason", () => {
            const plan = planZfsVolume(desired(), observed(), desired());
            assert.deepEqual(plan.actions, []);
            assert.equal(plan.noop, "tank/x is already 1G with the wanted properties");
        });

        it("size written as bytes is the same size: no-op", () => {
            assert.deepEqual(planZfsVolume(desired({ size: 1073741824 }), observed()).actions, []);
        });

        it("present and same but the device link is missing → only wait for it", () => {
            const plan = planZfsVolume(desired(), observed({ device: "present=0" }));
            assert.equal(plan.actions.length, 1);
            assert.equal(plan.actions[0].description, "wait for /dev/zvol/tank/x");
            assert.ok(!plan.actions[0].script.text.includes("zfs "));
        });

        it("grow → zfs set volsize in bytes", () => {
            const plan = planZfsVolume(desired({ size: "2G" }), observed(), desired());
            assert.deepEqual(plan.actions.map((a) => [a.description, a.script.text]), [["grow tank/x from 1G to 2G", "zfs set volsize=2147483648 tank/x"]]);
        });

        it("shrink → RefusedError that names both sizes and says what to keep", () => {
            refused(() => planZfsVolume(desired({ size: "512M" }), observed(), desired()), /tank\/x is 1G on the host; shrinking it to 512M .* Keep size at 1G or more/);
        });

        it("exists, not ours, no previous state → RefusedError pointing to import", () => {
            const notOurs = observed({ props: zfsGet({ [OWNER_PROPERTY]: null }) });
            refused(() => planZfsVolume(desired(), notOurs), /not created by pulumi-zfs-docker.*import: "tank\/x"/);
        });

        it("exists, not ours, with previous state (adopted by import) → mark it as ours, nothing else", () => {
            const notOurs = observed({ props: zfsGet({ [OWNER_PROPERTY]: null }) });
            const plan = planZfsVolume(desired(), notOurs, desired());
            assert.deepEqual(plan.actions.map((a) => a.script.text), ["zfs set pulumi-zfs-docker:managed=true tank/x"]);
        });

        it("an owner mark inherited from a parent does not make a stranger's volume ours", () => {
            // Someone ran `zfs set pulumi-zfs-docker:managed=true tank`: every volume under tank inherits it.
            const inherited = observed({ props: zfsGet({ [OWNER_PROPERTY]: ["true", "inherited from tank"] }) });
            refused(() => planZfsVolume(desired(), inherited), /not created by pulumi-zfs-docker/);
        });

        it("property changed → zfs set", () => {
            const plan = planZfsVolume(desired({ properties: { compression: "zstd" } }), observed(), desired());
            assert.deepEqual(plan.actions.map((a) => [a.description, a.script.text]), [["set compression=zstd on tank/x", "zfs set compression=zstd tank/x"]]);
        });

        it("property with the right value but only inherited → set it locally", () => {
            const plan = planZfsVolume(desired(), observed({ props: zfsGet({ compression: ["lz4", "inherited from tank"] }) }), desired());
            assert.deepEqual(plan.actions.map((a) => a.script.text), ["zfs set compression=lz4 tank/x"]);
        });

        it("property removed (set before, source local) → zfs inherit; one not set locally is left alone", () => {
            const previous = desired({ properties: { compression: "lz4", "com.example:note": "hi", sync: "always" } });
            const o = observed({ props: zfsGet({ "com.example:note": ["hi", "local"], sync: ["always", "inherited from tank"] }) });
            const plan = planZfsVolume(desired(), o, previous);
            assert.deepEqual(plan.actions.map((a) => [a.description, a.script.text]), [["inherit com.example:note on tank/x (no longer set)", "zfs inherit com.example:note tank/x"]]);
        });

        it("pool missing → RefusedError that says to create it", () => {
            refused(() => planZfsVolume(desired(), { ...ABSENT, poolExists: false }), /pool "tank" does not exist on the host: create it first \(zpool create\)/);
        });

        it("a filesystem of that name → RefusedError", () => {
            refused(() => planZfsVolume(desired(), observed({ props: "type\tfilesystem\t-\n", device: "present=0" })), /tank\/x exists but is a filesystem, not a volume: choose another name/);
        });

        it("volblocksize differs → RefusedError (fixed at creation)", () => {
            refused(() => planZfsVolume(desired({ volblocksize: "16K" }), observed(), desired()), /volblocksize 8K on the host; it can only be set at creation/);
        });

        it("sparse differs → RefusedError (fixed at creation)", () => {
            const thick = observed({ props: zfsGet({ refreservation: ["1090715648", "local"] }) });
            refused(() => planZfsVolume(desired(), thick, desired()), /tank\/x is not sparse on the host/);
            assert.deepEqual(planZfsVolume(desired({ sparse: false }), thick, desired({ sparse: false })).actions, []);
        });

        it("reads refreservation printed as 'none' or '-' as sparse", () => {
            for (const value of ["none", "-"]) {
                assert.deepEqual(planZfsVolume(desired(), observed({ props: zfsGet({ refreservation: [value, "default"] }) }), desired()).actions, []);
            }
        });
    });

    describe("operations: planDeleteZfsVolume", () => {
        const withExt4 = "present=1\nTYPE=ext4\nUUID=6f0c7a52-3d1e-4c52-9a0e-2b7f1d9c4e11";

        it("already gone → no-op", () => {
            assert.equal(planDeleteZfsVolume(desired(), ABSENT).noop, "tank/x is already gone");
        });

        it("holds a filesystem, no forceDestroy → RefusedError naming it and both ways out", () => {
            refused(() => planDeleteZfsVolume(desired(), observed({ device: withExt4 })), /refusing to destroy tank\/x: it holds a ext4 signature\. Set forceDestroy: true .* `pulumi state delete`/);
        });

        it("has snapshots, no forceDestroy → RefusedError", () => {
            refused(() => planDeleteZfsVolume(desired(), observed({ snapshots: "3" })), /it holds 3 snapshot\(s\)/);
            refused(() => planDeleteZfsVolume(desired(), observed({ device: withExt4, snapshots: "1" })), /a ext4 signature and 1 snapshot\(s\)/);
        });

        it("blank and without snapshots → destroy, no -r", () => {
            const plan = planDeleteZfsVolume(desired(), observed());
            assert.deepEqual(zfsCalls(plan.actions[0].script.text).map((c) => c.args), [["destroy", "tank/x"]]);
        });

        it("forceDestroy with snapshots → zfs destroy -r, never -R (clones elsewhere survive)", () => {
            const plan = planDeleteZfsVolume(desired({ forceDestroy: true }), observed({ device: withExt4, snapshots: "2" }));
            assert.equal(plan.actions.length, 1);
            assert.equal(plan.actions[0].description, "destroy tank/x");
            assert.ok(!/\s-R\b/.test(plan.actions[0].script.text));
            assert.deepEqual(zfsCalls(plan.actions[0].script.text).map((c) => c.args), [["destroy", "-r", "tank/x"]]);
        });

        it("forceDestroy without snapshots → plain zfs destroy", () => {
            const plan = planDeleteZfsVolume(desired({ forceDestroy: true }), observed({ device: withExt4 }));
            assert.deepEqual(zfsCalls(plan.actions[0].script.text).map((c) => c.args), [["destroy", "tank/x"]]);
        });

        it("keeps zfs's error output without a fixed path under /tmp (root would follow a planted symlink)", () => {
            const plan = planDeleteZfsVolume(desired({ forceDestroy: true }), observed());
            assert.ok(!plan.actions[0].script.text.includes("/tmp/"), plan.actions[0].script.text);
        });

        it("says what to do when the volume is busy", () => {
            // A zfs that fails like a mounted volume does; the script must add the hint and keep zfs's own words.
            const script = `zfs() { echo "cannot destroy 'tank/x': dataset is busy" >&2; return 1; }\n${planDeleteZfsVolume(desired({ forceDestroy: true }), observed()).actions[0].script.text}`;
            const run = runShell(script);
            assert.equal(run.status, 1);
            assert.match(run.stderr, /tank\/x is busy: unmount the filesystem on it \(FstabEntry\)/);
            assert.match(run.stderr, /dataset is busy/);
        });
    });

    describe("injection fixture", () => {
        const hostile = { compression: "lz4; reboot", "com.example:note": "$(reboot) `reboot` 'q' \"d\"" };

        it("the schema takes such property values (they are data), so quoting must hold them", () => {
            assert.equal(zfsVolumeSchema.safeParse({ connection, name: "tank/x", size: "1G", properties: hostile }).success, true);
        });

        it("create: each hostile value arrives inside exactly one argv word, and nothing else runs", () => {
            const script = planZfsVolume(desired({ properties: hostile }), ABSENT).actions[0].script.text.split("\n")[0];
            const calls = zfsCalls(script);
            assert.deepEqual(calls, [
                { tool: "zfs", args: ["create", "-p", "-s", "-V", "1073741824", "-o", `${OWNER_PROPERTY}=true`, "-o", "compression=lz4; reboot", "-o", "com.example:note=$(reboot) `reboot` 'q' \"d\"", "tank/x"] },
            ]);
        });

        it("set: the same through zfs set", () => {
            const plan = planZfsVolume(desired({ properties: hostile }), observed({ props: zfsGet({ compression: ["off", "default"] }) }), desired());
            const calls = zfsCalls(planScript(plan).text);
            assert.deepEqual(calls, [
                { tool: "zfs", args: ["set", "compression=lz4; reboot", "tank/x"] },
                { tool: "zfs", args: ["set", "com.example:note=$(reboot) `reboot` 'q' \"d\"", "tank/x"] },
            ]);
        });

        it("a hostile name is refused by the schema, and quoted even if it got past it", () => {
            assert.equal(zfsVolumeSchema.safeParse({ connection, name: "tank/x;reboot", size: "1G" }).success, false);
            const bypass = { ...desired(), name: "tank/x; reboot" };
            const calls = zfsCalls(planZfsVolume(bypass, ABSENT).actions[0].script.text.split("\n")[0]);
            assert.deepEqual(calls.map((c) => c.args.at(-1)), ["tank/x; reboot"]);
            const destroy = zfsCalls(planDeleteZfsVolume({ ...bypass, forceDestroy: true }, observed()).actions[0].script.text);
            assert.deepEqual(destroy, [{ tool: "zfs", args: ["destroy", "tank/x; reboot"] }]);
        });
    });

    describe("outputs", () => {
        it("reports the device path, sizes in bytes, the guid and the properties asked for", () => {
            assert.deepEqual(zfsVolume.outputs(desired(), observed()), {
                devicePath: "/dev/zvol/tank/x",
                sizeBytes: G,
                guid: "9217718458062212731",
                volblocksizeBytes: 8192,
                effectiveProperties: { compression: "lz4" },
            });
        });
    });
});
