/**
 * A pure fstab parser and editor that keeps every byte it does not own: comments, blank lines,
 * tabs, trailing whitespace, CRLF endings, bytes that are not UTF-8 and a missing final newline.
 *
 * The file is handled as a "byte string" (latin1: one char per byte) so any content round-trips
 * exactly; only the fields of entry lines are decoded (fstab octal escapes, then UTF-8). Field rules
 * follow libmount's parser (tab_parse.c): fields are separated by spaces and tabs, a line whose first
 * non-blank is '#' is a comment, a trailing CR is ignored, every field may use `\ooo` escapes, and
 * dump and pass are optional (0).
 */

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

/** The comment we put right above our line: it names the mount point, so it cannot mark a neighbour. */
export const MARKER_PREFIX = "# managed by pulumi-zfs-docker: ";

const toBytes = (text: string): string => Buffer.from(text, "utf8").toString("latin1");
const fromBytes = (bytes: string): string => Buffer.from(bytes, "latin1").toString("utf8");

/** fstab(5) escapes: the characters that would end or break a field, and the escape character itself. */
export function escapeField(value: string): string {
    return value.replace(/[ \t\n\\]/g, (c) => "\\" + c.charCodeAt(0).toString(8).padStart(3, "0"));
}

/** libmount's unmangle: `\` followed by exactly three octal digits is one byte; anything else is literal. */
export function unescapeField(bytes: string): string {
    return fromBytes(bytes.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8) & 0xff)));
}

function parseEntry(text: string): FstabLine["entry"] {
    const fields = text.replace(/\r$/, "").replace(/^[ \t]+|[ \t]+$/g, "").split(/[ \t]+/);
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
    const content = text.replace(/\r$/, "").replace(/^[ \t]+/, "");
    if (content.replace(/[ \t]+$/, "") === "") return { text, kind: "blank" };
    if (content.startsWith("#")) return { text, kind: "comment" };
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

/** Mount points compare as libmount does: "/mnt/x/" and "/mnt/x" are the same target. */
export function sameMountPoint(a: string, b: string): boolean {
    const norm = (p: string) => (p.length > 1 ? p.replace(/\/+$/, "") : p);
    return norm(a) === norm(b);
}

/** Our line as fstab text (a normal JS string; UTF-8 when written). */
export function formatEntry(fields: FstabFields): string {
    return [escapeField(fields.spec), escapeField(fields.mountPoint), escapeField(fields.fsType), fields.options.join(","), String(fields.dump), String(fields.pass)].join(" ");
}

export const markerFor = (mountPoint: string): string => MARKER_PREFIX + escapeField(mountPoint);

function isMarkerFor(line: FstabLine | undefined, mountPoint: string): boolean {
    return line !== undefined && line.kind === "comment" && line.text.replace(/\r$/, "").replace(/[ \t]+$/, "") === toBytes(markerFor(mountPoint));
}

export interface FoundEntry {
    index: number;
    /** 1-based, for messages. */
    lineNumber: number;
    /** The line as it is in the file (decoded as UTF-8, CR removed). */
    text: string;
    fields: FstabFields & { valid: boolean };
    /** Our marker comment is right above it. */
    marked: boolean;
}

export function findEntries(fstab: Fstab, mountPoint: string): FoundEntry[] {
    const found: FoundEntry[] = [];
    fstab.lines.forEach((line, index) => {
        if (line.kind === "entry" && line.entry && sameMountPoint(line.entry.mountPoint, mountPoint)) {
            found.push({ index, lineNumber: index + 1, text: fromBytes(line.text.replace(/\r$/, "")), fields: line.entry, marked: isMarkerFor(fstab.lines[index - 1], mountPoint) });
        }
    });
    return found;
}

/** CRLF files get CRLF lines from us too, so the file stays consistent for whoever edits it next. */
function usesCrlf(fstab: Fstab): boolean {
    const terminated = fstab.lines.filter((l) => l.eol === "\n");
    return terminated.length > 0 && terminated.filter((l) => l.text.endsWith("\r")).length * 2 > terminated.length;
}

function newLine(content: string, crlf: boolean): FstabLine {
    return { ...classify(toBytes(content) + (crlf ? "\r" : "")), eol: "\n" };
}

/**
 * The file with `fields` as the one line for its mount point, marked as ours: an existing line for
 * that mount point is rewritten in place (its ending kept), otherwise the line is appended.
 * Every other line is left exactly as it was.
 */
export function upsertEntry(fstab: Fstab, fields: FstabFields): Fstab {
    const lines = fstab.lines.slice();
    const crlf = usesCrlf(fstab);
    const existing = findEntries(fstab, fields.mountPoint);
    if (existing.length > 1) {
        throw new Error(`fstab has ${existing.length} lines for ${fields.mountPoint}; refusing to pick one`);
    }
    if (existing.length === 1) {
        const at = existing[0].index;
        const old = lines[at];
        const keepCr = old.text.endsWith("\r");
        lines[at] = { ...classify(toBytes(formatEntry(fields)) + (keepCr ? "\r" : "")), eol: old.eol };
        if (!existing[0].marked) {
            lines.splice(at, 0, newLine(markerFor(fields.mountPoint), keepCr || (old.eol === "" && crlf)));
        }
        return { lines };
    }
    const last = lines[lines.length - 1];
    if (last && last.eol === "") {
        // The old last line gets its line break; ours end with one too, so that a later
        // `echo ... >> /etc/fstab` by hand can never glue a line onto ours.
        lines[lines.length - 1] = { ...last, eol: "\n" };
    }
    lines.push(newLine(markerFor(fields.mountPoint), crlf), newLine(formatEntry(fields), crlf));
    return { lines };
}

/** The file with our marker put above the existing line for `mountPoint`, the line itself untouched (adoption). */
export function markEntry(fstab: Fstab, mountPoint: string): Fstab {
    const existing = findEntries(fstab, mountPoint);
    if (existing.length !== 1) {
        throw new Error(`fstab has ${existing.length} lines for ${mountPoint}; expected exactly one to mark`);
    }
    if (existing[0].marked) return fstab;
    const lines = fstab.lines.slice();
    const at = existing[0].index;
    lines.splice(at, 0, newLine(markerFor(mountPoint), lines[at].text.endsWith("\r") || (lines[at].eol === "" && usesCrlf(fstab))));
    return { lines };
}

/** The file without the line for `mountPoint` and without our marker above it. */
export function removeEntry(fstab: Fstab, mountPoint: string): Fstab {
    const existing = findEntries(fstab, mountPoint);
    if (existing.length > 1) {
        throw new Error(`fstab has ${existing.length} lines for ${mountPoint}; refusing to pick one`);
    }
    if (existing.length === 0) return fstab;
    const { index, marked } = existing[0];
    const lines = fstab.lines.slice();
    lines.splice(marked ? index - 1 : index, marked ? 2 : 1);
    return { lines };
}
