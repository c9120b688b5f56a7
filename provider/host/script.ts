/** How a script is framed before it reaches `sh -s` on a host. Pure, so it is unit tested. */
import { Shell, shellQuote } from "./quote";

/** Every script runs with these: fail fast, English output for our parsers, sbin on PATH for zfs & co. */
export const SCRIPT_PREAMBLE = "set -eu\nexport LC_ALL=C LANG=C\nexport PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n";

/**
 * The body is one brace group read whole before it runs, with stdin from /dev/null: a command that
 * reads stdin (mkfs asking "Proceed anyway?") can neither hang nor swallow the rest of the script.
 */
export function frameScript(body: Shell | string): string {
    return SCRIPT_PREAMBLE + "{\n:\n" + String(body) + "\n} </dev/null\n";
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
