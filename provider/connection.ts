/**
 * The `connection` input every resource takes. Shaped like @pulumi/command's remote.ConnectionArgs so
 * users can pass the object they already have, plus host-key pinning, sudo, and a local mode.
 */
import { isIPv6 } from "net";
import { z } from "zod";
import { objectOf, unknownPropertyReason } from "./inputs";

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
/** What a shell or ssh's own option parsing would read as something other than part of a name. */
const SHELL_META = /[;&|`$(){}<>*?!#~'"\\[\]^%,=@]/;

/**
 * Why `host` is not a machine address, or undefined. The host reaches ssh's argv, its known_hosts
 * line and (through %h) the shell that runs a ProxyCommand: only a plain name or address is safe there.
 */
export function hostProblem(host: string, what = "connection.host"): string | undefined {
    if (host.length === 0) {
        return `${what} is required: the address of the machine to manage`;
    }
    const reason = hostReason(host, what);
    return reason && `${what} ${JSON.stringify(host)} ${reason}; ${what} takes a host name (letters, digits and '-' in dot-separated labels, e.g. docker-1.example.com), an IPv4 address (10.0.0.5) or an IPv6 address without brackets (fd00::5)`;
}

function hostReason(host: string, what: string): string | undefined {
    if (host.startsWith("-")) {
        return "starts with '-': ssh would read it as an option";
    }
    if (/[\s\0-\x1f\x7f]/.test(host)) {
        return "contains a space, newline or other control character";
    }
    if (host.includes(":")) {
        if (host.startsWith("[") || host.endsWith("]")) {
            return `has brackets: write the address alone (${host.replace(/^\[|\]:?\d*$/g, "")}) and the port in ${what.replace(/host$/, "port")}`;
        }
        if (host.includes("%")) {
            return "has an IPv6 zone index ('%eth0'), which is not accepted";
        }
        return isIPv6(host) ? undefined : `is not a valid IPv6 address (a port goes in ${what.replace(/host$/, "port")})`;
    }
    if (host.includes("@")) {
        return `has an '@': put the login name in ${what.replace(/host$/, "user")}`;
    }
    if (SHELL_META.test(host) || /[^\x21-\x7e]/.test(host)) {
        return "contains characters no host name has (shell metacharacters, '_' or non-ASCII)";
    }
    if (/^[\d.]+$/.test(host)) {
        return IPV4.test(host) ? undefined : "is not a valid IPv4 address (four numbers from 0 to 255, without leading zeros)";
    }
    if (host.length > 253) {
        return "is longer than 253 characters";
    }
    const bad = host.split(".").find((label) => !LABEL.test(label));
    if (bad === "") {
        return "has an empty label (a leading, trailing or doubled '.')";
    }
    return bad === undefined ? undefined : `has the label ${JSON.stringify(bad)}, which is not 1 to 63 letters, digits or '-' (not first or last)`;
}

const hostSchema = (what: string) =>
    z.string({ required_error: `${what} is required: the address of the machine to manage`, invalid_type_error: `${what} must be a string: a host name or an IP address` }).superRefine((host, ctx) => {
        const problem = hostProblem(host, what);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
    });

/**
 * A local file ssh is pointed at with `-o Name=<path>`. ssh reads that value as a config line: it
 * splits it at whitespace (a known hosts list) and expands %-tokens and ${VARIABLES}, so the path
 * must be absolute and one plain word.
 */
const sshFilePath = (what: string, example: string) =>
    z.string().superRefine((p, ctx) => {
        const problem = !p.startsWith("/")
            ? `${what} must be an absolute path such as ${example} (~ and relative paths are not expanded), got ${JSON.stringify(p)}`
            : /[\n\r\0]/.test(p)
              ? `${what} must not contain a newline or NUL byte, got ${JSON.stringify(p)}`
              : /[\s"'%$\\]/.test(p)
                ? `${what} must not contain spaces, quotes, '%', '$' or '\\': ssh splits the value at spaces and expands %-tokens and \${VARIABLES} in it, got ${JSON.stringify(p)}`
                : undefined;
        if (problem) ctx.addIssue({ code: "custom", message: problem });
    });

/** A secret answered on one line (ssh's askpass, sudo's password prompt): a newline would cut it short. */
const oneLineSecret = (what: string) => z.string().refine((v) => !/[\n\r]/.test(v), `${what} cannot contain a newline: it is answered as one line to the password prompt`);

const sshFields = (prefix: string) => ({
    host: hostSchema(`${prefix}.host`),
    port: z
        .number({ invalid_type_error: `${prefix}.port must be a number from 1 to 65535` })
        .int(`${prefix}.port must be a whole number from 1 to 65535`)
        .min(1, `${prefix}.port must be a number from 1 to 65535`)
        .max(65535, `${prefix}.port must be a number from 1 to 65535`)
        .default(22),
    user: z
        .string({ invalid_type_error: `${prefix}.user must be a string: a login name such as root` })
        .regex(/^[a-z_][a-z0-9_.-]*\$?$/i, `${prefix}.user must be a plain login name (letters, digits, '_', '.', '-'; not starting with '-')`)
        .default("root"),
    privateKey: z.string().optional(),
    privateKeyPassword: oneLineSecret(`${prefix}.privateKeyPassword`).optional(),
    password: oneLineSecret(`${prefix}.password`).optional(),
    agentSocketPath: sshFilePath(`${prefix}.agentSocketPath`, "/run/user/1000/ssh-agent.socket").optional(),
});

/**
 * `ssh-ed25519 AAAA...` as in a .pub file or known_hosts (the comment is ignored). One line only: it is
 * written into a known_hosts file, where a second line would trust another key.
 */
const hostKeySchema = (what: string) =>
    z
        .string()
        .regex(
            /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]+={0,3}( [^\n\r]*)?$/,
            `${what} must be one public key line such as 'ssh-ed25519 AAAA...' (from /etc/ssh/ssh_host_ed25519_key.pub on the host)`,
        );

const proxySchema = z
    .object({
        ...sshFields("connection.proxy"),
        hostKey: hostKeySchema("connection.proxy.hostKey").optional(),
    })
    .strict();

export const sshConnectionSchema = z
    .object({
        type: z.literal("ssh").default("ssh"),
        ...sshFields("connection"),
        /** How many times a failing dial is retried before giving up. */
        dialErrorLimit: z.number().int().min(1).max(100).default(10),
        /** Seconds each dial may take. */
        perDialTimeout: z.number().int().min(1).max(600).default(15),
        proxy: proxySchema.optional(),
        /** Pin the server's public key: when set, nothing else is trusted. */
        hostKey: hostKeySchema("connection.hostKey").optional(),
        /** Trust an unknown host key on first use (recorded in knownHostsPath). Off by default. */
        acceptUnknownHostKey: z.boolean().default(false),
        knownHostsPath: sshFilePath("connection.knownHostsPath", "/home/me/.ssh/known_hosts").optional(),
        /** Run as root through sudo: `sudo -n` when no sudoPassword is given. */
        sudo: z.boolean().default(false),
        sudoPassword: oneLineSecret("connection.sudoPassword").optional(),
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
        sudoPassword: oneLineSecret("connection.sudoPassword").optional(),
    })
    .strict();

const connectionUnion = z.union([localConnectionSchema, sshConnectionSchema]);

/**
 * The union, parsed through the branch `type` picks: a bare union reports a wrong type anywhere inside
 * as "Invalid input" on `connection`; this way the failure names `connection.port`, `connection.host`...
 * (Still a union underneath, so schema.json and the docs read both shapes.)
 */
export const connectionSchema = z.preprocess((value, ctx) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
        ctx.addIssue({ code: "custom", fatal: true, message: `connection must be an object such as { host: "10.0.0.5", user: "root" } or { type: "local" }, got ${value === null ? "null" : Array.isArray(value) ? "a list" : `a ${typeof value}`}` });
        return value;
    }
    const type = (value as { type?: unknown }).type;
    if (type !== undefined && type !== "ssh" && type !== "local") {
        ctx.addIssue({ code: "custom", fatal: true, path: ["type"], message: `connection.type must be "ssh" (the default) or "local", got ${JSON.stringify(type)}` });
        return value;
    }
    const schema = type === "local" ? localConnectionSchema : sshConnectionSchema;
    const branch = schema.safeParse(value);
    for (const issue of branch.success ? [] : branch.error.issues) {
        if (issue.code === "unrecognized_keys") {
            // One failure per misspelled key, at its own path, with a suggestion (as for resource inputs).
            const valid = Object.keys((issue.path.length === 0 ? objectOf(schema) : proxySchema)?.shape ?? {});
            for (const key of issue.keys) {
                ctx.addIssue({ code: "custom", fatal: true, path: [...issue.path, key], message: unknownPropertyReason(key, valid) });
            }
        } else {
            ctx.addIssue({ ...(issue as z.IssueData), fatal: true });
        }
    }
    return value;
}, connectionUnion);

export type SshConnection = z.infer<typeof sshConnectionSchema>;
export type LocalConnection = z.infer<typeof localConnectionSchema>;
export type Connection = z.infer<typeof connectionUnion>;
export type ProxyConnection = z.infer<typeof proxySchema>;

/** What users write: defaults optional. Values may be Pulumi inputs in the public Args types. */
export type ConnectionInput = z.input<typeof connectionUnion>;

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
