/**
 * The provider's own overhead at fleet size, without VMs: up to 50 sshd instances on loopback ports,
 * each "host" with its own scratch fstab and daemon.json, converging the two resources that need no
 * ZFS (FstabEntry with mount: false, DockerStorageConfig with restart: false). Reports wall time of a
 * first converge and of a no-op `up --refresh`, and the provider process's peak memory, open file
 * descriptors and ssh processes, sampled from /proc while the CLI runs.
 */
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import execa, { type ExecaChildProcess } from "execa";
import { PulumiProject } from "../test/e2e/pulumi";
import { markdownTable } from "./chart";

const SSHD = "/usr/sbin/sshd";
/** USER_HZ, 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

const SIM_NOTE = `The simulated hosts (sshd, their shells) run on the same ${os.cpus().length} cores as the CLI and the provider, so wall time grows with the hosts' own work too; provider CPU counts the provider process and the ssh clients it started.`;

export interface SimHost {
    port: number;
    dir: string;
}

interface Peak {
    rssMiB: number;
    /** CPU seconds of the provider process and the ssh clients it has reaped (utime+stime+cutime+cstime). */
    cpuSeconds: number;
    fds: number;
    ssh: number;
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const port = (server.address() as net.AddressInfo).port;
            server.close(() => resolve(port));
        });
    });
}

/** Every process whose command line contains `needle`, read from /proc (no ps parsing). */
function processesMatching(needle: string): number[] {
    const pids: number[] = [];
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            if (fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(needle)) pids.push(Number(entry));
        } catch {
            // The process ended between readdir and read.
        }
    }
    return pids;
}

function sampleProvider(peak: Peak): void {
    let rss = 0;
    let fds = 0;
    let cpuTicks = 0;
    for (const pid of processesMatching("cmd/dynamic-provider")) {
        try {
            rss += Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
            fds += fs.readdirSync(`/proc/${pid}/fd`).length;
            // Fields 14-17 of /proc/<pid>/stat, counted after the parenthesised command name.
            const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "").split(" ");
            cpuTicks += fields.slice(11, 15).reduce((sum, f) => sum + Number(f), 0);
        } catch {
            // Gone meanwhile.
        }
    }
    const ssh = processesMatching("pzd-").filter((pid) => {
        try {
            return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "ssh";
        } catch {
            return false;
        }
    }).length;
    peak.rssMiB = Math.max(peak.rssMiB, Math.round(rss));
    peak.fds = Math.max(peak.fds, fds);
    peak.cpuSeconds = Math.max(peak.cpuSeconds, cpuTicks / CLOCK_TICKS_PER_SECOND);
    peak.ssh = Math.max(peak.ssh, ssh);
}

async function timedWithPeaks(work: () => Promise<unknown>): Promise<{ seconds: number; peak: Peak }> {
    const peak: Peak = { rssMiB: 0, cpuSeconds: 0, fds: 0, ssh: 0 };
    const timer = setInterval(() => sampleProvider(peak), 200);
    const started = Date.now();
    try {
        await work();
    } finally {
        clearInterval(timer);
    }
    return { seconds: Math.round((Date.now() - started) / 100) / 10, peak };
}

export function simProgram(hostsFile: string, keyFile: string, hostKey: string): string {
    return `import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { DockerStorageConfig, FstabEntry } from "pulumi-zfs-docker";

const hosts: { port: number; dir: string }[] = JSON.parse(fs.readFileSync(${JSON.stringify(hostsFile)}, "utf8"));
const privateKey = pulumi.secret(fs.readFileSync(${JSON.stringify(keyFile)}, "utf8"));
hosts.forEach((h, i) => {
    const connection = { host: "127.0.0.1", port: h.port, user: "root", privateKey, hostKey: ${JSON.stringify(hostKey)} };
    new FstabEntry(\`fstab-\${i}\`, { connection, spec: "LABEL=sim-docker", mountPoint: "/srv/sim-docker", fsType: "ext4", fstabPath: \`\${h.dir}/fstab\`, mount: false });
    new DockerStorageConfig(\`docker-\${i}\`, { connection, storageDriver: "overlay2", daemonJsonPath: \`\${h.dir}/daemon.json\`, restart: false, requiresMountsFor: [] });
});
`;
}

/**
 * sshd runs every command through root's login shell, and Debian's bash sources ~/.bashrc for it. A
 * developer machine's .bashrc can cost far more than the command (this one's `pyenv init` runs a
 * rehash that takes a lock, so concurrent sessions queue behind each other and the fleet's time grew
 * with the square of its size). A real host's root has a plain .bashrc; each sshd gets one through a
 * private mount namespace, leaving the machine's file untouched.
 */
function cleanLoginShell(emptyRc: string, config: string): string {
    const rc = path.join(os.homedir(), ".bashrc");
    const bind = fs.existsSync(rc) ? `mount --bind '${emptyRc}' '${rc}' && ` : "";
    return `${bind}exec ${SSHD} -D -e -f '${config}'`;
}

