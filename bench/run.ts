/**
 * `npm run bench`: boots test hosts, then measures and prints Markdown tables, also written to
 * bench/results/ with a PNG chart. Figures are reported, never asserted: under emulation only ratios
 * between runs of the same machine mean anything.
 *   npm run bench      # compare (1, 3, 6 hosts, 3 samples), profile (one converge split), build (zfs vs overlay2), sim (1..50 sshd hosts), ops
 *   npm run bench -- --hosts 1,3 --samples 1 --parts compare,sim --sim 1,10,50
 *   npm run bench -- --parts report   # the comparison's tables again from bench/results/compare.json, nothing measured
 *   npm run bench -- --parts compare --resume   # adds to compare.json only the samples it lacks (after a run died)
 */
import * as fs from "fs";
import * as path from "path";
import execa from "execa";
import { ensurePool, mochaHooks, sharedHosts } from "../test/hosts/fleet";
import { barChartPng, markdownTable } from "./chart";
import { convergeByScript, median, POOL, resetHosts, sampleTool, scaleRatios, turn, type Sample, type ToolName } from "./compare";
import { dockerBuildHeadline } from "./dockerBuild";
import { simulatedFleet } from "./fleetSim";
import { mergeSections, type Section } from "./results";
import { operationCosts } from "./ops";
import { whereTimeGoes } from "./profile";

const RESULTS = path.join(__dirname, "results");
const COMPARE_FILE = path.join(RESULTS, "compare.json");
const TOOLS: ToolName[] = ["pulumi", "ansible", "script"];
/** bench/results/compare.json: every sample of the last compare run, for rendering its tables again. */
interface StoredComparison {
    measuredAt: string;
    samples: Sample[];
    /** Runs that failed and were measured again: a tool failing under load is a result too, so it is reported. */
    failures?: Failure[];
    /** Set while the run is still measuring (or if it died): what it was measuring when last written. */
    unfinished?: string;
}
interface Failure {
    hosts: number;
    tool: ToolName;
    sample: number;
    error: string;
}
const COMPARE_HEADING = "First converge and no-op: Pulumi vs Ansible vs a shell script";
const TARGETS = "targets: first converge ≤ 0.8× Ansible and ≤ 1.3× the script; no-op ≤ 0.3× Ansible; one Docker start per host on a first converge, none on a no-op";

