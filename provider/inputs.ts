/**
 * What the program gave, as opposed to what the schema made of it: the names a resource accepts,
 * their defaults, misspellings caught with a suggestion, and the program's own keys kept in state so
 * refresh can hand back inputs in the program's shape.
 */
import { z } from "zod";

/** Output key in state listing the input names the program set (refresh returns only those). */
export const INPUT_KEYS = "_inputKeys";

/** The object schema inside refinements (`.superRefine` wraps it in ZodEffects). */
export function objectOf(schema: z.ZodTypeAny): z.AnyZodObject | undefined {
    let current: z.ZodTypeAny = schema;
    for (let depth = 0; depth < 10; depth++) {
        if (current instanceof z.ZodObject) return current;
        if (current instanceof z.ZodEffects) current = current.innerType();
        else if (current instanceof z.ZodOptional || current instanceof z.ZodNullable) current = current.unwrap();
        else if (current instanceof z.ZodDefault) current = current.removeDefault();
        else return undefined;
    }
    return undefined;
}

/** The input names a resource schema accepts. */
export function inputNames(schema: z.ZodTypeAny): string[] {
    const object = objectOf(schema);
    if (!object) throw new Error("a resource schema must be a zod object (optionally refined)");
    return Object.keys(object.shape);
}

/** The default of each input that has one (`sparse: true`, `force: false`, ...). */
export function inputDefaults(schema: z.ZodTypeAny): Record<string, unknown> {
    const object = objectOf(schema);
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(object?.shape ?? {})) {
        if (field instanceof z.ZodDefault) out[key] = field._def.defaultValue();
    }
    return out;
}

/** Edit distance, for "did you mean": names are short, so the quadratic table is fine. */
export function editDistance(a: string, b: string): number {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        let diagonal = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const above = row[j];
            row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
            diagonal = above;
        }
    }
    return row[b.length];
}

/** The closest valid name, when it is close enough to be a likely typo. */
export function closestName(name: string, valid: readonly string[]): string | undefined {
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const candidate of valid) {
        const distance = editDistance(name, candidate);
        if (distance < bestDistance) {
            best = candidate;
            bestDistance = distance;
        }
    }
    const containsOther = best !== undefined && (best.toLowerCase().includes(name.toLowerCase()) || name.toLowerCase().includes(best.toLowerCase()));
    return best !== undefined && (bestDistance <= Math.max(2, Math.floor(name.length / 3)) || containsOther) ? best : undefined;
}

export function unknownPropertyReason(name: string, valid: readonly string[]): string {
    const suggestion = closestName(name, valid);
    return `unknown property '${name}'${suggestion ? `; did you mean '${suggestion}'?` : `; valid properties are ${valid.join(", ")}`}`;
}

/** Keys of `inputs` that the resource does not accept; null/undefined values are ignored (the SDK sends output names so). */
export function unknownInputs(inputs: Record<string, unknown>, accepted: readonly string[]): { property: string; reason: string }[] {
    return Object.keys(inputs)
        .filter((key) => !accepted.includes(key) && inputs[key] !== undefined && inputs[key] !== null)
        .map((key) => ({ property: key, reason: unknownPropertyReason(key, accepted) }));
}
