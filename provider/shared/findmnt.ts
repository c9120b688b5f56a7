/**
 * findmnt's output, decoded once: `-r`/`-P` escape unsafe bytes as `\xHH` (UTF-8 bytes of a name
 * arrive as several escapes, so the bytes are joined before decoding); `-P` also quotes values.
 */

/** `/mnt/a\x20b` → `/mnt/a b`; `\xc3\xbc` → `ü`; text without escapes comes through as it is. */
export function unescapeFindmnt(value: string): string {
    const parts: Buffer[] = [];
    let last = 0;
    for (const m of value.matchAll(/\\x([0-9a-fA-F]{2})/g)) {
        parts.push(Buffer.from(value.slice(last, m.index), "utf8"), Buffer.from([parseInt(m[1], 16)]));
        last = (m.index ?? 0) + m[0].length;
    }
    parts.push(Buffer.from(value.slice(last), "utf8"));
    return Buffer.concat(parts).toString("utf8");
}

/** One `findmnt -P` line: `KEY="value"` pairs → map, values decoded. */
export function parseFindmntPairs(line: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const m of line.matchAll(/([A-Z0-9_:-]+)="((?:[^"\\]|\\.)*)"/g)) {
        out[m[1]] = unescapeFindmnt(m[2].replace(/\\(?!x[0-9a-fA-F]{2})(.)/g, "$1"));
    }
    return out;
}
