/**
 * `npm run demo`: boots a local test VM (OpenZFS, docker.io freshly installed), then runs the demo
 * stack against it with a local file backend: `pulumi up`, a second `pulumi up` that changes nothing,
 * and `docker info` from the VM. `--keep` leaves the VM and the stack for you to explore.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import execa from "execa";
import { ensurePool, sharedHosts, mochaHooks } from "../../test/hosts/fleet";

const repo = path.resolve(__dirname, "..", "..");
const keep = process.argv.includes("--keep");

async function pulumi(args: string[], env: Record<string, string>, input?: string): Promise<void> {
    console.log(`\n$ pulumi ${args.join(" ")}`);
    await execa("pulumi", args, { cwd: repo, env, stdio: input === undefined ? "inherit" : ["pipe", "inherit", "inherit"], input });
}

async function main(): Promise<void> {
    console.log("booting a test VM (about a minute under emulation; the first run builds its image, ~10 min)");
    const [host] = await sharedHosts(1);
    await ensurePool(host);
    console.log(`VM up: ${host.sshCommandLine()}`);

    const work = fs.mkdtempSync(path.join(os.tmpdir(), "pzd-demo-"));
    const env = {
        PULUMI_BACKEND_URL: `file://${work}`,
        PULUMI_HOME: path.join(work, ".pulumi-home"),
        PULUMI_CONFIG_PASSPHRASE: "demo",
        PULUMI_SKIP_UPDATE_CHECK: "1",
    };
    fs.rmSync(path.join(repo, "Pulumi.demo.yaml"), { force: true });
    await pulumi(["stack", "init", "demo", "--non-interactive"], env);
    await pulumi(["config", "set", "--path", "hosts", JSON.stringify([{ host: host.host, port: host.port, hostKey: host.hostKey }])], env);
    await pulumi(["config", "set", "--secret", "privateKey"], env, host.privateKey);
    await pulumi(["config", "set", "forceDestroy", "true"], env);
    await pulumi(["up", "--yes", "--non-interactive"], env);
    await pulumi(["up", "--yes", "--non-interactive"], env);
    const info = await host.exec("docker info --format 'Storage Driver: {{.Driver}}  Root: {{.DockerRootDir}}' && findmnt -n -o SOURCE,FSTYPE /var/lib/docker && grep /var/lib/docker /etc/fstab");
    console.log(`\non the VM:\n${info.stdout}`);
    if (keep) {
        console.log(`\nkept: the VM stays up until you press Ctrl-C. In another shell:\n  export PULUMI_BACKEND_URL=${env.PULUMI_BACKEND_URL} PULUMI_CONFIG_PASSPHRASE=demo\n  cd ${repo} && pulumi preview --diff --stack demo`);
        setInterval(() => undefined, 1 << 30);
        return;
    }
    await pulumi(["destroy", "--yes", "--non-interactive"], env);
    await pulumi(["stack", "rm", "--yes", "demo", "--non-interactive"], env);
    await mochaHooks.afterAll.call({ timeout: () => undefined } as never);
    fs.rmSync(work, { recursive: true, force: true });
}

main().then(
    () => process.exit(0),
    (error) => {
        console.error(error instanceof Error ? error.message : error);
        process.exit(1);
    },
);
