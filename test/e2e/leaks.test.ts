/**
 * Under the real Pulumi CLI against a real test host: nothing outlives a `pulumi` command (ssh
 * masters, control sockets, key files, askpass helpers, the private directory), not over 20 no-op
 * runs, not after the provider is SIGKILLed mid-apply; and no secret reaches the output or the state,
 * not even of a failing run with --debug.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import execa from "execa";
import { closeAllHosts } from "../../provider/host/pool";
import { ensurePool, sharedHosts, uniqueName } from "../hosts/fleet";
import type { TestHost } from "../hosts/harness";
import { baseline, leftovers, providerDirs, settled as leftoversSettled } from "./leftovers";
import { header, PulumiProject, RunResult } from "./pulumi";

const NO_OP_RUNS = 20;

const program = `${header}
const cfg = new pulumi.Config();
const byKey = { host: cfg.require("host"), port: cfg.requireNumber("port"), privateKey: cfg.requireSecret("privateKey"), hostKey: cfg.require("hostKey") };
const password = cfg.requireSecret("password");
const byPassword = { host: byKey.host, port: byKey.port, user: "deployer", password, sudo: true, sudoPassword: password, hostKey: byKey.hostKey };
const scratch = cfg.require("scratch");
new zd.ZfsVolume("volume", { connection: byKey, name: cfg.require("volume"), size: cfg.require("size"), forceDestroy: true });
new zd.FstabEntry("line", { connection: byKey, spec: "LABEL=pzd-leaks", mountPoint: scratch + "/mnt", fsType: "ext4", mount: false, fstabPath: scratch + "/fstab" });
new zd.DockerStorageConfig("docker", { connection: byPassword, storageDriver: "overlay2", restart: false, requiresMountsFor: [], daemonJsonPath: scratch + "/daemon.json" });
const broken = cfg.get("brokenPool");
if (broken) {
    new zd.ZfsVolume("broken", { connection: byPassword, name: broken + "/vol", size: "64M" });
}
`;

async function remoteSessions(host: TestHost): Promise<number> {
    // sshd's per-connection processes; the harness's own master is one of them and stays.
    return Number((await host.exec("pgrep -c -f '^sshd: [a-z]+(@notty)?$' || true")).stdout.trim());
}

/** sshd sessions end a moment after their client: poll briefly for the expected value. */
async function settled<T>(read: () => Promise<T>, expected: T): Promise<T> {
    let value = await read();
    for (let i = 0; i < 20 && value !== expected; i++) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        value = await read();
    }
    return value;
}

/** For a failure message: whether each leftover directory's owner still runs, and what it is. */
function describeOwners(dirs: string[]): string {
    return dirs
        .map((d) => {
            const pid = Number(/^pzd-(\d+)-/.exec(d)![1]);
            try {
                const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
                const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, "m").exec(status)?.[1];
                return `${d}: pid ${pid} alive, state ${field("State")}, ppid ${field("PPid")}, cmdline ${fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ")}`;
            } catch {
                return `${d}: pid ${pid} gone`;
            }
        })
        .join("; ") || "none new";
}

