/**
 * DockerStorageConfig against a real test host, driven exactly as the engine drives it: refusal before
 * any write → create (Docker restarted onto a zvol with ext4) → create again (no write) → hand edit →
 * read shows drift → update repairs → delete restores daemon.json byte for byte; then a configuration
 * Docker itself rejects, rolled back to the previous daemon.json with Docker's own words in the error.
 * The host's daemon.json is put back as it was found, whatever happens.
 * npx mocha --require test/hosts/fleet.ts --timeout 1800000 test/integration/dockerStorageConfig.test.ts
 */
import { strict as assert } from "assert";
import { makeProviderImplementation } from "../../provider/adapter";
import { connectionSchema } from "../../provider/connection";
import { RefusedError } from "../../provider/host/errors";
import { hostFor } from "../../provider/host/pool";
import { shellQuote } from "../../provider/host/quote";
import { backupPathFor, DROP_IN_PATH, dockerStorageConfig } from "../../provider/resources/dockerStorageConfig";
import { ensurePool, sharedHosts, uniqueName } from "../hosts/fleet";
import type { TestHost } from "../hosts/harness";

const configs = makeProviderImplementation(dockerStorageConfig);
const DAEMON_JSON = "/etc/docker/daemon.json";
/** What the test writes first: a key that is not ours and must survive everything. */
const EARLIER = '{\n    "log-level": "warn"\n}\n';

async function checked(inputs: Record<string, unknown>, olds: Record<string, unknown> = {}) {
    const result = await configs.check!(olds, inputs);
    assert.deepEqual(result.failures ?? [], [], "check should accept these inputs");
    return result.inputs as Record<string, unknown>;
}

/** The file's bytes as base64, or undefined when it does not exist. */
async function fileState(host: TestHost, file: string): Promise<string | undefined> {
    const out = (await host.exec(`if [ -e ${shellQuote(file)} ]; then echo present; base64 -w0 ${shellQuote(file)}; fi`)).stdout.split("\n");
    return out[0] === "present" ? (out[1] ?? "") : undefined;
}
const text = (state: string | undefined): string | undefined => (state === undefined ? undefined : Buffer.from(state, "base64").toString());

async function dockerInfo(host: TestHost): Promise<string> {
    return (await host.exec(`docker info --format '{{.Driver}}|{{.DockerRootDir}}|{{range .DriverStatus}}{{if eq (index . 0) "Backing Filesystem"}}{{index . 1}}{{end}}{{end}}'`)).stdout.trim();
}

/** Puts a file back as it was (undefined: absent), atomically enough for a test host. */
async function putBack(host: TestHost, file: string, state: string | undefined): Promise<void> {
    await host.exec(state === undefined ? `rm -f ${shellQuote(file)}` : `printf '%s' ${shellQuote(state)} | base64 -d > ${shellQuote(file)}.t && mv ${shellQuote(file)}.t ${shellQuote(file)}`);
}

