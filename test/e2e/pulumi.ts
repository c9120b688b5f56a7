/**
 * Drives the real Pulumi CLI against a throwaway project with a local file backend: no service,
 * no network. Projects live under .pulumi-test/ in the repo so `@pulumi/pulumi` and
 * `pulumi-zfs-docker` resolve from the repo's node_modules, as they would for a user.
 */
import * as fs from "fs";
import * as path from "path";
import execa from "execa";
import { killLanguageHostsIn } from "./leftovers";

const repo = path.resolve(__dirname, "..", "..");

function pulumiPath(): string {
    const line = execa.sync("bash", [path.join(repo, "scripts", "install-pulumi.sh"), "--print-path"]).stdout;
    const dir = /export PATH="([^:]+):/.exec(line)?.[1];
    if (!dir) throw new Error(`install-pulumi.sh printed no PATH: ${line}`);
    // The dynamic-provider plugin sits beside the CLI; nothing from this repo's node_modules is on PATH.
    return `${dir}:${process.env.PATH}`;
}

export interface RunResult {
    stdout: string;
    stderr: string;
    exitCode: number;
    seconds: number;
}

export class PulumiProject {
    readonly dir: string;
    private readonly env: Record<string, string>;
    readonly stack = "test";

    /**
     * `root`: where the project directory is made. Under the repo (the default) `@pulumi/pulumi` and
     * `pulumi-zfs-docker` resolve from the repo's node_modules; elsewhere the project brings its own
     * (`packageJson`, `files`), as a user's project does.
     */
    constructor(readonly name: string, program: string, options: { root?: string; packageJson?: object; files?: Record<string, string>; typeCheck?: boolean } = {}) {
        this.dir = path.join(options.root ?? path.join(repo, ".pulumi-test"), `${name}-${process.pid}-${Date.now().toString(36)}`);
        fs.mkdirSync(path.join(this.dir, "state"), { recursive: true });
        fs.writeFileSync(path.join(this.dir, "Pulumi.yaml"), `name: ${name}\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n`);
        fs.writeFileSync(path.join(this.dir, "package.json"), JSON.stringify(options.packageJson ?? { name, private: true, main: "index.ts" }, null, 2));
        fs.writeFileSync(path.join(this.dir, "index.ts"), program);
        for (const [file, text] of Object.entries(options.files ?? {})) {
            fs.writeFileSync(path.join(this.dir, file), text);
        }
        this.env = {
            PATH: pulumiPath(),
            PULUMI_BACKEND_URL: `file://${path.join(this.dir, "state")}`,
            PULUMI_HOME: path.join(this.dir, "home"),
            PULUMI_CONFIG_PASSPHRASE: "test-passphrase",
            PULUMI_SKIP_UPDATE_CHECK: "1",
            // ts-node's type check costs seconds of CPU on every command; `npm run lint` type-checks the examples
            // once, and the consumer test keeps the check a user's project gets.
            PULUMI_NODEJS_TRANSPILE_ONLY: options.typeCheck ? "false" : "true",
        };
    }

    /** The environment the CLI runs with (backend, home, passphrase), for tests that start it themselves. */
    environment(): Record<string, string> {
        return { ...this.env };
    }

    /** `env`: more variables for this command only (e.g. PZD_TRACE for the bench's profile). */
    async run(args: string[], options: { allowFail?: boolean; input?: string; env?: Record<string, string> } = {}): Promise<RunResult> {
        const started = Date.now();
        const result = await execa("pulumi", [...args, "--non-interactive"], { cwd: this.dir, env: { ...this.env, ...options.env }, reject: false, input: options.input, all: false });
        const out = { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? -1, seconds: (Date.now() - started) / 1000 };
        if (out.exitCode !== 0 && !options.allowFail) {
            throw new Error(`pulumi ${args.join(" ")} failed (exit ${out.exitCode}):\n${out.stdout}\n${out.stderr}`);
        }
        return out;
    }

