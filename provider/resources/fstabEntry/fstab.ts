/**
 * A pure fstab parser and editor that keeps every byte it does not own: comments, blank lines,
 * tabs, trailing whitespace, CRLF endings, bytes that are not UTF-8 and a missing final newline.
 * Adding a line and removing it again gives back the file byte for byte, also when the line was
 * there before (adopted) or the file had no final newline: what removal needs is in our marker.
 *
 * The file is handled as bytes (bytes.ts); only the fields of entry lines are decoded (fstab octal
 * escapes, then UTF-8). Field rules follow libmount's parser (tab_parse.c): fields are separated by
 * spaces and tabs, a line whose first non-blank is '#' is a comment, a trailing CR is ignored, every
 * field may use `\ooo` escapes, and dump and pass are optional (0).
 */
import { escapeField, firstNonBlank, fromBytes, splitFields, toBytes, unescapeField, withoutCr } from "./bytes";
import type { Marker } from "./marker";
import { markerText, parseMarker } from "./marker";

export { escapeField, unescapeField } from "./bytes";
export type { Marker } from "./marker";
export { MARKER_PREFIX, markerFor, parseMarker } from "./marker";

export interface FstabFields {
    spec: string;
    mountPoint: string;
    fsType: string;
    options: string[];
    dump: number;
    pass: number;
}

export interface FstabLine {
    /** The line's bytes (latin1 string) without its "\n"; a CR of a CRLF ending stays here. */
    text: string;
    /** "" only for a last line without a final newline. */
    eol: "\n" | "";
    kind: "blank" | "comment" | "entry";
    /** For entry lines: the decoded fields; `valid` is false when libmount would skip the line. */
    entry?: FstabFields & { valid: boolean };
}

export interface Fstab {
    lines: FstabLine[];
}

function parseEntry(text: string): FstabLine["entry"] {
    const fields = splitFields(withoutCr(text));
    const number = (field: string | undefined): number | undefined => (field === undefined ? 0 : /^[0-9]+$/.test(field) ? Number(field) : undefined);
    const dump = number(fields[4]);
    const pass = number(fields[5]);
    return {
        spec: unescapeField(fields[0]),
        mountPoint: fields[1] === undefined ? "" : unescapeField(fields[1]),
        fsType: fields[2] === undefined ? "" : unescapeField(fields[2]),
        options: fields[3] === undefined ? [] : unescapeField(fields[3]).split(","),
        dump: dump ?? 0,
        pass: pass ?? 0,
        valid: fields.length >= 3 && dump !== undefined && pass !== undefined,
    };
}

function classify(text: string): Omit<FstabLine, "eol"> {
    const content = withoutCr(text);
    const start = firstNonBlank(content);
    if (start === content.length) return { text, kind: "blank" };
    if (content.charCodeAt(start) === 0x23) return { text, kind: "comment" };
    return { text, kind: "entry", entry: parseEntry(text) };
}

export function parseFstab(bytes: Buffer | string): Fstab {
    const all = typeof bytes === "string" ? bytes : bytes.toString("latin1");
    if (all === "") return { lines: [] };
    const parts = all.split("\n");
    const last = parts.pop() as string;
    const lines: FstabLine[] = parts.map((text) => ({ ...classify(text), eol: "\n" }));
    if (last !== "") lines.push({ ...classify(last), eol: "" });
    return { lines };
}

export function serializeFstab(fstab: Fstab): Buffer {
    return Buffer.from(fstab.lines.map((l) => l.text + l.eol).join(""), "latin1");
}

/**
 * A mount point as systemd compares it: fstab-generator names the mount unit after path_simplify(),
 * so "/var/lib//docker", "/var/lib/./docker" and "/var/lib/docker/" are one unit ("Duplicate entry",
 * and the first line wins), and libmount matches targets the same way. Repeated and trailing slashes
 * and "." components go (the fields are already unescaped, so `\057` is a slash like any other).
 * ".." is kept as a component: path_simplify keeps it too, and what it means depends on symlinks
 * on the host (systemd resolves it with chase() at boot), which a pure editor cannot see. The
 * planner refuses lines whose ".." could lead to the mount point (mayReachThroughDotDot).
 * A field that is not an absolute path ("none" for swap) is compared as written.
 */
