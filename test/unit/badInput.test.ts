/**
 * Bad inputs stop at check, before any host is contacted: each row of the corpus goes through the real
 * adapter's `check` (the component's through the inputs it builds for its four resources) and must be
 * refused with a failure on the property at fault. A fake ssh/scp/sftp first on PATH records any dial,
 * and the host pool's counters must stay at zero.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { makeProviderImplementation } from "../../provider/adapter";
import type { DockerHostStorageArgs } from "../../provider/components/dockerHostStorage";
import { allHostStats } from "../../provider/host/pool";
import { definitions } from "../../provider/runtime";

type Resource = "ZfsVolume" | "Ext4Filesystem" | "FstabEntry" | "DockerStorageConfig";
type Kind = Resource | "DockerHostStorage";

interface Bad {
    resource: Kind;
    inputs: Record<string, unknown>;
    /** The failure's property; for the component, `<Resource>.<property>` of the resource it builds (all of them, when a list). */
    property: string | string[];
}

/** An unroutable address (TEST-NET-1): a dial would hang, not succeed. */
const SSH = { host: "192.0.2.10", privateKey: "k" };
const UUID = "0a1b2c3d-0000-4000-8000-000000000000";
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const CANARY = "touch /tmp/pzd-pwned";

/** Minimal valid inputs: each row changes one thing (or two that contradict each other). */
const BASE: Record<Kind, Record<string, unknown>> = {
    ZfsVolume: { connection: SSH, name: "tank/docker", size: "1G" },
    Ext4Filesystem: { connection: SSH, device: "/dev/zvol/tank/docker" },
    FstabEntry: { connection: SSH, spec: `UUID=${UUID}`, mountPoint: "/var/lib/docker", fsType: "ext4" },
    DockerStorageConfig: { connection: SSH },
    DockerHostStorage: { connection: SSH, pool: "tank", size: "1G" },
};

const bad = (resource: Kind, overrides: Record<string, unknown>, property: string | string[]): Bad => ({ resource, inputs: { ...BASE[resource], ...overrides }, property });
/** A bad connection, on the given resource. */
const conn = (resource: Resource, connection: unknown, property: string): Bad => bad(resource, { connection }, property);
const ALL: Resource[] = ["ZfsVolume", "Ext4Filesystem", "FstabEntry", "DockerStorageConfig"];