    async init(config: Record<string, string> = {}, secrets: Record<string, string> = {}): Promise<void> {
        await this.run(["stack", "init", this.stack]);
        for (const [key, value] of Object.entries(config)) {
            await this.run(["config", "set", key, value]);
        }
        for (const [key, value] of Object.entries(secrets)) {
            // Through stdin, so a key never appears on a command line.
            await this.run(["config", "set", "--secret", key], { input: value });
        }
    }

    up(args: string[] = []): Promise<RunResult> {
        return this.run(["up", "--yes", "--skip-preview", ...args]);
    }

    preview(args: string[] = []): Promise<RunResult> {
        return this.run(["preview", "--diff", ...args]);
    }

    /** `pulumi preview --json`, parsed into steps. */
    async previewSteps(args: string[] = []): Promise<{ steps: PlannedStep[]; summary: Record<string, number>; json: string }> {
        const json = (await this.run(["preview", "--json", ...args])).stdout;
        return { ...parsePreview(json), json };
    }

    /** What the last update did, from `pulumi stack history --json` ("same" left out). */
    async lastUpdateChanges(): Promise<Record<string, number>> {
        const history = JSON.parse((await this.run(["stack", "history", "--json"])).stdout) as { kind: string; resourceChanges?: Record<string, number> }[];
        const last = history.find((h) => h.kind === "update");
        return Object.fromEntries(Object.entries(last?.resourceChanges ?? {}).filter(([op, n]) => op !== "same" && n > 0));
    }

    /**
     * A `pulumi` command (`up`, `destroy`, ...; confirmations skipped), SIGKILLed once `ready()` holds
     * (polled every 20 ms): what a CI runner's timeout or an OOM kill does to it. The language host it
     * orphans is killed too; the provider it orphans is left to end on its own, as it would for a user.
     * Returns the killed run's output.
     */
    async killedWhen(command: "up" | "destroy", ready: (stdoutSoFar: string) => boolean, args: string[] = []): Promise<RunResult> {
        const started = Date.now();
        const run = execa("pulumi", [command, "--yes", "--skip-preview", "--non-interactive", ...args], { cwd: this.dir, env: this.env, reject: false });
        let stdout = "";
        run.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        while (run.exitCode === null && !ready(stdout)) {
            if (Date.now() - started > 600_000) throw new Error(`pulumi ${command} in ${this.dir}: the moment to kill it never came`);
            await new Promise((resolve) => setTimeout(resolve, 20));
        }
        if (run.exitCode !== null) throw new Error(`pulumi ${command} in ${this.dir} ended (exit ${run.exitCode}) before the moment to kill it:\n${stdout}`);
        run.kill("SIGKILL");
        const killed = await run;
        killLanguageHostsIn(this.dir);
        return { stdout: killed.stdout, stderr: killed.stderr, exitCode: killed.exitCode ?? -1, seconds: (Date.now() - started) / 1000 };
    }

    /**
     * What README tells a user to do after a killed `up`: drop the stale lock (`pulumi cancel`), then a
     * refresh that drops the creates the engine never heard back about (the next `up` finds what they
     * made on the host and takes it over, or makes it) and reads what the killed run changed.
     */
    async recoverFromKilledRun(): Promise<RunResult[]> {
        for (const file of removeCutSidecars(this.stateDir)) console.log(`      removed ${path.relative(this.dir, file)}: empty, the kill cut its rewrite`);
        return [await this.run(["cancel", "--yes"]), await this.refresh(["--clear-pending-creates"])];
    }

    /** The file backend's directory (PULUMI_BACKEND_URL). */
    get stateDir(): string {
        return path.join(this.dir, "state");
    }

    refresh(args: string[] = []): Promise<RunResult> {
        return this.run(["refresh", "--yes", "--skip-preview", ...args]);
    }

