/**
 * Where a first converge's time goes, on one test host: the provider's round-trip trace (PZD_TRACE),
 * an empty round trip for what SSH itself costs, and the host's journal for Docker's stop and start.
 * The hand script is timed on the same host with the same journal reading, for the floor.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { connectionSchema } from "../provider/connection";
import { hostFor } from "../provider/host/pool";
import { sh } from "../provider/host/quote";
import { parseTrace, type RoundTripRecord } from "../provider/host/trace";
import { hostClocks } from "../test/hosts/fleet";
import type { TestHost } from "../test/hosts/harness";
import { markdownTable } from "./chart";
import { median, pulumiTool, resetHosts, scriptTool, type Tool } from "./compare";

export interface DockerWaits {
    stopSeconds: number;
    startSeconds: number;
}

/**
 * systemd's lines for docker.service in `journalctl -o short-unix`: "Stopping"→"Stopped" is a stop,
 * "Starting"→"Started" a start; their durations are the waits on Docker.
 */
export function dockerWaits(journal: string): DockerWaits {
    const waits = { stopSeconds: 0, startSeconds: 0 };
    let stopping: number | undefined;
    let starting: number | undefined;
    for (const line of journal.split("\n")) {
        const m = /^(\d+(?:\.\d+)?) \S+ systemd\[\d+\]: (Stopping|Stopped|Starting|Started) docker\.service\b/.exec(line);
        if (!m) continue;
        const at = Number(m[1]);
        if (m[2] === "Stopping") {
            stopping = at;
        } else if (m[2] === "Starting") {
            starting = at;
        } else if (m[2] === "Stopped" && stopping !== undefined) {
            waits.stopSeconds += at - stopping;
            stopping = undefined;
        } else if (m[2] === "Started" && starting !== undefined) {
            waits.startSeconds += at - starting;
            starting = undefined;
        }
    }
    return waits;
}

export interface RunSplit {
    wallSeconds: number;
    /** Until the first remote command started: CLI, engine, program and provider start. */
    beforeFirstSeconds: number;
    /** With no remote command running: the engine and the provider between steps (check, diff, plan, RPC). */
    betweenSeconds: number;
    afterLastSeconds: number;
    roundTrips: number;
    /** Time with at least one remote command running (the union over hosts). */
    remoteSeconds: number;
}

/** Splits a run's wall time [startMs, endMs] by the round trips the trace recorded in it. */
export function splitRun(records: RoundTripRecord[], startMs: number, endMs: number): RunSplit {
    const sorted = [...records].sort((a, b) => a.at - b.at);
    let busyMs = 0;
    let coveredUntil = -Infinity;
    for (const r of sorted) {
        const from = Math.max(r.at, coveredUntil);
        const to = r.at + r.ms;
        if (to > from) busyMs += to - from;
        coveredUntil = Math.max(coveredUntil, to);
    }
    const wall = endMs - startMs;
    const before = sorted.length > 0 ? sorted[0].at - startMs : wall;
    const after = sorted.length > 0 ? endMs - coveredUntil : 0;
    const s = (ms: number) => Math.round(ms / 100) / 10;
    return { wallSeconds: s(wall), beforeFirstSeconds: s(before), betweenSeconds: s(wall - before - after - busyMs), afterLastSeconds: s(after), roundTrips: sorted.length, remoteSeconds: s(busyMs) };
}

/** What SSH itself costs on the provider's own connection: the dial (first contact) and an empty script's round trip. */
interface SshCosts {
    dialSeconds: number;
    roundTripSeconds: number;
}

async function sshCosts(host: TestHost): Promise<SshCosts> {
    const target = hostFor(connectionSchema.parse(host.connection));
    // A master left open by an earlier part of the bench would hide the dial.
    await target.close();
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
        const started = Date.now();
        await target.run(sh`:`, { step: "empty round trip", mutating: false });
        times.push((Date.now() - started) / 1000);
    }
    await target.close();
    const roundTripSeconds = median(times.slice(1));
    return { dialSeconds: Math.max(0, times[0] - roundTripSeconds), roundTripSeconds };
}

interface Timed {
    first: { startMs: number; endMs: number; docker: DockerWaits };
    noop: { startMs: number; endMs: number };
}

async function timedRuns(tool: Tool, host: TestHost): Promise<Timed> {
    await resetHosts([host]);
    await tool.prepare([host]);
    try {
        const [since] = await hostClocks([host]);
        const startMs = Date.now();
        await tool.converge();
        const endMs = Date.now();
        const journal = (await host.exec(`journalctl -u docker.service --since @${since} -o short-unix --no-pager`)).stdout;
        const noopStart = Date.now();
        await tool.noop();
        return { first: { startMs, endMs, docker: dockerWaits(journal) }, noop: { startMs: noopStart, endMs: Date.now() } };
    } finally {
        await tool.cleanup();
    }
}

