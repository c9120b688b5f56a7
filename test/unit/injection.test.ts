/**
 * Hostile values (`;`, `&&`, `$()`, backticks, quotes, newlines, spaces, unicode) in names, labels,
 * options, paths and daemon.json: each is refused at check by the real adapter, naming the property,
 * or it is valid and the real remote scripts are run by a real /bin/sh with recording fakes of the
 * tools, which must receive it as one literal argument. A canary `touch` in the payloads must never
 * create its file, and no `reboot` may ever run.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { makeProviderImplementation } from "../../provider/adapter";
import { planScript } from "../../provider/plan";
import type { DockerStorageDesired } from "../../provider/resources/dockerStorageConfig";
import { parseObserved as parseDockerObserved, planDockerStorage } from "../../provider/resources/dockerStorageConfig";
import type { FstabEntryDesired } from "../../provider/resources/fstabEntry";
import { findEntries, MOVED_SUFFIX, observeScript as fstabObserveScript, parseFstab, parseObserved as parseFstabObserved, planFstabEntry } from "../../provider/resources/fstabEntry";
import { moveAsideScript, unmountScript } from "../../provider/resources/fstabEntry/scripts";
import type { ZfsVolumeDesired, ZfsVolumeObserved } from "../../provider/resources/zfsVolume";
import { OWNER_PROPERTY, planZfsVolume } from "../../provider/resources/zfsVolume";
import { definitions } from "../../provider/runtime";
import { parseSize } from "../../provider/units";
import type { Invocation } from "./realShell";
import { runRecorded } from "./realShell";

type Resource = "ZfsVolume" | "Ext4Filesystem" | "FstabEntry" | "DockerStorageConfig";

/** Created only if a payload's `touch` ever runs. */
const CANARY = path.join(os.tmpdir(), `pzd-canary-${process.pid}-pwned`);
const PWN = `touch ${CANARY}`;

const SSH = { host: "192.0.2.10", privateKey: "k" };
const LOCAL = { type: "local" };
const UUID = "0a1b2c3d-0000-4000-8000-000000000000";

interface Case {
    title: string;
    resource: Resource;
    /** Inputs; `sandbox` is a fresh directory for the paths a literal case lets the scripts really create. */
    inputs(sandbox: string): Record<string, unknown>;
    /** Refused at check with a failure on this property, or valid: then `literal` runs the real scripts. */
    rejected?: string;
    literal?(desired: never, sandbox: string): void;
}

const BASE: Record<Resource, Record<string, unknown>> = {
    ZfsVolume: { connection: SSH, name: "tank/docker", size: "1G" },
    Ext4Filesystem: { connection: SSH, device: "/dev/zvol/tank/docker" },
    FstabEntry: { connection: SSH, spec: `UUID=${UUID}`, mountPoint: "/var/lib/docker", fsType: "ext4" },
    DockerStorageConfig: { connection: SSH },
};

const refused = (resource: Resource, title: string, overrides: Record<string, unknown>, property: string): Case => ({ title, resource, inputs: () => ({ ...BASE[resource], ...overrides }), rejected: property });

/** Tools a script may call (recorded): anything else it ran would be a real program doing the unintended. */
function noUnintended(calls: Invocation[], allowed: string[]): void {
    assert.deepEqual(calls.filter((c) => !allowed.includes(c.tool)), [], "a tool the plan does not call was run");
}

// ZfsVolume: a property value is data, one `-o key=value` / `key=value` word.

const SIZE = parseSize("1G");
const EXISTING: ZfsVolumeObserved = {
    poolExists: true,
    exists: true,
    properties: new Map([
        ["type", { value: "volume", source: "-" }],
        ["volsize", { value: String(SIZE), source: "local" }],
        ["volblocksize", { value: "16384", source: "default" }],
        ["refreservation", { value: "0", source: "default" }],
        [OWNER_PROPERTY, { value: "true", source: "local" }],
    ]),
    snapshots: 0,
    devicePresent: true,
};
const ABSENT: ZfsVolumeObserved = { poolExists: true, exists: false, properties: new Map(), snapshots: 0, devicePresent: false };
const ZFS_TOOLS = ["zfs", "zpool", "udevadm", "blkid", "reboot"];

