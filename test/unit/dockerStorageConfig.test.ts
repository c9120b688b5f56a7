import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { makeProviderImplementation } from "../../provider/adapter";
import { ParseError, RefusedError } from "../../provider/host/errors";
import { frameScript } from "../../provider/host/script";
import { planScript } from "../../provider/plan";
import { mergeDaemonJson, serializeBackup } from "../../provider/resources/dockerStorageConfig/daemonJson";
import type { DockerStorageDesired, DockerStorageObserved } from "../../provider/resources/dockerStorageConfig";
import {
    backupPathFor,
    daemonJsonCheckFor,
    dockerStorageConfig,
    dockerStorageConfigSchema,
    DROP_IN_PATH,
    observeScript,
    outputsOf,
    parseDockerInfo,
    parseDropIn,
    parseFindmntPairs,
    parseObserved,
    planDeleteDockerStorage,
    planDockerStorage,
    reflectDockerStorage,
    renderDropIn,
} from "../../provider/resources/dockerStorageConfig";
import { runRecorded, runShell } from "./realShell";

const connection = { type: "local" as const };
const desired = (inputs: Record<string, unknown> = {}): DockerStorageDesired => dockerStorageConfigSchema.parse({ connection, dataRoot: "/srv/docker", ...inputs });

/**
 * `docker info --format '{{json .}}'` on the test guest (docker.io 20.10.24+dfsg1, Debian bookworm),
 * cut to the fields we read plus a few neighbours; Docker on overlay2 over the root ext4.
 */
const INFO_VAR_LIB = {
    ID: "MP77:MVFP:AJT6:YVNK:YUOD:3IHV:3LDM:JBJM:RCBE:ET6R:YF4T:LTUM",
    Containers: 0,
    ContainersRunning: 0,
    Images: 0,
    Driver: "overlay2",
    DriverStatus: [["Backing Filesystem", "extfs"], ["Supports d_type", "true"], ["Native Overlay Diff", "true"], ["userxattr", "false"]],
    KernelVersion: "6.1.0-50-amd64",
    OperatingSystem: "Debian GNU/Linux 12 (bookworm)",
    DockerRootDir: "/var/lib/docker",
    ServerVersion: "20.10.24+dfsg1",
};
const INFO_SRV = { ...INFO_VAR_LIB, DockerRootDir: "/srv/docker", ContainersRunning: 2 };
/** The same command with docker.service and docker.socket stopped: exit 0, and this. */
const INFO_DOWN = '{"ServerErrors":["Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"],"ClientInfo":{"Debug":false,"Context":"default","Plugins":[],"Warnings":null}}';

/** findmnt -n -P -T <path> -o FSTYPE,SOURCE,TARGET,OPTIONS lines measured on the guest. */
const MOUNT_ROOT = 'FSTYPE="ext4" SOURCE="/dev/vda" TARGET="/" OPTIONS="rw,relatime,errors=remount-ro"';
const MOUNT_ZVOL_EXT4 = 'FSTYPE="ext4" SOURCE="/dev/zd0" TARGET="/srv/docker" OPTIONS="rw,relatime"';
const MOUNT_ZFS = 'FSTYPE="zfs" SOURCE="tank/ds" TARGET="/srv/docker" OPTIONS="rw,xattr,noacl"';
const MOUNT_XFS_PQUOTA = 'FSTYPE="xfs" SOURCE="/dev/zd0" TARGET="/srv/docker" OPTIONS="rw,relatime,attr2,inode64,logbufs=8,logbsize=32k,prjquota"';
const MOUNT_NFS = 'FSTYPE="nfs4" SOURCE="nas:/export/docker" TARGET="/srv/docker" OPTIONS="rw,relatime,vers=4.2"';

interface Facts {
    daemon?: string;
    mode?: string;
    backup?: string;
    dropIn?: string;
    systemctl?: boolean;
    loadState?: string;
    activeState?: string;
    needReload?: boolean;
    info?: object | string;
    backingPath?: string;
    stat?: string;
    mount?: string;
    xfs?: string;
    fuse?: boolean;
}

const b64 = (text: string): string => Buffer.from(text).toString("base64");
const fileSection = (text: string | undefined, mode?: string): string => (text === undefined ? "absent" : [`present`, ...(mode ? [mode] : []), b64(text)].join("\n"));

/** What observeScript prints on the guest, section by section (the shape measured there). */
function raw(f: Facts = {}): string {
    const systemctl = f.systemctl ?? true;
    const info = f.info === undefined ? INFO_SRV : f.info;
    return [
        "@@daemon",
        f.daemon === undefined ? "absent" : fileSection(f.daemon, f.mode ?? "644"),
        "@@backup",
        fileSection(f.backup),
        "@@dropin",
        fileSection(f.dropIn),
        "@@systemd",
        systemctl ? `systemctl=1\nLoadState=${f.loadState ?? "loaded"}\nActiveState=${f.activeState ?? (info ? "active" : "inactive")}\nNeedDaemonReload=${f.needReload ? "yes" : "no"}` : "systemctl=0",
        "@@dockerd",
        // The script asks dockerd for its version only when Docker is not running.
        info ? "installed=1" : "installed=1\nversion=Docker version 20.10.24+dfsg1, build 5d6db84",
        "@@info",
        typeof info === "string" ? info : info ? JSON.stringify(info) : "",
        "@@backing",
        `path=${f.backingPath ?? "/srv/docker"}\nresolved=/srv/docker\nstat=${f.stat ?? "ext2/ext3"}`,
        "@@mount",
        f.mount ?? MOUNT_ZVOL_EXT4,
        "@@xfs",
        f.xfs ?? "",
        "@@fuse",
        `binary=${f.fuse ? 1 : 0}\ndevice=1`,
    ].join("\n") + "\n";
}
const observed = (f: Facts = {}): DockerStorageObserved => parseObserved(raw(f));