/** Starts `count` sshd instances sharing one host key and one authorized key, each with its own scratch directory. */
export async function startSshds(base: string, count: number): Promise<{ hosts: SimHost[]; daemons: ExecaChildProcess[]; hostKey: string; keyFile: string }> {
    if (!fs.existsSync(SSHD)) throw new Error(`${SSHD} is missing: install openssh-server (scripts/install-bench-deps.sh does) and run the bench again.`);
    fs.mkdirSync("/run/sshd", { recursive: true });
    const keyFile = path.join(base, "id_ed25519");
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keyFile]);
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(base, "host_key")]);
    fs.copyFileSync(`${keyFile}.pub`, path.join(base, "authorized_keys"));
    const hostKey = fs.readFileSync(path.join(base, "host_key.pub"), "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
    const hosts: SimHost[] = [];
    const daemons: ExecaChildProcess[] = [];
    const emptyRc = path.join(base, "bashrc");
    fs.writeFileSync(emptyRc, "");
    for (let i = 0; i < count; i++) {
        const dir = path.join(base, `h${i}`);
        fs.mkdirSync(dir);
        const port = await freePort();
        const config = path.join(dir, "sshd_config");
        fs.writeFileSync(
            config,
            [`Port ${port}`, "ListenAddress 127.0.0.1", `HostKey ${path.join(base, "host_key")}`, `PidFile ${path.join(dir, "sshd.pid")}`, `AuthorizedKeysFile ${path.join(base, "authorized_keys")}`,
                "StrictModes no", "UsePAM no", "PermitRootLogin prohibit-password", "PasswordAuthentication no", "MaxSessions 100", "MaxStartups 200", "LogLevel ERROR", ""].join("\n"),
        );
        daemons.push(execa("unshare", ["--mount", "sh", "-c", cleanLoginShell(emptyRc, config)], { reject: false, stdio: "ignore" }));
        hosts.push({ port, dir });
    }
    return { hosts, daemons, hostKey, keyFile };
}

export const PRISTINE_FSTAB = "# a simulated host\nLABEL=root / ext4 defaults 0 1\n";
export const PRISTINE_DAEMON_JSON = '{\n  "log-level": "warn"\n}\n';

export function resetFiles(hosts: SimHost[]): void {
    for (const h of hosts) {
        for (const name of fs.readdirSync(h.dir).filter((n) => n.startsWith("fstab") || n.startsWith("daemon.json"))) fs.rmSync(path.join(h.dir, name));
        fs.writeFileSync(path.join(h.dir, "fstab"), PRISTINE_FSTAB);
        fs.writeFileSync(path.join(h.dir, "daemon.json"), PRISTINE_DAEMON_JSON);
    }
}

export async function simulatedFleet(counts: number[]): Promise<string> {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "pzd-sim-"));
    const max = Math.max(...counts);
    const { hosts, daemons, hostKey, keyFile } = await startSshds(base, max);
    const rows: (string | number)[][] = [];
    try {
        for (const n of counts) {
            const fleet = hosts.slice(0, n);
            resetFiles(fleet);
            const hostsFile = path.join(base, `hosts-${n}.json`);
            fs.writeFileSync(hostsFile, JSON.stringify(fleet));
            const project = new PulumiProject(`sim-${n}`, simProgram(hostsFile, keyFile, hostKey));
            try {
                await project.init();
                const first = await timedWithPeaks(() => project.run(["up", "--yes", "--skip-preview", "--parallel", "128"]));
                const noop = await timedWithPeaks(() => project.run(["up", "--refresh", "--yes", "--skip-preview", "--parallel", "128"]));
                const written = fleet.filter((h) => /managed by pulumi-zfs-docker/.test(fs.readFileSync(path.join(h.dir, "fstab"), "utf8"))).length;
                if (written !== n) throw new Error(`only ${written} of ${n} simulated hosts got their fstab line`);
                rows.push([n, 2 * n, first.seconds, noop.seconds, first.peak.cpuSeconds.toFixed(1), noop.peak.cpuSeconds.toFixed(1), first.peak.rssMiB, Math.max(first.peak.fds, noop.peak.fds), Math.max(first.peak.ssh, noop.peak.ssh)]);
                console.log(`bench: ${n} simulated host(s): first ${first.seconds}s, no-op ${noop.seconds}s, provider CPU ${first.peak.cpuSeconds.toFixed(1)}s/${noop.peak.cpuSeconds.toFixed(1)}s, peak ${first.peak.rssMiB} MiB, ${first.peak.fds} fds, ${first.peak.ssh} ssh`);
            } finally {
                project.cleanup();
            }
        }
    } finally {
        for (const d of daemons) d.kill("SIGTERM");
        fs.rmSync(base, { recursive: true, force: true });
    }
    const table = markdownTable(["simulated hosts", "resources", "first converge s", "no-op (up --refresh) s", "provider CPU s, first", "provider CPU s, no-op", "provider peak RSS MiB", "provider peak open fds", "peak ssh processes"], rows);
    return `${table}\n${SIM_NOTE}\n`;
}
