/**
 * One generic bridge from a resource definition (schema, observe, plan, apply) to Pulumi's
 * dynamic ResourceProvider. Resources only describe themselves; this file decides nothing about them.
 */
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { Connection } from "./connection";
import { connectionSchema, describeConnection } from "./connection";
import type { Host } from "./host/host";
import { hostFor, withHostLock } from "./host/pool";
import type { Plan } from "./plan";
import { planScript } from "./plan";
import { engineLog } from "./engineLog";
import { containsUnknown, pathIsUnknown } from "./unknown";

export interface Failure {
    property: string;
    reason: string;
}

export interface ResourceDefinition<Desired extends { connection: Connection }, Observed, Outputs extends object> {
    /** The type name in `pulumi-zfs-docker:index:<kind>`. */
    kind: string;
    schema: z.ZodType<Desired, z.ZodTypeDef, unknown>;
    /** Properties whose change needs a new resource. */
    replaceProperties: ReadonlyArray<keyof Desired & string>;
    /** Delete the old one first: the new one would collide with it (same name, same device). */
    deleteBeforeReplace: boolean;
    /** The value a property is compared by (e.g. sizes as bytes), so equal values never show as a change. */
    comparable?(desired: Desired): Partial<Record<keyof Desired & string, unknown>>;
    /**
     * Inputs that are also outputs computed by the host when the input is unset (an ext4 UUID):
     * leaving them unset is never a change, whatever the host chose.
     */
    computedWhenUnset?: ReadonlyArray<keyof Desired & string>;
    /** What a preview must say about this change (restarts, data left behind); pure, no host. */
    diffWarnings?(olds: Desired, news: Desired): string[];
    /** Rules about going from the old inputs to the new ones (e.g. shrinking is refused). */
    checkTransition?(olds: Desired, news: Desired): Failure[];
    /** The resource's ID on its host. */
    id(desired: Desired): string;
    /** The whole observed state in one round trip. */
    observe(host: Host, desired: Desired): Promise<Observed>;
    /** Pure: what to run to get from observed to desired. Throws RefusedError when it must not. */
    plan(desired: Desired, observed: Observed, previous?: Desired): Plan;
    /** Outputs from what is really there after applying. */
    outputs(desired: Desired, observed: Observed): Outputs;
    /** The inputs that describe what is really there (for refresh), or undefined when it is gone. */
    reflect(desired: Desired, observed: Observed): Desired | undefined;
    /** Pure: what to run to delete it. */
    planDelete(desired: Desired, observed: Observed): Plan;
}

/** Property path in the form the engine shows: `a.b[0]`. */
export function propertyPath(path: ReadonlyArray<string | number>): string {
    return path.reduce<string>((out, key) => (typeof key === "number" ? `${out}[${key}]` : out ? `${out}.${key}` : key), "");
}

export function checkInputs<D>(schema: z.ZodType<D, z.ZodTypeDef, unknown>, news: Record<string, unknown>): { desired?: D; failures: Failure[] } {
    const parsed = schema.safeParse(news);
    if (parsed.success) {
        return { desired: parsed.data, failures: [] };
    }
    // During preview, values computed by other resources are unknown: they are checked once known.
    const failures = parsed.error.issues
        .filter((issue) => !pathIsUnknown(news, issue.path))
        .map((issue) => ({ property: propertyPath(issue.path) || "(inputs)", reason: issue.message }));
    return { failures };
}

function stripEngineKeys(props: Record<string, unknown>): Record<string, unknown> {
    const { __provider, ...rest } = props;
    void __provider;
    return rest;
}

/** What the engine's protobuf Struct can carry: no undefined, no Buffers or class instances. */
function plain<T>(value: T): T {
    return JSON.parse(JSON.stringify(value)) as T;
}