/** The host after a successful create from a daemon.json holding only {"log-level":"warn"}. */
const ORIGINAL = '{"log-level":"warn"}\n';
const MERGED = mergeDaemonJson(ORIGINAL, { "storage-driver": "overlay2", "storage-opts": undefined, "data-root": "/srv/docker" }, "/etc/docker/daemon.json")!;
const CONVERGED: Facts = { daemon: MERGED, backup: serializeBackup("/etc/docker/daemon.json", { existed: true, content: ORIGINAL, mode: "644" }), dropIn: renderDropIn(["/srv/docker"]) };

function refused(fn: () => unknown, ...patterns: RegExp[]): void {
    assert.throws(fn, (e: Error) => {
        assert.ok(e instanceof RefusedError, `expected RefusedError, got ${e.name}: ${e.message}`);
        for (const p of patterns) assert.match(e.message, p);
        return true;
    });
}

describe("resources/dockerStorageConfig", () => {
    describe("schema", () => {
        const check = async (inputs: Record<string, unknown>) => (await makeProviderImplementation(dockerStorageConfig).check!({}, { connection, ...inputs })).failures ?? [];

        it("defaults: overlay2, /etc/docker/daemon.json, restart, and a drop-in for the data root", () => {
            const d = dockerStorageConfigSchema.parse({ connection });
            assert.equal(d.storageDriver, "overlay2");
            assert.equal(d.daemonJsonPath, "/etc/docker/daemon.json");
            assert.equal(d.restart, true);
            assert.deepEqual(d.storageOpts, []);
            assert.deepEqual(d.requiresMountsFor, ["/var/lib/docker"]);
            assert.deepEqual(desired().requiresMountsFor, ["/srv/docker"]);
            assert.deepEqual(desired({ requiresMountsFor: [] }).requiresMountsFor, []);
        });

        it("devicemapper and aufs are refused at check time, saying they are removed from Docker", async () => {
            for (const driver of ["devicemapper", "aufs"]) {
                const [failure] = await check({ storageDriver: driver });
                assert.equal(failure.property, "storageDriver");
                assert.match(failure.reason, new RegExp(`storageDriver "${driver}" is refused: it is removed from current Docker`));
                assert.match(failure.reason, /Use overlay2 on an ext4 or xfs data root/);
            }
            assert.match((await check({ storageDriver: "btrfs2" }))[0].reason, /is not one of overlay2, zfs, btrfs, vfs, fuse-overlayfs/);
            for (const driver of ["overlay2", "zfs", "btrfs", "vfs", "fuse-overlayfs"]) {
                assert.deepEqual(await check({ storageDriver: driver }), [], driver);
            }
        });

        it("paths must be absolute, normalized and plain", async () => {
            assert.match((await check({ dataRoot: "srv/docker" }))[0].reason, /dataRoot must be an absolute path such as \/var\/lib\/docker/);
            assert.match((await check({ dataRoot: "/srv/docker/" }))[0].reason, /without the trailing '\/': \/srv\/docker$/);
            assert.match((await check({ dataRoot: "/srv/../etc" }))[0].reason, /'\.' or '\.\.' component/);
            assert.match((await check({ dataRoot: "/" }))[0].reason, /dataRoot cannot be \//);
            assert.match((await check({ dataRoot: "/my docker" }))[0].reason, /has characters other than/);
            assert.equal((await check({ requiresMountsFor: ["/srv", "x"] }))[0].property, "requiresMountsFor[1]");
            assert.deepEqual(await check({ dataRoot: "/srv/docker-a1_b.c", requiresMountsFor: ["/srv", "/srv/docker-a1_b.c"] }), []);
        });

        it("storage options are checked against the chosen driver", async () => {
            assert.deepEqual(await check({ storageOpts: ["overlay2.size=20G"] }), []);
            assert.deepEqual(await check({ storageDriver: "zfs", storageOpts: ["zfs.fsname=tank/docker"] }), []);
            assert.deepEqual(await check({ storageDriver: "btrfs", storageOpts: ["btrfs.min_space=10G"] }), []);
            const cases: Array<[Record<string, unknown>, RegExp]> = [
                [{ storageOpts: ["zfs.fsname=tank/docker"] }, /zfs\.fsname is an option of the zfs driver, but storageDriver is overlay2: remove it or change storageDriver/],
                [{ storageOpts: ["dm.basesize=20G"] }, /dm\.basesize is an option of the devicemapper driver/],
                [{ storageOpts: ["overlay2.foo=1"] }, /overlay2 takes only overlay2\.size, overlay2\.override_kernel_check; Docker would refuse to start with overlay2\.foo/],
                [{ storageOpts: ["overlay2.size=lots"] }, /"lots" is not a size/],
                [{ storageOpts: ["overlay2.size"] }, /is not key=value/],
                [{ storageOpts: ["Overlay2.size=1G"] }, /lower case/],
                [{ storageOpts: ["overlay2.size=1G", "overlay2.size=2G"] }, /sets overlay2\.size twice/],
                [{ storageDriver: "fuse-overlayfs", storageOpts: ["overlay2.size=1G"] }, /an option of the overlay2 driver/],
                [{ storageDriver: "vfs", storageOpts: ["vfs.size=1G; reboot"] }, /without spaces/],
            ];
            for (const [inputs, pattern] of cases) {
                const failures = await check(inputs);
                assert.equal(failures.length, 1, JSON.stringify(inputs));
                assert.match(failures[0].property, /^storageOpts\[\d\]$/);
                assert.match(failures[0].reason, pattern);
            }
        });
    });

    describe("facts", () => {
        it("parses the observe output measured on the guest", () => {
            const o = observed({ daemon: ORIGINAL, mode: "640", dropIn: renderDropIn(["/srv/docker"]) });
            assert.equal(o.daemonJson!.toString(), ORIGINAL);
            assert.equal(o.daemonJsonMode, "640");
            assert.equal(o.backup, undefined);
            assert.equal(o.dropIn, renderDropIn(["/srv/docker"]));
            assert.deepEqual(o.systemd, { present: true, unitLoaded: true, activeState: "active", needDaemonReload: false, mainProcess: "" });
            assert.deepEqual(o.dockerd, { installed: true, version: "" }, "a running Docker's version comes from docker info");
            assert.deepEqual(o.info, { driver: "overlay2", rootDir: "/srv/docker", backingFilesystem: "extfs", serverVersion: "20.10.24+dfsg1", containersRunning: 2 });
            assert.deepEqual(o.backing, { path: "/srv/docker", resolvedRoot: "/srv/docker", fsType: "ext4", source: "/dev/zd0", mountPoint: "/srv/docker", options: ["rw", "relatime"], xfsFtype: undefined });
            assert.deepEqual(o.fuse, { binary: false, device: true });
        });

        it("docker info of a stopped daemon, or none at all, means not running", () => {
            assert.equal(parseDockerInfo(INFO_DOWN), undefined);
            assert.equal(parseDockerInfo(""), undefined);
            assert.throws(() => parseDockerInfo("{not json"), ParseError);
        });

        it("findmnt -P values are unescaped; an empty daemon.json is present and empty", () => {
            assert.deepEqual(parseFindmntPairs('FSTYPE="fuse.sshfs" SOURCE="me@nas:/a\\x20b" TARGET="/mnt/a\\x20b" OPTIONS="rw"'), { FSTYPE: "fuse.sshfs", SOURCE: "me@nas:/a b", TARGET: "/mnt/a b", OPTIONS: "rw" });
            const o = parseObserved(raw({ daemon: "" }));
            assert.equal(o.daemonJson!.length, 0);
        });

        it("a missing section is a parse error carrying the raw text", () => {
            assert.throws(() => parseObserved(raw().replace("@@mount", "@@mnt")), ParseError);
        });

        it("the observe script runs under a real sh and only asks a running daemon", () => {
            const run = runRecorded(observeScript(desired()).text, ["systemctl", "docker", "dockerd", "findmnt", "xfs_info", "reboot"]);
            assert.equal(run.status, 0, run.stderr);
            // The recorder answers nothing, so ActiveState is empty: docker info must not be asked.
            assert.ok(!run.calls.some((c) => c.tool === "docker"), JSON.stringify(run.calls));
            assert.ok(run.calls.some((c) => c.tool === "findmnt" && c.args.join(" ").startsWith("-n -P -T")));
            assert.match(run.stdout, /^@@daemon\n(absent|present)/);
        });

        describe("the read after an apply reuses docker info only from the same daemon process", () => {
            // systemctl and docker as shell functions (they win over PATH): docker info leaves a mark.
            const fakes = (main: string, started: string) => `systemctl() {
  case "$*" in
    *"--value docker.service") echo active ;;
    "show -p LoadState,ActiveState,NeedDaemonReload,MainPID,ExecMainStartTimestampMonotonic docker.service") printf 'ExecMainStartTimestampMonotonic=%s\\nMainPID=%s\\nLoadState=loaded\\nActiveState=active\\nNeedDaemonReload=no\\n' ${started} ${main} ;;
    *) return 0 ;;
  esac
}
# No API client here, whatever this machine has at Docker's socket: the CLI answers.
perl() { return 1; }
docker() { echo "docker $*" >>"$PZD_CALLS"; printf '%s\\n' '${JSON.stringify(INFO_SRV)}'; }
dockerd() { echo "dockerd $*" >>"$PZD_CALLS"; }
timeout() { shift 2; "$@"; }
`;
            const read = (main: string, started: string, before?: DockerStorageObserved) => {
                const calls = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "pzd-unit-")), "calls");
                fs.writeFileSync(calls, "");
                const run = runShell(fakes(main, started) + observeScript(desired(), before).text, { env: { ...process.env, PZD_CALLS: calls, LC_ALL: "C" } });
                assert.equal(run.status, 0, run.stderr);
                const asked = fs.readFileSync(calls, "utf8");
                fs.rmSync(path.dirname(calls), { recursive: true, force: true });
                return { observed: parseObserved(run.stdout, before), asked };
            };

            it("a first read asks docker info and records the main process as pid@start", () => {
                const first = read("4242", "987654321");
                assert.equal(first.observed.systemd.mainProcess, "4242@987654321");
                assert.equal(first.observed.info?.rootDir, "/srv/docker");
                assert.match(first.asked, /^docker info/m);
            });

            it("the same pid and start: docker info is not asked, the earlier answer stands", () => {
                const before = read("4242", "987654321").observed;
                const after = read("4242", "987654321", before);
                assert.equal(after.asked, "", "docker info was asked of the daemon already read");
                assert.deepEqual(after.observed.info, before.info);
            });

            it("a restarted daemon (another start, or another pid) is asked again", () => {
                const before = read("4242", "987654321").observed;
                assert.match(read("4242", "987700000", before).asked, /^docker info/m);
                assert.match(read("5151", "987654321", before).asked, /^docker info/m);
            });

            it("a Docker still activating is asked again each second until it is active, then read as running", () => {
                const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pzd-unit-"));
                const count = path.join(dir, "count");
                fs.writeFileSync(count, "0");
                // The first two answers say activating; sleep is a no-op so the test takes no time.
                const activating = fakes("4242", "987654321").replace("    \"show -p LoadState", `    "show -p LoadState,ActiveState,NeedDaemonReload,MainPID,ExecMainStartTimestampMonotonic docker.service") n=$(($(cat ${count}) + 1)); echo $n >${count}; if [ $n -le 2 ]; then printf 'ActiveState=activating\\nLoadState=loaded\\nMainPID=4242\\n'; return 0; fi; printf 'ExecMainStartTimestampMonotonic=987654321\\nMainPID=4242\\nLoadState=loaded\\nActiveState=active\\nNeedDaemonReload=no\\n' ;;\n    "never show -p LoadState`) + "sleep() { :; }\n";
                const run = runShell(activating + observeScript(desired()).text, { env: { ...process.env, PZD_CALLS: path.join(dir, "calls"), LC_ALL: "C" } });
                const asked = fs.readFileSync(count, "utf8").trim();
                fs.rmSync(dir, { recursive: true, force: true });
                assert.equal(run.status, 0, run.stderr);
                assert.equal(asked, "3", "systemctl show is asked until Docker is no longer activating");
                const o = parseObserved(run.stdout);
                assert.equal(o.systemd.activeState, "active");
                assert.equal(o.info?.rootDir, "/srv/docker", "docker info of the now running daemon");
            });

            it("a 'same daemon' answer without the earlier read is a parse error, not a guess", () => {
                const before = read("4242", "987654321").observed;
                const fakes4242 = fakes("4242", "987654321") + observeScript(desired(), before).text;
                const run = runShell(fakes4242, { env: { ...process.env, PZD_CALLS: "/dev/null", LC_ALL: "C" } });
                assert.throws(() => parseObserved(run.stdout), ParseError);
            });
        });

        it("the drop-in renders and parses back", () => {
            assert.equal(renderDropIn(["/srv", "/srv/docker"]).split("\n").slice(2).join("\n"), "[Unit]\nRequiresMountsFor=/srv /srv/docker\n");
            assert.deepEqual(parseDropIn(renderDropIn(["/srv", "/srv/docker"])), ["/srv", "/srv/docker"]);
        });
    });

    describe("operations: planDockerStorage", () => {
        it("first run: backup, merge, drop-in, restart with verification; warnings say what a restart does", () => {
            const plan = planDockerStorage(desired(), observed({ daemon: ORIGINAL, info: INFO_VAR_LIB, mount: MOUNT_ZVOL_EXT4 }));
            assert.deepEqual(
                plan.actions.map((a) => a.description),
                [
                    "keep the current storage keys of /etc/docker/daemon.json in /etc/docker/daemon.json.pulumi-zfs-docker.bak (none of the storage keys set), for delete to restore",
                    'set storage-driver "overlay2", data-root "/srv/docker" in /etc/docker/daemon.json (keeping its 1 other key(s))',
                    `make docker.service wait for /srv/docker (RequiresMountsFor in ${DROP_IN_PATH})`,
                    "restart Docker (stops running containers; images and containers of another driver or data root stay on disk, unseen) and check that docker info shows overlay2 at /srv/docker; on failure put the previous /etc/docker/daemon.json back",
                ],
            );
            assert.equal(plan.warnings!.length, 2);
            assert.match(plan.warnings![0], /the data root changes from \/var\/lib\/docker to \/srv\/docker: Docker will not see the images, containers and volumes under \/var\/lib\/docker\. They stay on disk \(nothing is deleted\)/);
            assert.match(plan.warnings![1], /restarting Docker stops its 0 running container\(s\)/);
            const restart = plan.actions[3].script.text;
            assert.match(restart, /systemctl stop docker\.socket docker\.service/);
            assert.match(restart, /want_backing=extfs/);
            assert.match(restart, /journalctl -u docker\.service -n 30 --no-pager/);
            // The whole plan is one script a real sh accepts.
            assert.equal(runShell(`sh -n <<'EOF'\n${frameScript(planScript(plan))}\nEOF`).status, 0);
        });

        it("after the mount Docker already runs the wanted driver and root: the file and drop-in are written, Docker is not restarted again", () => {
            // What FstabEntry leaves on a first converge: Docker started again on the new ext4, on its default overlay2.
            const plan = planDockerStorage(desired(), observed({ daemon: ORIGINAL, info: INFO_SRV, mount: MOUNT_ZVOL_EXT4 }));
            assert.deepEqual(
                plan.actions.map((a) => a.description),
                [
                    "keep the current storage keys of /etc/docker/daemon.json in /etc/docker/daemon.json.pulumi-zfs-docker.bak (none of the storage keys set), for delete to restore",
                    'set storage-driver "overlay2", data-root "/srv/docker" in /etc/docker/daemon.json (keeping its 1 other key(s)); no restart: Docker already runs overlay2 at /srv/docker',
                    `make docker.service wait for /srv/docker (RequiresMountsFor in ${DROP_IN_PATH})`,
                ],
            );
            assert.ok(!plan.actions.some((a) => /want_backing=/.test(a.script.text)), "no action runs the restart script");
            // A hand edit of the file that the running daemon never read is repaired the same way, without a restart.
            const drifted = planDockerStorage(desired(), observed({ ...CONVERGED, daemon: MERGED.replace('"overlay2"', '"vfs"'), info: INFO_SRV, mount: MOUNT_ZVOL_EXT4 }));
            assert.equal(drifted.actions.length, 1);
            assert.match(drifted.actions[0].description, /no restart: Docker already runs overlay2/);
        });

        it("storage-opts cannot be read back from a running Docker, so a change there restarts it", () => {
            const plan = planDockerStorage(desired({ storageOpts: ["overlay2.override_kernel_check=true"] }), observed({ ...CONVERGED, info: INFO_SRV, mount: MOUNT_ZVOL_EXT4 }));
            assert.match(plan.actions[plan.actions.length - 1].description, /^restart Docker/);
        });

        it("a driver change on the same root warns that the old driver's images become invisible", () => {
            const plan = planDockerStorage(desired(), observed({ daemon: '{"storage-driver":"vfs","data-root":"/srv/docker"}', info: { ...INFO_SRV, Driver: "vfs", DriverStatus: [] } }));
            assert.ok(plan.warnings!.some((w) => /the storage driver changes from vfs to overlay2: Docker will not see the images and containers it made with vfs\. They stay on disk under \/srv\/docker\/vfs/.test(w)), plan.warnings!.join("\n"));
        });

        it("converged: no action, and the reason quotes docker info", () => {
            const plan = planDockerStorage(desired(), observed(CONVERGED));
            assert.deepEqual(plan.actions, []);
            assert.equal(plan.noop, "Docker already uses overlay2 at /srv/docker (docker info: overlay2, /srv/docker on extfs)");
        });

        it("a daemon still running the old driver (restart pending) gets only the restart", () => {
            const plan = planDockerStorage(desired(), observed({ ...CONVERGED, info: { ...INFO_SRV, Driver: "vfs", DriverStatus: [] } }));
            assert.equal(plan.actions.length, 1);
            assert.match(plan.actions[0].description, /^restart Docker/);
            assert.doesNotMatch(plan.actions[0].script.text, /Restoring the previous/, "nothing to roll back when the file did not change");
        });

        it("a stopped Docker is started; restart: false only writes and says so", () => {
            assert.match(planDockerStorage(desired(), observed({ ...CONVERGED, info: INFO_DOWN })).actions[0].description, /^start Docker/);
            const plan = planDockerStorage(desired({ restart: false }), observed({ daemon: ORIGINAL, info: INFO_VAR_LIB }));
            assert.ok(!plan.actions.some((a) => /restart|start Docker/.test(a.description)));
            assert.ok(plan.warnings!.some((w) => /restart is false: Docker keeps running overlay2 at \/var\/lib\/docker until it is restarted/.test(w)));
        });

        it("a stale systemd (drop-in changed on disk) is reloaded", () => {
            const plan = planDockerStorage(desired(), observed({ ...CONVERGED, needReload: true }));
            assert.deepEqual(plan.actions.map((a) => a.description), ["reload systemd (docker.service changed on disk)"]);
        });

        it("requiresMountsFor: [] removes our drop-in", () => {
            const plan = planDockerStorage(desired({ requiresMountsFor: [] }), observed(CONVERGED));
            assert.deepEqual(plan.actions.map((a) => a.description), [`remove ${DROP_IN_PATH} (requiresMountsFor is empty)`]);
        });

        describe("refusals, before anything is written", () => {
            it("overlay2 on a ZFS dataset: the reason and the fix", () => {
                refused(() => planDockerStorage(desired(), observed({ daemon: ORIGINAL, mount: MOUNT_ZFS, stat: "zfs" })), /\/srv\/docker is on zfs \(tank\/ds mounted at \/srv\/docker\): Docker refuses overlay2 on ZFS/, /put the data root on a zvol with ext4 or xfs/, /or set storageDriver: zfs/, /Nothing was changed\./);
            });

            it("overlay2 on NFS, on overlay, on FUSE, on xfs without d_type", () => {
                refused(() => planDockerStorage(desired(), observed({ mount: MOUNT_NFS, stat: "nfs" })), /a network filesystem/, /zvol with ext4 or xfs/);
                refused(() => planDockerStorage(desired(), observed({ mount: 'FSTYPE="overlay" SOURCE="overlay" TARGET="/" OPTIONS="rw"', stat: "overlayfs" })), /cannot be stacked on overlay/);
                refused(() => planDockerStorage(desired(), observed({ mount: 'FSTYPE="fuse.sshfs" SOURCE="a:/" TARGET="/srv" OPTIONS="rw"' })), /does not work on fuse\.sshfs/, /fuse-overlayfs/);
                refused(() => planDockerStorage(desired(), observed({ mount: MOUNT_XFS_PQUOTA, xfs: "ftype=0" })), /made with ftype=0/, /mkfs\.xfs -n ftype=1/);
            });

            it("overlay2 on tmpfs is allowed, with a warning", () => {
                const plan = planDockerStorage(desired(), observed({ mount: 'FSTYPE="tmpfs" SOURCE="tmpfs" TARGET="/srv" OPTIONS="rw"', info: INFO_VAR_LIB }));
                assert.ok(plan.warnings!.some((w) => /gone after a reboot/.test(w)));
            });

            it("overlay2.size needs xfs with pquota", () => {
                refused(() => planDockerStorage(desired({ storageOpts: ["overlay2.size=10G"] }), observed()), /overlay2\.size needs the data root on xfs mounted with the pquota option; \/srv\/docker is on ext4/);
                const plan = planDockerStorage(desired({ storageOpts: ["overlay2.size=10G"] }), observed({ mount: MOUNT_XFS_PQUOTA, xfs: "ftype=1" }));
                assert.ok(plan.actions.length > 0);
            });

            it("the zfs, btrfs and fuse-overlayfs drivers need their own ground", () => {
                refused(() => planDockerStorage(desired({ storageDriver: "zfs" }), observed()), /the zfs driver keeps layers as datasets/, /zfs create -o mountpoint=\/srv\/docker tank\/docker/);
                assert.ok(planDockerStorage(desired({ storageDriver: "zfs" }), observed({ mount: MOUNT_ZFS })).actions.length > 0);
                refused(() => planDockerStorage(desired({ storageDriver: "btrfs" }), observed()), /needs the data root on btrfs/);
                refused(() => planDockerStorage(desired({ storageDriver: "fuse-overlayfs" }), observed()), /lacks the program/, /apt-get install fuse-overlayfs/);
            });

            it("an invalid daemon.json is refused, never overwritten", () => {
                refused(() => planDockerStorage(desired(), observed({ daemon: '{"log-level": warn}' })), /\/etc\/docker\/daemon\.json on the host is not valid JSON/, /refusing to overwrite it/);
            });

            it("no docker.service: refused when a restart is wanted, allowed with restart: false", () => {
                refused(() => planDockerStorage(desired(), observed({ loadState: "not-found", info: "" })), /docker\.service is not installed/, /set restart: false/);
                const plan = planDockerStorage(desired({ restart: false }), observed({ loadState: "not-found", info: "" }));
                assert.equal(plan.actions.length, 3);
            });
        });
    });

    describe("operations: planDeleteDockerStorage", () => {
        it("restores the old keys, removes backup and drop-in, restarts", () => {
            const plan = planDeleteDockerStorage(desired(), observed(CONVERGED));
            assert.deepEqual(plan.actions.map((a) => a.description), [
                "put back the storage keys of /etc/docker/daemon.json as they were (none of the storage keys set)",
                "remove /etc/docker/daemon.json.pulumi-zfs-docker.bak",
                `remove ${DROP_IN_PATH}`,
                "restart Docker with the restored configuration (stops running containers; nothing under any data root is deleted)",
            ]);
            assert.doesNotMatch(planScript(plan).text, /rm -r|rm -rf|\/srv\/docker/, "nothing under a data root is touched");
        });

        it("without a backup (we never changed daemon.json) only the drop-in goes", () => {
            const plan = planDeleteDockerStorage(desired(), observed({ ...CONVERGED, backup: undefined }));
            assert.deepEqual(plan.actions.map((a) => a.description), [`remove ${DROP_IN_PATH}`]);
            assert.match(planDeleteDockerStorage(desired(), observed({})).noop!, /nothing of pulumi-zfs-docker is left/);
        });
    });

    describe("outputs and reflect", () => {
        it("outputs: what docker info says and what delete restores", () => {
            assert.deepEqual(outputsOf(desired(), observed(CONVERGED)), {
                activeDriver: "overlay2",
                dockerRootDir: "/srv/docker",
                backingFilesystem: "extfs",
                dockerRunning: true,
                dockerVersion: "20.10.24+dfsg1",
                previousValues: {},
                previousFileExisted: true,
                backupPath: backupPathFor("/etc/docker/daemon.json"),
                dropInPath: DROP_IN_PATH,
            });
            assert.equal(outputsOf(desired(), observed({ info: INFO_DOWN })).activeDriver, "");
        });

        it("converged: reflect gives back the inputs", () => {
            assert.deepEqual(reflectDockerStorage(desired(), observed(CONVERGED)), desired());
        });

        it("a hand edit of daemon.json shows as drift; so does a pending restart", () => {
            const edited = observed({ ...CONVERGED, daemon: MERGED.replace('"overlay2"', '"vfs"') });
            assert.equal(reflectDockerStorage(desired(), edited)!.storageDriver, "vfs");
            const pending = observed({ ...CONVERGED, info: { ...INFO_VAR_LIB } });
            assert.equal(reflectDockerStorage(desired(), pending)!.dataRoot, undefined);
            const noDropIn = observed({ ...CONVERGED, dropIn: undefined });
            assert.deepEqual(reflectDockerStorage(desired(), noDropIn)!.requiresMountsFor, []);
        });

        it("values the schema would refuse fall back to the inputs, so refresh and delete keep working", () => {
            const odd = observed({ ...CONVERGED, daemon: '{"storage-driver":"devicemapper","data-root":"relative","storage-opts":["dm.basesize=1G"]}' });
            const reflected = reflectDockerStorage(desired(), odd)!;
            assert.equal(dockerStorageConfigSchema.safeParse(reflected).success, true);
            assert.equal(reflected.storageDriver, "overlay2");
        });

        it("nothing of ours on the host: gone", () => {
            assert.equal(reflectDockerStorage(desired(), observed({})), undefined);
        });
    });

    describe("the scripts, run by a real sh on files in a temporary directory", () => {
        let dir: string;
        beforeEach(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "pzd-dsc-"));
        });
        afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

        /** Plan against the real file, run the actions that touch only daemon.json and its backup. */
        function apply(d: DockerStorageDesired, facts: Facts): void {
            const file = d.daemonJsonPath;
            const current = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
            const backup = fs.existsSync(backupPathFor(file)) ? fs.readFileSync(backupPathFor(file), "utf8") : undefined;
            const plan = planDockerStorage(d, observed({ ...facts, daemon: current, mode: current === undefined ? undefined : (fs.statSync(file).mode & 0o777).toString(8), backup }));
            // Never the restart: it would talk to this machine's service manager.
            const fileActions = plan.actions.filter((a) => a.description.includes(file) && !/Docker/.test(a.description));
            assert.ok(fileActions.length > 0);
            const run = runShell(fileActions.map((a) => a.script.text).join("\n"));
            assert.equal(run.status, 0, run.stderr);
        }

        function remove(d: DockerStorageDesired): void {
            const file = d.daemonJsonPath;
            const current = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
            const plan = planDeleteDockerStorage(d, observed({ daemon: current, backup: fs.readFileSync(backupPathFor(file), "utf8") }));
            const run = runShell(plan.actions.filter((a) => a.description.includes(file) && !/Docker/.test(a.description)).map((a) => a.script.text).join("\n"));
            assert.equal(run.status, 0, run.stderr);
        }

        for (const [name, before] of [["an existing daemon.json", '{\n    "log-level": "warn",\n    "storage-driver": "vfs"\n}\n'], ["no daemon.json", undefined]] as const) {
            it(`create then delete restores ${name} exactly, mode included`, () => {
                const file = path.join(dir, "daemon.json");
                if (before !== undefined) {
                    fs.writeFileSync(file, before, { mode: 0o640 });
                }
                const d = desired({ daemonJsonPath: file });
                apply(d, { info: INFO_VAR_LIB });
                const written = JSON.parse(fs.readFileSync(file, "utf8"));
                assert.equal(written["storage-driver"], "overlay2");
                assert.equal(written["data-root"], "/srv/docker");
                if (before !== undefined) {
                    assert.equal(written["log-level"], "warn");
                    assert.equal(fs.statSync(file).mode & 0o777, 0o640, "the mode is kept");
                }
                assert.equal(fs.statSync(backupPathFor(file)).mode & 0o777, 0o600);
                assert.deepEqual(fs.readdirSync(dir).sort(), ["daemon.json", "daemon.json.pulumi-zfs-docker.bak"], "no temporary file is left");

                // A second apply with a different driver keeps the first backup: it is the original.
                const firstBackup = fs.readFileSync(backupPathFor(file), "utf8");
                apply(desired({ daemonJsonPath: file, storageDriver: "vfs" }), { info: INFO_SRV });
                assert.equal(fs.readFileSync(backupPathFor(file), "utf8"), firstBackup);

                remove(d);
                assert.equal(fs.existsSync(backupPathFor(file)), false);
                if (before === undefined) {
                    assert.equal(fs.existsSync(file), false);
                } else {
                    assert.equal(fs.readFileSync(file, "utf8"), before);
                    assert.equal(fs.statSync(file).mode & 0o777, 0o640);
                }
            });
        }

        it("a daemon.json changed between read and write is left alone (exit 75)", () => {
            const file = path.join(dir, "daemon.json");
            fs.writeFileSync(file, ORIGINAL);
            const plan = planDockerStorage(desired({ daemonJsonPath: file }), observed({ daemon: ORIGINAL, info: INFO_VAR_LIB }));
            fs.writeFileSync(file, '{"debug":true}');
            const run = runShell(plan.actions[1].script.text);
            assert.equal(run.status, 75);
            assert.match(run.stderr, /changed on the host since it was read; nothing was written\. Run again\./);
            assert.equal(fs.readFileSync(file, "utf8"), '{"debug":true}');
        });

        /** A dockerd stand-in that logs its calls, has --validate, and rejects every file. */
        function rejectingDockerd(): string {
            const bin = path.join(dir, "bin");
            fs.mkdirSync(bin);
            fs.writeFileSync(path.join(bin, "dockerd"), `#!/bin/sh\necho "$*" >>${dir}/dockerd-calls\n[ "$1" = --help ] && { echo '      --validate    Validate daemon configuration and exit'; exit 0; }\ncat "$3" >${dir}/validated; echo 'unable to configure the Docker daemon with file x: the following directives are specified both as a flag and in the configuration file: storage-driver' >&2; exit 1\n`, { mode: 0o755 });
            return bin;
        }
        const dockerdCalls = (): string => (fs.existsSync(path.join(dir, "dockerd-calls")) ? fs.readFileSync(path.join(dir, "dockerd-calls"), "utf8") : "");

        it("on Docker 23+ (docker info's version), a configuration dockerd --validate rejects is never written (exit 65), without asking dockerd first", () => {
            const file = path.join(dir, "daemon.json");
            fs.writeFileSync(file, ORIGINAL);
            const plan = planDockerStorage(desired({ daemonJsonPath: file }), observed({ daemon: ORIGINAL, info: { ...INFO_VAR_LIB, ServerVersion: "24.0.7" } }));
            const run = runShell(plan.actions[1].script.text, { env: { ...process.env, PATH: `${rejectingDockerd()}:${process.env.PATH}` } });
            assert.equal(run.status, 65);
            assert.match(run.stderr, /specified both as a flag and in the configuration file[\s\S]*dockerd --validate rejects the new .*daemon\.json \(its words are above\); nothing was changed/);
            assert.equal(fs.readFileSync(file, "utf8"), ORIGINAL);
            assert.match(dockerdCalls(), /^--validate --config-file \S+\n$/, "validated once, never asked --help");
            assert.equal(fs.readFileSync(path.join(dir, "validated"), "utf8"), MERGED);
        });

        it("when the version is unknown, dockerd is asked whether it has --validate, then validates", () => {
            const file = path.join(dir, "daemon.json");
            fs.writeFileSync(file, ORIGINAL);
            const plan = planDockerStorage(desired({ daemonJsonPath: file }), observed({ daemon: ORIGINAL, info: { ...INFO_VAR_LIB, ServerVersion: "" } }));
            const run = runShell(plan.actions[1].script.text, { env: { ...process.env, PATH: `${rejectingDockerd()}:${process.env.PATH}` } });
            assert.equal(run.status, 65);
            assert.match(dockerdCalls(), /^--help\n--validate --config-file \S+\n$/);
            assert.equal(fs.readFileSync(file, "utf8"), ORIGINAL);
        });

        it("on Docker 20 (no --validate), the configuration is written without starting dockerd at all", () => {
            const file = path.join(dir, "daemon.json");
            fs.writeFileSync(file, ORIGINAL);
            for (const facts of [{ info: INFO_VAR_LIB }, { info: "" as const }]) {
                fs.writeFileSync(file, ORIGINAL);
                // Running: docker info's version; stopped: `dockerd --version`, read by the fact reader.
                const plan = planDockerStorage(desired({ daemonJsonPath: file, restart: false }), observed({ daemon: ORIGINAL, ...facts }));
                const write = plan.actions.find((a) => a.description.startsWith("set "))!;
                const run = runShell(write.script.text, { env: { ...process.env, PATH: `${fs.existsSync(path.join(dir, "bin")) ? path.join(dir, "bin") : rejectingDockerd()}:${process.env.PATH}` } });
                assert.equal(run.status, 0, run.stderr);
                assert.equal(fs.readFileSync(file, "utf8"), MERGED);
            }
            assert.equal(dockerdCalls(), "", "dockerd never started");
        });

        it("knows from a version which check dockerd allows", () => {
            assert.equal(daemonJsonCheckFor("20.10.24+dfsg1"), "none");
            assert.equal(daemonJsonCheckFor("Docker version 20.10.24+dfsg1, build 5d6db84"), "none");
            assert.equal(daemonJsonCheckFor("1.13.1"), "none");
            assert.equal(daemonJsonCheckFor("23.0.0"), "validate");
            assert.equal(daemonJsonCheckFor("Docker version 27.3.1, build ce12230"), "validate");
            assert.equal(daemonJsonCheckFor(""), "ask");
            assert.equal(daemonJsonCheckFor("dev"), "ask");
        });

        it("when Docker comes up with another driver, the old daemon.json is put back and Docker's words are shown", () => {
            const file = path.join(dir, "daemon.json");
            fs.writeFileSync(file, ORIGINAL);
            const plan = planDockerStorage(desired({ daemonJsonPath: file }), observed({ daemon: ORIGINAL, info: INFO_VAR_LIB }));
            assert.equal(runShell(plan.actions.slice(0, 2).map((a) => a.script.text).join("\n")).status, 0);
            // Stand-ins for the service manager and a Docker that ignored the new file; they only answer.
            const bin = path.join(dir, "bin");
            fs.mkdirSync(bin);
            fs.writeFileSync(path.join(bin, "systemctl"), `#!/bin/sh\necho "systemctl $*" >>${dir}/calls\n`, { mode: 0o755 });
            fs.writeFileSync(path.join(bin, "docker"), "#!/bin/sh\necho 'vfs|/var/lib/docker|'\n", { mode: 0o755 });
            // No API client, whatever this machine has at Docker's socket: the CLI stand-in answers.
            fs.writeFileSync(path.join(bin, "perl"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
            fs.writeFileSync(path.join(bin, "journalctl"), `#!/bin/sh\necho 'time="x" level=error msg="failed to start daemon: error initializing graphdriver: driver not supported"'\n`, { mode: 0o755 });
            const run = runShell(plan.actions[3].script.text, { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
            assert.equal(run.status, 1);
            assert.equal(fs.readFileSync(file, "utf8"), ORIGINAL, "the previous daemon.json is back");
            const last = run.stderr.trim().split("\n").slice(-3);
            assert.match(last[0], /^Docker did not come up with storage-driver overlay2 at \/srv\/docker: it runs the 'vfs' storage driver, its root is '\/var\/lib\/docker'\. Docker said:$/);
            assert.match(last[1], /error initializing graphdriver: driver not supported/);
            assert.match(last[2], /The previous .*daemon\.json is back in place\. Fix the cause/);
            const calls = fs.readFileSync(path.join(dir, "calls"), "utf8");
            assert.equal(calls.match(/stop docker\.socket docker\.service/g)?.length, 2, "stopped before the change and before the rollback");
        });
    });

    describe("injection fixture", () => {
        it("a dataRoot like '/srv/x; reboot' is refused at check time", async () => {
            const failures = (await makeProviderImplementation(dockerStorageConfig).check!({}, { connection, dataRoot: "/srv/x; reboot" })).failures!;
            assert.equal(failures[0].property, "dataRoot");
            assert.match(failures[0].reason, /has characters other than letters, digits/);
            for (const key of ["daemonJsonPath", "requiresMountsFor"]) {
                const value = key === "requiresMountsFor" ? ["/srv/x; reboot"] : "/etc/x; reboot";
                assert.equal(dockerStorageConfigSchema.safeParse({ connection, [key]: value }).success, false, key);
            }
        });

        it("even past the schema, hostile values stay single words and nothing else runs", () => {
            const hostile = { ...desired(), dataRoot: "/srv/x; reboot $(reboot) `reboot`", storageDriver: "overlay2; reboot", requiresMountsFor: ["/srv/x'; reboot"] } as DockerStorageDesired;
            const observe = runRecorded(observeScript(hostile).text, ["systemctl", "docker", "dockerd", "findmnt", "xfs_info", "reboot"]);
            assert.ok(!observe.calls.some((c) => c.tool === "reboot"), JSON.stringify(observe.calls));
            assert.match(observe.stdout, /^resolved=\/srv\/x; reboot \$\(reboot\) `reboot`$/m);
            const plan = planDockerStorage(hostile, observed({ daemon: ORIGINAL, info: INFO_VAR_LIB }));
            const restart = runRecorded(plan.actions[3].script.text, ["systemctl", "docker", "journalctl", "reboot", "mktemp", "base64", "sync", "mv"]);
            assert.ok(!restart.calls.some((c) => c.tool === "reboot"), JSON.stringify(restart.calls));
            assert.match(restart.stderr, /Docker did not come up with storage-driver overlay2; reboot at \/srv\/x; reboot \$\(reboot\) `reboot`: /);
        });
    });
});
