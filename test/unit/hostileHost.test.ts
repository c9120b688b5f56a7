/**
 * Hostile and broken hosts (issue #11 §6): a zfs, zpool, mkfs.ext4, blkid, docker or systemctl that
 * hangs, prints junk or fails oddly must end in a typed error that names the host and the tool (or the
 * step), within the step's time limit, without writing anything. So must a host without the tools, or
 * a user without the rights. Everything runs through the real provider methods and the real framed
 * scripts under /bin/sh; only the tools are small fakes on PATH (FakeToolsHost), and the time limit
 * is cut to 1 s through PZD_TIMEOUT_SECONDS, so a hang of 30 s ends after about one.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { makeProviderImplementation } from "../../provider/adapter";
import { connectionSchema, describeConnection, localConnectionSchema } from "../../provider/connection";
import { NotAppliedError, ParseError, RemoteCommandError, RemoteTimeoutError } from "../../provider/host/errors";
import { settle } from "../../provider/host/host";
import { LocalHost } from "../../provider/host/local";
import { useHostFor } from "../../provider/host/pool";
import { sh } from "../../provider/host/quote";
import { frameScript, MUTATION_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS, TIMEOUT_ENV, timeoutSecondsFor, toolsIn } from "../../provider/host/script";
import { definitions } from "../../provider/runtime";
import { FakeToolsHost, type FakeTools, type Invocation, runShell } from "./realShell";

const input = { host: "192.0.2.66", user: "ops", privateKey: "k" };
const connection = connectionSchema.parse(input);
const HOST = describeConnection(connection);
const HANG = "sleep 30";

/** Calls that would change a host. None may happen when a read failed. */
function writes(calls: Invocation[]): Invocation[] {
    return calls.filter(
        (c) =>
            (c.tool === "zfs" && ["create", "set", "inherit", "destroy", "rename", "snapshot"].includes(c.args[0])) ||
            (c.tool === "zpool" && c.args[0] !== "list") ||
            ["mkfs.ext4", "wipefs", "resize2fs", "tune2fs", "e2label"].includes(c.tool) ||
            (c.tool === "systemctl" && ["stop", "start", "restart", "daemon-reload", "reset-failed"].includes(c.args[0])),
    );
}

interface Expected {
    type: new (...args: never[]) => Error;
    /** Words the message must hold besides the host (the tool, what to do). */
    says: RegExp[];
    /** The host's name in the message; ParseErrors get it from the adapter. Default true. */
    namesHost?: boolean;
}

async function rejects(work: Promise<unknown>, expected: Expected): Promise<Error> {
    let caught: unknown;
    try {
        await work;
    } catch (error) {
        caught = error;
    }
    assert.ok(caught instanceof Error, "expected the call to fail");
    const error = caught as Error;
    assert.ok(error instanceof expected.type, `expected a ${expected.type.name}, got ${error.name}: ${error.message}`);
    if (expected.namesHost !== false) assert.ok(error.message.includes(HOST), `the message does not name ${HOST}: ${error.message}`);
    for (const pattern of expected.says) assert.match(error.message, pattern);
    return error;
}