const f = (n: number) => n.toFixed(1);
const dockerOf = (d: DockerWaits) => d.stopSeconds + d.startSeconds;

export async function whereTimeGoes(host: TestHost): Promise<string> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pzd-profile-"));
    const traceFile = path.join(dir, "trace.jsonl");
    try {
        const pulumi = await timedRuns(pulumiTool({ PZD_TRACE: traceFile }), host);
        const trace = parseTrace(fs.readFileSync(traceFile, "utf8"));
        const within = (run: { startMs: number; endMs: number }) => trace.filter((r) => r.at >= run.startMs && r.at <= run.endMs).sort((a, b) => a.at - b.at);
        const script = await timedRuns(scriptTool(), host);
        const { dialSeconds: dial, roundTripSeconds: empty } = await sshCosts(host);
        await resetHosts([host]);

        const first = splitRun(within(pulumi.first), pulumi.first.startMs, pulumi.first.endMs);
        const noop = splitRun(within(pulumi.noop), pulumi.noop.startMs, pulumi.noop.endMs);
        const scriptFirst = (script.first.endMs - script.first.startMs) / 1000;
        const scriptNoop = (script.noop.endMs - script.noop.startMs) / 1000;
        // Concurrent round trips (a refresh reads every resource at once) pay SSH's cost side by side.
        const transport = (split: RunSplit) => Math.min(split.roundTrips * empty, split.remoteSeconds);
        // The script's one run dials and makes one round trip.
        const scriptSsh = empty + dial;
        const rest = (split: RunSplit, docker: number) => f(split.remoteSeconds - transport(split) - docker);
        const rows: (string | number)[][] = [
            ["whole run", f(first.wallSeconds), f(scriptFirst), f(noop.wallSeconds), f(scriptNoop)],
            // The provider dials inside the first step, before the trace's first record; the script dials inside its one run.
            ["before the first remote command", f(first.beforeFirstSeconds), "–", f(noop.beforeFirstSeconds), "–"],
            [`  of which SSH's dial (first contact, measured alone: ${dial.toFixed(2)} s)`, f(Math.min(dial, first.beforeFirstSeconds)), "–", f(Math.min(dial, noop.beforeFirstSeconds)), "–"],
            ["  of which CLI, engine, program and provider start", f(Math.max(0, first.beforeFirstSeconds - dial)), "–", f(Math.max(0, noop.beforeFirstSeconds - dial)), "–"],
            ["between remote commands: engine and provider (check, diff, plan, RPC)", f(first.betweenSeconds), "–", f(noop.betweenSeconds), "–"],
            ["after the last remote command: engine finishing, state written", f(first.afterLastSeconds), "–", f(noop.afterLastSeconds), "–"],
            ["remote commands running (round trips)", `${f(first.remoteSeconds)} (${first.roundTrips})`, `${f(scriptFirst)} (1)`, `${f(noop.remoteSeconds)} (${noop.roundTrips})`, `${f(scriptNoop)} (1)`],
            [`  of which SSH's own cost (${empty.toFixed(2)} s per round trip, an empty script's; the script's run includes its dial)`, f(transport(first)), f(scriptSsh), f(transport(noop)), f(scriptSsh)],
            ["  of which Docker stopping and starting (host journal)", f(dockerOf(pulumi.first.docker)), f(dockerOf(script.first.docker)), "0.0", "0.0"],
            ["  of which the rest of the work on the host", rest(first, dockerOf(pulumi.first.docker)), f(scriptFirst - scriptSsh - dockerOf(script.first.docker)), rest(noop, 0), f(scriptNoop - scriptSsh)],
        ];
        const steps = (run: { startMs: number; endMs: number }) => within(run).map((r) => [f((r.at - run.startMs) / 1000), f(r.ms / 1000), r.step + (r.mutating ? " (writes)" : "")]);
        return (
            `${markdownTable(["one host", "pulumi first s", "script first s", "pulumi no-op s", "script no-op s"], rows)}\n` +
            `Docker on the first converge: pulumi ${f(pulumi.first.docker.stopSeconds)} s stopping + ${f(pulumi.first.docker.startSeconds)} s starting; script ${f(script.first.docker.stopSeconds)} + ${f(script.first.docker.startSeconds)} s. Remote commands of different resources may overlap; the union is counted. One sample.\n\n` +
            `Pulumi's round trips, first converge (seconds from the start of \`pulumi up\`):\n\n${markdownTable(["at s", "took s", "step"], steps(pulumi.first))}\n` +
            `No-op \`pulumi up --refresh\`:\n\n${markdownTable(["at s", "took s", "step"], steps(pulumi.noop))}`
        );
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