function zfsProperty(title: string, value: string): Case {
    const key = "com.example:note";
    return {
        title,
        resource: "ZfsVolume",
        inputs: () => ({ ...BASE.ZfsVolume, properties: { [key]: value } }),
        literal(desired: ZfsVolumeDesired) {
            // The create command itself (the lines after it wait for udev's device node, which needs a real zvol).
            const create = runRecorded(planZfsVolume(desired, ABSENT).actions[0].script.text.split("\n")[0], ZFS_TOOLS);
            assert.equal(create.status, 0, create.stderr);
            assert.deepEqual(create.calls, [{ tool: "zfs", args: ["create", "-p", "-s", "-V", String(SIZE), "-o", `${OWNER_PROPERTY}=true`, "-o", `${key}=${value}`, desired.name] }]);
            const set = runRecorded(`set -eu\n${planScript(planZfsVolume(desired, EXISTING, desired)).text}`, ZFS_TOOLS);
            assert.equal(set.status, 0, set.stderr);
            assert.deepEqual(set.calls, [{ tool: "zfs", args: ["set", `${key}=${value}`, desired.name] }]);
        },
    };
}

// FstabEntry: mount points, specs, options and the fstab path may hold shell syntax; every script quotes them.

const FSTAB_TOOLS = ["mount", "umount", "findmnt", "findfs", "blkid", "systemctl", "zfs", "reboot"];
/** The host before create: no fstab file, no mount point, the zvol's device present, nothing mounted there. */
const FRESH = parseFstabObserved(
    [
        "@@file", "state=absent",
        "@@content", "",
        "@@mountpoint", "kind=absent",
        "@@mounts", 'TARGET="/" SOURCE="/dev/vda" FSTYPE="ext4" OPTIONS="rw,relatime" MAJ:MIN="254:0"',
        "@@device", "path=/dev/zd0\nmajor=e6\nminor=0",
        "@@systemd", "systemd=1\nzfsvolumes=loaded",
        "@@users", "",
    ].join("\n") + "\n",
);

/** Create (fstab written for real in the sandbox, mount faked), read back, move aside for real, unmount. */
function fstabLiteral(desired: FstabEntryDesired, sandbox: string): void {
    const mp = desired.mountPoint;
    const create = runRecorded(`set -eu\n${planScript(planFstabEntry(desired, FRESH)).text}`, FSTAB_TOOLS);
    assert.equal(create.status, 0, create.stderr);
    noUnintended(create.calls, ["mount", "findmnt"]);
    const mount = create.calls.find((c) => c.tool === "mount");
    assert.ok(mount, JSON.stringify(create.calls));
    assert.equal(mount.args[0], "--fstab");
    assert.deepEqual(mount.args.slice(2), ["--", mp]);
    assert.deepEqual(create.calls.filter((c) => c.tool === "findmnt").map((c) => c.args), [["-M", mp]]);
    assert.ok(fs.statSync(mp).isDirectory(), "mkdir made the mount point under its literal name");

    // The line in the file holds the values exactly (fstab's own escapes, read back by the same parser the plan uses).
    const entries = findEntries(parseFstab(fs.readFileSync(desired.fstabPath)), mp);
    assert.equal(entries.length, 1, fs.readFileSync(desired.fstabPath, "utf8"));
    assert.equal(entries[0].fields.mountPoint, mp);
    assert.equal(entries[0].fields.spec, desired.spec);
    for (const option of desired.options) assert.ok(entries[0].fields.options.includes(option), `${option} in ${entries[0].fields.options.join(",")}`);

    // The observe script reads the same file and mount point; findfs gets the spec as one word.
    const observe = runRecorded(fstabObserveScript(desired).text, FSTAB_TOOLS);
    assert.equal(observe.status, 0, observe.stderr);
    noUnintended(observe.calls, ["findmnt", "findfs", "blkid", "systemctl"]);
    if (/^(UUID|LABEL|PARTUUID)=/.test(desired.spec)) assert.deepEqual(observe.calls.find((c) => c.tool === "findfs")?.args, [desired.spec]);
    const seen = parseFstabObserved(observe.stdout);
    assert.equal(seen.mountPoint.kind, "dir");
    assert.equal(seen.file.state, "present");

    // Moving aside renames the literal directory (real mv, mkdir, chmod, chown).
    fs.writeFileSync(path.join(mp, "kept"), "x");
    const aside = runRecorded(moveAsideScript(mp).text, FSTAB_TOOLS);
    assert.equal(aside.status, 0, aside.stderr);
    noUnintended(aside.calls, []);
    assert.deepEqual(fs.readdirSync(mp), []);
    const moved = fs.readdirSync(path.dirname(mp)).filter((n) => n.startsWith(path.basename(mp) + MOVED_SUFFIX));
    assert.equal(moved.length, 1, fs.readdirSync(path.dirname(mp)).join(" | "));
    assert.deepEqual(fs.readdirSync(path.join(path.dirname(mp), moved[0])), ["kept"]);

    const unmount = runRecorded(unmountScript(mp).text, FSTAB_TOOLS);
    assert.equal(unmount.status, 0, unmount.stderr);
    assert.deepEqual(unmount.calls, [{ tool: "umount", args: ["--", mp] }]);
    assert.ok(fs.existsSync(sandbox));
}