describe("hostile and broken hosts", function () {
    this.timeout(20_000);
    let saved: string | undefined;
    let hosts: FakeToolsHost[] = [];

    before(() => {
        saved = process.env[TIMEOUT_ENV];
        process.env[TIMEOUT_ENV] = "1";
    });
    after(() => {
        if (saved === undefined) delete process.env[TIMEOUT_ENV];
        else process.env[TIMEOUT_ENV] = saved;
    });
    afterEach(async () => {
        await Promise.all(hosts.map((h) => h.close()));
        hosts = [];
    });

    function fakeHost(tools: FakeTools, options: ConstructorParameters<typeof FakeToolsHost>[2] = {}, conn = connection): FakeToolsHost {
        const host = new FakeToolsHost(describeConnection(conn), tools, options);
        hosts.push(host);
        useHostFor(conn, host);
        return host;
    }

    describe("the time limit itself", () => {
        it("defaults: 120 s for a read, 900 s for a change; a step's own; PZD_TIMEOUT_SECONDS over all", () => {
            assert.equal(timeoutSecondsFor({ mutating: false }, {}), READ_TIMEOUT_SECONDS);
            assert.equal(timeoutSecondsFor({ mutating: true }, {}), MUTATION_TIMEOUT_SECONDS);
            assert.deepEqual([READ_TIMEOUT_SECONDS, MUTATION_TIMEOUT_SECONDS], [120, 900]);
            assert.equal(timeoutSecondsFor({ mutating: false, timeoutSeconds: 240 }, {}), 240);
            assert.equal(timeoutSecondsFor({ mutating: true, timeoutSeconds: 240 }, { [TIMEOUT_ENV]: "3600" }), 3600);
            assert.throws(() => timeoutSecondsFor({ mutating: false }, { [TIMEOUT_ENV]: "1.5" }), /PZD_TIMEOUT_SECONDS must be a whole number of seconds/);
            assert.throws(() => timeoutSecondsFor({ mutating: false }, { [TIMEOUT_ENV]: "0" }), /PZD_TIMEOUT_SECONDS/);
        });

        for (const shell of ["dash", "bash"]) {
            it(`under ${shell}: a hung body is killed on the host with the pzd-timeout line; its EXIT trap (cleanup) still runs`, () => {
                const run = runShell(`exec ${shell} -s`, { input: frameScript("trap 'echo cleaned up >&2' EXIT\nsleep 30\necho never", 1) });
                assert.equal(run.status, 124);
                assert.equal(run.stdout, "");
                assert.match(run.stderr, /^cleaned up$/m);
                assert.match(run.stderr, /^pzd-timeout: 1$/m);
            });

            it(`under ${shell}: with a limit the body still cannot read the script, stops at the first failure and sees its variables`, () => {
                assert.equal(runShell(`exec ${shell} -s`, { input: frameScript("cat\necho after", 5) }).stdout, "after\n");
                const run = runShell(`exec ${shell} -s`, { input: frameScript("echo one\nfalse\necho two", 5) });
                assert.deepEqual([run.status, run.stdout], [1, "one\n"]);
                assert.notEqual(runShell(`exec ${shell} -s`, { input: frameScript('echo "$pzd_never_set"', 5) }).status, 0);
                const quoted = runShell(`exec ${shell} -s`, { input: frameScript(sh`printf '%s\\n' ${"it's \"$(quoted)\" `x`"}`, 5) });
                assert.equal(quoted.stdout, "it's \"$(quoted)\" `x`\n");
            });
        }

        it("a tool's own 124 (a nested timeout) that ends early is a failed command, not the step's timeout", () => {
            const script = sh`timeout 0.1 sleep 5`;
            const run = runShell("exec sh -s", { input: frameScript(script, 5) });
            assert.equal(run.status, 124);
            assert.doesNotMatch(run.stderr, /pzd-timeout/);
            assert.throws(
                () => settle("h", script, { step: "s", mutating: false }, { exitCode: run.status, stdout: run.stdout, stderr: run.stderr }, { started: Date.now(), timeoutSeconds: 5, sudo: false }),
                (e: Error) => e instanceof RemoteCommandError && !(e instanceof RemoteTimeoutError),
            );
        });

        it("LocalHost stops a hung command on the host and says which step, where and what to do", async () => {
            const host = new LocalHost(localConnectionSchema.parse({ type: "local" }));
            const error = (await host.run(sh`sleep 30`, { step: "wait for nothing", mutating: false }).catch((e: Error) => e)) as RemoteTimeoutError;
            assert.ok(error instanceof RemoteTimeoutError, String(error));
            assert.ok(error instanceof RemoteCommandError, "a RemoteCommandError too, for whoever handles those");
            assert.equal(error.stoppedBy, "host");
            assert.match(error.message, /^wait for nothing on localhost did not finish within 1 s and was stopped on the host; .*It only reads the host: nothing was changed\. /);
            assert.match(error.message, /What to do: log in to localhost .*PZD_TIMEOUT_SECONDS=<seconds>/);
        });

        it("names the tools a script runs, in order, and not words that only contain them", () => {
            assert.deepEqual(toolsIn("zpool list -H tank\nx=$(zfs get all tank/x)\nblkid -p /dev/zvol/tank/x"), ["zpool", "zfs", "blkid"]);
            assert.deepEqual(toolsIn("echo pulumi-zfs-docker:managed /etc/docker/daemon.json docker.service umounted"), []);
            assert.deepEqual(toolsIn("mkfs.ext4 -q /dev/x"), ["mkfs.ext4"]);
        });
    });

    describe("ZfsVolume: zpool, zfs, blkid", () => {
        const provider = makeProviderImplementation(definitions.ZfsVolume);
        const inputs = { connection: input, name: "tank/x", size: "1G" };
        const state = { ...inputs, sparse: true, properties: {}, forceDestroy: false };
        const VOLUME = ["type\tvolume\t-", "volsize\t1073741824\tlocal", "volblocksize\t16384\tdefault", "refreservation\t0\tdefault", "guid\t42\t-", "pulumi-zfs-docker:managed\ttrue\tlocal"].join("\\n");
        /** A host with the pool and, unless `volume` is false, tank/x as a blank volume whose device node exists. */
        const zfsHost = (over: FakeTools = {}, volume = true) =>
            fakeHost(
                {
                    zpool: "echo tank",
                    zfs: volume ? `case "$1" in get) printf '${VOLUME}\\n';; esac` : `case "$1" in get) echo "cannot open 'tank/x': dataset does not exist" >&2; exit 1;; esac`,
                    blkid: "exit 2",
                    udevadm: ":",
                    ...over,
                },
                // The observe script looks for the zvol's device node: /dev/null stands in for it.
                { rewrite: [["/dev/zvol/tank/x", "/dev/null"]] },
            );

        for (const [tool, over] of [
            ["zpool", { zpool: HANG }],
            ["zfs", { zfs: `case "$1" in get) ${HANG};; esac` }],
            ["blkid", { blkid: HANG }],
        ] as const) {
            it(`${tool} hangs while reading → RemoteTimeoutError naming ${HOST} and ${tool}; nothing written`, async () => {
                const host = zfsHost(over);
                const error = (await rejects(provider.create!(inputs), { type: RemoteTimeoutError, says: [new RegExp(`read volume tank/x on ${HOST} did not finish within 1 s`), new RegExp(`\\b${tool}\\b`), /nothing was changed/] })) as RemoteTimeoutError;
                assert.ok(error.tools.includes(tool));
                assert.deepEqual(writes(host.calls()), []);
            });
        }

        it("zfs create hangs → RemoteTimeoutError for the change, naming zfs; nothing after it ran", async () => {
            const host = zfsHost({ zfs: `case "$1" in get) echo "cannot open 'tank/x': dataset does not exist" >&2; exit 1;; create) ${HANG};; esac` });
            await rejects(provider.create!(inputs), { type: RemoteTimeoutError, says: [/ZfsVolume tank\/x: create sparse volume tank\/x of 1G on .* did not finish within 1 s/, /hung on one of zfs, udevadm/, /It was changing the host/, /pulumi refresh/] });
            assert.deepEqual(host.calls().filter((c) => c.tool === "udevadm"), [], "the step stopped at zfs create");
        });

        const garbage: Array<[string, FakeTools, RegExp]> = [
            ["zfs get prints junk", { zfs: `case "$1" in get) echo "Segmentation fault (core dumped)";; esac` }, /could not parse zfs get output/],
            ["zfs get prints tab-separated junk", { zfs: `case "$1" in get) printf 'a\\tb\\tc\\n';; esac` }, /could not parse zfs get output .*property, value, source/],
            ["zfs get ignores -p (sizes as 1G)", { zfs: `case "$1" in get) printf '${VOLUME.replace("1073741824", "1G")}\\n';; esac` }, /zfs get -p output \(volsize is not a number of bytes\)/],
            ["zpool list prints a table instead of the name", { zpool: "printf 'NAME SIZE HEALTH\\ntank 9G ONLINE\\n'" }, /could not parse `zpool list -H -o name <pool>` output/],
        ];
        for (const [what, over, message] of garbage) {
            it(`${what} → ParseError naming ${HOST} and the tool; nothing written`, async () => {
                const host = zfsHost(over, false);
                await rejects(provider.create!(inputs), { type: ParseError, says: [new RegExp(`^ZfsVolume tank/x on ${HOST}: `), message] });
                assert.deepEqual(writes(host.calls()), []);
            });
        }

        it("blkid prints junk for the device → ParseError, never 'blank' (delete would then destroy it)", async () => {
            const host = zfsHost({ blkid: "echo 'blkid: ?? corrupted output'" });
            await rejects(provider.delete!("tank/x", state), { type: ParseError, says: [/`blkid -p -o export` output/] });
            assert.deepEqual(writes(host.calls()), []);
        });

        it("zfs list of the snapshots prints junk → ParseError, no destroy", async () => {
            const host = zfsHost({ zfs: `case "$1" in get) printf '${VOLUME}\\n';; list) echo 'internal error';; esac` });
            await rejects(provider.delete!("tank/x", state), { type: ParseError, says: [/the snapshot count \(from `zfs list -t snapshot`\)/, /internal error/] });
            assert.deepEqual(writes(host.calls()), []);
        });

        const failing: Array<[string, FakeTools, RegExp]> = [
            ["zfs get exits 3 with odd words", { zfs: `case "$1" in get) echo 'internal error: out of memory' >&2; exit 3;; esac` }, /zfs exited 3: reading the properties of tank\/x failed; the tool said:\ninternal error: out of memory/],
            ["zpool exits 1: no kernel module", { zpool: "echo \"The ZFS modules are not loaded.\nTry running '/sbin/modprobe zfs' as root to load them.\" >&2; exit 1" }, /zpool exited 1: reading pool tank failed; the tool said:\nThe ZFS modules are not loaded/],
            ["blkid exits 4", { blkid: "echo 'blkid: error: /dev/zvol/tank/x: Input/output error' >&2; exit 4" }, /blkid could not read \/dev\/null \(exit 4\); the tool said:\nblkid: error: .*Input\/output error/],
            ["blkid exits 2 (its 'nothing found') with an error", { blkid: "echo 'blkid: error: /dev/zvol/tank/x: No medium found' >&2; exit 2" }, /blkid could not read \/dev\/null \(exit 2\)/],
            ["zfs list of the snapshots fails", { zfs: `case "$1" in get) printf '${VOLUME}\\n';; list) echo 'bad file descriptor' >&2; exit 1;; esac` }, /zfs exited 1: listing the snapshots of tank\/x failed/],
        ];
        for (const [what, over, message] of failing) {
            it(`${what} → RemoteCommandError naming ${HOST} and the tool; nothing written`, async () => {
                const host = zfsHost(over);
                await rejects(provider.delete!("tank/x", state), { type: RemoteCommandError, says: [new RegExp(`read volume tank/x failed on ${HOST} \\(exit \\d+`), message] });
                assert.deepEqual(writes(host.calls()), []);
            });
        }

        it("no OpenZFS tools installed → an error that says so and what to install", async () => {
            const host = fakeHost({ blkid: "exit 2" });
            const error = await rejects(provider.create!(inputs), { type: RemoteCommandError, says: [/\(exit 127 /, /zpool is not installed on this host \(zpool, zfs needed\): install OpenZFS \(zfsutils-linux\), then run again/] });
            assert.equal((error as RemoteCommandError).exitCode, 127);
            assert.deepEqual(host.calls(), []);
        });

        const denied = "echo 'Permission denied the ZFS utilities must be run as root.' >&2; exit 1";
        it("a user without rights → an error that says so and how to get them, never 'pool does not exist'", async () => {
            const host = zfsHost({ zpool: denied, zfs: denied }, false);
            const error = await rejects(provider.create!(inputs), { type: RemoteCommandError, says: [/Permission denied/, /What to do: the user this connects as lacks the rights for it: connect as root, or set connection\.sudo: true/] });
            assert.doesNotMatch(error.message, /does not exist/);
            assert.deepEqual(writes(host.calls()), []);
        });

        it("the same through sudo → the hint looks past sudo", async () => {
            const sudoConnection = connectionSchema.parse({ ...input, sudo: true });
            fakeHost({ zpool: denied, zfs: denied }, { sudo: true }, sudoConnection);
            await assert.rejects(provider.create!({ ...inputs, connection: { ...input, sudo: true } }), /the host refused the tool even through sudo/);
        });
    });

    describe("Ext4Filesystem: blkid, blockdev, dumpe2fs, mkfs.ext4", () => {
        const provider = makeProviderImplementation(definitions.Ext4Filesystem);
        // A real block device for the script's `[ -b ]`; every tool that would touch it is a fake.
        const device = ["/dev/loop0", "/dev/loop1", "/dev/vda"].find((d) => fs.existsSync(d) && fs.statSync(d).isBlockDevice());
        const inputs = { connection: input, device: device ?? "/dev/loop0" };
        const ext4Host = (over: FakeTools = {}) =>
            fakeHost({ blkid: "exit 2", blockdev: "echo 1073741824", dumpe2fs: "exit 1", findmnt: "exit 1", "mkfs.ext4": ":", ...over });

        before(function () {
            if (device === undefined) this.skip();
        });

        it("blkid hangs → RemoteTimeoutError naming blkid; no mkfs", async () => {
            const host = ext4Host({ blkid: HANG });
            await rejects(provider.create!(inputs), { type: RemoteTimeoutError, says: [/read filesystem on .* did not finish within 1 s/, /blkid/] });
            assert.deepEqual(writes(host.calls()), []);
        });

        it("mkfs.ext4 hangs → RemoteTimeoutError for the change, naming mkfs.ext4", async () => {
            ext4Host({ "mkfs.ext4": HANG });
            await rejects(provider.create!(inputs), { type: RemoteTimeoutError, says: [/format .* as ext4 on .* did not finish within 1 s/, /hung on mkfs\.ext4\./, /It was changing the host/] });
        });

        const garbage: Array<[string, FakeTools, new (...args: never[]) => Error, RegExp]> = [
            // Read as "no signature", this would have formatted the device.
            ["blkid prints junk and exits 0", { blkid: "echo 'garbage from a broken blkid'" }, ParseError, /could not parse `blkid -p -o export` output/],
            ["blkid exits 0 printing nothing", { blkid: "exit 0" }, RemoteCommandError, /blkid exited 0 but printed nothing/],
            ["blkid exits 4 with odd words", { blkid: "echo 'blkid: probing initialization failed' >&2; exit 4" }, RemoteCommandError, /blkid could not read .* \(exit 4\); the tool said:\nblkid: probing initialization failed/],
            ["blockdev prints junk", { blockdev: "echo 'BLKGETSIZE64: Inappropriate ioctl'" }, ParseError, /the device size \(from `blockdev --getsize64`\)/],
            ["blockdev fails", { blockdev: "echo 'blockdev: cannot open: No such device' >&2; exit 1" }, RemoteCommandError, /blockdev could not read the size of .* \(exit 1\)/],
            ["dumpe2fs prints junk for an ext4", { blkid: "printf 'TYPE=ext4\\nUUID=6f0c7a52-3d1e-4c52-9a0e-2b7f1d9c4e11\\n'", dumpe2fs: "echo '???'" }, ParseError, /could not parse the ext4 superblock \(dumpe2fs -h/],
        ];
        for (const [what, over, type, message] of garbage) {
            it(`${what} → ${type.name} naming the host and the tool; no mkfs`, async () => {
                const host = ext4Host(over);
                await rejects(provider.create!(inputs), { type, says: [message] });
                assert.deepEqual(writes(host.calls()), []);
            });
        }

        it("blkid refused for lack of rights (it exits 2 for that, like 'nothing found') → an error about rights, not a format", async () => {
            const host = ext4Host({ blkid: `echo "blkid: error: ${inputs.device}: Permission denied" >&2; exit 2` });
            await rejects(provider.create!(inputs), { type: RemoteCommandError, says: [/Permission denied/, /connect as root, or set connection\.sudo: true/] });
            assert.deepEqual(writes(host.calls()), []);
        });

        it("mkfs.ext4 exits 1 with words that do not name it → RemoteCommandError that names it", async () => {
            ext4Host({ "mkfs.ext4": "echo 'Segmentation fault' >&2; exit 1" });
            await rejects(provider.create!(inputs), { type: RemoteCommandError, says: [/format .* as ext4 failed on .* \(exit 1 after \d+ ms; it runs mkfs\.ext4\): Segmentation fault/] });
        });

        it("mkfs.ext4 prints junk and exits 0 without formatting → NotAppliedError naming the step", async () => {
            ext4Host({ "mkfs.ext4": "echo 'mke2fs: ??'" });
            await rejects(provider.create!(inputs), { type: NotAppliedError, says: [/the host did not take every change: .*format .* as ext4/] });
        });

        it("e2fsprogs not installed → an error that says so and what to install", async () => {
            const host = fakeHost({ blkid: "exit 2", blockdev: "echo 1073741824", findmnt: "exit 1" });
            await rejects(provider.create!(inputs), { type: RemoteCommandError, says: [/dumpe2fs is not installed on this host .*install util-linux and e2fsprogs/] });
            assert.deepEqual(host.calls(), []);
        });
    });

    describe("DockerStorageConfig: systemctl, docker, and the atomic write", () => {
        const provider = makeProviderImplementation(definitions.DockerStorageConfig);
        const ORIGINAL = '{"log-level":"warn"}\n';
        const JSON_INFO = JSON.stringify({ Driver: "overlay2", DockerRootDir: "/var/lib/docker", DriverStatus: [["Backing Filesystem", "extfs"]], ServerVersion: "24.0.7", ContainersRunning: 0 });
        const SYSTEMCTL = `case "$1" in show) case "$*" in *--value*) echo active;; *) printf 'LoadState=loaded\\nActiveState=active\\nNeedDaemonReload=no\\n';; esac;; esac`;
        const DOCKER = `case "$3" in '{{json .}}') echo '${JSON_INFO}';; *) echo "overlay2|/var/lib/docker|extfs";; esac`;
        const FINDMNT = `case "$*" in *-P*) echo 'FSTYPE="ext4" SOURCE="/dev/zd0" TARGET="/" OPTIONS="rw,relatime"';; *"-o FSTYPE"*) echo ext4;; *) echo /;; esac`;

        /** A host whose daemon.json holds ORIGINAL, with Docker running at /var/lib/docker; the inputs move the data root. */
        function dockerHost(over: FakeTools = {}) {
            const host = fakeHost({ systemctl: SYSTEMCTL, docker: DOCKER, findmnt: FINDMNT, ...over });
            const file = path.join(host.dir, "daemon.json");
            fs.writeFileSync(file, ORIGINAL);
            fs.mkdirSync(path.join(host.dir, "docker-root"));
            // requiresMountsFor: [] keeps the drop-in (a fixed path under /etc) out of it.
            const inputs = { connection: input, daemonJsonPath: file, dataRoot: path.join(host.dir, "docker-root"), requiresMountsFor: [] };
            const unchanged = () => {
                assert.equal(fs.readFileSync(file, "utf8"), ORIGINAL, "daemon.json is as it was");
                assert.equal(fs.existsSync(`${file}.pulumi-zfs-docker.bak`), false, "no backup was written");
                assert.deepEqual(writes(host.calls()), []);
            };
            return { host, file, inputs, unchanged };
        }

        for (const [tool, over] of [
            ["systemctl", { systemctl: HANG }],
            ["docker", { docker: HANG }],
        ] as const) {
            it(`${tool} hangs while reading → RemoteTimeoutError naming ${tool}; daemon.json untouched`, async () => {
                const { inputs, unchanged } = dockerHost(over);
                await rejects(provider.create!(inputs), { type: RemoteTimeoutError, says: [/read Docker's storage configuration on .* did not finish within 1 s/, new RegExp(`\\b${tool}\\b`)] });
                unchanged();
            });
        }

        const broken: Array<[string, FakeTools, new (...args: never[]) => Error, RegExp]> = [
            ["docker info prints broken JSON", { docker: `echo '{"Driver": "overlay2", '` }, ParseError, /could not parse `docker info --format '\{\{json \.\}\}'`/],
            // Read as "Docker is not running", this would have restarted it.
            ["docker info fails with odd words while docker.service is active", { docker: "echo 'Error response from daemon: i/o timeout' >&2; exit 1" }, RemoteCommandError, /docker exited 1: docker info failed, although docker\.service is active; it said:\nError response from daemon: i\/o timeout/],
            ["systemctl show prints junk", { systemctl: `case "$*" in *--value*) echo active;; *) echo 'Segmentation fault';; esac` }, ParseError, /could not parse `systemctl show -p LoadState,ActiveState,NeedDaemonReload docker\.service` output/],
            ["systemctl show fails with odd words", { systemctl: `case "$*" in *--value*) echo active;; *) echo 'Failed to get properties: Connection timed out' >&2; exit 1;; esac` }, RemoteCommandError, /systemctl exited 1: reading docker\.service failed; the tool said:\nFailed to get properties: Connection timed out/],
        ];
        for (const [what, over, type, message] of broken) {
            it(`${what} → ${type.name} naming the host and the tool; nothing written, no restart`, async () => {
                const { inputs, unchanged } = dockerHost(over);
                await rejects(provider.create!(inputs), { type, says: [message] });
                unchanged();
            });
        }

        it("a user who may not use the Docker socket → an error about rights; no restart", async () => {
            const { inputs, unchanged } = dockerHost({ docker: "echo 'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock' >&2; exit 1" });
            await rejects(provider.create!(inputs), { type: RemoteCommandError, says: [/permission denied while trying to connect/, /connect as root, or set connection\.sudo: true/] });
            unchanged();
        });

        it("systemctl hangs while stopping Docker → RemoteTimeoutError naming systemctl, and the previous daemon.json is back", async () => {
            const { host, file, inputs } = dockerHost({ systemctl: `case "$1" in stop) ${HANG};; *) ${SYSTEMCTL};; esac` });
            await rejects(provider.create!(inputs), { type: RemoteTimeoutError, says: [/did not finish within 1 s/, /systemctl/, /Stopped by the time limit while restarting Docker: the previous .*daemon\.json is back in place/] });
            assert.equal(fs.readFileSync(file, "utf8"), ORIGINAL);
            assert.ok(host.calls().some((c) => c.tool === "systemctl" && c.args[0] === "stop"), "it got as far as stopping Docker");
            assert.ok(!host.calls().some((c) => c.tool === "systemctl" && c.args[0] === "start"), "and no further");
        });

        it("stopped in the middle of replacing daemon.json (sync hangs) → the old file, whole", async () => {
            const { host, file, inputs } = dockerHost({ sync: `case "$2" in */daemon.json.pzd-*) ${HANG};; esac` });
            await rejects(provider.create!(inputs), { type: RemoteTimeoutError, says: [/did not finish within 1 s/, /either the old or the new one/] });
            assert.equal(fs.readFileSync(file, "utf8"), ORIGINAL);
            assert.ok(host.calls().some((c) => c.tool === "sync" && c.args[1].includes("daemon.json.pzd-")), "it was stopped while writing daemon.json");
            assert.deepEqual(writes(host.calls()), [], "Docker was not touched");
        });
    });
});
