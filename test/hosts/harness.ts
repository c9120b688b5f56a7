/**
 * Real Debian guests under qemu for the host tests: OpenZFS, Docker and sshd on a throwaway image
 * (build-image.sh), each guest on its own copy-on-write overlay plus a blank disk for a pool.
 * Software emulation by default; KVM only where a probe boot has shown it really works here.
 */
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import execa from "execa";

export interface ExecResult {
    stdout: string;
    stderr: string;
    exitCode: number;
}

export interface ExecOptions {
    allowFail?: boolean;
    input?: string;
    user?: string;
    timeoutMs?: number;
}

export interface TestHost {
    name: string;
    host: string;
    port: number;
    user: "root";
    privateKey: string;
    /** "ssh-ed25519 AAAA...", the guest's pinned host key. */
    hostKey: string;
    /** Ready for the provider's `connection` input. */
    connection: { host: string; port: number; user: string; privateKey: string; hostKey: string };
    /** Seconds from qemu start (or from the poweroff request, for reboot) to SSH answering, per boot. */
    boots: { kind: "cold" | "reboot"; seconds: number }[];
    accel: Accel;
    exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
    /** Whether the guest runs and answers a command over SSH now: within ~30 s, else once more on a new connection. */
    answers(): Promise<boolean>;
    /** Graceful poweroff, then a cold start on the same disks: the boot path a real power cycle takes. */
    reboot(): Promise<void>;
    /** Hard power-off, as for tests of interrupted operations. */
    kill(): Promise<void>;
    /** Boots again on the same disks after kill() or a poweroff. */
    start(): Promise<void>;
    /** Poweroff and removal of the overlay disks. */
    stop(): Promise<void>;
    consoleLog(): string;
    /** The running qemu's pid, for resource figures; undefined when powered off. */
    qemuPid(): number | undefined;
    /** A command line a human can paste to log in. */
    sshCommandLine(): string;
}

export type Accel = "tcg" | "kvm";

const QEMU = "qemu-system-x86_64";
const CACHE_ROOT = process.env.PULUMI_ZFS_DOCKER_CACHE ?? path.join(os.homedir(), ".cache", "pulumi-zfs-docker");
const POWEROFF_GRACE_MS = 90_000;
const KVM_PROBE_DEADLINE_S = 60;

let image: Promise<string> | undefined;

/** Builds the image on a fresh machine (~10 min); prints the cached directory at once afterwards. */
export function imageDir(): Promise<string> {
    image ??= (async () => {
        const script = path.join(__dirname, "build-image.sh");
        const result = await execa("bash", [script], { stderr: "inherit", reject: false });
        const dir = result.stdout.trim().split("\n").pop() ?? "";
        if (result.exitCode !== 0 || !fs.existsSync(path.join(dir, "ready"))) {
            throw new Error(`${script} failed (exit ${result.exitCode}); its messages are above. Fix what it reports and run the tests again.`);
        }
        return dir;
    })();
    return image;
}

// --- cleanup: no qemu outlives the test process -------------------------------------------------

const live = new Set<QemuHost>();
let handlersInstalled = false;

function installExitHandlers(): void {
    if (handlersInstalled) {
        return;
    }
    handlersInstalled = true;
    process.on("exit", () => {
        for (const host of live) {
            host.destroySync();
        }
    });
    for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
        process.on(signal, () => process.exit(code));
    }
}

