/**
 * The same storage recipe converged by three tools on the same test hosts, in the same run: our Pulumi
 * component (examples/fleet), an Ansible playbook with Ansible's own fast settings, and one hand-written
 * shell script over one SSH connection per host (the floor). The hosts are reset to blank between runs
 * and the tools take turns, so drift of the machine's load hits all of them alike.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import execa from "execa";
import { dockerStarts, hostClocks } from "../test/hosts/fleet";
import type { TestHost } from "../test/hosts/harness";
import { exampleProgram, PulumiProject } from "../test/e2e/pulumi";

const here = __dirname;
export const POOL = "tank";
export const VOLUME = "bench-docker";
export const SIZE = "8G";

export type ToolName = "pulumi" | "ansible" | "script";

export interface Sample {
    tool: ToolName;
    hosts: number;
    firstSeconds: number;
    noopSeconds: number;
    /** docker.service starts per host, read from each host's journal. */
    firstDockerStarts: number[];
    noopDockerStarts: number[];
    /** Pulumi only: seconds per resource type on a first converge, the slowest host's, from the CLI's "created (Ns)". */
    resourceSeconds?: Record<string, number>;
}

/** One tool's way to converge a set of hosts: prepare (untimed), converge, converge again. */
export interface Tool {
    name: ToolName;
    prepare(hosts: TestHost[]): Promise<void>;
    /** Returns what the tool printed, for the breakdown. */
    converge(): Promise<string>;
    noop(): Promise<void>;
    cleanup(): Promise<void>;
}

function seconds(since: number): number {
    return Math.round((Date.now() - since) / 10) / 100;
}

/** Key and known_hosts files for the tools that take paths, in a private directory. */
function credentials(hosts: TestHost[]): { dir: string; key: string; knownHosts: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pzd-bench-"));
    const key = path.join(dir, "id_ed25519");
    fs.writeFileSync(key, hosts[0].privateKey, { mode: 0o600 });
    const knownHosts = path.join(dir, "known_hosts");
    fs.writeFileSync(knownHosts, hosts.map((h) => `[${h.host}]:${h.port} ${h.hostKey}\n`).join(""));
    return { dir, key, knownHosts };
}

function sshArgs(host: TestHost, key: string, knownHosts: string): string[] {
    return ["-i", key, "-o", "IdentitiesOnly=yes", "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ControlPath=none", "-p", String(host.port), "-l", "root", host.host];
}

