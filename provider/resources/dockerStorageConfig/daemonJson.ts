/**
 * daemon.json as text: we change only the keys we own and splice them into the file in place, so
 * every other key keeps its position, its value and even its formatting. Pure, so it is unit tested.
 */
import { RefusedError } from "../../host/errors";

/** The only keys DockerStorageConfig writes. Everything else in daemon.json belongs to someone else. */
export const MANAGED_KEYS = ["storage-driver", "storage-opts", "data-root"] as const;
export type ManagedKey = (typeof MANAGED_KEYS)[number];

/** Parsed values of the managed keys; a key that is not in the file is not in the object. */
export type ManagedValues = Partial<Record<ManagedKey, unknown>>;

interface Member {
    key: string;
    /** Offsets into the text: the key's quotes, and the value's first and one-past-last character. */
    keyStart: number;
    keyEnd: number;
    valueStart: number;
    valueEnd: number;
}

export interface DaemonJson {
    text: string;
    /** Offsets of the top-level braces; -1 when the file is empty (Docker reads that as `{}`). */
    open: number;
    close: number;
    members: Member[];
}

const WHITESPACE = /[ \t\r\n]/;

function skipWhitespace(text: string, at: number): number {
    while (at < text.length && WHITESPACE.test(text[at])) at++;
    return at;
}

/** End of the JSON value starting at `at`. The text is already known to be valid JSON. */
function valueEnd(text: string, at: number): number {
    const first = text[at];
    if (first === '"') {
        let i = at + 1;
        while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
        return i + 1;
    }
    if (first === "{" || first === "[") {
        let depth = 0;
        let i = at;
        for (; i < text.length; i++) {
            const c = text[i];
            if (c === '"') {
                i = valueEnd(text, i) - 1;
            } else if (c === "{" || c === "[") {
                depth++;
            } else if (c === "}" || c === "]") {
                depth--;
                if (depth === 0) return i + 1;
            }
        }
        return i;
    }
    let i = at;
    while (i < text.length && !/[,}\] \t\r\n]/.test(text[i])) i++;
    return i;
}

/** Docker accepts a UTF-8 byte order mark; so do we, and we keep it. */
const bodyStart = (text: string): number => (text.charCodeAt(0) === 0xfeff ? 1 : 0);

/**
 * Reads daemon.json. Invalid JSON is refused rather than replaced: Docker refuses to start on it too,
 * and whoever wrote it must decide what it meant.
 */
export function parseDaemonJson(text: string, path: string): DaemonJson {
    const start = bodyStart(text);
    if (text.slice(start).trim() === "") {
        return { text, open: -1, close: -1, members: [] };
    }
    let parsed: unknown;
    try {
        parsed = JSON.parse(text.slice(start));
    } catch (error) {
        throw new RefusedError(
            `${path} on the host is not valid JSON (${(error as Error).message}); refusing to overwrite it. Fix or remove the file by hand (Docker will not start with it either), then run again.`,
        );
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        throw new RefusedError(`${path} on the host holds ${Array.isArray(parsed) ? "an array" : JSON.stringify(parsed)}, not a JSON object; refusing to overwrite it. Fix or remove the file by hand, then run again.`);
    }
    const open = skipWhitespace(text, start);
    const members: Member[] = [];
    let at = skipWhitespace(text, open + 1);
    while (text[at] !== "}") {
        const keyStart = at;
        const keyEnd = valueEnd(text, at);
        const key = JSON.parse(text.slice(keyStart, keyEnd)) as string;
        const valueStart = skipWhitespace(text, skipWhitespace(text, keyEnd) + 1);
        const end = valueEnd(text, valueStart);
        members.push({ key, keyStart, keyEnd, valueStart, valueEnd: end });
        at = skipWhitespace(text, end);
        if (text[at] === ",") at = skipWhitespace(text, at + 1);
    }
    const seen = new Set<string>();
    for (const m of members) {
        if ((MANAGED_KEYS as readonly string[]).includes(m.key) && seen.has(m.key)) {
            throw new RefusedError(`${path} on the host sets "${m.key}" twice; refusing to guess which one Docker uses. Remove one of them by hand, then run again.`);
        }
        seen.add(m.key);
    }
    return { text, open, close: at, members };
}

