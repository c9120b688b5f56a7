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
import { inFlight } from "./host/privateDir";
import type { Plan } from "./plan";
import { planScript } from "./plan";
import { engineLog } from "./engineLog";
import { containsUnknown, pathIsUnknown } from "./unknown";
import { INPUT_KEYS, inputDefaults, inputNames, unknownInputs } from "./inputs";
import { NotAppliedError, RemoteCommandError, ConnectionError } from "./host/errors";
import type { Shell } from "./host/quote";
import { withReadBack } from "./readBack";

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
    /**
     * Properties unknown at preview only when what they come from is being made anew (a filesystem's UUID
     * when the filesystem is replaced): then what exists must be taken down first, so it is a replacement.
     */
    replaceWhenUnknown?: ReadonlyArray<keyof Desired & string>;
    /** The outputs it returns besides its inputs, each with a description: the classes, schema.json and the docs derive from it. */
    outputsSchema: z.AnyZodObject;
    /** For the generated docs: what it is, and what it never does unless a flag says so (flag → what). */
    documentation: { summary: string; guardedBy: Record<string, string> };
    /** Delete the old one first: the new one would collide with it (same name, same device). */
    deleteBeforeReplace: boolean;
    /** The value a property is compared by (e.g. sizes as bytes), so equal values never show as a change. */
    comparable?(desired: Desired): Partial<Record<keyof Desired & string, unknown>>;
    /**
     * Inputs that are also outputs computed by the host when the input is unset (an ext4 UUID):
     * leaving them unset is never a change, whatever the host chose.
     */
    computedWhenUnset?: ReadonlyArray<keyof Desired & string>;
    /**
     * Outputs the public class computes from other inputs and passes in as inputs (a zvol's device path,
     * its size in bytes): the engine hands inputs back as outputs during preview, so these stay known.
     * Accepted by check, never compared by diff.
     */
    previewOutputs?: Readonly<Record<string, (desired: Desired) => unknown>>;
    /**
     * Inputs used only when the thing is first made (the UUID a filesystem is formatted with): set later
     * on a resource made without it, it is ignored with a note, and what exists is kept.
     */
    onlyAtCreation?: ReadonlyArray<keyof Desired & string>;
    /** What a preview must say about this change (restarts, data left behind); pure, no host. */
    diffWarnings?(olds: Desired, news: Desired): string[];
    /** Rules about going from the old inputs to the new ones (e.g. shrinking is refused). */
    checkTransition?(olds: Desired, news: Desired): Failure[];
    /** The resource's ID on its host. */
    id(desired: Desired): string;
    /** How to read the whole observed state in one round trip: a script and a pure parser of its output. */
    observation(desired: Desired): Observation<Observed>;
    /**
     * The read that follows an apply in its round trip, when it can use the read before the apply
     * (facts that only a restart changes need not be asked again of the same process). Default: observation.
     */
    readBack?(desired: Desired, before: Observed): Observation<Observed>;
    /** Pure: what to run to get from observed to desired. Throws RefusedError when it must not. */
    plan(desired: Desired, observed: Observed, previous?: Desired): Plan;
    /** Outputs from what is really there after applying. */
    outputs(desired: Desired, observed: Observed): Outputs;
    /** The inputs that describe what is really there (for refresh), or undefined when it is gone. */
    reflect(desired: Desired, observed: Observed): Desired | undefined;
    /** Pure: what to run to delete it. */
    planDelete(desired: Desired, observed: Observed): Plan;
}

export interface Observation<Observed> {
    script: Shell;
    /** Human name of the read, for errors ("read volume tank/docker"). */
    step: string;
    /** When the read may wait longer than a read's default (a Docker still starting). */
    timeoutSeconds?: number;
    parse(stdout: string): Observed;
}

/** One round trip: what is on the host now. */
export async function observe<D, O>(def: { observation(desired: D): Observation<O> }, host: Host, desired: D, dialAttempts?: number): Promise<O> {
    const observation = def.observation(desired);
    const result = await host.run(observation.script, { step: observation.step, mutating: false, timeoutSeconds: observation.timeoutSeconds, dialAttempts });
    return observation.parse(result.stdout);
}

/** Dials the best-effort read after a failed apply may make (see converge). */
const PARTIAL_READ_DIALS = 2;

/**
 * Runs a plan and reads the host back in the same round trip. A read that fails there is done again on
 * its own, for its error; a failed apply is read back on its own too, so a partial create is tracked.
 */
