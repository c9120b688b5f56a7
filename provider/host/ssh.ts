/**
 * OpenSSH through execa: one multiplexed master connection per host for the provider process, host
 * keys verified, secrets only in 0600 files inside a private 0700 directory or in a child's environment.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import execa from "execa";
import type { SshConnection } from "../connection";
import { describeConnection } from "../connection";
import { ConnectionError } from "./errors";
import type { Host, HostStats, RunOptions, RunResult } from "./host";
import { settle } from "./host";
import { Shell, commandLine } from "./quote";
import { askpassScript, ensurePrivateDir, forgetMaster, inFlight, registerMaster, writePrivateFile } from "./privateDir";
import { frameScript, localTimeoutMs, remoteCommand, timeoutSecondsFor } from "./script";

function normalizeKey(key: string): string {
    return key.endsWith("\n") ? key : key + "\n";
}

/** The ssh options for one hop. Pure apart from writing the pinned known_hosts file. */
export function sshOptions(c: SshConnection | (SshConnection["proxy"] & {}), id: string, extra: { perDialTimeout: number; acceptUnknownHostKey: boolean; knownHostsPath?: string }): string[] {
    const options = [
        "-o", "BatchMode=" + (c.password !== undefined || c.privateKeyPassword !== undefined ? "no" : "yes"),
        "-o", `ConnectTimeout=${extra.perDialTimeout}`,
        "-o", "ServerAliveInterval=15",
        "-o", "ServerAliveCountMax=4",
        "-o", "LogLevel=ERROR",
        "-p", String(c.port),
        "-l", c.user,
    ];
    if (c.hostKey) {
        const hostPattern = c.port === 22 ? c.host : `[${c.host}]:${c.port}`;
        const knownHosts = writePrivateFile(`known_hosts-${id}`, `${hostPattern} ${c.hostKey.split(" ").slice(0, 2).join(" ")}\n`);
        options.push("-o", `UserKnownHostsFile=${knownHosts}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "CheckHostIP=no");
    } else {
        if (extra.knownHostsPath) {
            options.push("-o", `UserKnownHostsFile=${extra.knownHostsPath}`);
        }
        options.push("-o", `StrictHostKeyChecking=${extra.acceptUnknownHostKey ? "accept-new" : "yes"}`);
    }
    if (c.agentSocketPath) {
        options.push("-o", `IdentityAgent=${c.agentSocketPath}`);
    }
    if (c.password !== undefined) {
        options.push("-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1");
    }
    return options;
}

const RETRY_START_MS = 100;
const RETRY_MAX_MS = 5000;

export class SshHost implements Host {
    readonly name: string;
    readonly stats: HostStats = { connections: 0, roundTrips: 0, writes: 0 };
    private readonly id: string;
    private readonly controlPath: string;
    private master: Promise<void> | undefined;

    constructor(private readonly connection: SshConnection) {
        this.name = describeConnection(connection);
        this.id = crypto.createHash("sha256").update(JSON.stringify(connection)).digest("hex").slice(0, 16);
        this.controlPath = path.join(ensurePrivateDir(), `cm-${this.id}`);
    }

    private baseArgs(): string[] {
        const c = this.connection;
        const args = sshOptions(c, this.id, c);
        args.push("-o", `ControlPath=${this.controlPath}`);
        if (c.proxy) {
            const proxy = c.proxy;
            // PZD_SSH_HOP tells the askpass helper to answer this hop with the jump host's own secret.
            const proxyArgs = ["env", "PZD_SSH_HOP=proxy", "ssh", ...sshOptions(proxy, this.id + "-proxy", c), "-o", "ControlMaster=no", "-o", "ControlPath=none", "-W", "%h:%p", proxy.host];
            if (proxy.privateKey) {
                proxyArgs.splice(3, 0, "-i", this.keyFilePath("proxy"), "-o", "IdentitiesOnly=yes");
            }
            // ProxyCommand is run by a shell, so its words are quoted like any other remote argument.
            args.push("-o", `ProxyCommand=${commandLine(proxyArgs)}`);
        }
        return args;
    }

    private keyFilePath(which: "target" | "proxy"): string {
        return path.join(ensurePrivateDir(), `key-${this.id}-${which}`);
    }

    private secretEnv(): Record<string, string> {
        const c = this.connection;
        const target = c.password ?? c.privateKeyPassword;
        const proxy = c.proxy?.password ?? c.proxy?.privateKeyPassword;
        if (target === undefined && proxy === undefined) {
            return {};
        }
        return {
            SSH_ASKPASS: askpassScript(),
            SSH_ASKPASS_REQUIRE: "force",
            ...(target === undefined ? {} : { PZD_SSH_SECRET: target }),
            ...(proxy === undefined ? {} : { PZD_PROXY_SECRET: proxy }),
            DISPLAY: process.env.DISPLAY ?? ":0",
        };
    }

    /** Opens the multiplexed master, retrying dial failures with backoff. Keys exist on disk only meanwhile. */
    private async dial(attempts: number): Promise<void> {
        const c = this.connection;
        let delay = RETRY_START_MS;
        let lastError = "";
        for (let attempt = 1; attempt <= attempts; attempt++) {
            const logFile = path.join(ensurePrivateDir(), `dial-${this.id}.log`);
            fs.rmSync(logFile, { force: true });
            const keyFiles: string[] = [];
            const args = this.baseArgs();
            if (c.privateKey) {
                keyFiles.push(writePrivateFile(path.basename(this.keyFilePath("target")), normalizeKey(c.privateKey)));
                args.push("-i", keyFiles[0], "-o", "IdentitiesOnly=yes");
            }
            if (c.proxy?.privateKey) {
                keyFiles.push(writePrivateFile(path.basename(this.keyFilePath("proxy")), normalizeKey(c.proxy.privateKey)));
            }
            try {
                // -f -N: background once authenticated; -E: ssh's own messages go to a file so the
                // daemonized master does not hold our pipes open.
                const result = await execa("ssh", [...args, "-o", "ControlMaster=yes", "-o", "ControlPersist=60", "-E", logFile, "-f", "-N", c.host], {
                    stdio: ["ignore", "ignore", "ignore"],
                    reject: false,
                    env: this.secretEnv(),
                    timeout: (c.perDialTimeout + 10) * 1000,
                });
                if (result.exitCode === 0) {
                    this.stats.connections++;
                    registerMaster(this.controlPath, c.host);
                    return;
                }
                lastError = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : `ssh exited ${result.exitCode}`;
            } finally {
                for (const file of keyFiles) {
                    fs.rmSync(file, { force: true });
                }
            }
            // Authentication and host-key failures will not fix themselves: fail now.
            if (/Host key verification failed|Permission denied|IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(lastError)) {
                throw new ConnectionError(this.name, attempt, lastError);
            }
            if (attempt < attempts) {
                await new Promise((resolve) => setTimeout(resolve, delay));
                delay = Math.min(RETRY_MAX_MS, delay * 1.5);
            } else {
                throw new ConnectionError(this.name, attempt, lastError);
            }
        }
    }

    private async masterAlive(): Promise<boolean> {
        const check = await execa("ssh", ["-o", `ControlPath=${this.controlPath}`, "-O", "check", this.connection.host], { reject: false, stdio: "ignore" });
        return check.exitCode === 0;
    }

    private async ensureMaster(attempts = this.connection.dialErrorLimit): Promise<void> {
        if (!this.master) {
            this.master = this.dial(Math.min(attempts, this.connection.dialErrorLimit)).catch((error) => {
                this.master = undefined;
                throw error;
            });
            return this.master;
        }
        await this.master;
        // ControlPersist may have expired between resources: dial again instead of failing.
        if (!fs.existsSync(this.controlPath) && !(await this.masterAlive())) {
            this.master = undefined;
            await this.ensureMaster(attempts);
        }
    }

    async run(script: Shell, options: RunOptions): Promise<RunResult> {
        await this.ensureMaster(options.dialAttempts);
        const c = this.connection;
        const { command, stdinPrefix } = remoteCommand(c);
        const timeoutSeconds = timeoutSecondsFor(options);
        const started = Date.now();
        this.stats.roundTrips++;
        if (options.mutating) {
            this.stats.writes++;
        }
        const result = await inFlight(() =>
            execa("ssh", [...this.baseArgs(), "-o", "ControlMaster=no", "-T", c.host, "--", command], {
                input: stdinPrefix + frameScript(script, timeoutSeconds),
                reject: false,
                stripFinalNewline: false,
                env: this.secretEnv(),
                timeout: localTimeoutMs(timeoutSeconds),
            }),
        );
        const transportHint = result.exitCode === 255 ? "the connection dropped or ssh failed; run again (the step is safe to repeat)" : undefined;
        return settle(this.name, script, options, result, { started, timeoutSeconds, sudo: c.sudo, transportHint });
    }

    async close(): Promise<void> {
        if (this.master) {
            await execa("ssh", ["-o", `ControlPath=${this.controlPath}`, "-O", "exit", this.connection.host], { reject: false, stdio: "ignore" });
            forgetMaster(this.controlPath);
            this.master = undefined;
        }
    }
}

export { sudoHint } from "./errors";
