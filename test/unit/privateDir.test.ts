import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { sweepStaleDirs } from "../../provider/host/privateDir";
import { runShell } from "./realShell";

const repo = path.resolve(__dirname, "../..");

/** A provider-like child that makes its private directory under `base`, prints it, and waits. */
function startOwner(base: string): Promise<{ pid: number; dir: string; exited: Promise<number | null> }> {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", `
        const p = require("./provider/host/privateDir");
        const dir = p.ensurePrivateDir();
        p.askpassScript();
        p.writePrivateFile("key-x-target", "secret key material");
        console.log(dir);
        setInterval(() => undefined, 1000);
    `], { cwd: repo, env: { ...process.env, PZD_PRIVATE_DIR_BASE: base }, stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? -1 : null))));
    return new Promise((resolve, reject) => {
        let out = "";
        child.stdout!.on("data", (chunk) => {
            out += chunk;
            if (out.includes("\n")) {
                resolve({ pid: child.pid!, dir: out.trim(), exited });
            }
        });
        child.on("error", reject);
    });
}

describe("the provider's private directory (keys, sockets, askpass)", function () {
    this.timeout(60_000);
    let base: string;
    beforeEach(() => (base = fs.mkdtempSync(path.join(os.tmpdir(), "pzd-base-"))));
    afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

    for (const signal of ["SIGINT", "SIGTERM"] as const) {
        it(`is removed when the engine stops the provider with ${signal}`, async () => {
            const owner = await startOwner(base);
            assert.ok(fs.existsSync(path.join(owner.dir, "key-x-target")));
            assert.equal(fs.statSync(owner.dir).mode & 0o777, 0o700);
            process.kill(owner.pid, signal);
            assert.notEqual(await owner.exited, 0, "the process reports it was stopped");
            assert.deepEqual(fs.readdirSync(base), []);
        });
    }

    it("left behind by a SIGKILLed provider is swept by the next one, a live provider's is kept", async () => {
        const killed = await startOwner(base);
        process.kill(killed.pid, "SIGKILL");
        await killed.exited;
        assert.ok(fs.existsSync(path.join(killed.dir, "key-x-target")), "SIGKILL leaves the directory");
        const live = await startOwner(base);
        try {
            assert.ok(!fs.existsSync(killed.dir), "the next provider swept it when it started");
            assert.deepEqual(fs.readdirSync(base), [path.basename(live.dir)]);
            assert.deepEqual(sweepStaleDirs(base), [], "a live provider's directory is never swept");
            assert.ok(fs.existsSync(live.dir));
        } finally {
            process.kill(live.pid, "SIGTERM");
            await live.exited;
        }
    });

    it("is removed, and the provider leaves, when the pulumi CLI above it is SIGKILLed (orphaned)", async () => {
        // A stand-in for the CLI: a shell that starts the provider-like child and is then killed.
        const cli = spawn("/bin/sh", ["-c", `"${process.execPath}" -r ts-node/register/transpile-only -e 'require("./provider/host/privateDir").ensurePrivateDir(); setInterval(() => undefined, 1000)' & echo $!; wait`], {
            cwd: repo,
            env: { ...process.env, PZD_PRIVATE_DIR_BASE: base },
            stdio: ["ignore", "pipe", "inherit"],
        });
        const providerPid = await new Promise<number>((resolve) => cli.stdout!.once("data", (chunk) => resolve(Number(String(chunk).trim()))));
        for (let i = 0; i < 100 && fs.readdirSync(base).length === 0; i++) {
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.equal(fs.readdirSync(base).length, 1, "the provider made its directory");
        cli.kill("SIGKILL");
        let alive = true;
        for (let i = 0; i < 100 && alive; i++) {
            await new Promise((resolve) => setTimeout(resolve, 100));
            try {
                process.kill(providerPid, 0);
            } catch {
                alive = false;
            }
        }
        assert.equal(alive, false, "the orphaned provider exited");
        assert.deepEqual(fs.readdirSync(base), [], "and removed its directory");
    });

    it("an orphaned provider first finishes the operation it is in, then removes its directory and leaves", async () => {
        const done = path.join(base, "operation-finished");
        // The operation outlasts two polls of the parent: an idle provider would have left by then.
        const cli = spawn("/bin/sh", ["-c", `"${process.execPath}" -r ts-node/register/transpile-only -e '
            const p = require("./provider/host/privateDir");
            p.ensurePrivateDir();
            p.inFlight(() => new Promise((r) => setTimeout(r, 5000))).then(() => require("fs").writeFileSync("${done}", "yes"));
            setInterval(() => undefined, 1000)' & echo $!; wait`], { cwd: repo, env: { ...process.env, PZD_PRIVATE_DIR_BASE: base }, stdio: ["ignore", "pipe", "inherit"] });
        const providerPid = await new Promise<number>((resolve) => cli.stdout!.once("data", (chunk) => resolve(Number(String(chunk).trim()))));
        for (let i = 0; i < 100 && fs.readdirSync(base).length === 0; i++) {
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        cli.kill("SIGKILL");
        await new Promise((resolve) => setTimeout(resolve, 2500));
        const dirs = () => fs.readdirSync(base).filter((d) => d.startsWith("pzd-"));
        assert.equal(dirs().length, 1, "still there while the operation runs");
        let alive = true;
        for (let i = 0; i < 150 && alive; i++) {
            await new Promise((resolve) => setTimeout(resolve, 100));
            try {
                process.kill(providerPid, 0);
            } catch {
                alive = false;
            }
        }
        assert.equal(alive, false, "the orphaned provider exited");
        assert.ok(fs.existsSync(done), "after its operation ended");
        assert.deepEqual(dirs(), [], "and removed its directory");
    });

    it("sweeps 0.2.0's pid-less directories only when an hour old, and never other names or other owners' files", () => {
        const old = path.join(base, "pzd-AbC123");
        const recent = path.join(base, "pzd-XyZ789");
        const unrelated = path.join(base, "pzd-unit-abcdef");
        const file = path.join(base, "pzd-999999-qwerty");
        fs.mkdirSync(old);
        fs.mkdirSync(recent);
        fs.mkdirSync(unrelated);
        fs.writeFileSync(file, "a file, not a directory");
        const twoHoursAgo = (Date.now() - 2 * 3600_000) / 1000;
        fs.utimesSync(old, twoHoursAgo, twoHoursAgo);
        assert.deepEqual(sweepStaleDirs(base), ["pzd-AbC123"]);
        assert.deepEqual(fs.readdirSync(base).sort(), ["pzd-999999-qwerty", "pzd-XyZ789", "pzd-unit-abcdef"]);
    });

    it("answers each hop with its own secret: the target's, or the jump host's when PZD_SSH_HOP=proxy", async () => {
        const owner = await startOwner(base);
        try {
            const askpass = path.join(owner.dir, "askpass");
            const env = { PATH: process.env.PATH, PZD_SSH_SECRET: "target pw $(x) 'q'", PZD_PROXY_SECRET: "jump-pw" };
            assert.equal(runShell(`"${askpass}" "root@target's password: "`, { env }).stdout, "target pw $(x) 'q'\n");
            assert.equal(runShell(`PZD_SSH_HOP=proxy "${askpass}" "jump's password: "`, { env }).stdout, "jump-pw\n");
            assert.ok(!fs.readFileSync(askpass, "utf8").includes("pw"), "the helper holds no secret itself");
        } finally {
            process.kill(owner.pid, "SIGTERM");
            await owner.exited;
        }
    });
});
