/**
 * Observe scripts print several facts in one round trip, each after a marker line `@@name`.
 * This splits them apart again.
 */
import { ParseError } from "./host/errors";

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