/** Runs a script of bench/recipe on every host at once, each over one SSH connection. */
async function runRecipe(hosts: TestHost[], script: string, args: string[], creds = credentials(hosts)): Promise<string[]> {
    try {
        return await Promise.all(
            hosts.map(async (h) => {
                const result = await execa("ssh", [...sshArgs(h, creds.key, creds.knownHosts), "sh", "-s", "--", ...args], { input: fs.readFileSync(path.join(here, "recipe", script)), reject: false });
                if (result.exitCode !== 0) throw new Error(`${script} on ${h.name} failed (exit ${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
                return result.stdout;
            }),
        );
    } finally {
        fs.rmSync(creds.dir, { recursive: true, force: true });
    }
}

export function resetHosts(hosts: TestHost[]): Promise<string[]> {
    return runRecipe(hosts, "reset.sh", [POOL, VOLUME]);
}

/** The end state by the floor's script, for benches that only need a converged host. */
export function convergeByScript(hosts: TestHost[]): Promise<string[]> {
    return runRecipe(hosts, "converge.sh", [POOL, VOLUME, SIZE]);
}

/** `env`: more variables for the `up`s (the profile sets PZD_TRACE). */
export function pulumiTool(env: Record<string, string> = {}): Tool {
    let project: PulumiProject | undefined;
    return {
        name: "pulumi",
        async prepare(hosts) {
            project = new PulumiProject("bench", exampleProgram("fleet"));
            await project.init({ volumeName: VOLUME, size: SIZE, pool: POOL }, { privateKey: hosts[0].privateKey });
            for (const [i, h] of hosts.entries()) {
                await project.run(["config", "set", "--path", `hosts[${i}].host`, h.host]);
                await project.run(["config", "set", "--path", `hosts[${i}].port`, String(h.port)]);
                await project.run(["config", "set", "--path", `hosts[${i}].hostKey`, h.hostKey]);
            }
        },
        async converge() {
            return (await project!.run(["up", "--yes", "--skip-preview", "--parallel", "64"], { env })).stdout;
        },
        async noop() {
            const again = await project!.run(["up", "--refresh", "--yes", "--skip-preview", "--parallel", "64"], { env });
            if (/\b(created|updated|replaced|deleted)\b/.test(again.stdout)) throw new Error(`the no-op up changed something:\n${again.stdout}`);
        },
        async cleanup() {
            project?.cleanup();
        },
    };
}

function ansibleTool(): Tool {
    let creds: ReturnType<typeof credentials> | undefined;
    let inventory = "";
    const play = async () => {
        const result = await execa("ansible-playbook", ["-i", inventory, path.join(here, "ansible", "playbook.yml")], {
            env: { ANSIBLE_CONFIG: path.join(here, "ansible", "ansible.cfg"), ANSIBLE_LOCAL_TEMP: path.join(creds!.dir, "tmp"), ANSIBLE_HOME: path.join(creds!.dir, "home") },
            reject: false,
        });
        if (result.exitCode !== 0) throw new Error(`ansible-playbook failed (exit ${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
        return result.stdout;
    };
    return {
        name: "ansible",
        async prepare(hosts) {
            creds = credentials(hosts);
            inventory = path.join(creds.dir, "inventory.ini");
            const lines = hosts.map((h, i) => `h${i} ansible_host=${h.host} ansible_port=${h.port}`);
            fs.writeFileSync(
                inventory,
                `[bench]\n${lines.join("\n")}\n\n[bench:vars]\nansible_user=root\nansible_ssh_private_key_file=${creds.key}\n` +
                    `ansible_ssh_common_args='-o UserKnownHostsFile=${creds.knownHosts} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes'\n` +
                    `pool=${POOL}\nvolume_name=${VOLUME}\nvolume_size=${SIZE}\n`,
            );
        },
        async converge() {
            return play();
        },
        async noop() {
            const out = await play();
            if (!/changed=0\b/.test(out) || /changed=[1-9]/.test(out)) throw new Error(`the second ansible run changed something:\n${out}`);
        },
        async cleanup() {
            if (creds) fs.rmSync(creds.dir, { recursive: true, force: true });
        },
    };
}

export function scriptTool(): Tool {
    let hosts: TestHost[] = [];
    return {
        name: "script",
        async prepare(h) {
            hosts = h;
        },
        async converge() {
            return (await runRecipe(hosts, "converge.sh", [POOL, VOLUME, SIZE])).join("\n");
        },
        async noop() {
            const outs = await runRecipe(hosts, "converge.sh", [POOL, VOLUME, SIZE]);
            if (outs.some((o) => !/changed=0\s*$/.test(o))) throw new Error(`the second script run changed something: ${outs.join(" | ")}`);
        },
        async cleanup() {},
    };
}

const TOOLS: Record<ToolName, () => Tool> = { pulumi: pulumiTool, ansible: ansibleTool, script: scriptTool };

/** The end state every tool must reach; a tool that did not reach it has no time worth reporting. */
async function assertConverged(hosts: TestHost[], tool: ToolName): Promise<void> {
    for (const h of hosts) {
        const seen = (await h.exec(`findmnt -n -o FSTYPE /var/lib/docker; docker info --format '{{.Driver}} {{range .DriverStatus}}{{if eq (index . 0) "Backing Filesystem"}}{{index . 1}}{{end}}{{end}}'; grep -c ' /var/lib/docker ext4 ' /etc/fstab`, { allowFail: true })).stdout.trim().split("\n");
        if (seen.join(" ") !== "ext4 overlay2 extfs 1") throw new Error(`${tool} left ${h.name} at ${JSON.stringify(seen)}, not ext4 + overlay2 on extfs + one fstab line`);
    }
}

/** One sample of one tool: reset, converge (timed), converge again (timed), with Docker's starts counted. */
export async function sampleTool(name: ToolName, hosts: TestHost[]): Promise<Sample> {
    await resetHosts(hosts);
    const tool = TOOLS[name]();
    try {
        await tool.prepare(hosts);
        let since = await hostClocks(hosts);
        let started = Date.now();
        const printed = await tool.converge();
        const firstSeconds = seconds(started);
        await assertConverged(hosts, name);
        const firstDockerStarts = await dockerStarts(hosts, since);
        since = await hostClocks(hosts);
        started = Date.now();
        await tool.noop();
        const noopSeconds = seconds(started);
        const noopDockerStarts = await dockerStarts(hosts, since);
        return { tool: name, hosts: hosts.length, firstSeconds, noopSeconds, firstDockerStarts, noopDockerStarts, resourceSeconds: name === "pulumi" ? resourceSeconds(printed) : undefined };
    } finally {
        await tool.cleanup();
    }
}

/** "+  pulumi-nodejs:dynamic/pulumi-zfs-docker:FstabEntry docker-storage-0-mount created (27s)" → the slowest per type. */
export function resourceSeconds(stdout: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of stdout.matchAll(/^\s*\+\s+pulumi-nodejs:dynamic\/pulumi-zfs-docker:(\w+) \S+ created \((\d+(?:\.\d+)?)s\)/gm)) {
        out[m[1]] = Math.max(out[m[1]] ?? 0, Number(m[2]));
    }
    return out;
}

/** The order of the tools turns with each sample, so none always runs first on a freshly reset host. */
export function turn<T>(items: T[], sample: number): T[] {
    const k = sample % items.length;
    return [...items.slice(k), ...items.slice(0, k)];
}

export function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * How each tool's first converge grows from the fewest hosts measured to the most (median of the
 * most / median of the fewest). The script's own figure is the machine's: the guests share its cores
 * under emulation, so no tool can scale better than the hand script does on it.
 */
export function scaleRatios(samples: Sample[], hostCounts: number[]): { lo: number; hi: number; byTool: Partial<Record<ToolName, number>> } {
    const lo = Math.min(...hostCounts);
    const hi = Math.max(...hostCounts);
    const byTool: Partial<Record<ToolName, number>> = {};
    for (const tool of ["pulumi", "ansible", "script"] as ToolName[]) {
        const first = (n: number) => samples.filter((s) => s.hosts === n && s.tool === tool).map((s) => s.firstSeconds);
        const [few, many] = [first(lo), first(hi)];
        if (few.length > 0 && many.length > 0 && median(few) > 0) byTool[tool] = median(many) / median(few);
    }
    return { lo, hi, byTool };
}