const CORPUS: Bad[] = [
    // ZfsVolume: sizes, ZFS names, properties, types, unknown names.
    bad("ZfsVolume", { size: "lots" }, "size"),
    bad("ZfsVolume", { size: "-1G" }, "size"),
    bad("ZfsVolume", { size: 0 }, "size"),
    bad("ZfsVolume", { size: "512K" }, "size"),
    bad("ZfsVolume", { size: 1048577 }, "size"),
    bad("ZfsVolume", { size: true }, "size"),
    bad("ZfsVolume", { size: undefined }, "size"),
    bad("ZfsVolume", { name: "tank" }, "name"),
    bad("ZfsVolume", { name: "tank/x;reboot" }, "name"),
    bad("ZfsVolume", { name: `tank/$(${CANARY})` }, "name"),
    bad("ZfsVolume", { name: "tank//x" }, "name"),
    bad("ZfsVolume", { name: "mirror/x" }, "name"),
    bad("ZfsVolume", { name: "tank/../x" }, "name"),
    bad("ZfsVolume", { name: "/tank/x" }, "name"),
    bad("ZfsVolume", { name: 42 }, "name"),
    bad("ZfsVolume", { volblocksize: "3K" }, "volblocksize"),
    bad("ZfsVolume", { volblocksize: "2M" }, "volblocksize"),
    bad("ZfsVolume", { properties: { volsize: "2G" } }, "properties.volsize"),
    bad("ZfsVolume", { properties: { "Bad Key": "x" } }, "properties.Bad Key"),
    bad("ZfsVolume", { properties: { compression: "lz4\nreboot" } }, "properties.compression"),
    bad("ZfsVolume", { properties: { compression: 1 } }, "properties.compression"),
    bad("ZfsVolume", { properties: "compression=lz4" }, "properties"),
    bad("ZfsVolume", { sparce: false }, "sparce"),
    bad("ZfsVolume", { sparse: "yes" }, "sparse"),
    bad("ZfsVolume", { forceDestroy: "true" }, "forceDestroy"),

    // Ext4Filesystem: devices, labels, UUIDs, percentages, mkfs options.
    bad("Ext4Filesystem", { device: "sdb" }, "device"),
    bad("Ext4Filesystem", { device: "/dev/../etc/passwd" }, "device"),
    bad("Ext4Filesystem", { device: "/dev/sdb; reboot" }, "device"),
    bad("Ext4Filesystem", { device: "/var/lib/docker" }, "device"),
    bad("Ext4Filesystem", { device: undefined }, "device"),
    bad("Ext4Filesystem", { label: "this-label-is-too-long" }, "label"),
    bad("Ext4Filesystem", { label: "doc ker" }, "label"),
    bad("Ext4Filesystem", { label: "$(reboot)" }, "label"),
    bad("Ext4Filesystem", { uuid: "not-a-uuid" }, "uuid"),
    bad("Ext4Filesystem", { reservedBlocksPercent: 60 }, "reservedBlocksPercent"),
    bad("Ext4Filesystem", { reservedBlocksPercent: -1 }, "reservedBlocksPercent"),
    bad("Ext4Filesystem", { reservedBlocksPercent: "5" }, "reservedBlocksPercent"),
    bad("Ext4Filesystem", { extraOptions: ["-F"] }, "extraOptions[0]"),
    bad("Ext4Filesystem", { extraOptions: ["-E lazy_itable_init=0; reboot"] }, "extraOptions[0]"),
    bad("Ext4Filesystem", { extraOptions: ["-O ^has_journal", "`reboot`"] }, "extraOptions[1]"),
    bad("Ext4Filesystem", { extraOptions: "-i 16384" }, "extraOptions"),
    bad("Ext4Filesystem", { deviceSizeBytes: -5 }, "deviceSizeBytes"),
    bad("Ext4Filesystem", { deviceSizeBytes: 1.5 }, "deviceSizeBytes"),
    bad("Ext4Filesystem", { lable: "docker" }, "lable"),
    bad("Ext4Filesystem", { force: 1 }, "force"),

    // FstabEntry: mount points, specs, types, options, fields, units, contradictions.
    bad("FstabEntry", { mountPoint: "var/lib/docker" }, "mountPoint"),
    bad("FstabEntry", { mountPoint: "/" }, "mountPoint"),
    bad("FstabEntry", { mountPoint: "/var/lib/docker/" }, "mountPoint"),
    bad("FstabEntry", { mountPoint: "/var/../etc" }, "mountPoint"),
    bad("FstabEntry", { mountPoint: "/var//lib/docker" }, "mountPoint"),
    bad("FstabEntry", { mountPoint: "/var/lib/\0docker" }, "mountPoint"),
    bad("FstabEntry", { mountPoint: ["/var/lib/docker"] }, "mountPoint"),
    bad("FstabEntry", { spec: "sdb" }, "spec"),
    bad("FstabEntry", { spec: "UUID=xyz" }, "spec"),
    bad("FstabEntry", { spec: "/dev/../sda" }, "spec"),
    bad("FstabEntry", { spec: "UUID=0a1b;reboot" }, "spec"),
    bad("FstabEntry", { fsType: "ext4 defaults" }, "fsType"),
    bad("FstabEntry", { fsType: "swap" }, "fsType"),
    bad("FstabEntry", { fsType: "" }, "fsType"),
    bad("FstabEntry", { options: [] }, "options"),
    bad("FstabEntry", { options: ["noatime,exec"] }, "options[0]"),
    bad("FstabEntry", { options: ["no atime"] }, "options[0]"),
    bad("FstabEntry", { options: ["x-systemd.device-timeout=10s"] }, "options"),
    bad("FstabEntry", { dump: 2 }, "dump"),
    bad("FstabEntry", { pass: 3 }, "pass"),
    bad("FstabEntry", { deviceTimeoutSeconds: 0 }, "deviceTimeoutSeconds"),
    bad("FstabEntry", { stopUnits: ["docker"] }, "stopUnits[0]"),
    bad("FstabEntry", { stopUnits: ["docker.service; reboot"] }, "stopUnits[0]"),
    // systemctl reads a leading '-' as an option: `systemctl stop -.mount` never names the unit.
    bad("FstabEntry", { stopUnits: ["-.mount"] }, "stopUnits[0]"),
    // Move the files aside, or mount over them: both at once says neither.
    bad("FstabEntry", { allowNonEmptyMountPoint: true, moveAsideExisting: true }, "moveAsideExisting"),
    bad("FstabEntry", { requiredBy: ["docker"] }, "requiredBy[0]"),
    bad("FstabEntry", { requiredBy: ["docker.service,x-systemd.automount"] }, "requiredBy[0]"),
    bad("FstabEntry", { requiredBy: ["dev-disk-by\\x2duuid.device.service"] }, "requiredBy[0]"),
    bad("FstabEntry", { requiredBy: ["-.mount"] }, "requiredBy[0]"),
    bad("FstabEntry", { requiredBy: "docker.service" }, "requiredBy"),
    bad("FstabEntry", { requiredBy: ["docker.service"], bootSafety: false }, "requiredBy"),
    bad("FstabEntry", { requiredBy: ["docker.service", "docker.service"] }, "requiredBy"),
    bad("FstabEntry", { requiredBy: ["docker.service"], options: ["defaults", "x-systemd.before=docker.service"] }, "options"),
    bad("FstabEntry", { fstabPath: "etc/fstab" }, "fstabPath"),
    bad("FstabEntry", { mountpoint: "/var/lib/docker" }, "mountpoint"),
    bad("FstabEntry", { bootSafety: "yes" }, "bootSafety"),

    // DockerStorageConfig: drivers, data roots, storage options, paths.
    bad("DockerStorageConfig", { storageDriver: "devicemapper" }, "storageDriver"),
    bad("DockerStorageConfig", { storageDriver: "overlay3" }, "storageDriver"),
    bad("DockerStorageConfig", { storageDriver: 2 }, "storageDriver"),
    bad("DockerStorageConfig", { dataRoot: "docker" }, "dataRoot"),
    bad("DockerStorageConfig", { dataRoot: "/etc/docker" }, "dataRoot"),
    bad("DockerStorageConfig", { dataRoot: "/srv/x; reboot" }, "dataRoot"),
    bad("DockerStorageConfig", { dataRoot: "/srv/my docker" }, "dataRoot"),
    bad("DockerStorageConfig", { storageOpts: ["overlay2.size"] }, "storageOpts[0]"),
    bad("DockerStorageConfig", { storageOpts: ["zfs.fsname=tank/docker"] }, "storageOpts[0]"),
    bad("DockerStorageConfig", { storageOpts: ["overlay2.size=20G", "overlay2.size=30G"] }, "storageOpts[1]"),
    bad("DockerStorageConfig", { storageOpts: ["overlay2.size=lots"] }, "storageOpts[0]"),
    bad("DockerStorageConfig", { storageOpts: ["Overlay2.size=20G"] }, "storageOpts[0]"),
    bad("DockerStorageConfig", { storageOpts: ['overlay2.size=20G"}'] }, "storageOpts[0]"),
    bad("DockerStorageConfig", { storageDriver: "zfs", storageOpts: ["zfs.fsname=tank/$(reboot)"] }, "storageOpts[0]"),
    bad("DockerStorageConfig", { daemonJsonPath: "daemon.json" }, "daemonJsonPath"),
    bad("DockerStorageConfig", { daemonJsonPath: "/etc/docker/daemon.json; reboot" }, "daemonJsonPath"),
    bad("DockerStorageConfig", { requiresMountsFor: ["relative"] }, "requiresMountsFor[0]"),
    bad("DockerStorageConfig", { requiresMountsFor: "/srv/docker" }, "requiresMountsFor"),
    bad("DockerStorageConfig", { restart: "no" }, "restart"),
    bad("DockerStorageConfig", { restrat: false }, "restrat"),

    // The connection, on every resource: hosts, ports, users, the jump host, key and agent paths.
    conn("ZfsVolume", { ...SSH, host: `-oProxyCommand=${CANARY}` }, "connection.host"),
    conn("Ext4Filesystem", { ...SSH, host: "host; reboot" }, "connection.host"),
    conn("FstabEntry", { ...SSH, host: "$(reboot)" }, "connection.host"),
    conn("DockerStorageConfig", { ...SSH, host: "`reboot`" }, "connection.host"),
    conn("ZfsVolume", { ...SSH, host: "a b" }, "connection.host"),
    conn("Ext4Filesystem", { ...SSH, host: "" }, "connection.host"),
    conn("FstabEntry", { ...SSH, host: "root@10.0.0.5" }, "connection.host"),
    conn("DockerStorageConfig", { ...SSH, host: "[::1]" }, "connection.host"),
    conn("ZfsVolume", { ...SSH, host: "10.0.0.5:22" }, "connection.host"),
    conn("Ext4Filesystem", { ...SSH, host: "256.1.1.1" }, "connection.host"),
    conn("FstabEntry", { ...SSH, host: "bad_host.example" }, "connection.host"),
    conn("DockerStorageConfig", { ...SSH, host: "h\n-oProxyCommand=x" }, "connection.host"),
    conn("ZfsVolume", { ...SSH, host: "docker-.example.com" }, "connection.host"),
    conn("Ext4Filesystem", { ...SSH, host: 10 }, "connection.host"),
    conn("FstabEntry", {}, "connection.host"),
    conn("DockerStorageConfig", { ...SSH, port: 0 }, "connection.port"),
    conn("ZfsVolume", { ...SSH, port: 65536 }, "connection.port"),
    conn("Ext4Filesystem", { ...SSH, port: "22" }, "connection.port"),
    conn("FstabEntry", { ...SSH, port: 22.5 }, "connection.port"),
    conn("DockerStorageConfig", { ...SSH, user: "root;reboot" }, "connection.user"),
    conn("ZfsVolume", { ...SSH, user: "-oProxyCommand=x" }, "connection.user"),
    conn("Ext4Filesystem", { ...SSH, user: "" }, "connection.user"),
    conn("FstabEntry", { ...SSH, user: 0 }, "connection.user"),
    conn("DockerStorageConfig", { ...SSH, proxy: { host: "-J" } }, "connection.proxy.host"),
    conn("ZfsVolume", { ...SSH, proxy: { host: "jump", port: 0 } }, "connection.proxy.port"),
    conn("Ext4Filesystem", { ...SSH, proxy: { host: "jump", hostKey: `${KEY}\n@cert-authority * ${KEY}` } }, "connection.proxy.hostKey"),
    conn("FstabEntry", { ...SSH, proxy: { host: "jump", user: "a b" } }, "connection.proxy.user"),
    conn("DockerStorageConfig", { ...SSH, proxy: { host: "jump", agentSocketPath: "agent.sock" } }, "connection.proxy.agentSocketPath"),
    conn("ZfsVolume", { ...SSH, proxy: { host: "jump", hots: "x" } }, "connection.proxy.hots"),
    conn("Ext4Filesystem", { ...SSH, hostKey: "not a key" }, "connection.hostKey"),
    conn("FstabEntry", { ...SSH, hostKey: KEY, acceptUnknownHostKey: true }, "connection.acceptUnknownHostKey"),
    conn("DockerStorageConfig", { ...SSH, sudoPassword: "pw" }, "connection.sudo"),
    conn("ZfsVolume", { ...SSH, sudo: true, sudoPassword: "pw\nreboot" }, "connection.sudoPassword"),
    conn("Ext4Filesystem", { ...SSH, password: "pw\nreboot" }, "connection.password"),
    conn("FstabEntry", { ...SSH, knownHostsPath: "~/.ssh/known_hosts" }, "connection.knownHostsPath"),
    conn("DockerStorageConfig", { ...SSH, knownHostsPath: "/tmp/k\nProxyCommand x" }, "connection.knownHostsPath"),
    conn("ZfsVolume", { ...SSH, knownHostsPath: "/tmp/a /etc/ssh/ssh_known_hosts" }, "connection.knownHostsPath"),
    conn("Ext4Filesystem", { ...SSH, agentSocketPath: "agent.sock" }, "connection.agentSocketPath"),
    conn("FstabEntry", { ...SSH, agentSocketPath: "/run/a\nIdentityFile /etc/shadow" }, "connection.agentSocketPath"),
    conn("DockerStorageConfig", { ...SSH, hostkey: KEY }, "connection.hostkey"),
    conn("ZfsVolume", { ...SSH, type: "telnet" }, "connection.type"),
    conn("Ext4Filesystem", "root@192.0.2.10", "connection"),
    conn("FstabEntry", { type: "local", host: "192.0.2.10" }, "connection.host"),
    conn("DockerStorageConfig", { ...SSH, dialErrorLimit: 0 }, "connection.dialErrorLimit"),
    conn("ZfsVolume", { ...SSH, perDialTimeout: "15" }, "connection.perDialTimeout"),
    conn("Ext4Filesystem", undefined, "connection"),

    // DockerHostStorage: its arguments, as they reach the resources it builds.
    bad("DockerHostStorage", { pool: "" }, "ZfsVolume.name"),
    bad("DockerHostStorage", { pool: "tank;reboot" }, "ZfsVolume.name"),
    bad("DockerHostStorage", { volumeName: "a b" }, "ZfsVolume.name"),
    bad("DockerHostStorage", { size: "lots" }, "ZfsVolume.size"),
    bad("DockerHostStorage", { volblocksize: "3K" }, "ZfsVolume.volblocksize"),
    bad("DockerHostStorage", { volumeProperties: { volsize: "1G" } }, "ZfsVolume.properties.volsize"),
    bad("DockerHostStorage", { forceDestroy: "yes" }, "ZfsVolume.forceDestroy"),
    bad("DockerHostStorage", { uuid: "nope" }, "Ext4Filesystem.uuid"),
    bad("DockerHostStorage", { label: "way-too-long-label-x" }, "Ext4Filesystem.label"),
    bad("DockerHostStorage", { reservedBlocksPercent: 99 }, "Ext4Filesystem.reservedBlocksPercent"),
    bad("DockerHostStorage", { mkfsOptions: ["-F"] }, "Ext4Filesystem.extraOptions[0]"),
    bad("DockerHostStorage", { dataRoot: "docker" }, ["FstabEntry.mountPoint", "DockerStorageConfig.dataRoot", "DockerStorageConfig.requiresMountsFor[0]"]),
    bad("DockerHostStorage", { dataRoot: "/etc" }, "DockerStorageConfig.dataRoot"),
    bad("DockerHostStorage", { dataRoot: "/srv/my docker" }, "DockerStorageConfig.dataRoot"),
    bad("DockerHostStorage", { mountOptions: ["a,b"] }, "FstabEntry.options[0]"),
    bad("DockerHostStorage", { deviceTimeoutSeconds: 0 }, "FstabEntry.deviceTimeoutSeconds"),
    bad("DockerHostStorage", { storageDriver: "aufs" }, "DockerStorageConfig.storageDriver"),
    bad("DockerHostStorage", { connection: { ...SSH, host: `-oProxyCommand=${CANARY}` } }, ALL.map((r) => `${r}.connection.host`)),
];