const rawValue = (doc: DaemonJson, m: Member): string => doc.text.slice(m.valueStart, m.valueEnd);

export function managedValues(doc: DaemonJson): ManagedValues {
    const out: ManagedValues = {};
    for (const m of doc.members) {
        if ((MANAGED_KEYS as readonly string[]).includes(m.key)) {
            out[m.key as ManagedKey] = JSON.parse(rawValue(doc, m));
        }
    }
    return out;
}

/** Same JSON value, whatever the spacing; key order matters, because we promise to keep it. */
export function sameJson(a: unknown, b: unknown): boolean {
    return JSON.stringify(a) === JSON.stringify(b);
}

/** The file as an ordered list of (key, value): what Docker sees, and what "unchanged" means. */
export function entries(doc: DaemonJson): Array<[string, unknown]> {
    return doc.members.map((m) => [m.key, JSON.parse(rawValue(doc, m))]);
}

interface Layout {
    /** Between the members: the file's own first separator, or one in its style. */
    separator: string;
    /** Between a key and its value. */
    colon: string;
    multiline: boolean;
    indent: string;
}

/** How the file lays out its members, so what we add looks like what is there. */
function layoutOf(doc: DaemonJson): Layout {
    const m = doc.members;
    if (m.length === 0) {
        // An empty file or `{}`: the layout `docker` documentation uses.
        return { separator: ",\n  ", colon: ": ", multiline: true, indent: "  " };
    }
    const colon = doc.text.slice(m[0].keyEnd, m[0].valueStart);
    const before = doc.text.slice(doc.open + 1, m[0].keyStart);
    const newline = before.lastIndexOf("\n");
    const multiline = newline >= 0;
    const indent = multiline ? before.slice(newline + 1) : "";
    const separator = m.length > 1 ? doc.text.slice(m[0].valueEnd, m[1].keyStart) : multiline ? `,\n${indent}` : colon.endsWith(" ") ? ", " : ",";
    return { separator, colon, multiline, indent: indent || "  " };
}

/** A value in the file's style: nested lines indented one level deeper than the member. */
function formatValue(value: unknown, layout: Layout): string {
    if (!layout.multiline) return JSON.stringify(value);
    return JSON.stringify(value, null, layout.indent).replace(/\n/g, `\n${layout.indent}`);
}

/**
 * New text of the file with each key in `wanted` set to its raw JSON text, or removed when undefined.
 * A key already present is rewritten in place; a new one goes at the end. The text between members
 * is reused, so the file keeps its layout.
 */
function setMembers(doc: DaemonJson, wanted: Map<string, string | undefined>): string {
    const layout = layoutOf(doc);
    const { text, members } = doc;
    const out: Array<{ text: string; separatorAfter?: string }> = [];
    members.forEach((m, i) => {
        const separatorAfter = i + 1 < members.length ? text.slice(m.valueEnd, members[i + 1].keyStart) : undefined;
        if (!wanted.has(m.key)) {
            out.push({ text: text.slice(m.keyStart, m.valueEnd), separatorAfter });
        } else if (wanted.get(m.key) !== undefined) {
            out.push({ text: text.slice(m.keyStart, m.valueStart) + wanted.get(m.key), separatorAfter });
        }
    });
    const present = new Set(members.map((m) => m.key));
    for (const [key, raw] of wanted) {
        if (raw !== undefined && !present.has(key)) {
            out.push({ text: `${JSON.stringify(key)}${layout.colon}${raw}` });
        }
    }
    if (doc.open < 0 && out.length === 0) {
        return text;
    }
    let body = "";
    out.forEach((piece, i) => {
        body += piece.text + (i + 1 < out.length ? (piece.separatorAfter ?? layout.separator) : "");
    });
    if (out.length > 0) {
        const prefix = members.length > 0 ? text.slice(doc.open + 1, members[0].keyStart) : `\n${layout.indent}`;
        const suffix = members.length > 0 ? text.slice(members[members.length - 1].valueEnd, doc.close) : "\n";
        body = prefix + body + suffix;
    }
    if (doc.open < 0) {
        return `${text.slice(0, bodyStart(text))}{${body}}\n`;
    }
    return text.slice(0, doc.open + 1) + body + text.slice(doc.close);
}