function fstabCase(title: string, overrides: (sandbox: string) => Record<string, unknown>): Case {
    return {
        title,
        resource: "FstabEntry",
        inputs: (sandbox) => ({ ...BASE.FstabEntry, connection: LOCAL, mountPoint: path.join(sandbox, "mnt", "docker"), fstabPath: path.join(sandbox, "fstab"), ...overrides(sandbox) }),
        literal: fstabLiteral,
    };
}
const mountPointCase = (title: string, name: string): Case => fstabCase(title, (sandbox) => ({ mountPoint: path.join(sandbox, "mnt", name) }));

// DockerStorageConfig: hostile values are refused; what daemon.json already holds is kept byte for byte.

/** daemon.json with keys we do not own holding shell and JSON syntax, and unicode. */
const HOSTILE_DAEMON_JSON = `{\n  "labels": ["$(${PWN})", "\`${PWN}\`", "a'b\\"c; ${PWN} && reboot", "naïve ✓", "line\\nbreak"],\n  "log-level": "warn"\n}\n`;

function dockerObserved(daemonJson: string, root: string) {
    const b64 = Buffer.from(daemonJson).toString("base64");
    return parseDockerObserved(
        [
            "@@daemon", `present\n644\n${b64}`,
            "@@backup", "absent",
            "@@dropin", "absent",
            "@@systemd", "systemctl=1\nLoadState=loaded\nActiveState=inactive\nNeedDaemonReload=no",
            "@@dockerd", "installed=1\nversion=Docker version 20.10.24+dfsg1, build 5d6db84",
            "@@info", "",
            "@@backing", `path=${root}\nresolved=${root}\nstat=ext2/ext3`,
            "@@mount", `FSTYPE="ext4" SOURCE="/dev/zd0" TARGET="${root}" OPTIONS="rw,relatime"`,
            "@@xfs", "",
            "@@fuse", "binary=0\ndevice=1",
        ].join("\n") + "\n",
    );
}

function dockerLiteral(desired: DockerStorageDesired): void {
    fs.writeFileSync(desired.daemonJsonPath, HOSTILE_DAEMON_JSON);
    const plan = planDockerStorage(desired, dockerObserved(HOSTILE_DAEMON_JSON, desired.dataRoot!));
    const run = runRecorded(`set -eu\n${planScript(plan).text}`, ["dockerd", "docker", "systemctl", "journalctl", "reboot"]);
    assert.equal(run.status, 0, run.stderr);
    // Docker 20 (the version read) has no --validate: dockerd is never started, so no value from the file reaches it.
    assert.deepEqual(run.calls.filter((c) => c.tool === "dockerd"), []);
    noUnintended(run.calls, ["dockerd"]);
    const written = JSON.parse(fs.readFileSync(desired.daemonJsonPath, "utf8"));
    const before = JSON.parse(HOSTILE_DAEMON_JSON);
    assert.deepEqual(written, { ...before, "storage-driver": desired.storageDriver, "data-root": desired.dataRoot });
    assert.ok(fs.existsSync(`${desired.daemonJsonPath}.pulumi-zfs-docker.bak`));
}