function sameValue(a: unknown, b: unknown): boolean {
    return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** Scripts report what the user must hear, found only while running, as `pzd-warning: ...` lines. */
async function logScriptWarnings(kind: string, id: string, stdout: string): Promise<void> {
    for (const line of stdout.split("\n")) {
        if (line.startsWith("pzd-warning: ")) {
            await engineLog("warning", `${kind} ${id}: ${line.slice("pzd-warning: ".length)}`);
        }
    }
}

/** Planned (desired, observed) pair after reading the host. */
async function observeWith<D extends { connection: Connection }, O, Out extends object>(def: ResourceDefinition<D, O, Out>, desired: D) {
    const host = hostFor(desired.connection);
    return { host, observed: await def.observe(host, desired) };
}

async function converge<D extends { connection: Connection }, O, Out extends object>(def: ResourceDefinition<D, O, Out>, desired: D, previous?: D): Promise<Out & D> {
    return withHostLock(desired.connection, async () => {
        const { host, observed } = await observeWith(def, desired);
        const plan = def.plan(desired, observed, previous);
        if (plan.actions.length === 0) {
            return { ...desired, ...def.outputs(desired, observed) };
        }
        for (const warning of plan.warnings ?? []) {
            await engineLog("warning", `${def.kind} ${def.id(desired)} on ${describeConnection(desired.connection)}: ${warning}`);
        }
        let applied = "";
        try {
            applied = (await host.run(planScript(plan), { step: `${def.kind} ${def.id(desired)}: ${plan.actions.map((a) => a.description).join("; ")}`, mutating: true })).stdout;
        } catch (error) {
            // Whatever got done is read back, so the engine keeps track of it (a partial create).
            const after = await def.observe(host, desired).catch(() => undefined);
            const wrapped = error as Error & { id?: string; properties?: unknown; reasons?: string[] };
            if (after !== undefined && def.reflect(desired, after) !== undefined) {
                wrapped.id = def.id(desired);
                wrapped.properties = plain({ ...desired, ...def.outputs(desired, after) });
                wrapped.reasons = [wrapped.message];
            }
            throw wrapped;
        }
        await logScriptWarnings(def.kind, def.id(desired), applied);
        const after = await def.observe(host, desired);
        return { ...desired, ...def.outputs(desired, after) };
    });
}

/** The implementation behind each provider method, looked up by resource kind at run time. */
export function makeProviderImplementation<D extends { connection: Connection }, O, Out extends object>(def: ResourceDefinition<D, O, Out>): pulumi.dynamic.ResourceProvider {
    const compare = (d: D) => ({ ...(d as Record<string, unknown>), ...(def.comparable?.(d) ?? {}) }) as Record<string, unknown>;
    return {
        async check(olds, news) {
            const inputs = stripEngineKeys(news);
            const { desired, failures } = checkInputs(def.schema, inputs);
            if (desired && def.checkTransition && olds && Object.keys(stripEngineKeys(olds)).length > 0) {
                const previous = def.schema.safeParse(stripEngineKeys(olds));
                if (previous.success) {
                    failures.push(...def.checkTransition(previous.data, desired));
                }
            }
            return { inputs: news, failures };
        },

        async diff(_id, olds, news) {
            const oldDesired = def.schema.safeParse(stripEngineKeys(olds));
            if (!oldDesired.success) {
                return { changes: true, replaces: [], deleteBeforeReplace: def.deleteBeforeReplace };
            }
            const before = compare(oldDesired.data);
            const newInputs = stripEngineKeys(news);
            // Unknown values stand in as the old ones for parsing, so schema defaults still apply to the rest.
            const unknownKeys = Object.keys(newInputs).filter((k) => containsUnknown(newInputs[k]));
            const parsed = def.schema.safeParse({ ...newInputs, ...Object.fromEntries(unknownKeys.map((k) => [k, (oldDesired.data as Record<string, unknown>)[k]])) });
            const after = parsed.success ? compare(parsed.data) : newInputs;
            const keys = new Set([...Object.keys(before), ...Object.keys(newInputs)]);
            const changed: string[] = [];
            for (const key of keys) {
                if (key === "connection" || (newInputs[key] === undefined && def.computedWhenUnset?.includes(key as keyof D & string))) {
                    continue;
                }
                if (containsUnknown(newInputs[key]) || !sameValue(before[key], after[key])) {
                    changed.push(key);
                }
            }
            const connectionChange = connectionDiff(oldDesired.data.connection, newInputs.connection);
            const replaces = changed.filter((k) => (def.replaceProperties as readonly string[]).includes(k));
            if (connectionChange === "machine") {
                replaces.push("connection");
            }
            if (parsed.success && def.diffWarnings) {
                for (const warning of def.diffWarnings(oldDesired.data, parsed.data)) {
                    await engineLog("warning", `${def.kind} ${def.id(parsed.data)}: ${warning}`);
                }
            }
            return {
                changes: changed.length > 0 || connectionChange !== "none",
                replaces,
                stables: [],
                deleteBeforeReplace: def.deleteBeforeReplace,
            };
        },

        async create(inputs) {
            const desired = def.schema.parse(stripEngineKeys(inputs));
            const outs = await converge(def, desired);
            return { id: def.id(desired), outs: plain(outs) };
        },

        async update(_id, olds, news) {
            const desired = def.schema.parse(stripEngineKeys(news));
            const previous = def.schema.safeParse(stripEngineKeys(olds));
            const outs = await converge(def, desired, previous.success ? previous.data : undefined);
            return { outs: plain(outs) };
        },

        async read(id, props) {
            const desired = def.schema.parse(stripEngineKeys(props ?? {}));
            const { observed } = await observeWith(def, desired);
            const actual = def.reflect(desired, observed);
            if (actual === undefined) {
                return { id: undefined as unknown as string, props: {} };
            }
            const outs = { ...actual, ...def.outputs(actual, observed) };
            return { id, props: plain(outs), inputs: plain(actual) as unknown as Record<string, unknown> } as pulumi.dynamic.ReadResult;
        },

        async delete(_id, props) {
            const desired = def.schema.parse(stripEngineKeys(props));
            await withHostLock(desired.connection, async () => {
                const { host, observed } = await observeWith(def, desired);
                const plan = def.planDelete(desired, observed);
                if (plan.actions.length > 0) {
                    const result = await host.run(planScript(plan), { step: `delete ${def.kind} ${def.id(desired)}`, mutating: true });
                    await logScriptWarnings(def.kind, def.id(desired), result.stdout);
                }
            });
        },
    };
}

/** "machine": a different host (a new resource); "access": only how we log in changed. */
function connectionDiff(old: Connection, next: unknown): "none" | "access" | "machine" {
    if (containsUnknown(next)) {
        return "access";
    }
    const parsed = connectionSchema.safeParse(next);
    if (!parsed.success) {
        return "access";
    }
    const a = old;
    const b = parsed.data;
    if (a.type !== b.type || (a.type === "ssh" && b.type === "ssh" && (a.host !== b.host || a.port !== b.port))) {
        return "machine";
    }
    return sameValue(a, b) ? "none" : "access";
}
