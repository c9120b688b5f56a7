/**
 * The whole recipe under the real Pulumi CLI on two real hosts at once: DockerHostStorage converges
 * both, survives three reboots of both at once under load, is idempotent, reports and repairs drift, and destroys back to
 * the start, also when the first destroy's CLI is SIGKILLed halfway.
 * Then a host already running Docker on the zfs driver is moved to overlay2 without losing its data.
 */
import { strict as assert } from "assert";
import { assertDockerMountsItsDataRootFirst, assertDockerRequiresDataRoot, dockerStarts, ensurePool, hostClocks, sharedHosts, uniqueName } from "../hosts/fleet";
import type { TestHost } from "../hosts/harness";
import { baseline, settled } from "./leftovers";
import { exampleProgram, PulumiProject } from "./pulumi";

/** The tests run the examples users copy: examples/fleet here, examples/migrate-zfs-driver below. */
const program = exampleProgram("fleet");
const REBOOTS = 3;

async function dockerStorage(host: TestHost): Promise<string> {
    return (await host.exec(`docker info --format '{{.Driver}} {{range .DriverStatus}}{{if eq (index . 0) "Backing Filesystem"}}{{index . 1}}{{end}}{{end}} {{.DockerRootDir}}'`)).stdout.trim();
}

/** As examples/fleet's header says: `pulumi config set --path 'hosts[i].host' ...`, one field at a time. */
async function setHosts(project: PulumiProject, hosts: TestHost[]): Promise<void> {
    for (const [i, h] of hosts.entries()) {
        await project.run(["config", "set", "--path", `hosts[${i}].host`, h.host]);
        await project.run(["config", "set", "--path", `hosts[${i}].port`, String(h.port)]);
        await project.run(["config", "set", "--path", `hosts[${i}].hostKey`, h.hostKey]);
    }
}