    destroy(args: string[] = []): Promise<RunResult> {
        return this.run(["destroy", "--yes", "--skip-preview", ...args]);
    }

    async outputs(): Promise<Record<string, unknown>> {
        return JSON.parse((await this.run(["stack", "output", "--json", "--show-secrets"])).stdout);
    }

    /** The raw checkpoint the file backend keeps: what the engine really stored. */
    stateText(): string {
        const stacks = path.join(this.stateDir, ".pulumi", "stacks");
        const found: string[] = [];
        const walk = (dir: string) => {
            for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
                const full = path.join(dir, entry.name);
                if (entry.isDirectory()) walk(full);
                else if (entry.name.endsWith(".json")) found.push(full);
            }
        };
        walk(stacks);
        if (found.length === 0) throw new Error(`no state file under ${stacks}`);
        return fs.readFileSync(found[0], "utf8");
    }

    cleanup(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/**
 * README's recovery step for a file backend whose CLI was killed: the backend (gocloud's fileblob)
 * rewrites each file's `.attrs` sidecar in place (truncate, then write) on every checkpoint, so a
 * SIGKILL at that instant leaves it empty and every command fails with "failed to load checkpoint:
 * EOF". A missing sidecar is read as default attributes, so an empty one is safe to remove, as
 * `find <state> -name '*.attrs' -size 0 -delete` does. Returns the files removed.
 */
export function removeCutSidecars(stateDir: string): string[] {
    const removed: string[] = [];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) walk(full);
            else if (entry.name.endsWith(".attrs") && fs.statSync(full).size === 0) {
                fs.rmSync(full);
                removed.push(full);
            }
        }
    };
    if (fs.existsSync(stateDir)) walk(stateDir);
    return removed;
}

/** An example's program (examples/<name>/index.ts): the tests run the examples users copy. */
export function exampleProgram(name: string): string {
    return fs.readFileSync(path.join(repo, "examples", name, "index.ts"), "utf8");
}

/** Program text that imports our package as a user would. */
export const header = `import * as pulumi from "@pulumi/pulumi";\nimport * as zd from "pulumi-zfs-docker";\n`;

/** One step of `pulumi preview --json`, reduced to what a reviewer reads. */
export interface PlannedStep {
    op: string;
    /** The resource type's last part (ZfsVolume) and the resource name. */
    kind: string;
    name: string;
    /** Input names whose values differ between the old and the new inputs, as the engine shows them. */
    changedInputs: string[];
    replaceReasons: string[];
}

interface RawStep {
    op: string;
    urn: string;
    oldState?: { inputs?: Record<string, unknown> };
    newState?: { inputs?: Record<string, unknown> };
    replaceReasons?: string[];
}

/** Parses `pulumi preview --json` (the engine's own step list), never the human text. */
export function parsePreview(json: string): { steps: PlannedStep[]; summary: Record<string, number> } {
    const parsed = JSON.parse(json) as { steps?: RawStep[]; changeSummary?: Record<string, number> };
    const steps = (parsed.steps ?? []).map((step) => {
        const type = step.urn.split("::")[2] ?? "";
        const olds = step.oldState?.inputs ?? {};
        const news = step.newState?.inputs ?? {};
        const keys = [...new Set([...Object.keys(olds), ...Object.keys(news)])].filter((k) => k !== "__provider");
        return {
            op: step.op,
            kind: type.split(/[:/]/).pop() ?? type,
            name: step.urn.split("::").pop() ?? "",
            changedInputs: keys.filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k])).sort(),
            replaceReasons: step.replaceReasons ?? [],
        };
    });
    return { steps, summary: parsed.changeSummary ?? {} };
}

/** The steps that change something ("same" steps and the stack itself left out). */
export function changes(preview: { steps: PlannedStep[] }): PlannedStep[] {
    return preview.steps.filter((s) => s.op !== "same" && s.kind !== "Stack");
}
