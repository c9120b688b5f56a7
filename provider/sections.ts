/**
 * Observe scripts print several facts in one round trip, each after a marker line `@@name`.
 * This splits them apart again.
 */
import { ParseError } from "./host/errors";
import { commandLine, Shell, shellQuote } from "./host/quote";

export const section = (name: string): string => `echo '@@${name}'`;

export function splitSections(output: string): Map<string, string> {
    const sections = new Map<string, string>();
    let current: string | undefined;
    let lines: string[] = [];
    for (const line of output.split("\n")) {
        const marker = /^@@([a-z0-9_-]+)$/.exec(line);
        if (marker) {
            if (current !== undefined) {
                sections.set(current, lines.join("\n"));
            }
            current = marker[1];
            lines = [];
        } else if (current !== undefined) {
            lines.push(line);
        }
    }
    if (current !== undefined) {
        sections.set(current, lines.join("\n").replace(/\n$/, ""));
    }
    return sections;
}

export function requireSection(sections: Map<string, string>, name: string, raw: string): string {
    const value = sections.get(name);
    if (value === undefined) {
        throw new ParseError(`the "${name}" part of a host's answer`, raw);
    }
    return value;
}

/** `KEY=value` lines (blkid -o export, our own facts) → map. */
export function parseKeyValues(text: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const eq = line.indexOf("=");
        if (eq > 0) {
            out[line.slice(0, eq)] = line.slice(eq + 1);
        }
    }
    return out;
}

/** Fails the read with a message naming the missing tools and the package that has them. */
export function requireTools(tools: readonly string[], packageHint: string): Shell {
    const missing = `is not installed on this host (${tools.join(", ")} needed): install ${packageHint}, then run again`;
    return new Shell(tools.map((t) => `command -v ${shellQuote(t)} >/dev/null 2>&1 || { echo ${shellQuote(`${t} ${missing}`)} >&2; exit 127; }`).join("\n"));
}

/**
 * Runs a read-only tool and prints its output; when it fails saying the thing is absent (`absent`
 * matches its message), prints nothing. Any other failure (no rights, no kernel module) fails the read
 * with the tool's name and own words: it must never look like "absent".
 */
export function readOrAbsent(argv: readonly string[], absent: string, what: string): Shell {
    const failed = `: reading ${what} failed; the tool said:`;
    return new Shell(
        `if pzd_out=$(${commandLine(argv)} 2>&1); then [ -z "$pzd_out" ] || printf '%s\\n' "$pzd_out"; ` +
            `else pzd_rc=$?; case "$pzd_out" in *${shellQuote(absent)}*) ;; *) echo ${shellQuote(argv[0])}" exited $pzd_rc"${shellQuote(failed)} >&2; printf '%s\\n' "$pzd_out" >&2; exit "$pzd_rc";; esac; fi`,
    );
}

/**
 * Sets `$sig` to `blkid -p -o export <device>` (`device`: one quoted shell word), or to nothing when
 * blkid finds no signature (exit 2, silently). Any other outcome fails the read naming blkid: an exit
 * 2 with words ("Permission denied": blkid exits 2 for that too), another exit, or an exit 0 with
 * nothing printed. An unreadable device must never look blank, since blank is what may be formatted.
 */
export function readSignature(device: string): Shell {
    return new Shell(
        `rc=0; sig=$(blkid -p -o export ${device} 2>&1) || rc=$?\n` +
            `case "$rc" in 0) [ -n "$sig" ] || { echo "blkid exited 0 but printed nothing for "${device}"; it should print the signature or exit 2" >&2; exit 65; } ;; ` +
            `2) [ -z "$sig" ] || { echo "blkid could not read "${device}" (exit 2); the tool said:" >&2; printf '%s\\n' "$sig" >&2; exit 65; } ;; ` +
            `*) echo "blkid could not read "${device}" (exit $rc); the tool said:" >&2; printf '%s\\n' "$sig" >&2; exit "$rc" ;; esac`,
    );
}

/**
 * `blkid -o export` lines → map, refusing anything that is not KEY=value: a tool printing junk must
 * fail the read, not read as a device without a signature.
 */
export function parseSignature(text: string, raw: string): Record<string, string> {
    for (const line of text.split("\n")) {
        if (line.trim() !== "" && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(line)) {
            throw new ParseError("`blkid -p -o export` output (expected KEY=value lines)", raw);
        }
    }
    return parseKeyValues(text);
}
