/** How a script is framed before it reaches `sh -s` on a host. Pure, so it is unit tested. */
import { Shell, shellQuote } from "./quote";

/** Every script runs with these: fail fast, English output for our parsers, sbin on PATH for zfs & co. */
export const SCRIPT_PREAMBLE = "set -eu\nexport LC_ALL=C LANG=C\nexport PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n";

/** How long a step may run on the host: a read answers in seconds; a mkfs or a Docker restart under emulation takes minutes. */
export const READ_TIMEOUT_SECONDS = 120;
export const MUTATION_TIMEOUT_SECONDS = 900;
/** After the limit the step gets TERM (its cleanup traps run), and KILL this much later if it is still there. */
export const KILL_AFTER_SECONDS = 10;
/** Replaces every step's limit, for an operator whose hosts are slow (or a test that wants a hang to end now). */
export const TIMEOUT_ENV = "PZD_TIMEOUT_SECONDS";
/** The exit status, and the stderr line, of a step the host's own limit stopped. */
export const TIMEOUT_EXIT = 124;
export const TIMEOUT_MARKER = "pzd-timeout: ";

/** The limit of one step in whole seconds: the operator's override, else the step's own, else the default for its kind. */
export function timeoutSecondsFor(options: { mutating: boolean; timeoutSeconds?: number }, env: NodeJS.ProcessEnv = process.env): number {
    const override = env[TIMEOUT_ENV];
    if (override !== undefined && override.trim() !== "") {
        if (!/^\s*[1-9][0-9]*\s*$/.test(override)) {
            throw new Error(`${TIMEOUT_ENV} must be a whole number of seconds (1 or more), got ${JSON.stringify(override)}`);
        }
        return Number(override);
    }
    const seconds = options.timeoutSeconds ?? (options.mutating ? MUTATION_TIMEOUT_SECONDS : READ_TIMEOUT_SECONDS);
    if (!Number.isInteger(seconds) || seconds < 1) {
        throw new Error(`a step's time limit must be a whole number of seconds (1 or more), got ${seconds}`);
    }
    return seconds;
}

/**
 * Our own limit on the local process (ssh, or sh for a local host), for when the host's did not act
 * (no GNU timeout there, or the connection itself hangs): after the host's TERM, its KILL and some slack.
 */
export function localTimeoutMs(timeoutSeconds: number): number {
    return (timeoutSeconds + KILL_AFTER_SECONDS + 20) * 1000;
}

/** The body in one brace group read whole before it runs, with stdin from /dev/null. */
function braced(body: Shell | string): string {
    return "{\n:\n" + String(body) + "\n} </dev/null\n";
}

/** A script's body as a subshell of the script it is put into: its own EXIT traps, stdin from /dev/null. */
export function subshell(body: Shell | string): string {
    return "(\n" + braced(body) + ")\n";
}

/**
 * The body is one brace group read whole before it runs, with stdin from /dev/null: a command that
 * reads stdin (mkfs asking "Proceed anyway?") can neither hang nor swallow the rest of the script.
 *
 * With a time limit, the body runs in a shell of its own under GNU `timeout`, so a hung tool is killed
 * on the host itself, not only our end of the connection: `timeout` kills its whole process group,
 * TERM first, so the body's EXIT traps (cleanup, restarting what it stopped) still run, and KILL
 * after KILL_AFTER_SECONDS. The body is handed over in a variable (printf is a builtin, so no
 * argument-size limit applies). The step stopped by its limit exits 124 with a `pzd-timeout:` line on
 * stderr; a 124 from a tool inside the body finishes early and gets no such line. A host without GNU
 * timeout (busybox) runs the body without a limit on its side; the local limit still applies.
 */
