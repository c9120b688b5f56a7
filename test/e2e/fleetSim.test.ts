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
import { resetFiles, simProgram, startSshds, type SimHost } from "../../bench/fleetSim";
import { PulumiProject } from "./pulumi";

const HOSTS = 6;

function leftovers(): { dirs: string[]; ssh: number[] } {
    const dirs = fs.readdirSync("/tmp").filter((d) => /^pzd-\d+-\w{6}$/.test(d) && !d.startsWith(`pzd-${process.pid}-`));
    const ssh = fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p)).map(Number).filter((pid) => {
        try {
            return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "ssh" && /ControlPath=\/tmp\/pzd-\d+-/.test(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " "));
        } catch {
            return false;
        }
    });
    return { dirs, ssh };
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
        const before = leftovers();
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
        let after = leftovers();
        for (let i = 0; i < 40 && JSON.stringify(after) !== JSON.stringify(before); i++) {
            await new Promise((resolve) => setTimeout(resolve, 250));
            after = leftovers();
        }
        console.log(`      ${HOSTS} hosts: up ${up.seconds}s; leaked after 4 runs: ${after.ssh.length - before.ssh.length} ssh, ${after.dirs.length - before.dirs.length} dirs`);
        assert.deepEqual(after, before, "no provider ssh process or private directory outlives the runs");
    });
});
