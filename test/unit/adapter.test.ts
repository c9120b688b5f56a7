import { strict as assert } from "assert";
import { z } from "zod";
import { checkInputs, makeProviderImplementation, propertyPath } from "../../provider/adapter";
import { ext4Filesystem } from "../../provider/resources/ext4Filesystem";
import { zfsVolume } from "../../provider/resources/zfsVolume";
import { UNKNOWN } from "../../provider/unknown";

/** Diff and check are pure: they must decide without a host. This address would fail any dial. */
const connection = { host: "192.0.2.10", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nkey-one\n-----END OPENSSH PRIVATE KEY-----\n" };
const volumeInputs = (overrides: Record<string, unknown> = {}) => ({ connection, name: "tank/x", size: "1G", properties: { compression: "lz4" }, ...overrides });

/** What the engine passes to diff as `olds`: the state, i.e. the parsed inputs plus the outputs. */
function volumeState(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const desired = zfsVolume.schema.parse(volumeInputs(overrides)) as Record<string, unknown>;
    return { ...desired, devicePath: "/dev/zvol/tank/x", sizeBytes: 2 ** 30, guid: "9217718458062212731", volblocksizeBytes: 8192, effectiveProperties: { compression: "lz4" }, __provider: "serialized-provider-v1" };
}

describe("adapter", () => {
    describe("propertyPath", () => {
        it("writes paths the way the engine shows them", () => {
            assert.equal(propertyPath(["a", "b", 0]), "a.b[0]");
            assert.equal(propertyPath(["connection", "proxy", "port"]), "connection.proxy.port");
            assert.equal(propertyPath(["extraOptions", 1]), "extraOptions[1]");
            assert.equal(propertyPath(["name"]), "name");
            assert.equal(propertyPath([]), "");
        });
    });

    describe("checkInputs", () => {
        const schema = z.object({ a: z.object({ b: z.array(z.string().min(2, "b items need two characters")) }), n: z.number() });

        it("turns zod issues into { property: 'a.b[0]', reason }", () => {
            const { desired, failures } = checkInputs(schema, { a: { b: ["x", "ok", "y"] }, n: "seven" });
            assert.equal(desired, undefined);
            assert.deepEqual(failures, [
                { property: "a.b[0]", reason: "b items need two characters" },
                { property: "a.b[2]", reason: "b items need two characters" },
                { property: "n", reason: "Expected number, received string" },
            ]);
        });

        it("returns the parsed value and no failures when valid", () => {
            assert.deepEqual(checkInputs(schema, { a: { b: ["ok"] }, n: 1 }), { desired: { a: { b: ["ok"] }, n: 1 }, failures: [] });
        });

        it("names the whole input when an issue has no path", () => {
            const refined = z.object({ x: z.number() }).refine((v) => v.x > 1, "x must be more than 1");
            assert.deepEqual(checkInputs(refined, { x: 0 }).failures, [{ property: "(inputs)", reason: "x must be more than 1" }]);
        });

        it("ignores issues at, under or above unknown values (checked again once known)", () => {
            assert.deepEqual(checkInputs(schema, { a: { b: ["x", UNKNOWN] }, n: UNKNOWN }).failures, [{ property: "a.b[0]", reason: "b items need two characters" }]);
            assert.deepEqual(checkInputs(schema, { a: UNKNOWN, n: 1 }).failures, []);
        });
    });

    describe("ZfsVolume provider: check", () => {
        const provider = makeProviderImplementation(zfsVolume);

        it("accepts good inputs and returns them as given (engine keys kept)", async () => {
            const news = { ...volumeInputs(), __provider: "p" };
            assert.deepEqual(await provider.check!({}, news), { inputs: news, failures: [] });
        });

        for (const name of ["tank", "tank/a b", "tank/x;reboot", "1tank/x", "tank//x", "tank/x/", "/tank/x", "mirror/x", "tank/../x", "tank/$(reboot)"]) {
            it(`refuses the name ${JSON.stringify(name)} with a failure on property name`, async () => {
                const { failures } = await provider.check!({}, volumeInputs({ name }));
                assert.equal(failures!.length, 1, JSON.stringify(failures));
                assert.equal(failures![0].property, "name");
                assert.ok(failures![0].reason.length > 20, failures![0].reason);
            });
        }

        describe("pool names as zpool(8) rules them", () => {
            const poolValid = async (pool: string) => (await provider.check!({}, volumeInputs({ name: `${pool}/docker` }))).failures!.length === 0;
            for (const pool of ["mirror", "mirror2", "raidz", "raidz1x", "draid", "spare", "spares", "log", "c0", "c1pool"]) {
                it(`refuses the reserved or disk-like pool name ${pool}`, async () => assert.equal(await poolValid(pool), false));
            }
            for (const pool of ["logs", "logbook", "cache", "special", "dedup", "tank", "c", "cpool", "my-pool.2"]) {
                it(`accepts the legal pool name ${pool}`, async () => assert.equal(await poolValid(pool), true));
            }
        });

        it("says why a name is wrong", async () => {
            const reasons = async (name: string) => (await provider.check!({}, volumeInputs({ name }))).failures![0].reason;
            assert.match(await reasons("tank"), /names a pool, not a volume: write pool\/volume/);
            assert.match(await reasons("tank//x"), /empty component/);
            assert.match(await reasons("tank/a b"), /characters ZFS does not allow/);
            assert.match(await reasons("1tank/x"), /not a valid pool name/);
        });

        it("refuses shrinking, naming size and the size to keep", async () => {
            const { failures } = await provider.check!(volumeInputs({ size: "2G" }), volumeInputs({ size: "1G" }));
            assert.deepEqual(failures!.map((f) => f.property), ["size"]);
            assert.match(failures![0].reason, /shrinking tank\/x from 2G to 1G .* keep size at 2G or more/);
        });

        it("allows growing, and a smaller size under a new name (a new volume)", async () => {
            assert.deepEqual((await provider.check!(volumeInputs({ size: "1G" }), volumeInputs({ size: "2G" }))).failures, []);
            assert.deepEqual((await provider.check!(volumeInputs({ size: "2G" }), volumeInputs({ name: "tank/y", size: "1G" }))).failures, []);
        });

        it("reports size and other field failures with their paths", async () => {
            const { failures } = await provider.check!({}, volumeInputs({ size: "lots", properties: { compression: "lz4", volsize: "2G", "Bad Key": "x" }, connection: { host: "h", port: 70000 } }));
            const byProperty = Object.fromEntries(failures!.map((f) => [f.property, f.reason]));
            assert.match(byProperty.size, /is not a size/);
            assert.match(byProperty["properties.volsize"], /managed by this resource/);
            assert.match(byProperty["properties.Bad Key"], /not a ZFS property name/);
            assert.ok("connection" in byProperty || "connection.port" in byProperty, JSON.stringify(failures));
        });

        it("ignores failures of values unknown during preview", async () => {
            const { failures } = await provider.check!({}, volumeInputs({ name: UNKNOWN, size: UNKNOWN, connection: UNKNOWN }));
            assert.deepEqual(failures, []);
        });
    });

    describe("ZfsVolume provider: diff (pure, no host)", () => {
        const provider = makeProviderImplementation(zfsVolume);
        const diff = (news: Record<string, unknown>, olds = volumeState()) => provider.diff!("tank/x", olds, { ...news, __provider: "serialized-provider-v2" });

        it("same inputs, state with outputs and another serialized provider → no change", async () => {
            assert.deepEqual(await diff(volumeInputs()), { changes: false, replaces: [], stables: [], deleteBeforeReplace: true });
        });

        it('size "1G" → "2G" is an update', async () => {
            assert.deepEqual(await diff(volumeInputs({ size: "2G" })), { changes: true, replaces: [], stables: [], deleteBeforeReplace: true });
        });

        it('size "1G" → 1073741824 is no change (compared as bytes)', async () => {
            assert.equal((await diff(volumeInputs({ size: 1073741824 }))).changes, false);
            assert.equal((await diff(volumeInputs({ size: "1024M" }))).changes, false);
        });

        it('volblocksize "8K" → 8192 is no change; → "16K" replaces, deleting first (same name)', async () => {
            const olds = volumeState({ volblocksize: "8K" });
            assert.equal((await diff(volumeInputs({ volblocksize: 8192 }), olds)).changes, false);
            assert.deepEqual(await diff(volumeInputs({ volblocksize: "16K" }), olds), { changes: true, replaces: ["volblocksize"], stables: [], deleteBeforeReplace: true });
        });

        it("name change → replace", async () => {
            const result = await diff(volumeInputs({ name: "tank/y" }));
            assert.equal(result.changes, true);
            assert.deepEqual(result.replaces, ["name"]);
        });

        it("sparse change → replace", async () => {
            assert.deepEqual((await diff(volumeInputs({ sparse: false }))).replaces, ["sparse"]);
        });

        it("a property change is an update", async () => {
            assert.deepEqual(await diff(volumeInputs({ properties: { compression: "zstd" } })), { changes: true, replaces: [], stables: [], deleteBeforeReplace: true });
        });

        it("forceDestroy change is an update (it only matters at delete)", async () => {
            const result = await diff(volumeInputs({ forceDestroy: true }));
            assert.equal(result.changes, true);
            assert.deepEqual(result.replaces, []);
        });

        it("unknown size during preview → changes, no replace", async () => {
            assert.deepEqual(await diff(volumeInputs({ size: UNKNOWN })), { changes: true, replaces: [], stables: [], deleteBeforeReplace: true });
        });

        it("unknown name during preview → may replace", async () => {
            assert.deepEqual((await diff(volumeInputs({ name: UNKNOWN }))).replaces, ["name"]);
        });

        it("connection host or port change → replace includes connection (another machine)", async () => {
            assert.ok((await diff(volumeInputs({ connection: { ...connection, host: "192.0.2.11" } }))).replaces!.includes("connection"));
            assert.ok((await diff(volumeInputs({ connection: { ...connection, port: 2222 } }))).replaces!.includes("connection"));
            assert.ok((await diff(volumeInputs({ connection: { type: "local" } }))).replaces!.includes("connection"));
        });

        it("connection key or user change only → update, not replace (same machine)", async () => {
            assert.deepEqual(await diff(volumeInputs({ connection: { ...connection, privateKey: "another key" } })), { changes: true, replaces: [], stables: [], deleteBeforeReplace: true });
            assert.deepEqual((await diff(volumeInputs({ connection: { ...connection, user: "admin", sudo: true } }))).replaces, []);
        });

        it("connection defaults written out are no change", async () => {
            assert.equal((await diff(volumeInputs({ connection: { ...connection, type: "ssh", port: 22, user: "root" } }))).changes, false);
        });

        it("unknown connection during preview → update, not replace", async () => {
            const result = await diff(volumeInputs({ connection: UNKNOWN }));
            assert.equal(result.changes, true);
            assert.deepEqual(result.replaces, []);
        });

        it("old state the schema cannot read → changes, never a replace guess", async () => {
            assert.deepEqual(await diff(volumeInputs(), { name: "tank/x" }), { changes: true, replaces: [], deleteBeforeReplace: true });
        });
    });

    describe("Ext4Filesystem provider: diff", () => {
        const provider = makeProviderImplementation(ext4Filesystem);
        const inputs = { connection, device: "/dev/zvol/tank/docker", label: "docker" };

        it("unchanged inputs show no diff, though the state holds the observed uuid and label as outputs", async () => {
            // converge() stores { ...desired, ...outputs }: uuid (an input too) comes back as the one on the disk.
            const state = { ...ext4Filesystem.schema.parse(inputs), uuid: "6f0c7a52-3d1e-4c52-9a0e-2b7f1d9c4e11", label: "docker", sizeBytes: 2 ** 30, blockSize: 4096, deviceBytes: 2 ** 30 };
            assert.deepEqual(await provider.diff!("/dev/zvol/tank/docker", state, inputs), { changes: false, replaces: [], stables: [], deleteBeforeReplace: true });
        });

        it("without label or uuid inputs, the observed ones in the state are no change either", async () => {
            const bare = { connection, device: "/dev/zvol/tank/docker" };
            const state = { ...ext4Filesystem.schema.parse(bare), uuid: "6f0c7a52-3d1e-4c52-9a0e-2b7f1d9c4e11", label: "", sizeBytes: 2 ** 30, blockSize: 4096, deviceBytes: 2 ** 30 };
            assert.deepEqual(await provider.diff!("/dev/zvol/tank/docker", state, bare), { changes: false, replaces: [], stables: [], deleteBeforeReplace: true });
        });

        it("a grown device (deviceSizeBytes) is an update, not a replace", async () => {
            const state = ext4Filesystem.schema.parse({ ...inputs, deviceSizeBytes: 2 ** 30 }) as Record<string, unknown>;
            const result = await provider.diff!("/dev/zvol/tank/docker", state, { ...inputs, deviceSizeBytes: 2 ** 31 });
            assert.equal(result.changes, true);
            assert.deepEqual(result.replaces, []);
        });

        it("a device change replaces, deleting the old one first (deleting after would wipe the new one)", async () => {
            const state = ext4Filesystem.schema.parse(inputs) as Record<string, unknown>;
            assert.deepEqual(await provider.diff!("/dev/zvol/tank/docker", state, { ...inputs, device: "/dev/zvol/tank/other" }), { changes: true, replaces: ["device"], stables: [], deleteBeforeReplace: true });
        });

        it("check reports an extraOptions entry by its index", async () => {
            const { failures } = await provider.check!({}, { ...inputs, extraOptions: ["-i 16384", "-E x; reboot"] });
            assert.deepEqual(failures!.map((f) => f.property), ["extraOptions[1]"]);
        });
    });
});