const CASES: Case[] = [
    // ZfsVolume names go into every zfs command and the device path: only ZFS's own characters pass.
    refused("ZfsVolume", "name with ';'", { name: `tank/x; ${PWN}` }, "name"),
    refused("ZfsVolume", "name with '&&'", { name: `tank/x&&${PWN}` }, "name"),
    refused("ZfsVolume", "name with $()", { name: `tank/$(${PWN})` }, "name"),
    refused("ZfsVolume", "name with backticks", { name: `tank/\`${PWN}\`` }, "name"),
    refused("ZfsVolume", "name with quotes", { name: `tank/x'"y` }, "name"),
    refused("ZfsVolume", "name with a newline", { name: `tank/x\n${PWN}` }, "name"),
    refused("ZfsVolume", "name with unicode", { name: "tank/dökker" }, "name"),
    refused("ZfsVolume", "property name with ';'", { properties: { "com.example:x;reboot": "v" } }, "properties.com.example:x;reboot"),
    refused("ZfsVolume", "property value with a newline", { properties: { "com.example:note": `x\n${PWN}` } }, "properties.com.example:note"),
    zfsProperty("property value with ';' and '&&'", `lz4; ${PWN} && reboot`),
    zfsProperty("property value with $(), backticks and quotes", `$(${PWN}) \`${PWN}\` 'q' "d"`),
    zfsProperty("property value with unicode", "naïve — ünïcødé ✓"),
    zfsProperty("property value with spaces around and inside", "  two  words  "),

    // Ext4Filesystem: labels, devices and mkfs options are narrow by design.
    refused("Ext4Filesystem", "label with $()", { label: `$(${PWN})` }, "label"),
    refused("Ext4Filesystem", "label with a quote and ';'", { label: "x'; reboot #" }, "label"),
    refused("Ext4Filesystem", "label with unicode", { label: "dökker" }, "label"),
    refused("Ext4Filesystem", "device with ';'", { device: `/dev/sdb; ${PWN}` }, "device"),
    refused("Ext4Filesystem", "device with backticks", { device: "/dev/zvol/tank/`reboot`" }, "device"),
    refused("Ext4Filesystem", "mkfs option with '&&'", { extraOptions: [`-E lazy_itable_init=0 && ${PWN}`] }, "extraOptions[0]"),

    // FstabEntry: what fstab and the mount tools can hold is accepted, and must stay literal.
    refused("FstabEntry", "fsType with ';'", { fsType: "ext4;reboot" }, "fsType"),
    refused("FstabEntry", "option with a space and $()", { options: [`noatime $(${PWN})`] }, "options[0]"),
    refused("FstabEntry", "stopUnits entry with ';'", { stopUnits: ["docker.service;reboot"] }, "stopUnits[0]"),
    refused("FstabEntry", "UUID spec with $()", { spec: `UUID=$(${PWN})` }, "spec"),
    mountPointCase("mount point with spaces and ';'", `a b; ${PWN}`),
    mountPointCase("mount point with $()", `$(${PWN})`),
    mountPointCase("mount point with backticks", `\`${PWN}\``),
    mountPointCase("mount point with quotes and '&&'", `it's "quoted" && reboot`),
    mountPointCase("mount point with a newline", `line\n${PWN}`),
    mountPointCase("mount point with a tab and a backslash", "tab\there\\back"),
    mountPointCase("mount point with unicode", "dökker ✓"),
    mountPointCase("mount point that is a glob", "*"),
    fstabCase("LABEL spec with ';' and spaces", () => ({ spec: `LABEL=x; ${PWN}` })),
    fstabCase("LABEL spec with $() and backticks", () => ({ spec: `LABEL=$(${PWN})\`reboot\`` })),
    fstabCase("options with $(), backticks, ';' and '&&'", () => ({ options: ["defaults", "x-$(reboot)", "x-`reboot`;reboot&&reboot"] })),
    fstabCase("fstab path with spaces, ';' and $()", (sandbox) => ({ fstabPath: path.join(sandbox, "fs tab;reboot $(reboot) `reboot`") })),

    // DockerStorageConfig: daemon.json and the systemd drop-in take only plain paths and known options.
    refused("DockerStorageConfig", "data root with $()", { dataRoot: `/srv/$(${PWN})` }, "dataRoot"),
    refused("DockerStorageConfig", "data root with ';'", { dataRoot: `/srv/x; ${PWN}` }, "dataRoot"),
    refused("DockerStorageConfig", "data root with unicode", { dataRoot: "/srv/dökker" }, "dataRoot"),
    refused("DockerStorageConfig", "storage option with ';'", { storageOpts: [`overlay2.size=20G; ${PWN}`] }, "storageOpts[0]"),
    refused("DockerStorageConfig", "storage option that closes the JSON string", { storageOpts: ['overlay2.size=20G","data-root":"/'] }, "storageOpts[0]"),
    refused("DockerStorageConfig", "storage driver with '&&'", { storageDriver: `overlay2 && ${PWN}` }, "storageDriver"),
    refused("DockerStorageConfig", "daemon.json path with a newline", { daemonJsonPath: "/etc/docker/daemon.json\nx" }, "daemonJsonPath"),
    refused("DockerStorageConfig", "RequiresMountsFor path with a space", { requiresMountsFor: ["/srv/a b"] }, "requiresMountsFor[0]"),
    {
        title: "daemon.json keys it does not own, holding shell and JSON syntax, kept as they were",
        resource: "DockerStorageConfig",
        inputs: (sandbox) => ({ connection: LOCAL, dataRoot: "/srv/d@2:x=y,z+1", daemonJsonPath: path.join(sandbox, "daemon.json"), restart: false, requiresMountsFor: [] }),
        literal: dockerLiteral,
    },

    // The connection: everything that reaches ssh's argv, its config parser or a ProxyCommand shell.
    refused("ZfsVolume", "host that is an ssh option", { connection: { ...SSH, host: `-oProxyCommand=${PWN}` } }, "connection.host"),
    refused("Ext4Filesystem", "host with ';'", { connection: { ...SSH, host: `h;${PWN}` } }, "connection.host"),
    refused("FstabEntry", "host with $()", { connection: { ...SSH, host: `$(${PWN})` } }, "connection.host"),
    refused("DockerStorageConfig", "host with unicode", { connection: { ...SSH, host: "dökker.example" } }, "connection.host"),
    refused("ZfsVolume", "jump host with backticks", { connection: { ...SSH, proxy: { host: `\`${PWN}\`` } } }, "connection.proxy.host"),
    refused("Ext4Filesystem", "user with $()", { connection: { ...SSH, user: `root$(${PWN})` } }, "connection.user"),
    refused("FstabEntry", "knownHostsPath with a newline and an ssh option", { connection: { ...SSH, knownHostsPath: `/tmp/k\nProxyCommand ${PWN}` } }, "connection.knownHostsPath"),
    refused("DockerStorageConfig", "agentSocketPath with a space", { connection: { ...SSH, agentSocketPath: "/tmp/a b" } }, "connection.agentSocketPath"),
];