describe("DockerStorageConfig on a real host", function () {
    let host: TestHost;
    let found: string | undefined;
    const cleanup: string[] = [];

    before(async () => {
        [host] = await sharedHosts(1);
        await ensurePool(host);
        // At boot Docker may still be starting; the test's own restarts must not race it.
        await host.exec(`i=0; until docker info >/dev/null 2>&1; do i=$((i+1)); [ $i -lt 180 ] || exit 1; sleep 1; done`);
        found = await fileState(host, DAEMON_JSON);
    });

    after(async () => {
        // Whatever failed above: the host's Docker goes back to the configuration it was found with.
        const now = await fileState(host, DAEMON_JSON);
        await host.exec(`rm -f ${shellQuote(backupPathFor(DAEMON_JSON))} ${DROP_IN_PATH}; systemctl daemon-reload`, { allowFail: true });
        await putBack(host, DAEMON_JSON, found);
        if (now !== found || (await dockerInfo(host).catch(() => "")).split("|")[1] !== "/var/lib/docker") {
            await host.exec(`systemctl stop docker.socket docker.service; systemctl reset-failed docker.service docker.socket; systemctl start docker.socket docker.service`, { allowFail: true });
        }
        for (const command of cleanup.reverse()) {
            await host.exec(command, { allowFail: true });
        }
    });

    it("refuses overlay2 on a ZFS dataset before writing; moves Docker onto ext4 on a zvol; idles; shows and repairs drift; delete restores daemon.json exactly", async () => {
        const stats = hostFor(connectionSchema.parse(host.connection)).stats;
        await putBack(host, DAEMON_JSON, Buffer.from(EARLIER).toString("base64"));

        // A data root on a ZFS dataset: overlay2 would fail there, so nothing may be written.
        const dataset = `tank/${uniqueName("dsc-ds")}`;
        const datasetRoot = `/srv/${dataset.split("/")[1]}`;
        await host.exec(`zfs create -o mountpoint=${datasetRoot} ${dataset}`);
        cleanup.push(`zfs destroy -r ${dataset}`);
        const writesBefore = stats.writes;
        await assert.rejects(
            configs.create(await checked({ connection: host.connection, dataRoot: datasetRoot })),
            (e: Error) => e instanceof RefusedError && /is on zfs \(tank\/.* mounted at .*\): Docker refuses overlay2 on ZFS/.test(e.message) && /zvol with ext4 or xfs/.test(e.message),
        );
        assert.equal(stats.writes, writesBefore, "a refusal writes nothing");
        assert.equal(text(await fileState(host, DAEMON_JSON)), EARLIER);
        assert.equal(await fileState(host, backupPathFor(DAEMON_JSON)), undefined);
        assert.equal(await fileState(host, DROP_IN_PATH), undefined);

        // The recipe: a sparse zvol with ext4, mounted at a fresh data root.
        const volume = `tank/${uniqueName("dsc-vol")}`;
        const dataRoot = `/srv/docker-${volume.split("/")[1]}`;
        await host.exec(
            `zfs create -s -V 2G ${volume} && udevadm settle && i=0; while [ ! -e /dev/zvol/${volume} ]; do i=$((i+1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done; ` +
                `mkfs.ext4 -q /dev/zvol/${volume} && mkdir -p ${dataRoot} && mount /dev/zvol/${volume} ${dataRoot}`,
        );
        cleanup.push(`zfs destroy ${volume}`, `umount ${dataRoot} && rmdir ${dataRoot}`);

        const inputs = await checked({ connection: host.connection, dataRoot });
        const started = Date.now();
        const created = await configs.create(inputs);
        const createSeconds = (Date.now() - started) / 1000;
        assert.equal(created.id, DAEMON_JSON);
        assert.equal(created.outs.activeDriver, "overlay2");
        assert.equal(created.outs.backingFilesystem, "extfs");
        assert.equal(created.outs.dockerRootDir, dataRoot);
        assert.deepEqual(created.outs.previousValues, {});
        assert.equal(created.outs.previousFileExisted, true);
        assert.equal(await dockerInfo(host), `overlay2|${dataRoot}|extfs`);
        const merged = JSON.parse(text(await fileState(host, DAEMON_JSON))!);
        assert.deepEqual(Object.keys(merged), ["log-level", "storage-driver", "data-root"], "the unrelated key is kept, first");
        assert.equal(merged["log-level"], "warn");
        assert.match(text(await fileState(host, DROP_IN_PATH))!, new RegExp(`^\\[Unit\\]\\nRequiresMountsFor=${dataRoot}$`, "m"));
        assert.match((await host.exec(`systemctl show -p RequiresMountsFor docker.service`)).stdout, new RegExp(dataRoot));
        assert.match((await host.exec(`stat -c %a ${DAEMON_JSON} ${backupPathFor(DAEMON_JSON)}`)).stdout, /^644\n600\n?$/);

        // Converging again reads the host and changes nothing.
        const idle = { ...stats };
        await configs.create(inputs);
        await configs.update!(created.id, created.outs, inputs);
        assert.equal(stats.writes, idle.writes, "a second converge must not write");
        assert.equal(stats.roundTrips - idle.roundTrips, 2, "one read per converge and nothing else");

        // A hand edit of the storage driver shows as drift on refresh...
        await host.exec(`sed -i 's/"overlay2"/"vfs"/' ${DAEMON_JSON}`);
        const read = await configs.read!(created.id, created.outs);
        assert.equal(read.props!.storageDriver, "vfs");
        assert.equal(read.props!.activeDriver, "overlay2", "Docker still runs what it started with");
        const diff = await configs.diff!(created.id, read.props!, inputs);
        assert.equal(diff.changes, true);
        assert.deepEqual(diff.replaces, []);
        // ...and the next converge repairs it (rewrite, restart, verify).
        const repaired = await configs.update!(created.id, read.props!, inputs);
        assert.equal(repaired.outs!.activeDriver, "overlay2");
        assert.equal(JSON.parse(text(await fileState(host, DAEMON_JSON))!)["storage-driver"], "overlay2");

        // Delete: daemon.json exactly as before, drop-in and backup gone, Docker back on its old root, data left.
        await host.exec(`docker image ls >/dev/null; test -d ${dataRoot}/overlay2`);
        await configs.delete!(created.id, repaired.outs!);
        assert.equal(text(await fileState(host, DAEMON_JSON)), EARLIER);
        assert.equal(await fileState(host, backupPathFor(DAEMON_JSON)), undefined);
        assert.equal(await fileState(host, DROP_IN_PATH), undefined);
        assert.equal((await dockerInfo(host)).split("|").slice(0, 2).join("|"), "overlay2|/var/lib/docker");
        assert.equal((await host.exec(`test -d ${dataRoot}/overlay2 && echo kept`)).stdout.trim(), "kept", "nothing under the old data root is deleted");
        console.log(`      create with a restart onto the zvol: ${createSeconds.toFixed(1)} s (observe + write + restart + verify + observe)`);
    });

    it("a configuration Docker rejects is rolled back to the previous daemon.json, with Docker's own words", async () => {
        await putBack(host, DAEMON_JSON, Buffer.from(EARLIER).toString("base64"));
        // The zfs driver on a ZFS dataset passes our checks; a parent dataset that does not exist fails in Docker.
        const dataset = `tank/${uniqueName("dsc-zfs")}`;
        const dataRoot = `/srv/${dataset.split("/")[1]}`;
        await host.exec(`zfs create -o mountpoint=${dataRoot} ${dataset}`);
        cleanup.push(`zfs destroy -r ${dataset}`);
        const inputs = await checked({ connection: host.connection, dataRoot, storageDriver: "zfs", storageOpts: ["zfs.fsname=tank/no-such-dataset"] });
        const started = Date.now();
        const failure = await configs.create(inputs).then(
            () => undefined,
            (error) => error as Error & { id?: string; properties?: Record<string, unknown> },
        );
        const seconds = (Date.now() - started) / 1000;
        assert.ok(failure, "the create must fail");
        assert.match(failure.message, /Docker did not come up with storage-driver zfs/);
        assert.match(failure.message, /The previous \/etc\/docker\/daemon\.json is back in place/);
        const inStderr = (failure as unknown as { stderr: string }).stderr;
        assert.match(inStderr, /no-such-dataset|zfs/i, "Docker's own error is passed on");
        assert.equal(text(await fileState(host, DAEMON_JSON)), EARLIER, "the previous daemon.json is back");
        assert.equal((await dockerInfo(host)).split("|").slice(0, 2).join("|"), "overlay2|/var/lib/docker", "Docker runs again on the previous configuration");
        // The engine is told what exists (backup and drop-in), so a delete cleans them up.
        assert.equal(failure.id, DAEMON_JSON);
        await configs.delete!(DAEMON_JSON, failure.properties!);
        assert.equal(text(await fileState(host, DAEMON_JSON)), EARLIER);
        assert.equal(await fileState(host, backupPathFor(DAEMON_JSON)), undefined);
        assert.equal(await fileState(host, DROP_IN_PATH), undefined);
        console.log(`      rejected configuration: failed, rolled back and restarted in ${seconds.toFixed(1)} s`);
        console.log(`      Docker said: ${inStderr.trim().split("\n").filter((l) => /level=(error|fatal)|failed to start/.test(l)).slice(-1)[0] ?? "(nothing)"}`);
    });
});
