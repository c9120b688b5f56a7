/**
 * The `connection` input every resource takes. Shaped like @pulumi/command's remote.ConnectionArgs so
 * users can pass the object they already have, plus host-key pinning, sudo, and a local mode.
 */
import { z } from "zod";

const sshFields = {
    host: z.string().min(1, "connection.host is required: the address of the machine to manage"),
    port: z.number().int().min(1).max(65535).default(22),
    user: z
        .string()
        .regex(/^[a-z_][a-z0-9_.-]*\$?$/i, "connection.user must be a plain login name")
        .default("root"),
    privateKey: z.string().optional(),
    privateKeyPassword: z.string().optional(),
    password: z.string().optional(),
    agentSocketPath: z.string().optional(),
};

const proxySchema = z
    .object({
        ...sshFields,
        hostKey: z.string().optional(),
    })
    .strict();

/** `ssh-ed25519 AAAA...` as in a .pub file or known_hosts (the comment is ignored). */
const hostKeySchema = z
    .string()
    .regex(
        /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]+={0,3}( .*)?$/,
        "connection.hostKey must be a public key line such as 'ssh-ed25519 AAAA...' (from /etc/ssh/ssh_host_ed25519_key.pub on the host)",
    );

export const sshConnectionSchema = z
    .object({
        type: z.literal("ssh").default("ssh"),
        ...sshFields,
        /** How many times a failing dial is retried before giving up. */
        dialErrorLimit: z.number().int().min(1).max(100).default(10),
        /** Seconds each dial may take. */
        perDialTimeout: z.number().int().min(1).max(600).default(15),
        proxy: proxySchema.optional(),
        /** Pin the server's public key: when set, nothing else is trusted. */
        hostKey: hostKeySchema.optional(),
        /** Trust an unknown host key on first use (recorded in knownHostsPath). Off by default. */
        acceptUnknownHostKey: z.boolean().default(false),
        knownHostsPath: z.string().optional(),
        /** Run as root through sudo: `sudo -n` when no sudoPassword is given. */
        sudo: z.boolean().default(false),
        sudoPassword: z.string().optional(),
    })
    .strict()
    .superRefine((c, ctx) => {
        if (c.sudoPassword !== undefined && !c.sudo) {
            ctx.addIssue({ code: "custom", path: ["sudo"], message: "connection.sudoPassword is set but connection.sudo is false: set sudo: true to use it" });
        }
        if (c.hostKey && c.acceptUnknownHostKey) {
            ctx.addIssue({ code: "custom", path: ["acceptUnknownHostKey"], message: "connection.hostKey pins the key; acceptUnknownHostKey would contradict it: remove one" });
        }
    });

export const localConnectionSchema = z
    .object({
        type: z.literal("local"),
        sudo: z.boolean().default(false),
        sudoPassword: z.string().optional(),
    })
    .strict();

export const connectionSchema = z.union([localConnectionSchema, sshConnectionSchema]);

export type SshConnection = z.infer<typeof sshConnectionSchema>;
export type LocalConnection = z.infer<typeof localConnectionSchema>;
export type Connection = z.infer<typeof connectionSchema>;
export type ProxyConnection = z.infer<typeof proxySchema>;

/** What users write: defaults optional. Values may be Pulumi inputs in the public Args types. */
export type ConnectionInput = z.input<typeof connectionSchema>;

/** The fields that must never be shown or stored in plaintext. */
export const secretConnectionFields = ["privateKey", "privateKeyPassword", "password", "sudoPassword"] as const;

/** A stable, secret-free name for logs and errors. */
export function describeConnection(c: Connection): string {
    if (c.type === "local") {
        return "localhost";
    }
    return `${c.user}@${c.host}:${c.port}`;
}

/** Identity of the machine, for per-host locks and connection reuse. */
export function hostIdentity(c: Connection): string {
    return c.type === "local" ? "local" : `${c.host}:${c.port}`;
}