/** What the engine hands a dynamic provider: secrets unwrapped to their plain values. */
function unwrapSecrets(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(unwrapSecrets);
    if (value && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (record[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) return unwrapSecrets(record.value);
        return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

/** Inputs of each resource the component registers, by component name. */
const registered = new Map<string, Partial<Record<Resource, Record<string, unknown>>>>();

async function useMocks(): Promise<void> {
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                const kind = args.type.split(":").pop() as Resource;
                const owner = args.name.replace(/-(volume|ext4|mount|docker)$/, "");
                if ((ALL as string[]).includes(kind)) {
                    const { __provider, ...inputs } = unwrapSecrets(args.inputs) as Record<string, unknown>;
                    void __provider;
                    registered.set(owner, { ...registered.get(owner), [kind]: inputs });
                }
                // The state echoes the inputs: enough for the component to wire the next resource.
                return { id: `${args.name}-id`, state: args.inputs };
            },
            call: () => ({}),
        },
        "project",
        "stack",
        false,
    );
}

/** The properties each failure names: `property` for a resource, `<Resource>.property` for the component. */
async function failedProperties(row: Bad, index: number): Promise<{ property: string; reason: string }[]> {
    if (row.resource !== "DockerHostStorage") {
        const { failures } = await makeProviderImplementation(definitions[row.resource]).check!({}, row.inputs);
        return failures ?? [];
    }
    const { DockerHostStorage } = await import("../../provider/components/dockerHostStorage");
    const name = `bad-${index}`;
    const component = new DockerHostStorage(name, row.inputs as unknown as DockerHostStorageArgs);
    const urns = [component.volume.urn, component.filesystem.urn, component.mount.urn, component.docker.urn];
    await new Promise<void>((resolve) => pulumi.all(urns).apply(() => resolve()));
    const built = registered.get(name) ?? {};
    assert.deepEqual(Object.keys(built).sort(), [...ALL].sort(), `the component registered ${Object.keys(built).join(", ")}`);
    const out: { property: string; reason: string }[] = [];
    for (const kind of ALL) {
        const { failures } = await makeProviderImplementation(definitions[kind]).check!({}, built[kind]!);
        out.push(...(failures ?? []).map((f) => ({ property: `${kind}.${f.property}`, reason: f.reason })));
    }
    return out;
}