async function applyAndObserve<D extends { connection: Connection }, O>(
    def: { kind: string; id(d: D): string; observation(d: D): Observation<O>; readBack?(d: D, before: O): Observation<O> },
    host: Host,
    desired: D,
    before: O,
    plan: Plan,
    step: string,
): Promise<{ after: O }> {
    const observation = def.readBack?.(desired, before) ?? def.observation(desired);
    const apply = planScript(plan);
    const readBack = withReadBack(apply, observation.script);
    const { applied, read } = readBack.split((await host.run(readBack.script, { step, mutating: true, about: apply })).stdout);
    await logScriptWarnings(def.kind, def.id(desired), applied);
    return { after: read !== undefined ? observation.parse(read) : await observe(def, host, desired) };
}

/** Property path in the form the engine shows: `a.b[0]`. */
export function propertyPath(path: ReadonlyArray<string | number>): string {
    return path.reduce<string>((out, key) => (typeof key === "number" ? `${out}[${key}]` : out ? `${out}.${key}` : key), "");
}

export function checkInputs<D>(schema: z.ZodType<D, z.ZodTypeDef, unknown>, news: Record<string, unknown>, extraNames: readonly string[] = []): { desired?: D; failures: Failure[] } {
    const misspelled = unknownInputs(news, [...inputNames(schema), ...extraNames]);
    if (misspelled.length > 0) {
        return { failures: misspelled };
    }
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

/** "ZfsVolume tank/docker on root@10.0.0.5:22": who an error or a note is about. */
function subject<D extends { connection: Connection }>(def: { kind: string; id(d: D): string }, desired: D): string {
    return `${def.kind} ${def.id(desired)} on ${describeConnection(desired.connection)}`;
}

/** Errors found while reading, planning or parsing name the resource and the host (commands name the host already). */
async function naming<T, D extends { connection: Connection }>(def: { kind: string; id(d: D): string }, desired: D, work: () => Promise<T>): Promise<T> {
    try {
        return await work();
    } catch (error) {
        if (error instanceof Error && !(error as { named?: boolean }).named) {
            const who = error instanceof RemoteCommandError || error instanceof ConnectionError ? `${def.kind} ${def.id(desired)}` : subject(def, desired);
            error.message = `${who}: ${error.message}`;
            (error as { named?: boolean }).named = true;
        }
        throw error;
    }
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
    return { host, observed: await observe(def, host, desired) };
}

/** The input names the program set, as the engine passed them (undefined values are not set). */
function givenKeys(inputs: Record<string, unknown>, accepted: readonly string[]): string[] {
    return Object.keys(inputs).filter((k) => accepted.includes(k) && inputs[k] !== undefined && inputs[k] !== null);
}

async function converge<D extends { connection: Connection }, O, Out extends object>(def: ResourceDefinition<D, O, Out>, desired: D, previous?: D): Promise<Out & D> {
    // inFlight: a provider whose CLI was killed finishes this operation before it leaves.
    return inFlight(() => withHostLock(desired.connection, () =>
        naming(def, desired, async () => {
            const { host, observed } = await observeWith(def, desired);
            const plan = def.plan(desired, observed, previous);
            if (plan.actions.length === 0) {
                await engineLog("info", `${subject(def, desired)}: nothing to do: ${plan.noop ?? "already as wanted"}`);
                return { ...desired, ...def.outputs(desired, observed) };
            }
            for (const warning of plan.warnings ?? []) {
                await engineLog("warning", `${subject(def, desired)}: ${warning}`);
            }
            // Waiting for a device node, a large mkfs or a Docker restart can take minutes on a slow host:
            // say what is running, so the engine's log shows progress rather than silence.
            await engineLog("info", `${subject(def, desired)}: ${plan.actions.map((a) => a.description).join("; then ")}`);
            let after: O;
            try {
                ({ after } = await applyAndObserve(def, host, desired, observed, plan, `${def.kind} ${def.id(desired)}: ${plan.actions.map((a) => a.description).join("; ")}`));
            } catch (error) {
                // Whatever got done is read back, so the engine keeps track of it (a partial create). Two
                // dials at most: a host that lost power would otherwise hold the error back for the whole
                // dial budget (minutes), and the next run reads it anyway and adopts what the apply made.
                const found = await observe(def, host, desired, PARTIAL_READ_DIALS).catch(() => undefined);
                throw partial(def, desired, found, error as Error);
            }
            // Plan again from what is there now: anything left is a change the host did not take.
            let pending: string[];
            try {
                pending = def.plan(desired, after, previous ?? desired).actions.map((a) => a.description);
            } catch (error) {
                throw partial(def, desired, after, error as Error);
            }
            if (pending.length > 0) {
                throw partial(def, desired, after, new NotAppliedError(pending));
            }
            return { ...desired, ...def.outputs(desired, after) };
        }),
    ));
}

/** An error that still tells the engine what exists, so a half-done create is tracked, not lost. */
function partial<D extends { connection: Connection }, O, Out extends object>(def: ResourceDefinition<D, O, Out>, desired: D, after: O | undefined, error: Error): Error {
    const wrapped = error as Error & { id?: string; properties?: unknown; reasons?: string[] };
    if (after !== undefined && def.reflect(desired, after) !== undefined) {
        wrapped.id = def.id(desired);
        wrapped.properties = plain({ ...desired, ...def.outputs(desired, after) });
        wrapped.reasons = [wrapped.message];
    }
    return wrapped;
}

/** The implementation behind each provider method, looked up by resource kind at run time. */
export function makeProviderImplementation<D extends { connection: Connection }, O, Out extends object>(def: ResourceDefinition<D, O, Out>): pulumi.dynamic.ResourceProvider {
    const names = inputNames(def.schema);
    const derivedNames = Object.keys(def.previewOutputs ?? {});
    const defaults = inputDefaults(def.schema);
    const compare = (d: D) => ({ ...(d as Record<string, unknown>), ...(def.comparable?.(d) ?? {}) }) as Record<string, unknown>;
    /** Only input names, so outputs stored beside them in state never reach the schema. */
    const inputsOf = (props: Record<string, unknown>) => Object.fromEntries(names.filter((k) => k in props).map((k) => [k, props[k]]));
    const parseState = (props: Record<string, unknown>) => def.schema.parse(inputsOf(stripEngineKeys(props)));
    /** State and what the program gave: the desired values with defaults, and which keys the program set. */
    const stateOutputs = (outs: Out & D, raw: Record<string, unknown>) => {
        const keys = givenKeys(raw, [...names, ...derivedNames]);
        return plain({ ...outs, connection: raw.connection ?? outs.connection, [INPUT_KEYS]: keys });
    };
    /** State written before input keys were recorded: a key counts as set when it differs from its default. */
    const legacyKeys = (props: Record<string, unknown>) =>
        names.filter((k) => k in props && props[k] !== undefined && !(def.computedWhenUnset as readonly string[] | undefined)?.includes(k) && (!(k in defaults) || !sameValue(props[k], defaults[k])));

    /** onlyAtCreation keys the program sets now but did not when the resource was made. */
    const notHonoured = (olds: Record<string, unknown>, newInputs: Record<string, unknown>) => {
        const recorded = Array.isArray(olds[INPUT_KEYS]) ? (olds[INPUT_KEYS] as string[]) : legacyKeys(olds);
        return (def.onlyAtCreation ?? []).filter((k) => newInputs[k] !== undefined && !containsUnknown(newInputs[k]) && !recorded.includes(k));
    };

    return {
        async check(olds, news) {
            const inputs = stripEngineKeys(news);
            const previousInputs = olds ? stripEngineKeys(olds) : {};
            const { desired, failures } = checkInputs(def.schema, inputs, derivedNames);
            if (desired && def.checkTransition && Object.keys(previousInputs).length > 0) {
                const previous = def.schema.safeParse(inputsOf(previousInputs));
                if (previous.success) {
                    failures.push(...def.checkTransition(previous.data, desired));
                }
            }
            return { inputs: news, failures };
        },

        async diff(_id, olds, news) {
            const oldDesired = def.schema.safeParse(inputsOf(stripEngineKeys(olds)));
            if (!oldDesired.success) {
                return { changes: true, replaces: [], deleteBeforeReplace: def.deleteBeforeReplace };
            }
            const before = compare(oldDesired.data);
            const newInputs = inputsOf(stripEngineKeys(news));
            for (const key of notHonoured(olds, newInputs)) {
                await engineLog("info", `${def.kind} ${def.id(oldDesired.data)}: ${key} applies when it is first made; this one exists already and keeps its own (${JSON.stringify(before[key])})`);
                delete newInputs[key];
            }
            // Unknown values stand in as the old ones for parsing, so schema defaults still apply to the rest.
            const unknownKeys = Object.keys(newInputs).filter((k) => containsUnknown(newInputs[k]));
            const parsed = def.schema.safeParse({ ...newInputs, ...Object.fromEntries(unknownKeys.map((k) => [k, (oldDesired.data as Record<string, unknown>)[k]])) });
            const after = parsed.success ? compare(parsed.data) : newInputs;
            const keys = new Set([...Object.keys(before), ...Object.keys(newInputs)]);
            const changed: string[] = [];
            for (const key of keys) {
                if (key === "connection" || (newInputs[key] === undefined && (def.computedWhenUnset?.includes(key as keyof D & string) || def.onlyAtCreation?.includes(key as keyof D & string)))) {
                    continue;
                }
                if (containsUnknown(newInputs[key]) || !sameValue(before[key], after[key])) {
                    changed.push(key);
                }
            }
            const connectionChange = connectionDiff(oldDesired.data.connection, newInputs.connection);
            // An unknown value in a replace property is only known once what it comes from is made: it
            // may well change what exists, so it is shown as the replacement it can be.
            const replaces = changed.filter((k) => (def.replaceProperties as readonly string[]).includes(k) || (unknownKeys.includes(k) && (def.replaceWhenUnknown as readonly string[] | undefined)?.includes(k)));
            if (connectionChange === "machine") {
                replaces.push("connection");
            }
            const unknownReplaces = replaces.filter((k) => unknownKeys.includes(k));
            if (unknownReplaces.length > 0) {
                await engineLog("warning", `${def.kind} ${def.id(oldDesired.data)}: ${unknownReplaces.join(", ")} will only be known when the resources it comes from are made; shown as a replacement because it can change what exists`);
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
            const raw = stripEngineKeys(inputs);
            const desired = def.schema.parse(inputsOf(raw));
            const outs = await converge(def, desired);
            return { id: def.id(desired), outs: stateOutputs(outs, raw) };
        },

        async update(_id, olds, news) {
            const raw = stripEngineKeys(news);
            const previous = def.schema.safeParse(inputsOf(stripEngineKeys(olds)));
            const stored = (previous.success ? previous.data : {}) as Record<string, unknown>;
            // Kept as it is on the host (from state), and not recorded as set by the program.
            const kept = notHonoured(olds, raw);
            for (const key of kept) raw[key] = undefined;
            const desired = def.schema.parse({ ...inputsOf(raw), ...Object.fromEntries(kept.map((k) => [k, stored[k]])) });
            const outs = await converge(def, desired, previous.success ? previous.data : undefined);
            return { outs: stateOutputs(outs, raw) };
        },

        async read(id, props) {
            const stored = stripEngineKeys(props ?? {});
            const desired = parseState(stored);
            const observed = await inFlight(() => naming(def, desired, async () => (await observeWith(def, desired)).observed));
            const actual = def.reflect(desired, observed);
            if (actual === undefined) {
                return { id: undefined as unknown as string, props: {} };
            }
            // Inputs in the program's shape: only the keys it set, each as it wrote it unless the host differs.
            const keys = Array.isArray(stored[INPUT_KEYS]) ? (stored[INPUT_KEYS] as string[]) : legacyKeys(stored);
            const wanted = compare(desired);
            const found = compare(actual);
            const inputs: Record<string, unknown> = {};
            for (const key of keys) {
                const derive = def.previewOutputs?.[key];
                inputs[key] = derive ? derive(actual) : key === "connection" || sameValue(wanted[key], found[key]) ? stored[key] : (actual as Record<string, unknown>)[key];
            }
            for (const key of names) {
                // A default the program relies on, changed on the host, is drift too (up puts the default back).
                if (!keys.includes(key) && key in defaults && !sameValue(wanted[key], found[key])) {
                    inputs[key] = (actual as Record<string, unknown>)[key];
                }
            }
            const outs = { ...actual, ...def.outputs(actual, observed), connection: stored.connection, [INPUT_KEYS]: keys };
            return { id, props: plain(outs), inputs: plain(inputs) } as pulumi.dynamic.ReadResult;
        },

        async delete(_id, props) {
            const desired = parseState(props);
            await inFlight(() => withHostLock(desired.connection, () =>
                naming(def, desired, async () => {
                    const { host, observed } = await observeWith(def, desired);
                    const plan = def.planDelete(desired, observed);
                    if (plan.actions.length === 0) {
                        await engineLog("info", `${subject(def, desired)}: nothing to delete: ${plan.noop ?? "already gone"}`);
                        return;
                    }
                    await engineLog("info", `${subject(def, desired)}: ${plan.actions.map((a) => a.description).join("; then ")}`);
                    const { after } = await applyAndObserve(def, host, desired, observed, plan, `delete ${def.kind} ${def.id(desired)}`);
                    const pending = def.planDelete(desired, after).actions.map((a) => a.description);
                    if (pending.length > 0) {
                        throw new NotAppliedError(pending);
                    }
                }),
            ));
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
