/**
 * Many hosts at once under the real CLI: six sshd instances on loopback ports (the bench's simulated
 * fleet; VMs under emulation cannot boot six at once here in a CI budget), converged in one
 * `up --parallel 64`, then no-op ups: every host gets its line and key, the no-ops change nothing,
 * and no ssh process or private directory outlives the runs.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { ExecaChildProcess } from "execa";
import { PRISTINE_DAEMON_JSON, PRISTINE_FSTAB, resetFiles, simProgram, startSshds, type SimHost } from "../../bench/fleetSim";
import { baseline, settled } from "./leftovers";
import { PulumiProject } from "./pulumi";

const HOSTS = 6;

function assertPristine(h: SimHost): void {
    assert.equal(fs.readFileSync(path.join(h.dir, "fstab"), "utf8"), PRISTINE_FSTAB, `fstab of host ${h.port}`);
    assert.equal(fs.readFileSync(path.join(h.dir, "daemon.json"), "utf8"), PRISTINE_DAEMON_JSON, `daemon.json of host ${h.port}`);
}

describe(`${HOSTS} hosts converged at once (sshd on loopback) under the real Pulumi CLI`, function () {
    let base: string;
    let hosts: SimHost[];
    let daemons: ExecaChildProcess[] = [];
    let project: PulumiProject;

    before(async () => {
        base = fs.mkdtempSync(path.join(os.tmpdir(), "pzd-simtest-"));
        const started = await startSshds(base, HOSTS);
        ({ hosts, daemons } = started);
        resetFiles(hosts);
        const hostsFile = path.join(base, "hosts.json");
        fs.writeFileSync(hostsFile, JSON.stringify(hosts));
        project = new PulumiProject("fleet-sim", simProgram(hostsFile, started.keyFile, started.hostKey));
        await project.init();
    });
    after(() => {
        for (const d of daemons) d.kill("SIGTERM");
        project?.cleanup();
        if (base) fs.rmSync(base, { recursive: true, force: true });
    });

    it("converges all of them in one up --parallel 64, then three no-op ups change nothing and leave nothing behind", async () => {
        const before = baseline();
        const up = await project.run(["up", "--yes", "--skip-preview", "--parallel", "64"]);
        assert.match(up.stdout, new RegExp(`${2 * HOSTS + 1} created`));
        for (const h of hosts) {
            assert.match(fs.readFileSync(path.join(h.dir, "fstab"), "utf8"), /^# a simulated host\nLABEL=root \/ ext4 defaults 0 1\n# managed by pulumi-zfs-docker: \/srv\/sim-docker\nLABEL=sim-docker \/srv\/sim-docker ext4 /);
            assert.deepEqual(JSON.parse(fs.readFileSync(path.join(h.dir, "daemon.json"), "utf8")), { "log-level": "warn", "storage-driver": "overlay2" });
        }
        for (const refresh of [false, true, false]) {
            const again = await project.run(["up", "--yes", "--skip-preview", "--parallel", "64", ...(refresh ? ["--refresh"] : [])]);
            assert.match(again.stdout, new RegExp(`${2 * HOSTS + 1} unchanged`));
            assert.doesNotMatch(again.stdout, /\b(created|updated|replaced|deleted)\b/);
        }
        // The engine stops the provider as the CLI exits; its cleanup (closing the masters) ends a moment later.
        const after = await settled(before);
        console.log(`      ${HOSTS} hosts: up ${up.seconds}s; leaked after 4 runs: ${after.ssh.length - before.ssh.length} ssh, ${after.dirs.length - before.dirs.length} dirs`);
        assert.deepEqual(after, before, "no provider ssh process or private directory outlives the runs");
    });

    it("destroy gives every host's files back byte for byte", async () => {
        await project.destroy(["--parallel", "64"]);
        for (const h of hosts) assertPristine(h);
    });

    it("a pulumi CLI SIGKILLed mid-up: the provider finishes its commands and leaves; cancel, refresh and up converge, and destroy still removes every line", async () => {
        resetFiles(hosts);
        const before = baseline();
        const anyWritten = () => hosts.some((h) => fs.readFileSync(path.join(h.dir, "fstab"), "utf8").includes("managed by pulumi-zfs-docker"));
        const killed = await project.killedWhen("up", anyWritten, ["--parallel", "64"]);
        assert.equal(killed.exitCode, -1, "the CLI was killed");
        // The orphaned provider lets its remote commands end, then exits and removes its private directory.
        const after = await settled(before);
        assert.deepEqual(after, before, "the orphaned provider left nothing behind");
        for (const h of hosts) {
            assert.deepEqual(fs.readdirSync(h.dir).filter((n) => /^(fstab|daemon\.json)\.pzd-/.test(n)), [], `no half-written file on host ${h.port}`);
        }

        await project.recoverFromKilledRun();
        const up = await project.run(["up", "--yes", "--skip-preview", "--parallel", "64"]);
        assert.doesNotMatch(up.stdout, /interrupted while creating/, "refresh cleared the pending creates");
        for (const h of hosts) {
            const fstab = fs.readFileSync(path.join(h.dir, "fstab"), "utf8");
            assert.equal(fstab.match(/^LABEL=sim-docker /gm)?.length, 1, `one line on host ${h.port}:\n${fstab}`);
            assert.deepEqual(JSON.parse(fs.readFileSync(path.join(h.dir, "daemon.json"), "utf8")), { "log-level": "warn", "storage-driver": "overlay2" });
        }
        assert.match((await project.run(["up", "--yes", "--skip-preview", "--parallel", "64"])).stdout, new RegExp(`${2 * HOSTS + 1} unchanged`));
        // A line written by the killed run carries our marker, so it is ours to remove, not an adopted one.
        await project.destroy(["--parallel", "64"]);
        for (const h of hosts) assertPristine(h);
    });

    it("a pulumi CLI SIGKILLed mid-destroy: cancel, refresh and destroy put every file back byte for byte", async () => {
        resetFiles(hosts);
        await project.run(["up", "--yes", "--skip-preview", "--parallel", "64"]);
        const before = baseline();
        const anyRemoved = () => hosts.some((h) => !fs.readFileSync(path.join(h.dir, "fstab"), "utf8").includes("managed by pulumi-zfs-docker"));
        const killed = await project.killedWhen("destroy", anyRemoved, ["--parallel", "64"]);
        assert.equal(killed.exitCode, -1, "the CLI was killed");
        const restored = () => hosts.filter((h) => fs.readFileSync(path.join(h.dir, "fstab"), "utf8") === PRISTINE_FSTAB).length;
        const restoredAtKill = restored();
        assert.deepEqual(await settled(before), before, "the orphaned provider left nothing behind");
        const restoredByOrphan = restored() - restoredAtKill;

        const [, refresh] = await project.recoverFromKilledRun();
        // What the killed run removed is gone from the state after the refresh; the rest is destroyed now.
        assert.match(refresh.stdout, /deleted/, `the refresh noticed what the killed destroy removed:\n${refresh.stdout}`);
        await project.destroy(["--parallel", "64"]);
        for (const h of hosts) assertPristine(h);
        console.log(`      killed destroy: ${restoredAtKill}/${HOSTS} fstabs restored when the CLI died, ${restoredByOrphan} more by the orphaned provider; all ${HOSTS} pristine after recovery`);
    });
});