/** Where any ssh, scp or sftp started while the corpus runs writes its argv (the fakes exit 1). */
let fakeBin: string;
let sshLog: string;
let savedPath: string | undefined;

describe("bad inputs are refused at check, naming the property, before any host is contacted", function () {
    this.timeout(120_000);

    before(async () => {
        fakeBin = fs.mkdtempSync(path.join(os.tmpdir(), "pzd-fake-ssh-"));
        sshLog = path.join(fakeBin, "dials.log");
        for (const tool of ["ssh", "scp", "sftp"]) {
            fs.writeFileSync(path.join(fakeBin, tool), `#!/bin/sh\nprintf '%s\\n' "$0 $*" >>${JSON.stringify(sshLog)}\nexit 1\n`, { mode: 0o755 });
        }
        savedPath = process.env.PATH;
        process.env.PATH = `${fakeBin}${path.delimiter}${savedPath ?? ""}`;
        await useMocks();
    });

    after(() => {
        process.env.PATH = savedPath;
        fs.rmSync(fakeBin, { recursive: true, force: true });
    });

    it("control: ssh, scp and sftp started by name now run the recording fakes", () => {
        for (const tool of ["ssh", "scp", "sftp"]) {
            const found = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8", env: process.env }).stdout.trim();
            assert.equal(found, path.join(fakeBin, tool));
        }
    });

    it("control: the unchanged base inputs of every resource and of the component pass check", async () => {
        for (const [i, resource] of (Object.keys(BASE) as Kind[]).entries()) {
            assert.deepEqual(await failedProperties({ resource, inputs: BASE[resource], property: [] }, -1 - i), [], resource);
        }
    });

    it(`rejects all ${CORPUS.length} bad inputs at check, with 0 SSH connections`, async () => {
        assert.ok(CORPUS.length >= 60);
        const misses: string[] = [];
        for (const [i, row] of CORPUS.entries()) {
            const failures = await failedProperties(row, i);
            const label = `${row.resource} ${JSON.stringify(row.inputs, (k, v) => (k === "connection" && v === SSH ? undefined : v))}`;
            for (const property of [row.property].flat()) {
                const named = failures.find((f) => f.property === property);
                if (!named) {
                    misses.push(`${label}: no failure on ${property} (got ${JSON.stringify(failures)})`);
                } else if (named.reason.trim() === "" || named.reason === "Invalid input") {
                    misses.push(`${label}: the failure on ${property} does not say what is wrong: ${JSON.stringify(named.reason)}`);
                }
            }
        }
        const dials = fs.existsSync(sshLog) ? fs.readFileSync(sshLog, "utf8") : "";
        assert.equal(dials, "", "ssh, scp or sftp was started during check");
        const connected = Object.entries(allHostStats()).filter(([, stats]) => stats.connections > 0);
        assert.deepEqual(connected, [], "a host was connected to during check");
        assert.deepEqual(misses, [], `${misses.length} of ${CORPUS.length} bad inputs were not refused as they should be`);
    });
});
