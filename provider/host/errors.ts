/** Typed errors that carry the whole story and say what to do next. */

/** A command on a host failed. The message is short; `details` has the masked script and stderr. */
export class RemoteCommandError extends Error {
    readonly name = "RemoteCommandError";
    constructor(
        readonly host: string,
        readonly step: string,
        readonly exitCode: number | undefined,
        readonly stderr: string,
        readonly durationMs: number,
        readonly hint: string,
        readonly script?: string,
    ) {
        super(
            `${step} failed on ${host} (exit ${exitCode ?? "unknown"} after ${durationMs} ms): ` +
                `${lastLines(stderr, 6) || "no error output"}${hint ? `\nWhat to do: ${hint}` : ""}`,
        );
    }
}

/** We could not reach or authenticate to a host. Dials are retried before this is thrown. */
export class ConnectionError extends Error {
    readonly name = "ConnectionError";
    constructor(
        readonly host: string,
        readonly attempts: number,
        readonly stderr: string,
    ) {
        super(`could not connect to ${host} after ${attempts} attempt(s): ${lastLines(stderr, 4)}\n${connectionHint(stderr)}`);
    }
}

/** A host's output did not have the shape a parser expects. The raw text is kept for the bug report. */
export class ParseError extends Error {
    readonly name = "ParseError";
    constructor(
        readonly what: string,
        readonly raw: string,
    ) {
        super(`could not parse ${what}: ${JSON.stringify(raw.slice(0, 400))}. This is a bug in pulumi-zfs-docker; please report it with this output.`);
    }
}

/** The desired state cannot be reached safely; nothing on the host was changed. */
export class RefusedError extends Error {
    readonly name = "RefusedError";
    constructor(message: string) {
        super(message);
    }
}

function lastLines(text: string, count: number): string {
    return text.trim().split("\n").slice(-count).join("\n");
}

function connectionHint(stderr: string): string {
    if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(stderr)) {
        return "What to do: pin the server's key with connection.hostKey (the line from /etc/ssh/ssh_host_ed25519_key.pub), add it to known_hosts, or set connection.acceptUnknownHostKey=true to trust it on first use.";
    }
    if (/Permission denied/i.test(stderr)) {
        return "What to do: check connection.user and the key or password; the server refused them.";
    }
    return "What to do: check connection.host and connection.port, and that sshd runs on the host.";
}

/** An apply ran without error, but reading the host again shows the change did not take. */
export class NotAppliedError extends Error {
    readonly name = "NotAppliedError";
    constructor(readonly pending: string[]) {
        super(
            `the host did not take every change: after applying, it still needs ${pending.join("; ")}. ` +
                "What to do: check the host's logs and whether a tool ignored the request (e.g. a property the installed OpenZFS does not support), then run `pulumi up` again.",
        );
    }
}