describe("DockerHostStorage on two hosts under the real Pulumi CLI", function () {
    let hosts: TestHost[];
    let project: PulumiProject;
    const volumeName = uniqueName("docker");
    const original: string[] = [];

    before(async () => {
        hosts = await sharedHosts(2);
        await Promise.all(hosts.map((h) => ensurePool(h)));
        for (const h of hosts) {
            // Some configuration of the user's own that must survive: an fstab comment and a daemon.json key.
            await h.exec(`grep -q 'user comment' /etc/fstab || printf '# user comment\\n' >> /etc/fstab; mkdir -p /etc/docker; [ -f /etc/docker/daemon.json ] || printf '{\\n  "log-level": "warn"\\n}\\n' > /etc/docker/daemon.json`);
            original.push((await h.exec("sha256sum /etc/fstab /etc/docker/daemon.json")).stdout);
        }
        project = new PulumiProject("docker-host-storage", program);
        await project.init({ volumeName, size: "2G" }, { privateKey: hosts[0].privateKey });
        await setHosts(project, hosts);
    });
    after(() => project?.cleanup());

    it("converges both hosts in one up: overlay2 on extfs at /var/lib/docker, starting Docker once per host", async () => {
        const since = await hostClocks(hosts);
        const up = await project.up();
        assert.match(up.stdout, /11 created/); // stack + 2 × (component + 4 resources)
        for (const h of hosts) {
            assert.equal(await dockerStorage(h), "overlay2 extfs /var/lib/docker");
            assert.match((await h.exec("findmnt -n -o SOURCE,FSTYPE /var/lib/docker")).stdout, new RegExp(`/dev/zd\\d+ +ext4|tank/${volumeName}`));
            const line = (await h.exec("grep ' /var/lib/docker ' /etc/fstab")).stdout.trim();
            assert.match(line, /^UUID=[0-9a-f-]{36} \/var\/lib\/docker ext4 \S*nofail\S*x-systemd\.requires=zfs-volumes\.target\S*x-systemd\.device-timeout=300s 0 2$/);
            // Docker waits for the mount (DockerStorageConfig's RequiresMountsFor= drop-in), and systemd has loaded it.
            await assertDockerRequiresDataRoot(h);
            assert.match((await h.exec("cat /etc/fstab")).stdout, /# user comment/);
            assert.equal(JSON.parse((await h.exec("cat /etc/docker/daemon.json")).stdout)["log-level"], "warn");
        }
        const outputs = (await project.outputs()).storage as Array<Record<string, string>>;
        assert.deepEqual(outputs.map((o) => [o.driver, o.backingFilesystem, o.mountPoint]), [["overlay2", "extfs", "/var/lib/docker"], ["overlay2", "extfs", "/var/lib/docker"]]);
        const starts = await dockerStarts(hosts, since);
        console.log(`      up of 2 hosts: ${up.seconds}s; Docker started ${starts.join(" and ")} time(s)`);
        // FstabEntry starts Docker again on the new mount; DockerStorageConfig then finds it already on overlay2 there.
        assert.deepEqual(starts, [1, 1], "one Docker start per host");
    });

    it(`comes back mounted with overlay2 after ${REBOOTS} reboots of every host at once, under write load, data intact`, async () => {
        // A file on the volume: every boot must find it, byte for byte.
        const sums = await Promise.all(hosts.map((h) => h.exec("head -c 8M /dev/urandom > /var/lib/docker/pzd-canary && sync && sha256sum /var/lib/docker/pzd-canary").then((r) => r.stdout)));
        let good = 0;
        const failures: string[] = [];
        for (let round = 1; round <= REBOOTS; round++) {
            // Load while going down: writes to the volume itself and a busy CPU, on every host.
            // Into a directory that exists only on the volume: once shutdown has unmounted it, a write finds no
            // directory instead of landing on the root filesystem under the mount point (seen in CI: the
            // file kept the moved-aside copy from going back on destroy). Each loop is its own background job with
            // its output redirected, or the SSH session would wait for it.
            await Promise.all(hosts.map((h) => h.exec("mkdir -p /var/lib/docker/pzd-load.d; nohup sh -c 'while :; do dd if=/dev/zero of=/var/lib/docker/pzd-load.d/load bs=1M count=32 conv=fsync 2>/dev/null; done' >/dev/null 2>&1 & nohup sh -c 'while :; do :; done' >/dev/null 2>&1 &")));
            await Promise.all(hosts.map((h) => h.reboot()));
            for (const [i, h] of hosts.entries()) {
                const seen = [
                    (await h.exec("findmnt -n -o FSTYPE /var/lib/docker", { allowFail: true })).stdout.trim(),
                    await dockerStorage(h).catch((error: Error) => error.message),
                    (await h.exec("sha256sum /var/lib/docker/pzd-canary", { allowFail: true })).stdout,
                ];
                if (seen[0] === "ext4" && seen[1] === "overlay2 extfs /var/lib/docker" && seen[2] === sums[i]) {
                    good++;
                } else {
                    failures.push(`round ${round}, ${h.name}: ${JSON.stringify(seen)}`);
                }
            }
        }
        console.log(`      reboots: ${good}/${REBOOTS * hosts.length} came back with the mount, overlay2 and the canary file`);
        assert.deepEqual(failures, []);
        await Promise.all(hosts.map((h) => h.exec("rm -rf /var/lib/docker/pzd-canary /var/lib/docker/pzd-load.d")));
    });

    it("changes nothing on a second up, and leaves Docker running", async () => {
        const since = await hostClocks(hosts);
        const again = await project.up();
        assert.deepEqual(await dockerStarts(hosts, since), [0, 0], "no Docker restart on a no-op");
        assert.match(again.stdout, /11 unchanged/);
        assert.doesNotMatch(again.stdout, /updated|created|replaced|deleted/);
    });

    it("makes Docker mount its data root first when it starts without it; an up --refresh then changes nothing", async () => {
        // What boot does when the zvol is late: docker.service requires the mount, so starting it mounts
        // the volume first instead of writing into the empty directory underneath.
        const h = hosts[0];
        await assertDockerMountsItsDataRootFirst(h);
        assert.equal(await dockerStorage(h), "overlay2 extfs /var/lib/docker");
        // The host is as the stack says: a refresh and up read it and change nothing.
        const again = await project.up(["--refresh"]);
        assert.match(again.stdout, /11 unchanged/);
        assert.doesNotMatch(again.stdout, /updated|created|replaced|deleted/);
    });

    it("shows hand-made drift on refresh and repairs it on up", async () => {
        await hosts[0].exec("sed -i 's/x-systemd.device-timeout=300s/x-systemd.device-timeout=5s/' /etc/fstab");
        await hosts[1].exec(`python3 -c 1 2>/dev/null; sed -i 's/"overlay2"/"vfs"/' /etc/docker/daemon.json`);
        const preview = await project.run(["refresh", "--preview-only", "--diff"]);
        assert.match(preview.stdout, /FstabEntry/);
        assert.match(preview.stdout, /DockerStorageConfig/);
        await project.refresh();
        const repair = await project.up();
        assert.match(repair.stdout, /2 updated/);
        assert.match((await hosts[0].exec("grep ' /var/lib/docker ' /etc/fstab")).stdout, /device-timeout=300s/);
        assert.equal(JSON.parse((await hosts[1].exec("cat /etc/docker/daemon.json")).stdout)["storage-driver"], "overlay2");
        assert.equal(await dockerStorage(hosts[1]), "overlay2 extfs /var/lib/docker");
    });

    it("destroys the volume only with forceDestroy, and puts the hosts back as they were, also after a killed destroy", async () => {
        const refused = await project.run(["destroy", "--yes", "--skip-preview", "--non-interactive"], { allowFail: true });
        assert.notEqual(refused.exitCode, 0);
        assert.match(refused.stdout + refused.stderr, /refusing to destroy tank\/.*forceDestroy/);
        for (const h of hosts) {
            assert.equal((await h.exec(`zfs list -H -o name tank/${volumeName}`)).stdout.trim(), `tank/${volumeName}`, "the volume with Docker's data is kept");
        }
        await project.run(["config", "set", "forceDestroy", "true"]);
        await project.up();
        // The first destroy is SIGKILLed while a filesystem is being wiped: Docker's config and the mount
        // are gone on that host by then. The orphaned provider ends what it started; cancel, refresh and a
        // second destroy finish the job, and the host must still come back exactly as it was.
        const before = baseline();
        const killed = await project.killedWhen("destroy", (out) => /Ext4Filesystem.*deleting/.test(out));
        assert.equal(killed.exitCode, -1, "the CLI was killed");
        assert.deepEqual(await settled(before, 180_000), before, "the orphaned provider ended and left nothing behind");
        await project.recoverFromKilledRun();
        const destroyed = await project.destroy();
        assert.doesNotMatch(destroyed.stdout, /was not moved back/);
        for (const [i, h] of hosts.entries()) {
            const aside = await h.exec("ls -d /var/lib/docker.pre-pulumi-zfs-docker-* 2>/dev/null | wc -l");
            if (aside.stdout.trim() !== "0") {
                // What the host and the run say, so a failure in CI can be read without a rerun.
                const seen = await h.exec("ls -la --time-style=full-iso /var/lib/docker /var/lib/docker.pre-pulumi-zfs-docker-*; journalctl -b --no-pager -u docker.service -u var-lib-docker.mount | tail -n 40", { allowFail: true });
                console.log(`      ${h.name} after destroy:\n${seen.stdout}${seen.stderr}\n      the refused destroy said:\n${refused.stdout}\n      the destroy said:\n${destroyed.stdout}`);
            }
            assert.equal((await h.exec(`zfs list -H tank/${volumeName}`, { allowFail: true })).exitCode, 1);
            assert.equal((await h.exec("sha256sum /etc/fstab /etc/docker/daemon.json")).stdout, original[i], "fstab and daemon.json are byte for byte as before");
            assert.equal((await h.exec("findmnt -n /var/lib/docker", { allowFail: true })).exitCode, 1, "nothing is mounted there any more");
            assert.equal((await h.exec("ls -d /var/lib/docker.pre-pulumi-zfs-docker-* 2>/dev/null | wc -l")).stdout.trim(), "0", "Docker's own files were moved back");
            assert.match(await dockerStorage(h), /^overlay2 /, "Docker runs again on its default driver");
        }
    });
});

describe("a host already running Docker on the zfs driver", function () {
    it("moves to overlay2 on a zvol, also when the first up is killed mid-mkfs, and the old data stays on the pool", async () => {
        const [, host] = await sharedHosts(2);
        await ensurePool(host);
        const old = `tank/${uniqueName("zfsdriver")}`;
        // The layout the zfs driver needs: /var/lib/docker on a ZFS dataset, one image in it.
        await host.exec(`systemctl stop docker.socket docker.service
            rm -rf /var/lib/docker && zfs create -o mountpoint=/var/lib/docker ${old}
            printf '{"storage-driver": "zfs"}\\n' > /etc/docker/daemon.json
            systemctl start docker
            mkdir -p /tmp/rootfs/bin && cp /bin/busybox /tmp/rootfs/bin/ && tar -C /tmp/rootfs -c . | docker import - oldimage:local >/dev/null`);
        assert.match(await dockerStorage(host), /^zfs /);
        const layers = Number((await host.exec(`zfs list -H -r -o name ${old} | wc -l`)).stdout.trim());
        assert.ok(layers >= 2, "the zfs driver made a dataset for the image layer");

        const project = new PulumiProject("zfs-driver-migration", exampleProgram("migrate-zfs-driver"));
        try {
            const volumeName = uniqueName("docker");
            await project.init({ volumeName, size: "2G", host: host.host, port: String(host.port), hostKey: host.hostKey }, { privateKey: host.privateKey });
            // The first up is SIGKILLed while the filesystem is being made; the next one, after the README's
            // recovery, takes over what the orphaned provider finished and formats nothing twice.
            const before = baseline();
            const killed = await project.killedWhen("up", (out) => /Ext4Filesystem.*creating/.test(out));
            assert.equal(killed.exitCode, -1, "the CLI was killed");
            assert.deepEqual(await settled(before, 180_000), before, "the orphaned provider ended and left nothing behind");
            const madeAt = async () => (await host.exec(`tune2fs -l /dev/zvol/tank/${volumeName} 2>/dev/null | grep '^Filesystem created' || true`)).stdout.trim();
            const madeByKilledRun = await madeAt();
            await project.recoverFromKilledRun();
            const up = await project.up();
            assert.doesNotMatch(up.stdout, /interrupted while creating/);
            if (madeByKilledRun) assert.equal(await madeAt(), madeByKilledRun, "the filesystem the killed run made was taken over, not formatted again");
            assert.equal(await dockerStorage(host), "overlay2 extfs /var/lib/docker");
            assert.match((await host.exec(`zfs get -H -o value mountpoint ${old}`)).stdout.trim(), /^\/var\/lib\/docker\.pre-pulumi-zfs-docker/);
            assert.equal(Number((await host.exec(`zfs list -H -r -o name ${old} | wc -l`)).stdout.trim()), layers, "every dataset of the old data root is still on the pool");
            await project.run(["config", "set", "forceDestroy", "true"]);
            await project.up();
            const destroyed = await project.destroy();
        assert.doesNotMatch(destroyed.stdout, /was not moved back/);
            assert.match(destroyed.stdout, /moved ZFS dataset tank\/zfsdriver-\S+ back to \/var\/lib\/docker/);
            // Destroy is the inverse: the old data root is back, and Docker runs on it with its old image.
            assert.equal((await host.exec(`zfs get -H -o value mountpoint ${old}`)).stdout.trim(), "/var/lib/docker");
            assert.match(await dockerStorage(host), /^zfs /);
            assert.match((await host.exec("docker image ls --format '{{.Repository}}:{{.Tag}}'")).stdout, /oldimage:local/);
        } finally {
            project.cleanup();
        }
    });
});