/**
 * daemon.json with the managed keys set to `wanted` (a key set to undefined is removed). `current` is
 * undefined when the file does not exist; the result is undefined when it should still not exist.
 */
export function mergeDaemonJson(current: string | undefined, wanted: Record<ManagedKey, unknown>, path: string): string | undefined {
    const doc = parseDaemonJson(current ?? "", path);
    const layout = layoutOf(doc);
    const now = managedValues(doc);
    const changes = new Map<string, string | undefined>();
    for (const key of MANAGED_KEYS) {
        const value = wanted[key];
        if (value === undefined ? key in now : !(key in now) || !sameJson(now[key], value)) {
            changes.set(key, value === undefined ? undefined : formatValue(value, layout));
        }
    }
    return changes.size === 0 ? current : setMembers(doc, changes);
}

/** What the file was before we first changed it, as kept in the backup next to it. */
export interface DaemonJsonBackup {
    existed: boolean;
    /** The exact text, when it existed. */
    content: string;
    /** The file's mode as `stat -c %a` printed it, when it existed. */
    mode?: string;
}

const BACKUP_COMMENT = "Written by pulumi-zfs-docker (DockerStorageConfig) before it first changed daemon.json. Deleting the resource restores the storage keys from here; this file then goes away.";

export function serializeBackup(path: string, backup: DaemonJsonBackup): string {
    return JSON.stringify({ comment: BACKUP_COMMENT, path, existed: backup.existed, mode: backup.mode, content: backup.existed ? backup.content : undefined }, null, 2) + "\n";
}

export function parseBackup(text: string, backupPath: string): DaemonJsonBackup {
    let parsed: { existed?: unknown; content?: unknown; mode?: unknown };
    try {
        parsed = JSON.parse(text);
    } catch {
        parsed = {};
    }
    if (typeof parsed !== "object" || parsed === null || typeof parsed.existed !== "boolean" || (parsed.existed && typeof parsed.content !== "string")) {
        throw new RefusedError(
            `${backupPath} on the host is not a backup pulumi-zfs-docker can read, so the earlier Docker storage settings are unknown. Restore daemon.json by hand from it, then remove it and run again.`,
        );
    }
    return { existed: parsed.existed, content: parsed.existed ? (parsed.content as string) : "", mode: typeof parsed.mode === "string" ? parsed.mode : undefined };
}

/** The managed keys as they were before we changed anything. */
export function previousValues(backup: DaemonJsonBackup, path: string): ManagedValues {
    return backup.existed ? managedValues(parseDaemonJson(backup.content, path)) : {};
}

/**
 * daemon.json with the managed keys put back as the backup has them, and everything else as it is
 * now (others may have changed other keys meanwhile). When that is the old file, the old text is
 * returned byte for byte; undefined means the file should not exist (it did not before).
 */
export function restoreDaemonJson(current: string | undefined, backup: DaemonJsonBackup, path: string): string | undefined {
    const doc = parseDaemonJson(current ?? "", path);
    const old = parseDaemonJson(backup.existed ? backup.content : "", path);
    const oldRaw = new Map(old.members.filter((m) => (MANAGED_KEYS as readonly string[]).includes(m.key)).map((m) => [m.key, rawValue(old, m)]));
    const now = managedValues(doc);
    const changes = new Map<string, string | undefined>();
    for (const key of MANAGED_KEYS) {
        const raw = oldRaw.get(key);
        if (raw === undefined ? key in now : !(key in now) || !sameJson(now[key], JSON.parse(raw))) {
            changes.set(key, raw);
        }
    }
    const text = changes.size === 0 ? doc.text : setMembers(doc, changes);
    const restored = parseDaemonJson(text, path);
    if (backup.existed && sameJson(entries(restored), entries(old))) {
        return backup.content;
    }
    if (!backup.existed && restored.members.length === 0) {
        return undefined;
    }
    return current === undefined && text === "" ? undefined : text;
}