describe("no leaks and no secrets, under the real Pulumi CLI", function () {
    let host: TestHost;
    let project: PulumiProject;
    let scratch: string;
    const volume = `tank/${uniqueName("leaks")}`;
    const outputs: RunResult[] = [];

    before(async () => {
        [host] = await sharedHosts(1);
        await ensurePool(host);
        scratch = `/root/${uniqueName("leaks")}`;
        await host.exec(`mkdir -p ${scratch}/mnt && : > ${scratch}/fstab && chmod 755 /root && chmod 777 ${scratch}`);
        project = new PulumiProject("leaks", program);
        await project.init({ host: host.host, port: String(host.port), hostKey: host.hostKey, volume, size: "64M", scratch }, { privateKey: host.privateKey, password: "deployer-pw" });
    });
    after(async () => {
        await project?.destroy().catch(() => undefined);
        project?.cleanup();
        await host?.exec(`rm -rf ${scratch}; chmod 700 /root`).catch(() => undefined);
    });

    it(`leaves no ssh process, control socket, key file or private directory over ${NO_OP_RUNS} no-op ups, half of them refreshing`, async () => {
        const dirsBefore = baseline().dirs;
        // In-process hosts of earlier suites in this mocha process keep a master for ControlPersist's 60 s: close them.
        await closeAllHosts();
        // Sessions just closed may still be ending: the baseline is a count that holds for a second.
        let sessionsBefore = await remoteSessions(host);
        for (let i = 0; i < 20; i++) {
            await new Promise((resolve) => setTimeout(resolve, 1000));
            const now = await remoteSessions(host);
            if (now === sessionsBefore) break;
            sessionsBefore = now;
        }
        outputs.push(await project.up());
        assert.match(outputs[0].stdout, /4 created/);
        for (let run = 1; run <= NO_OP_RUNS; run++) {
            // Every other run refreshes, so half of them read every resource over SSH as well.
            const noOp = await project.up(run % 2 === 0 ? ["--refresh"] : []);
            outputs.push(noOp);
            assert.match(noOp.stdout, /4 unchanged/, `run ${run} changed something:\n${noOp.stdout}`);
            assert.doesNotMatch(noOp.stdout, /updated|created|replaced|deleted/);
        }
        assert.deepEqual(leftovers().ssh, [], "no provider ssh master outlived its command");
        assert.deepEqual(providerDirs(), dirsBefore, "no /tmp/pzd-* directory was left");
        assert.equal(await settled(() => remoteSessions(host), sessionsBefore), sessionsBefore, "no SSH session stayed open on the host");
        assert.equal((await host.exec(`ls -A ${scratch} | grep -c pzd- || true`)).stdout.trim(), "0", "no temporary file on the host");
        const times = outputs.slice(1).map((o) => o.seconds).sort((a, b) => a - b);
        console.log(`      ${NO_OP_RUNS} no-op 'up' runs (${NO_OP_RUNS / 2} with --refresh): median ${times[times.length >> 1]} s; leaked: 0 ssh, 0 dirs, 0 sessions`);
    });

    it("sweeps what a provider SIGKILLed mid-apply left, and refresh + up converge", async () => {
        await project.run(["config", "set", "size", "128M"]);
        const dirsBefore = new Set(baseline().dirs);
        const up = execa("pulumi", ["up", "--yes", "--skip-preview", "--non-interactive"], { cwd: project.dir, env: project.environment(), reject: false });
        let victim: string | undefined;
        for (let waited = 0; !victim && waited < 120_000; waited += 100) {
            victim = providerDirs().find((d) => !dirsBefore.has(d));
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.ok(victim, "the provider made its private directory");
        const providerPid = Number(/^pzd-(\d+)-/.exec(victim)![1]);
        process.kill(providerPid, "SIGKILL");
        const killed = await up;
        outputs.push({ stdout: killed.stdout, stderr: killed.stderr, exitCode: killed.exitCode ?? -1, seconds: 0 });
        assert.notEqual(killed.exitCode, 0, "the up failed when its provider died");
        assert.ok(fs.existsSync(`/tmp/${victim}`), "SIGKILL left the directory (nothing could clean it)");

        outputs.push(await project.refresh());
        assert.ok(!fs.existsSync(`/tmp/${victim}`), "the next provider swept it");
        outputs.push(await project.up());
        assert.equal(Number((await host.exec(`zfs get -Hpo value volsize ${volume}`)).stdout.trim()), 128 * 2 ** 20);
        const again = await project.up();
        outputs.push(again);
        assert.match(again.stdout, /4 unchanged/);
        assert.deepEqual(leftovers().ssh, [], "the dead provider's master was closed by the sweep");
        assert.deepEqual(providerDirs().filter((d) => !dirsBefore.has(d)), []);
    });

    it("a pulumi CLI SIGKILLed while ZfsVolume grows: the orphaned provider ends on its own; cancel, refresh and up converge", async () => {
        await project.run(["config", "set", "size", "192M"]);
        const before = baseline();
        const killed = await project.killedWhen("up", (out) => /ZfsVolume.*updating/.test(out));
        outputs.push(killed);
        assert.equal(killed.exitCode, -1, "the CLI was killed");
        // The grow may still be running on the host: the provider finishes it, closes its master and exits.
        const left = await leftoversSettled(before, 120_000);
        const owners = describeOwners(left.dirs.filter((d) => !before.dirs.includes(d)));
        // Recovered before asserting, so a failure here does not leave the stack locked for the next test.
        outputs.push(...(await project.recoverFromKilledRun()));
        assert.deepEqual(left, before, `the orphaned provider left nothing behind (${owners})`);
        const up = await project.up();
        outputs.push(up);
        assert.doesNotMatch(up.stdout + up.stderr, /interrupted|locked/);
        assert.equal(Number((await host.exec(`zfs get -Hpo value volsize ${volume}`)).stdout.trim()), 192 * 2 ** 20);
        const again = await project.up();
        outputs.push(again);
        assert.match(again.stdout, /4 unchanged/);
        assert.equal((await host.exec(`ls -A ${scratch} | grep -c pzd- || true`)).stdout.trim(), "0", "no temporary file on the host");
    });

    it("a pulumi CLI SIGKILLed while ZfsVolume and DockerStorageConfig are being created: recovery converges, and destroy still gives everything back", async () => {
        outputs.push(await project.destroy());
        assert.equal((await host.exec(`zfs list -H ${volume} >/dev/null 2>&1 && echo present || echo absent`)).stdout.trim(), "absent");
        const before = baseline();
        // Independent resources: both creates are sent at once, so both are on their way when the CLI dies.
        const killed = await project.killedWhen("up", (out) => /ZfsVolume.*creating/.test(out) && /DockerStorageConfig.*creating/.test(out));
        outputs.push(killed);
        assert.equal(killed.exitCode, -1, "the CLI was killed");
        const left = await leftoversSettled(before, 120_000);
        const owners = describeOwners(left.dirs.filter((d) => !before.dirs.includes(d)));
        outputs.push(...(await project.recoverFromKilledRun()));
        assert.deepEqual(left, before, `the orphaned provider left nothing behind (${owners})`);

        // What the killed run made is found and taken over (the volume by its marker, daemon.json by its backup).
        const up = await project.up();
        outputs.push(up);
        assert.doesNotMatch(up.stdout + up.stderr, /refus|interrupted|locked/i);
        const again = await project.up(["--refresh"]);
        outputs.push(again);
        assert.match(again.stdout, /4 unchanged/);
        assert.equal(Number((await host.exec(`zfs get -Hpo value volsize ${volume}`)).stdout.trim()), 192 * 2 ** 20);
        assert.equal(JSON.parse((await host.exec(`cat ${scratch}/daemon.json`)).stdout)["storage-driver"], "overlay2");

        outputs.push(await project.destroy());
        const after = (await host.exec(`ls -A ${scratch}; echo; zfs list -H ${volume} >/dev/null 2>&1 && echo volume present || echo volume absent; wc -c < ${scratch}/fstab`)).stdout;
        assert.match(after, /volume absent/, "destroy removed the volume");
        assert.doesNotMatch(after, /daemon\.json/, "daemon.json (absent before the first up) and its backup are gone again");
        assert.doesNotMatch(after, /pzd-/, "no temporary file on the host");
        assert.match(after, /^0$/m, "the fstab is empty again, as it was");
    });

    it("keeps the private key and passwords out of output, errors and state, also of a failing --debug run", async () => {
        await project.run(["config", "set", "brokenPool", "nosuchpool"]);
        const failing = await project.run(["up", "--yes", "--skip-preview", "--debug"], { allowFail: true });
        outputs.push(failing);
        assert.notEqual(failing.exitCode, 0);
        assert.match(failing.stdout + failing.stderr, /nosuchpool/, "the failure is reported");
        await project.run(["config", "rm", "brokenPool"]);

        const keyLines = host.privateKey.split("\n").filter((l) => l && !l.startsWith("-----"));
        const secrets = ["deployer-pw", ...keyLines.filter((l) => l.length >= 20)];
        const texts: [string, string][] = [
            ...outputs.map((o, i): [string, string] => [`output of run ${i}`, o.stdout + o.stderr]),
            ["state file", project.stateText()],
            ["stack export", (await project.run(["stack", "export"])).stdout],
        ];
        let searched = 0;
        for (const [where, text] of texts) {
            for (const secret of secrets) {
                assert.ok(!text.includes(secret), `a secret appears in the ${where}`);
                searched++;
            }
        }
        assert.ok(!project.stateText().includes("PRIVATE KEY"));
        console.log(`      ${secrets.length} secret strings searched in ${texts.length} texts (${searched} checks): none found`);
    });
});