export function normalizeMountPoint(p: string): string {
    if (!p.startsWith("/")) return p;
    return "/" + p.split("/").filter((c) => c !== "" && c !== ".").join("/");
}

export function sameMountPoint(a: string, b: string): boolean {
    return normalizeMountPoint(a) === normalizeMountPoint(b);
}

/** True when `written` has a ".." and, read without symlinks, names `mountPoint`: it may well be the same unit at boot. */
export function mayReachThroughDotDot(written: string, mountPoint: string): boolean {
    const parts = normalizeMountPoint(written).split("/");
    if (!written.startsWith("/") || !parts.includes("..")) return false;
    const resolved: string[] = [];
    for (const part of parts.slice(1)) {
        if (part === "..") resolved.pop();
        else resolved.push(part);
    }
    return "/" + resolved.join("/") === normalizeMountPoint(mountPoint);
}

/** Our line as fstab text (a normal JS string; UTF-8 when written). */
export function formatEntry(fields: FstabFields): string {
    return [escapeField(fields.spec), escapeField(fields.mountPoint), escapeField(fields.fsType), fields.options.join(","), String(fields.dump), String(fields.pass)].join(" ");
}

export interface FoundEntry {
    index: number;
    /** 1-based, for messages. */
    lineNumber: number;
    /** The line as it is in the file (decoded as UTF-8, CR removed). */
    text: string;
    fields: FstabFields & { valid: boolean };
    /** Our marker is right above it. */
    marked: boolean;
    marker?: Marker;
    /** For an adopted line: the line as it was when adopted (decoded as UTF-8). */
    originalText?: string;
}

export function findEntries(fstab: Fstab, mountPoint: string): FoundEntry[] {
    const found: FoundEntry[] = [];
    const wanted = normalizeMountPoint(mountPoint);
    fstab.lines.forEach((line, index) => {
        if (line.kind === "entry" && line.entry && normalizeMountPoint(line.entry.mountPoint) === wanted) {
            const above = parseMarker(fstab.lines[index - 1]);
            const marker = above !== undefined && normalizeMountPoint(above.mountPoint) === wanted ? above : undefined;
            found.push({
                index,
                lineNumber: index + 1,
                text: fromBytes(withoutCr(line.text)),
                fields: line.entry,
                marked: marker !== undefined,
                marker,
                originalText: marker?.original === undefined ? undefined : fromBytes(marker.original),
            });
        }
    });
    return found;
}

/** Entry lines whose mount point has a ".." that may make them `mountPoint` (see normalizeMountPoint). */
export function dotDotEntries(fstab: Fstab, mountPoint: string): { lineNumber: number; text: string }[] {
    return fstab.lines.flatMap((line, index) =>
        line.kind === "entry" && line.entry && mayReachThroughDotDot(line.entry.mountPoint, mountPoint) ? [{ lineNumber: index + 1, text: fromBytes(withoutCr(line.text)) }] : [],
    );
}

/**
 * CRLF files get CRLF lines from us too, so the file stays consistent for whoever edits it next: the
 * ending most lines have, on a tie the last one's (a last line without LF counts by its CR).
 */
function usesCrlf(fstab: Fstab): boolean {
    let crlf = 0;
    let counted = 0;
    let last = false;
    for (const line of fstab.lines) {
        if (line.eol === "" && !line.text.endsWith("\r")) continue;
        counted++;
        last = line.text.endsWith("\r");
        if (last) crlf++;
    }
    return crlf * 2 > counted || (counted > 0 && crlf * 2 === counted && last);
}

function newLine(bytes: string, crlf: boolean): FstabLine {
    return { ...classify(bytes + (crlf ? "\r" : "")), eol: "\n" };
}

function theEntry(fstab: Fstab, mountPoint: string): FoundEntry | undefined {
    const existing = findEntries(fstab, mountPoint);
    if (existing.length > 1) {
        throw new Error(`fstab has ${existing.length} lines for ${mountPoint}; refusing to pick one`);
    }
    return existing[0];
}