/** Kills guests left behind by a test process that died without running its exit handler (SIGKILL). */
function reapOrphans(): void {
    for (const entry of fs.readdirSync(os.tmpdir())) {
        if (!entry.startsWith("pzd-host-")) {
            continue;
        }
        const dir = path.join(os.tmpdir(), entry);
        const owner = Number(readOr(path.join(dir, "owner"), "0"));
        if (owner && pidAlive(owner)) {
            continue;
        }
        const pid = Number(readOr(path.join(dir, "pid"), "0"));
        // Only kill a process that really is the qemu using this directory (pids get reused).
        if (pid && readOr(`/proc/${pid}/cmdline`, "").includes(dir)) {
            process.kill(pid, "SIGKILL");
        }
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function readOr(file: string, fallback: string): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch {
        return fallback;
    }
}

function pidAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (error) {
        return (error as NodeJS.ErrnoException).code === "EPERM";
    }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// --- accelerator choice ----------------------------------------------------------------------------

async function qemuVersion(): Promise<string> {
    const result = await execa(QEMU, ["--version"], { reject: false });
    if (result.exitCode !== 0) {
        throw new Error(`${QEMU} cannot run (${result.stderr || result.command}): install it with \`apt-get install qemu-system-x86 qemu-utils\` and run the tests again.`);
    }
    return /version (\S+)/.exec(result.stdout)?.[1] ?? "unknown";
}

let accelChoice: Promise<Accel> | undefined;

/**
 * PZD_ACCEL=tcg|kvm wins; otherwise KVM only if a probe guest booted to SSH under it. /dev/kvm being
 * present proves little: on this kind of machine the guest died under KVM with a register dump.
 */
function chooseAccel(dir: string): Promise<Accel> {
    accelChoice ??= (async () => {
        const version = await qemuVersion();
        const forced = process.env.PZD_ACCEL;
        if (forced === "tcg" || forced === "kvm") {
            return forced;
        }
        if (forced) {
            throw new Error(`PZD_ACCEL=${forced} is not understood: set it to tcg or kvm, or unset it to probe.`);
        }
        try {
            fs.accessSync("/dev/kvm", fs.constants.R_OK | fs.constants.W_OK);
        } catch {
            return "tcg";
        }
        const cacheFile = path.join(CACHE_ROOT, `kvm-probe-${os.release()}-${version}`);
        const cached = readOr(cacheFile, "").split("\n")[0];
        if (cached === "kvm" || cached === "tcg") {
            return cached;
        }
        process.stderr.write(`testhost: probing KVM with one guest (result cached in ${cacheFile})\n`);
        const probe = new QemuHost("kvm-probe", dir, { accel: "kvm", memoryMiB: 1024, cpus: 1 });
        let verdict: string;
        try {
            await probe.start(KVM_PROBE_DEADLINE_S);
            verdict = "kvm";
        } catch (error) {
            verdict = `tcg\n${(error as Error).message}`;
        } finally {
            await probe.stop();
        }
        fs.mkdirSync(CACHE_ROOT, { recursive: true });
        fs.writeFileSync(cacheFile, verdict + "\n");
        process.stderr.write(`testhost: KVM ${verdict.startsWith("kvm") ? "works" : "does not work here; using software emulation (tcg)"}\n`);
        return verdict.startsWith("kvm") ? "kvm" : "tcg";
    })();
    return accelChoice;
}

// --- one guest -------------------------------------------------------------------------------------

const usedPorts = new Set<number>();

/** A loopback port nobody listens on; never handed out twice in this process. */
async function freePort(): Promise<number> {
    for (;;) {
        const port = await new Promise<number>((resolve, reject) => {
            const server = net.createServer();
            server.on("error", reject);
            server.listen(0, "127.0.0.1", () => {
                const { port } = server.address() as net.AddressInfo;
                server.close(() => resolve(port));
            });
        });
        if (!usedPorts.has(port)) {
            usedPorts.add(port);
            return port;
        }
    }
}

interface QemuOptions {
    accel: Accel;
    memoryMiB: number;
    cpus: number;
}

class QemuHost implements TestHost {
    readonly host = "127.0.0.1";
    readonly user = "root" as const;
    readonly privateKey: string;
    readonly hostKey: string;
    readonly boots: TestHost["boots"] = [];
    port = 0;
    private dir: string | undefined;
    private masterUp = false;

    constructor(readonly name: string, private readonly image: string, private readonly options: QemuOptions) {
        this.privateKey = fs.readFileSync(path.join(image, "id_ed25519"), "utf8");
        this.hostKey = fs.readFileSync(path.join(image, "host_ed25519_key.pub"), "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
    }

    get accel(): Accel {
        return this.options.accel;
    }

    get connection() {
        return { host: this.host, port: this.port, user: this.user, privateKey: this.privateKey, hostKey: this.hostKey };
    }

    private file(name: string): string {
        if (!this.dir) {
            throw new Error(`${this.name} was stopped: its disks are gone; start a new host with startHosts().`);
        }
        return path.join(this.dir, name);
    }

    /** Outside the host's directory, so it is still there to read after a failed test removed the host. */
    consoleLog(): string {
        return path.join(os.tmpdir(), "pzd-console", `${this.name}-${process.pid}.log`);
    }

    qemuPid(): number | undefined {
        const pid = this.dir ? Number(readOr(this.file("pid"), "0")) : 0;
        return pid && pidAlive(pid) ? pid : undefined;
    }

    private sshArgs(user: string, multiplex = true): string[] {
        return [
            "-i", path.join(this.image, "id_ed25519"),
            "-o", "IdentitiesOnly=yes",
            "-o", `UserKnownHostsFile=${this.file("known_hosts")}`,
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes",
            "-o", "LogLevel=ERROR",
            // ssh keeps the first value of an option: callers put overrides before these.
            "-o", "ConnectTimeout=20",
            "-o", "ServerAliveInterval=15",
            "-o", "ServerAliveCountMax=4",
            "-o", `ControlPath=${multiplex ? this.file("cm-%r") : "none"}`,
            "-p", String(this.port),
            "-l", user,
        ];
    }

    sshCommandLine(): string {
        return ["ssh", ...this.sshArgs(this.user, false), this.host].map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w}'`)).join(" ");
    }

    /** Creates the overlays on first start; later starts reuse them, which is the point of a power cycle. */
    private async prepareDisks(): Promise<void> {
        if (this.dir) {
            return;
        }
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "pzd-host-"));
        fs.writeFileSync(this.file("owner"), String(process.pid));
        fs.mkdirSync(path.dirname(this.consoleLog()), { recursive: true });
        fs.rmSync(this.consoleLog(), { force: true });
        await execa("qemu-img", ["create", "-q", "-f", "qcow2", "-b", path.join(this.image, "base.img"), "-F", "raw", this.file("root.qcow2")]);
        await execa("qemu-img", ["create", "-q", "-f", "qcow2", this.file("pool.qcow2"), "8G"]);
        this.port = await freePort();
    }

    private qemuArgs(): string[] {
        const { accel, memoryMiB, cpus } = this.options;
        return [
            "-name", `pzd-${this.name}`,
            "-accel", accel === "kvm" ? "kvm" : "tcg,thread=multi",
            "-cpu", accel === "kvm" ? "host" : "max",
            "-smp", String(cpus),
            "-m", String(memoryMiB),
            "-kernel", path.join(this.image, "vmlinuz"),
            "-initrd", path.join(this.image, "initrd.img"),
            "-append", "root=/dev/vda rw console=ttyS0 quiet",
            "-drive", `file=${this.file("root.qcow2")},if=virtio,format=qcow2`,
            "-drive", `file=${this.file("pool.qcow2")},if=virtio,format=qcow2`,
            "-netdev", `user,id=n0,hostfwd=tcp:127.0.0.1:${this.port}-:22`,
            "-device", "virtio-net-pci,netdev=n0",
            "-device", "virtio-rng-pci",
            // No floppy, CD-ROM, VGA or default NIC: less for the guest to probe under emulation.
            "-nodefaults",
            "-display", "none",
            // append=on keeps the console of earlier boots, which is what a failed reboot test needs.
            "-chardev", `file,id=console,path=${this.consoleLog()},append=on`,
            "-serial", "chardev:console",
            "-daemonize",
            "-pidfile", this.file("pid"),
        ];
    }

    async start(deadlineSeconds?: number): Promise<void> {
        return this.boot("cold", Date.now(), deadlineSeconds);
    }

    private async boot(kind: "cold" | "reboot", since: number, deadlineSeconds = 400): Promise<void> {
        if (this.qemuPid()) {
            throw new Error(`${this.name} is already running: call kill() or reboot() instead of start().`);
        }
        installExitHandlers();
        await this.prepareDisks();
        fs.writeFileSync(this.file("known_hosts"), `[${this.host}]:${this.port} ${this.hostKey}\n`);
        fs.appendFileSync(this.consoleLog(), `\n===== harness: ${kind} boot (${this.options.accel}) at ${new Date().toISOString()} =====\n`);
        live.add(this);
        const result = await execa(QEMU, this.qemuArgs(), { reject: false });
        if (result.exitCode !== 0) {
            throw new Error(`${QEMU} could not start ${this.name} (exit ${result.exitCode}): ${result.stderr.trim()}. ` +
                `Check that qemu runs (\`${QEMU} --version\`) and, for accel=${this.options.accel}, that PZD_ACCEL is right.`);
        }
        await this.waitForSsh(deadlineSeconds);
        this.boots.push({ kind, seconds: Math.round((Date.now() - since) / 100) / 10 });
    }

    private async waitForSsh(deadlineSeconds: number): Promise<void> {
        const deadline = Date.now() + deadlineSeconds * 1000;
        let lastError = "";
        while (Date.now() < deadline) {
            if (!this.qemuPid()) {
                throw new Error(`qemu of ${this.name} exited during boot. Read the console log ${this.consoleLog()}:\n${this.consoleTail()}`);
            }
            const probe = await execa("ssh", ["-o", "ConnectTimeout=10", ...this.sshArgs(this.user, false), this.host, "true"], { reject: false, timeout: 30_000, stdin: "ignore" });
            if (probe.exitCode === 0) {
                return;
            }
            lastError = probe.stderr.trim() || (probe.timedOut ? "ssh timed out" : `ssh exited ${probe.exitCode}`);
            if (/Host key verification failed|IDENTIFICATION HAS CHANGED|Permission denied/.test(lastError)) {
                throw new Error(`${this.name} answered SSH but refused us (${lastError}): the image's keys do not match; delete the image cache and rebuild it.`);
            }
            await sleep(2000);
        }
        throw new Error(`${this.name} (accel ${this.options.accel}) did not answer SSH on ${this.host}:${this.port} within ${deadlineSeconds} s ` +
            `(last ssh error: ${lastError}). Read the console log ${this.consoleLog()}; if it is only slow, run fewer guests at once. Console tail:\n${this.consoleTail()}`);
    }

    private consoleTail(): string {
        return readOr(this.consoleLog(), "").split("\n").slice(-25).join("\n");
    }

    /** One multiplexed connection: an SSH round trip costs ~1.5 s under emulation. */
    private async ensureMaster(user: string): Promise<void> {
        // ControlPersist ends an idle master; its socket goes with it.
        if (this.masterUp && user === this.user && fs.existsSync(this.file(`cm-${user}`))) {
            return;
        }
        const check = await execa("ssh", [...this.sshArgs(user), "-O", "check", this.host], { reject: false, stdio: "ignore" });
        if (check.exitCode === 0) {
            return;
        }
        // -f -N -E: the backgrounded master must not hold our pipes open.
        await execa("ssh", [...this.sshArgs(user), "-o", "ControlMaster=yes", "-o", "ControlPersist=600", "-E", this.file(`master-${user}.log`), "-f", "-N", this.host], { reject: false, stdio: "ignore", timeout: 60_000 });
        this.masterUp = user === this.user;
    }

    private async closeMasters(): Promise<void> {
        this.masterUp = false;
        for (const entry of this.dir ? fs.readdirSync(this.dir).filter((e) => e.startsWith("cm-")) : []) {
            await execa("ssh", ["-o", `ControlPath=${this.file(entry)}`, "-O", "exit", this.host], { reject: false, stdio: "ignore" });
        }
    }

    async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
        const user = opts.user ?? this.user;
        await this.ensureMaster(user);
        const result = await execa("ssh", [...this.sshArgs(user), "-o", "ControlMaster=no", "-T", this.host, "--", command], {
            input: opts.input ?? "",
            reject: false,
            timeout: opts.timeoutMs ?? 600_000,
        });
        const exitCode = result.timedOut ? -1 : result.exitCode ?? -1;
        if (exitCode !== 0 && !opts.allowFail) {
            throw new Error(`${this.name}: \`${command}\` as ${user} ${result.timedOut ? "timed out" : `exited ${exitCode}`}: ${result.stderr.trim() || result.stdout.trim()}` +
                (exitCode === 255 ? ` (ssh failed: is the guest up? console log: ${this.consoleLog()})` : ""));
        }
        return { stdout: result.stdout, stderr: result.stderr, exitCode };
    }

    async answers(): Promise<boolean> {
        if (!this.qemuPid()) {
            return false;
        }
        if ((await this.exec("true", { allowFail: true, timeoutMs: 30_000 })).exitCode === 0) {
            return true;
        }
        // The master may be what hangs (a guest that was busy when it dialled): a new connection decides.
        await this.closeMasters();
        const probe = await execa("ssh", ["-o", "ConnectTimeout=20", ...this.sshArgs(this.user, false), this.host, "true"], { reject: false, timeout: 45_000, stdin: "ignore" });
        return probe.exitCode === 0;
    }

    /** Waits for qemu to exit after a guest poweroff; pulls the plug if the guest hangs. */
    private async waitForExit(graceMs: number): Promise<void> {
        const deadline = Date.now() + graceMs;
        while (this.qemuPid() && Date.now() < deadline) {
            await sleep(500);
        }
        if (this.qemuPid()) {
            process.stderr.write(`testhost: ${this.name} did not power off within ${graceMs / 1000} s; killing qemu (console log: ${this.consoleLog()})\n`);
            await this.kill();
        }
    }

    private async powerOff(): Promise<void> {
        if (!this.qemuPid()) {
            return;
        }
        // --no-block: ssh returns before sshd is stopped, so the request is not mistaken for a failure.
        await this.exec("sync; systemctl poweroff --no-block", { allowFail: true, timeoutMs: 60_000 });
        await this.closeMasters();
        await this.waitForExit(POWEROFF_GRACE_MS);
    }

    async reboot(): Promise<void> {
        const since = Date.now();
        await this.powerOff();
        await this.boot("reboot", since);
    }

    async kill(): Promise<void> {
        const pid = this.qemuPid();
        if (pid) {
            process.kill(pid, "SIGKILL");
            while (pidAlive(pid)) {
                await sleep(100);
            }
        }
        await this.closeMasters();
    }

    async stop(): Promise<void> {
        await this.powerOff().catch(() => this.kill());
        this.destroySync();
    }

    /** Synchronous, for the process 'exit' handler. */
    destroySync(): void {
        const pid = this.qemuPid();
        if (pid) {
            process.kill(pid, "SIGKILL");
        }
        if (this.dir) {
            fs.rmSync(this.dir, { recursive: true, force: true });
            this.dir = undefined;
        }
        live.delete(this);
    }
}

let hostCounter = 0;

/** Boots `count` guests in parallel and resolves when all answer SSH. */
export async function startHosts(count: number, opts: { memoryMiB?: number; cpus?: number } = {}): Promise<TestHost[]> {
    reapOrphans();
    const dir = await imageDir();
    const accel = await chooseAccel(dir);
    const hosts = Array.from({ length: count }, () => new QemuHost(`testhost-${++hostCounter}`, dir, { accel, memoryMiB: opts.memoryMiB ?? 2048, cpus: opts.cpus ?? 2 }));
    // Guests share the host's cores: each extra one stretches every boot (3 at once: ~140 s each on 2 cores).
    const deadline = accel === "kvm" ? 120 : 400 + 150 * Math.max(0, count - 2);
    const results = await Promise.allSettled(hosts.map((h) => h.start(deadline)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) {
        await Promise.all(hosts.map((h) => h.stop().catch(() => undefined)));
        throw failed.reason;
    }
    return hosts;
}
