/** Sizes as ZFS and humans write them, compared as integer bytes (never as strings). */
const UNITS: Record<string, number> = { "": 1, B: 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50 };

/** "64G", "512M", "1.5T", "4096" or 4096 → bytes. Binary units, as `zfs` uses them. */
export function parseSize(value: string | number): number {
    if (typeof value === "number") {
        if (!Number.isSafeInteger(value) || value <= 0) {
            throw new Error(`${value} is not a positive whole number of bytes`);
        }
        return value;
    }
    const match = /^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?)(?:i?B)?\s*$/i.exec(value);
    if (!match) {
        throw new Error(`"${value}" is not a size: write bytes (4096) or a number with K, M, G, T or P (64G)`);
    }
    const bytes = Number(match[1]) * UNITS[match[2].toUpperCase()];
    if (!Number.isSafeInteger(bytes) || bytes <= 0) {
        throw new Error(`"${value}" is not a whole, positive number of bytes`);
    }
    return bytes;
}

/** 2147483648 → "2G": the shortest exact form, for messages. */
export function formatSize(bytes: number): string {
    if (bytes === 0) {
        return "0";
    }
    for (const unit of ["P", "T", "G", "M", "K"]) {
        if (bytes % UNITS[unit] === 0) {
            return `${bytes / UNITS[unit]}${unit}`;
        }
    }
    return String(bytes);
}