/** What a line without our marker becomes: adopted (removal puts it back) or claimed as ours (removal deletes it). */
export type Unmarked = "adopt" | "claim";

function markerForUnmarked(mountPoint: string, line: FstabLine, unmarked: Unmarked): Marker {
    return unmarked === "adopt" ? { mountPoint, kind: "adopted", original: withoutCr(line.text) } : { mountPoint, kind: "ours" };
}

/**
 * The file with `fields` as the one line for its mount point, marked: an existing line for that
 * mount point is rewritten in place (its ending kept; without a marker it is adopted or claimed, as
 * `unmarked` says), otherwise the line is appended. Every other line is left exactly as it was.
 */
export function upsertEntry(fstab: Fstab, fields: FstabFields, unmarked: Unmarked = "adopt"): Fstab {
    const lines = fstab.lines.slice();
    const crlf = usesCrlf(fstab);
    const existing = theEntry(fstab, fields.mountPoint);
    const line = toBytes(formatEntry(fields));
    if (existing !== undefined) {
        const at = existing.index;
        const old = lines[at];
        const keepCr = old.text.endsWith("\r");
        lines[at] = { ...classify(line + (keepCr ? "\r" : "")), eol: old.eol };
        if (!existing.marked) {
            lines.splice(at, 0, newLine(markerText(markerForUnmarked(fields.mountPoint, old, unmarked)), keepCr || (old.eol === "" && crlf)));
        }
        return { lines };
    }
    let addedEol: Marker["addedEol"];
    const last = lines[lines.length - 1];
    if (last && last.eol === "") {
        // The old last line gets its line break (in the file's own ending); ours end with one too, so
        // that a later `echo ... >> /etc/fstab` by hand can never glue a line onto ours. The marker
        // records it, so that removal gives the file back without it.
        const cr = crlf && !last.text.endsWith("\r");
        lines[lines.length - 1] = { ...classify(last.text + (cr ? "\r" : "")), eol: "\n" };
        addedEol = cr ? "\r\n" : "\n";
    }
    lines.push(newLine(markerText({ mountPoint: fields.mountPoint, kind: "ours", addedEol }), crlf), newLine(line, crlf));
    return { lines };
}

/** The file with our marker put above the existing line for `mountPoint`, the line itself untouched (adoption). */
export function markEntry(fstab: Fstab, mountPoint: string, unmarked: Unmarked = "adopt"): Fstab {
    const existing = findEntries(fstab, mountPoint);
    if (existing.length !== 1) {
        throw new Error(`fstab has ${existing.length} lines for ${mountPoint}; expected exactly one to mark`);
    }
    if (existing[0].marked) return fstab;
    const lines = fstab.lines.slice();
    const at = existing[0].index;
    const line = lines[at];
    lines.splice(at, 0, newLine(markerText(markerForUnmarked(mountPoint, line, unmarked)), line.text.endsWith("\r") || (line.eol === "" && usesCrlf(fstab))));
    return { lines };
}

/**
 * The file as it was before upsertEntry/markEntry: our marker goes; a line we wrote goes too (and a
 * final newline we added before it, if nothing was appended since); an adopted line gets back the
 * bytes it had when adopted. A line without a marker is removed (the planner decides whether it may be).
 */
export function removeEntry(fstab: Fstab, mountPoint: string): Fstab {
    const existing = theEntry(fstab, mountPoint);
    if (existing === undefined) return fstab;
    const { index, marker } = existing;
    const lines = fstab.lines.slice();
    if (marker === undefined) {
        lines.splice(index, 1);
        return { lines };
    }
    if (marker.kind === "adopted") {
        const line = lines[index];
        lines[index] = { ...classify((marker.original ?? "") + (line.text.endsWith("\r") ? "\r" : "")), eol: line.eol };
        lines.splice(index - 1, 1);
        return { lines };
    }
    lines.splice(index - 1, 2);
    const before = lines[index - 2];
    if (marker.addedEol !== undefined && index === fstab.lines.length - 1 && before !== undefined && before.eol === "\n") {
        const text = marker.addedEol === "\r\n" ? withoutCr(before.text) : before.text;
        lines[index - 2] = { ...classify(text), eol: "" };
    }
    return { lines };
}
