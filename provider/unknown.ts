/** The engine's placeholder for values not known during preview. Treat it as "unknown", never as data. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function isUnknown(value: unknown): boolean {
    return value === UNKNOWN;
}

export function containsUnknown(value: unknown): boolean {
    if (isUnknown(value)) {
        return true;
    }
    if (Array.isArray(value)) {
        return value.some(containsUnknown);
    }
    if (value && typeof value === "object") {
        return Object.values(value).some(containsUnknown);
    }
    return false;
}

/** True when the value at `path` inside `root` is unknown or lies under an unknown value. */
export function pathIsUnknown(root: unknown, path: ReadonlyArray<string | number>): boolean {
    let current: unknown = root;
    for (const key of path) {
        if (isUnknown(current)) {
            return true;
        }
        if (current === null || typeof current !== "object") {
            return false;
        }
        current = (current as Record<string | number, unknown>)[key];
    }
    return containsUnknown(current);
}
