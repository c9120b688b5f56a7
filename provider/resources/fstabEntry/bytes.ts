/**
 * fstab bytes: a file is handled as a "byte string" (latin1: one char per byte), so any content
 * round-trips exactly. Every scan here is a linear index loop: the regexes they replace
 * (/[ \t]+$/ and friends) retried from each blank of a long run, and 200k blanks took 33 s.
 */

export const toBytes = (text: string): string => Buffer.from(text, "utf8").toString("latin1");
export const fromBytes = (bytes: string): string => Buffer.from(bytes, "latin1").toString("utf8");
const isBlank = (code: number): boolean => code === 0x20 || code === 0x09;
export const withoutCr = (text: string): string => (text.endsWith("\r") ? text.slice(0, -1) : text);
const octal = (code: number): string => "\\" + code.toString(8).padStart(3, "0");
const isOctalDigit = (code: number | undefined): boolean => code !== undefined && code >= 0x30 && code <= 0x37;

export function trimBlanksEnd(text: string): string {
    let end = text.length;
    while (end > 0 && isBlank(text.charCodeAt(end - 1))) end--;
    return text.slice(0, end);
}

export function firstNonBlank(text: string): number {
    let i = 0;
    while (i < text.length && isBlank(text.charCodeAt(i))) i++;
    return i;
}

/** The words of a line, split on runs of spaces and tabs (one pass). */
export function splitFields(text: string): string[] {
    const fields: string[] = [];
    let i = 0;
    while (i < text.length) {
        while (i < text.length && isBlank(text.charCodeAt(i))) i++;
        const start = i;
        while (i < text.length && !isBlank(text.charCodeAt(i))) i++;
        if (i > start) fields.push(text.slice(start, i));
    }
    return fields;
}

/** fstab(5) escapes: the characters that would end or break a field, and the escape character itself. */
export function escapeField(value: string): string {
    return value.replace(/[ \t\n\\]/g, (c) => octal(c.charCodeAt(0)));
}

/**
 * libmount's unmangle: `\` followed by exactly three octal digits is one byte; anything else is
 * literal. A byte loop rather than a regex callback per escape: an adopted line's bytes come back
 * from a marker that may hold a million escapes.
 */
export function unmangle(bytes: string): string {
    if (!bytes.includes("\\")) return bytes;
    const input = Buffer.from(bytes, "latin1");
    const out = Buffer.alloc(input.length);
    let n = 0;
    for (let i = 0; i < input.length; i++) {
        if (input[i] === 0x5c && isOctalDigit(input[i + 1]) && isOctalDigit(input[i + 2]) && isOctalDigit(input[i + 3])) {
            out[n++] = (((input[i + 1] - 0x30) << 6) | ((input[i + 2] - 0x30) << 3) | (input[i + 3] - 0x30)) & 0xff;
            i += 3;
        } else {
            out[n++] = input[i];
        }
    }
    return out.toString("latin1", 0, n);
}

export function unescapeField(bytes: string): string {
    return fromBytes(unmangle(bytes));
}

/** A line's bytes as printable ASCII for a comment: `\ooo` for '\', control and non-ASCII bytes, and trailing blanks (editors trim those). */
export function escapeBytes(bytes: string): string {
    const kept = trimBlanksEnd(bytes).length;
    const input = Buffer.from(bytes, "latin1");
    const out = Buffer.alloc(input.length * 4);
    let n = 0;
    for (let i = 0; i < input.length; i++) {
        const c = input[i];
        if (c === 0x5c || c < 0x20 || c > 0x7e || i >= kept) {
            out[n++] = 0x5c;
            out[n++] = 0x30 + (c >> 6);
            out[n++] = 0x30 + ((c >> 3) & 7);
            out[n++] = 0x30 + (c & 7);
        } else {
            out[n++] = c;
        }
    }
    return out.toString("latin1", 0, n);
}