function option(name: string, fallback: string): string {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

function ratio(a: number, b: number): string {
    return b > 0 ? `${(a / b).toFixed(2)}×` : "–";
}

function failureLine(failures: Failure[] = []): string {
    if (failures.length === 0) return "";
    const each = failures.map((f) => `${f.tool} on ${f.hosts} host(s), sample ${f.sample}: ${f.error}`);
    return `\nRuns that failed and were measured again (${failures.length}): ${each.join("; ")}.\n`;
}

/** The line of a tool's failure that says what went wrong (Ansible's "fatal:" line, else the first line). */
function failureSummary(error: unknown): string {
    const text = error instanceof Error ? error.message : String(error);
    const line = text.split("\n").find((l) => /fatal:|FAILED|Error/.test(l)) ?? text.split("\n")[0];
    return line.trim().slice(0, 300);
}

function starts(samples: Sample[], key: "firstDockerStarts" | "noopDockerStarts"): string {
    const all = samples.flatMap((s) => s[key]);
    const distinct = [...new Set(all)].sort();
    return distinct.join("/");
}

/** Tables and chart of the samples, for every host count they hold; failed runs listed under them. */
function report(samples: Sample[], failures: Failure[] = []): { markdown: string; png: Buffer } {
    const hostCounts = [...new Set(samples.map((s) => s.hosts))].sort((a, b) => a - b);
    const rows: (string | number)[][] = [];
    const groups: { label: string; bars: { name: string; value: number }[] }[] = [];
    for (const n of hostCounts) {
        const of = (tool: ToolName) => samples.filter((s) => s.hosts === n && s.tool === tool);
        const first = (tool: ToolName) => median(of(tool).map((s) => s.firstSeconds));
        const noop = (tool: ToolName) => median(of(tool).map((s) => s.noopSeconds));
        for (const tool of TOOLS) {
            if (of(tool).length === 0) continue;
            rows.push([
                n,
                tool,
                of(tool).length,
                first(tool).toFixed(1),
                tool === "pulumi" ? ratio(first("pulumi"), first("ansible")) : "",
                tool === "pulumi" ? ratio(first("pulumi"), first("script")) : "",
                noop(tool).toFixed(1),
                tool === "pulumi" ? ratio(noop("pulumi"), noop("ansible")) : "",
                starts(of(tool), "firstDockerStarts"),
                starts(of(tool), "noopDockerStarts"),
            ]);
        }
        groups.push({ label: `first converge, ${n} host(s)`, bars: TOOLS.filter((t) => of(t).length > 0).map((t) => ({ name: t, value: first(t) })) });
        groups.push({ label: `no-op, ${n} host(s)`, bars: TOOLS.filter((t) => of(t).length > 0).map((t) => ({ name: t, value: noop(t) })) });
    }
    const scale = hostCounts.length > 1 ? scaleLine(samples, hostCounts) : "";
    const pulumiSamples = samples.filter((s) => s.tool === "pulumi" && s.resourceSeconds);
    const kinds = [...new Set(pulumiSamples.flatMap((s) => Object.keys(s.resourceSeconds!)))];
    const breakdown = kinds.length === 0 ? "" : `\nWhere Pulumi's first converge goes, per resource (slowest host, median over samples): ${kinds.map((k) => `${k} ${median(pulumiSamples.map((s) => s.resourceSeconds![k] ?? 0)).toFixed(0)} s`).join(", ")}; they run one after the other on a host, hosts in parallel.`;
    const markdown =
        markdownTable(["hosts", "tool", "samples", "first converge s (median)", "vs Ansible", "vs script", "no-op s (median)", "no-op vs Ansible", "Docker starts/host, first", "Docker starts/host, no-op"], rows) +
        `\n${TARGETS}.${scale}${breakdown}\n${failureLine(failures)}`;
    return { markdown, png: barChartPng("pulumi-zfs-docker vs Ansible vs a shell script (seconds, median)", groups, "s") };
}

function scaleLine(samples: Sample[], hostCounts: number[]): string {
    const { lo, hi, byTool } = scaleRatios(samples, hostCounts);
    if (byTool.pulumi === undefined) return "";
    const others = (["script", "ansible"] as ToolName[]).filter((t) => byTool[t] !== undefined).map((t) => `${t} ${byTool[t]!.toFixed(2)}×`);
    const reference = others.length > 0 ? `; on the same guests the other tools took ${others.join(", ")}: the guests share the machine's cores under emulation, so the hand script's figure is what this machine allows` : "";
    return ` Pulumi's first converge on ${hi} hosts took ${byTool.pulumi.toFixed(2)}× the time of ${lo} (target ≤ 1.5×)${reference}.`;
}

async function machine(): Promise<string> {
    const cpus = (await execa("nproc")).stdout.trim();
    const ansible = (await execa("ansible-playbook", ["--version"], { reject: false })).stdout.split("\n")[0];
    return `machine: ${cpus} cores, ${process.platform}; ${ansible || "ansible not found"}; Node ${process.version}; pulumi runs with PULUMI_NODEJS_TRANSPILE_ONLY=true (the program is type-checked by \`npm run lint\`)`;
}

async function main(): Promise<void> {
    const hostCounts = option("hosts", "1,3,6").split(",").map(Number);
    const samplesWanted = Number(option("samples", "3"));
    const parts = option("parts", "compare,profile,build,sim,ops").split(",");
    const simCounts = option("sim", "1,10,25,50").split(",").map(Number);
    fs.mkdirSync(RESULTS, { recursive: true });
    const preamble = `# Benchmark results\n\n${await machine()}. Each section says when it was measured; a run of some parts (\`--parts\`) replaces only theirs.\n`;
    const sections: Section[] = [];
    const section = (heading: string, body: string) => sections.push({ heading, body: `Measured ${new Date().toISOString()}.\n\n${body}` });

    if (parts.includes("compare")) {
        const kept: StoredComparison | undefined = process.argv.includes("--resume") && fs.existsSync(COMPARE_FILE) ? JSON.parse(fs.readFileSync(COMPARE_FILE, "utf8")) : undefined;
        const samples: Sample[] = kept?.samples ?? [];
        const failures: Failure[] = kept?.failures ?? [];
        const store = (unfinished?: string) => {
            const stored: StoredComparison = { measuredAt: new Date().toISOString(), samples, failures, unfinished };
            fs.writeFileSync(COMPARE_FILE, JSON.stringify(stored, null, 2));
        };
        for (const n of hostCounts) {
            const hosts = await sharedHosts(n);
            await Promise.all(hosts.map((h) => ensurePool(h)));
            for (let s = 0; s < samplesWanted; s++) {
                for (const tool of turn(TOOLS, s)) {
                    if (samples.filter((x) => x.hosts === n && x.tool === tool).length > s) continue;
                    let sample: Sample;
                    try {
                        sample = await sampleTool(tool, hosts);
                    } catch (error) {
                        // Once: a second failure is not load any more, and stops the run.
                        const failure = { hosts: n, tool, sample: s + 1, error: failureSummary(error) };
                        failures.push(failure);
                        console.log(`bench: ${n} host(s), ${tool}, sample ${s + 1} failed, measuring it again: ${failure.error}`);
                        sample = await sampleTool(tool, hosts);
                    }
                    console.log(`bench: ${n} host(s), ${tool}, sample ${s + 1}: first ${sample.firstSeconds}s (Docker starts ${sample.firstDockerStarts.join(",")}), no-op ${sample.noopSeconds}s (${sample.noopDockerStarts.join(",")})`);
                    samples.push(sample);
                    // Kept after every sample: a run of an hour that dies at its last host count still leaves what it measured (`--resume`, `--parts report`).
                    store(`after ${n} host(s), ${tool}, sample ${s + 1} of ${samplesWanted}; host counts ${hostCounts.join(",")}`);
                }
            }
        }
        const { markdown, png } = report(samples, failures);
        store();
        fs.writeFileSync(path.join(RESULTS, "compare.png"), png);
        section(COMPARE_HEADING, `![chart](compare.png)\n\n${markdown}`);
    }
    if (parts.includes("report") && !parts.includes("compare")) {
        // The comparison's tables again from the samples the last compare run kept, without measuring:
        // for a change in how they are reported. The section keeps that run's time, not this one's.
        const { measuredAt, samples, unfinished, failures } = JSON.parse(fs.readFileSync(COMPARE_FILE, "utf8")) as StoredComparison;
        if (unfinished) console.warn(`bench: compare.json is from a run that did not finish (${unfinished}): its tables show what it measured`);
        const { markdown } = report(samples, failures);
        sections.push({ heading: COMPARE_HEADING, body: `Measured ${measuredAt} (samples of compare.json${unfinished ? `, a run that stopped ${unfinished}` : ""}; tables rendered again ${new Date().toISOString()}).\n\n![chart](compare.png)\n\n${markdown}` });
    }
    if (parts.includes("build")) {
        const [host] = await sharedHosts(1);
        await ensurePool(host);
        await resetHosts([host]);
        await convergeByScript([host]);
        section("Why: docker build on the zfs driver vs overlay2 on ext4-on-zvol", await dockerBuildHeadline(host, POOL, Number(option("build-samples", "1"))));
        await resetHosts([host]);
    }
    if (parts.includes("sim")) {
        section("Fleet size: simulated hosts (sshd on loopback, no ZFS: FstabEntry with mount: false, DockerStorageConfig with restart: false)", await simulatedFleet(simCounts));
    }
    if (parts.includes("profile")) {
        const [host] = await sharedHosts(1);
        await ensurePool(host);
        section("Where the time goes: one host's first converge, split", await whereTimeGoes(host));
    }
    if (parts.includes("ops")) {
        const [host] = await sharedHosts(1);
        await ensurePool(host);
        section("One resource operation", await operationCosts(host));
    }
    const latest = path.join(RESULTS, "latest.md");
    const text = mergeSections(fs.existsSync(latest) ? fs.readFileSync(latest, "utf8") : "", preamble, sections);
    fs.writeFileSync(latest, text);
    console.log(`\n${text}\nwritten: ${path.relative(process.cwd(), RESULTS)}/latest.md${parts.includes("compare") ? ", compare.png, compare.json" : ""}`);
}

main()
    .then(
        () => 0,
        (error) => {
            console.error(error);
            return 1;
        },
    )
    .then(async (code) => {
        await mochaHooks.afterAll.call({ timeout: () => undefined } as never);
        process.exit(code);
    });