export function frameScript(body: Shell | string, timeoutSeconds?: number): string {
    if (timeoutSeconds === undefined) {
        return SCRIPT_PREAMBLE + braced(body);
    }
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1) {
        throw new Error(`a step's time limit must be a whole number of seconds (1 or more), got ${timeoutSeconds}`);
    }
    const inner = "set -eu\ntrap 'exit 143' TERM\ntrap 'exit 129' HUP\n" + braced(body);
    const limit = String(timeoutSeconds);
    return (
        SCRIPT_PREAMBLE +
        "{\n" +
        `pzd_script=${shellQuote(inner)}\n` +
        "if timeout --version >/dev/null 2>&1; then\n" +
        // Seconds since boot from /proc/uptime with a builtin: no process started (date costs one per step).
        '  pzd_clock() { pzd_now=""; { read -r pzd_now pzd_rest </proc/uptime; } 2>/dev/null || pzd_now=$(date +%s); pzd_now=${pzd_now%.*}; }\n' +
        "  pzd_clock; pzd_t0=$pzd_now; pzd_rc=0\n" +
        `  printf '%s' "$pzd_script" | timeout -k ${KILL_AFTER_SECONDS} ${limit} sh -s || pzd_rc=$?\n` +
        `  if [ "$pzd_rc" = ${TIMEOUT_EXIT} ]; then pzd_clock; if [ $((pzd_now - pzd_t0)) -ge ${limit} ]; then echo ${shellQuote(TIMEOUT_MARKER + limit)} >&2; fi; fi\n` +
        '  exit "$pzd_rc"\n' +
        "fi\n" +
        `printf '%s' "$pzd_script" | sh -s\n` +
        "} </dev/null\n"
    );
}

/** The host tools our scripts drive, for naming the likely culprit when a step fails or hangs. */
export const HOST_TOOLS = [
    "zpool", "zfs", "blkid", "blockdev", "dumpe2fs", "mkfs.ext4", "e2label", "resize2fs", "tune2fs", "wipefs", "udevadm",
    "findmnt", "mount", "umount", "mountpoint", "xfs_info", "dockerd", "docker", "systemctl", "journalctl", "sync",
] as const;

/** The tools of HOST_TOOLS a script runs, in order of first appearance. */
export function toolsIn(script: string): string[] {
    const found: Array<[number, string]> = [];
    for (const tool of HOST_TOOLS) {
        const escaped = tool.replace(/\./g, "\\.");
        // A command word: after a separator, `$(`, a quote or line start; not part of a path or a longer name.
        const match = new RegExp(`(?:^|[\\s;&|(\`'"])${escaped}(?=$|[\\s;&|)\`'"])`, "m").exec(script);
        if (match) found.push([match.index, tool]);
    }
    return found.sort((a, b) => a[0] - b[0]).map(([, tool]) => tool);
}

export interface SudoOptions {
    sudo: boolean;
    sudoPassword?: string;
}

/**
 * The command the remote login shell runs, and what goes first on its stdin.
 *
 * With a sudo password, the password is the first line of stdin; the wrapper reads it into the
 * environment of an askpass helper (never a command line, never a file), so sudo asks for it only
 * when it needs it: a NOPASSWD rule or a cached ticket cannot make the password run as a command.
 */
export function remoteCommand(options: SudoOptions): { command: string; stdinPrefix: string } {
    if (!options.sudo) {
        return { command: "sh -s", stdinPrefix: "" };
    }
    if (options.sudoPassword === undefined) {
        return { command: "sudo -n -- sh -s", stdinPrefix: "" };
    }
    if (options.sudoPassword.includes("\n")) {
        throw new Error("connection.sudoPassword cannot contain a newline");
    }
    const wrapper = [
        "IFS= read -r PZD_SUDO_PW",
        'a=$(mktemp) || exit 125',
        'trap \'rm -f "$a"\' EXIT',
        "printf '#!/bin/sh\\nprintf \"%%s\\\\n\" \"$PZD_SUDO_PW\"\\n' >\"$a\"",
        'chmod 700 "$a"',
        'export PZD_SUDO_PW',
        'SUDO_ASKPASS="$a" sudo -A -p "" -- sh -s',
    ].join("; ");
    return { command: `sh -c ${shellQuote(wrapper)}`, stdinPrefix: options.sudoPassword + "\n" };
}