describe(`injection: ${CASES.length} hostile values are refused at check or reach the tools as one literal argument`, function () {
    this.timeout(30_000);
    let sandbox: string;

    beforeEach(() => {
        fs.rmSync(CANARY, { force: true });
        sandbox = fs.mkdtempSync(path.join(os.tmpdir(), "pzd-injection-"));
    });
    afterEach(() => {
        fs.rmSync(sandbox, { recursive: true, force: true });
        assert.equal(fs.existsSync(CANARY), false, `a payload ran: ${CANARY} exists`);
    });

    it("control: the canary is what the payloads would create, and a shell that runs one creates it", () => {
        const run = runRecorded(`x=$(${PWN}); :`, []);
        assert.equal(run.status, 0, run.stderr);
        assert.equal(fs.existsSync(CANARY), true);
        fs.rmSync(CANARY);
    });

    for (const c of CASES) {
        it(`${c.resource}: ${c.title} → ${c.rejected ? `refused at check (${c.rejected})` : "literal"}`, async () => {
            const inputs = c.inputs(sandbox);
            const { failures = [] } = await makeProviderImplementation(definitions[c.resource]).check!({}, inputs);
            if (c.rejected) {
                const named = failures.find((f) => f.property === c.rejected);
                assert.ok(named, `no failure on ${c.rejected}: ${JSON.stringify(failures)}`);
                assert.notEqual(named.reason, "Invalid input");
            } else {
                assert.deepEqual(failures, [], "valid at check, so it must be passed literally");
                c.literal!(definitions[c.resource].schema.parse(inputs) as never, sandbox);
            }
        });
    }
});
