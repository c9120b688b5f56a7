/**
 * ZfsVolume: a (sparse) zvol, e.g. `zfs create -s -V 64G tank/docker`.
 * Schema, one-round-trip observe, pure plan, outputs. Growing is in place; shrinking is refused.
 */
import { z } from "zod";
import type { ResourceDefinition, Failure } from "../adapter";
import { connectionSchema } from "../connection";
import { ParseError, RefusedError } from "../host/errors";
import type { Host } from "../host/host";
import { sh, Shell } from "../host/quote";
import type { Plan } from "../plan";
import { noop } from "../plan";
import { parseKeyValues, readOrAbsent, requireSection, requireTools, section, splitSections } from "../sections";
import { zvolDevicePath } from "../derive";
import { formatSize, parseSize } from "../units";

/** Marks volumes we created, so an interrupted create can be adopted and a stranger's volume cannot. */
export const OWNER_PROPERTY = "pulumi-zfs-docker:managed";

const COMPONENT = /^[A-Za-z0-9_.:-]+$/;
const RESERVED_POOL_NAMES = /^(mirror|raidz\d?|draid\d?|spare|log|cache|special|dedup)/;

export const zfsNameSchema = z
    .string()
    .max(255, "name must be at most 255 characters (ZFS limit)")
    .superRefine((name, ctx) => {
        const parts = name.split("/");
        const problem =
            parts.length < 2
                ? `"${name}" names a pool, not a volume: write pool/volume, e.g. tank/docker`
                : parts.some((p) => p.length === 0)
                  ? `"${name}" has an empty component (a leading, trailing or doubled '/')`
                  : parts.some((p) => !COMPONENT.test(p))
                    ? `"${name}" has characters ZFS does not allow: use letters, digits and _ - : . only`
                    : !/^[A-Za-z]/.test(parts[0]) || RESERVED_POOL_NAMES.test(parts[0]) || /^c[0-9]/.test(parts[0])
                      ? `"${parts[0]}" is not a valid pool name: it must start with a letter and not be a vdev keyword`
                      : parts.some((p) => p === "." || p === "..")
                        ? `"${name}" has a '.' or '..' component`
                        : undefined;
        if (problem) {
            ctx.addIssue({ code: "custom", message: problem });
        }
    });

const sizeSchema = z.union([z.string(), z.number()]).superRefine((value, ctx) => {
    try {
        const bytes = parseSize(value);
        if (bytes < 2 ** 20) {
            ctx.addIssue({ code: "custom", message: `${value} is too small for a volume: use at least 1M` });
        }
    } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
    }
});

const MANAGED_BY_US = new Set(["volsize", "volblocksize", "refreservation", "reservation", OWNER_PROPERTY]);

const propertiesSchema = z.record(z.string(), z.string()).superRefine((props, ctx) => {
    for (const [key, value] of Object.entries(props)) {
        if (!/^[a-z][a-z0-9_.:-]*$/.test(key)) {
            ctx.addIssue({ code: "custom", path: [key], message: `"${key}" is not a ZFS property name` });
        } else if (MANAGED_BY_US.has(key)) {
            ctx.addIssue({ code: "custom", path: [key], message: `"${key}" is managed by this resource: use size, volblocksize or sparse instead` });
        }
        if (/[\n\t]/.test(value) || value.length === 0 || value.length > 8191) {
            ctx.addIssue({ code: "custom", path: [key], message: `the value of ${key} must be 1 to 8191 characters without tabs or newlines` });
        }
    }
});

export const zfsVolumeSchema = z
    .object({
        connection: connectionSchema,
        name: zfsNameSchema,
        size: sizeSchema,
        sparse: z.boolean().default(true),
        volblocksize: z
            .union([z.string(), z.number()])
            .optional()
            .superRefine((value, ctx) => {
                if (value === undefined) return;
                try {
                    const bytes = parseSize(value);
                    if (bytes < 512 || bytes > 2 ** 20 || (bytes & (bytes - 1)) !== 0) {
                        ctx.addIssue({ code: "custom", message: `volblocksize must be a power of two from 512 to 1M, got ${value}` });
                    }
                } catch (error) {
                    ctx.addIssue({ code: "custom", message: (error as Error).message });
                }
            }),
        properties: propertiesSchema.default({}),
        forceDestroy: z.boolean().default(false),
    })
    .superRefine((v, ctx) => {
        try {
            const size = parseSize(v.size);
            // OpenZFS 2.2 defaults to 16K blocks (2.1: 8K): a multiple of 16K suits both.
            const block = v.volblocksize === undefined ? 16384 : parseSize(v.volblocksize);
            if (size % block !== 0) {
                ctx.addIssue({ code: "custom", path: ["size"], message: `size ${v.size} is not a multiple of the volume block size (${formatSize(block)}): round it, e.g. to ${formatSize(Math.ceil(size / block) * block)}` });
            }
        } catch {
            // Reported by the field's own check.
        }
    });

export type ZfsVolumeDesired = z.infer<typeof zfsVolumeSchema>;

export interface ZfsProperty {
    value: string;
    source: string;
}

export interface ZfsVolumeObserved {
    poolExists: boolean;
    exists: boolean;
    /** Every property with its source, from `zfs get -H -p all`. */
    properties: Map<string, ZfsProperty>;
    /** Filesystem or partition-table signature on the device, from `blkid -p`. */
    signature?: string;
    snapshots: number;
    devicePresent: boolean;
}

export interface ZfsVolumeOutputs {
    devicePath: string;
    sizeBytes: number;
    guid: string;
    volblocksizeBytes: number;
    effectiveProperties: Record<string, string>;
}

export const devicePath = zvolDevicePath;

export function observeScript(name: string): Shell {
    const dev = devicePath(name);
    const pool = name.split("/")[0];
    return sh`n=${name}
${requireTools(["zpool", "zfs"], "OpenZFS (zfsutils-linux)")}
${new Shell(section("pool"))}
pools=$(${readOrAbsent(["zpool", "list", "-H", "-o", "name", pool], "no such pool", `pool ${pool}`)})
if [ -n "$pools" ]; then echo yes; else echo no; fi
${new Shell(section("props"))}
props=$(${readOrAbsent(["zfs", "get", "-H", "-p", "-o", "property,value,source", "all", name], "dataset does not exist", `the properties of ${name}`)})
[ -z "$props" ] || printf '%s\n' "$props"
${new Shell(section("device"))}
if [ -e ${dev} ]; then echo present=1; rc=0; blkid -p -o export ${dev} || rc=$?; [ "$rc" = 0 ] || [ "$rc" = 2 ] || { echo ${`blkid could not read ${dev} (exit`} "$rc)" >&2; exit "$rc"; }; else echo present=0; fi
${new Shell(section("snapshots"))}
if [ -n "$props" ]; then zfs list -H -t snapshot -o name -d 1 "$n" | wc -l; else echo 0; fi`;
}

/** Parses `zfs get -H -p -o property,value,source` lines. */
export function parseZfsGet(text: string): Map<string, ZfsProperty> {
    const props = new Map<string, ZfsProperty>();
    for (const line of text.split("\n")) {
        if (!line.trim()) continue;
        const cols = line.split("\t");
        if (cols.length < 3) {
            throw new ParseError("zfs get output (expected 3 tab-separated columns)", line);
        }
        // A user property's value may itself hold tabs: property is the first column, source the last.
        props.set(cols[0], { value: cols.slice(1, -1).join("\t"), source: cols[cols.length - 1] });
    }
    return props;
}

export function parseObserved(raw: string): ZfsVolumeObserved {
    const sections = splitSections(raw);
    const properties = parseZfsGet(requireSection(sections, "props", raw));
    const device = parseKeyValues(requireSection(sections, "device", raw));
    const snapshots = Number(requireSection(sections, "snapshots", raw).trim());
    if (!Number.isInteger(snapshots)) {
        throw new ParseError("the snapshot count", raw);
    }
    return {
        poolExists: requireSection(sections, "pool", raw).trim() === "yes",
        exists: properties.get("type")?.value === "volume",
        properties,
        signature: device.TYPE ?? (device.PTTYPE ? `${device.PTTYPE} partition table` : undefined),
        snapshots,
        devicePresent: device.present === "1",
    };
}

const bytesOf = (observed: ZfsVolumeObserved, property: string): number => Number(observed.properties.get(property)?.value ?? NaN);

/** Sparse means no refreservation; `-p` prints none as 0 (or '-' on some versions). */
function isSparse(observed: ZfsVolumeObserved): boolean {
    const value = observed.properties.get("refreservation")?.value ?? "0";
    return value === "0" || value === "none" || value === "-";
}

function waitForDevice(name: string): Shell {
    // udev creates the /dev/zvol link a moment after zfs returns (0.3-3 s measured): poll with a deadline.
    return sh`udevadm settle --timeout=60 2>/dev/null || true
i=0; while [ ! -e ${devicePath(name)} ]; do i=$((i+1)); if [ "$i" -gt 600 ]; then echo ${`device ${devicePath(name)} did not appear within 60 s`} >&2; exit 70; fi; sleep 0.1; done`;
}

export function planZfsVolume(desired: ZfsVolumeDesired, observed: ZfsVolumeObserved, previous?: ZfsVolumeDesired): Plan {
    const size = parseSize(desired.size);
    if (!observed.poolExists) {
        throw new RefusedError(`pool "${desired.name.split("/")[0]}" does not exist on the host: create it first (zpool create), or fix the name`);
    }
    if (!observed.exists) {
        if (observed.properties.size > 0) {
            throw new RefusedError(`${desired.name} exists but is a ${observed.properties.get("type")?.value}, not a volume: choose another name`);
        }
        const options: string[] = ["-o", `${OWNER_PROPERTY}=true`];
        if (desired.volblocksize !== undefined) options.push("-o", `volblocksize=${parseSize(desired.volblocksize)}`);
        for (const [key, value] of Object.entries(desired.properties)) options.push("-o", `${key}=${value}`);
        const create = ["zfs", "create", "-p", ...(desired.sparse ? ["-s"] : []), "-V", String(size), ...options, desired.name];
        return {
            actions: [{ description: `create ${desired.sparse ? "sparse " : ""}volume ${desired.name} of ${formatSize(size)}`, script: sh`${create}\n${waitForDevice(desired.name)}` }],
        };
    }

    const mark = observed.properties.get(OWNER_PROPERTY);
    // Only a mark set on this volume counts: one inherited from a parent would adopt a stranger's volume.
    const owned = mark?.value === "true" && ["local", "received"].includes(mark.source);
    if (!owned && previous === undefined) {
        throw new RefusedError(
            `volume ${desired.name} already exists and was not created by pulumi-zfs-docker: to manage it, adopt it with ` +
                `the resource option \`import: "${desired.name}"\` (pulumi import), or choose another name`,
        );
    }
    const actions: Plan["actions"] = [];
    const currentSize = bytesOf(observed, "volsize");
    if (currentSize > size) {
        throw new RefusedError(`${desired.name} is ${formatSize(currentSize)} on the host; shrinking it to ${formatSize(size)} would cut the filesystem on it. Keep size at ${formatSize(currentSize)} or more.`);
    }
    if (desired.volblocksize !== undefined && bytesOf(observed, "volblocksize") !== parseSize(desired.volblocksize)) {
        throw new RefusedError(`${desired.name} has volblocksize ${formatSize(bytesOf(observed, "volblocksize"))} on the host; it can only be set at creation: replace the volume (change its name) or set volblocksize to match`);
    }
    if (desired.sparse !== isSparse(observed)) {
        throw new RefusedError(`${desired.name} is ${isSparse(observed) ? "" : "not "}sparse on the host; that is fixed at creation: set sparse to ${isSparse(observed)} or replace the volume`);
    }
    if (!owned) {
        actions.push({ description: `mark ${desired.name} as managed`, script: sh`${["zfs", "set", `${OWNER_PROPERTY}=true`, desired.name]}` });
    }
    if (currentSize < size) {
        actions.push({ description: `grow ${desired.name} from ${formatSize(currentSize)} to ${formatSize(size)}`, script: sh`${["zfs", "set", `volsize=${size}`, desired.name]}` });
    }
    for (const [key, value] of Object.entries(desired.properties)) {
        const current = observed.properties.get(key);
        if (!current || current.value !== value || !["local", "received"].includes(current.source)) {
            actions.push({ description: `set ${key}=${value} on ${desired.name}`, script: sh`${["zfs", "set", `${key}=${value}`, desired.name]}` });
        }
    }
    for (const key of Object.keys(previous?.properties ?? {})) {
        if (!(key in desired.properties) && observed.properties.get(key)?.source === "local") {
            actions.push({ description: `inherit ${key} on ${desired.name} (no longer set)`, script: sh`${["zfs", "inherit", key, desired.name]}` });
        }
    }
    if (actions.length === 0) {
        return observed.devicePresent ? noop(`${desired.name} is already ${formatSize(size)} with the wanted properties`) : { actions: [{ description: `wait for ${devicePath(desired.name)}`, script: waitForDevice(desired.name) }] };
    }
    return { actions };
}

export function planDeleteZfsVolume(desired: ZfsVolumeDesired, observed: ZfsVolumeObserved): Plan {
    if (!observed.exists) {
        return noop(`${desired.name} is already gone`);
    }
    if (!desired.forceDestroy) {
        const holds = [observed.signature && `a ${observed.signature} signature`, observed.snapshots > 0 && `${observed.snapshots} snapshot(s)`].filter(Boolean);
        if (holds.length > 0) {
            throw new RefusedError(`refusing to destroy ${desired.name}: it holds ${holds.join(" and ")}. Set forceDestroy: true to destroy it with its data, or remove the resource from the stack with \`pulumi state delete\` to keep the volume.`);
        }
    }
    // -r removes this volume's own snapshots only; never -R, which would also destroy clones elsewhere.
    const destroy = ["zfs", "destroy", ...(observed.snapshots > 0 ? ["-r"] : []), desired.name];
    const busy = `${desired.name} is busy: unmount the filesystem on it (FstabEntry) and stop what uses it, then retry`;
    // zfs's error is kept in a variable: a fixed name under /tmp could be a symlink planted for root to follow.
    return { actions: [{ description: `destroy ${desired.name}`, script: sh`err=$(${destroy} 2>&1 >/dev/null) || { e=$?; case "$err" in *busy*) echo ${busy} >&2;; esac; printf '%s\n' "$err" >&2; exit $e; }` }] };
}

function effectiveProperties(desired: ZfsVolumeDesired, observed: ZfsVolumeObserved): Record<string, string> {
    const out: Record<string, string> = {};
    for (const key of Object.keys(desired.properties)) {
        const p = observed.properties.get(key);
        if (p) out[key] = p.value;
    }
    return out;
}

export const zfsVolume: ResourceDefinition<ZfsVolumeDesired, ZfsVolumeObserved, ZfsVolumeOutputs> = {
    kind: "ZfsVolume",
    schema: zfsVolumeSchema as unknown as z.ZodType<ZfsVolumeDesired, z.ZodTypeDef, unknown>,
    replaceProperties: ["name", "volblocksize", "sparse"],
    // The class computes these from the inputs (resources.ts) so a preview knows them; refresh does the same.
    previewOutputs: { devicePath: (d) => devicePath(d.name), sizeBytes: (d) => parseSize(d.size) },
    deleteBeforeReplace: true,
    comparable: (d) => ({ size: parseSize(d.size), volblocksize: d.volblocksize === undefined ? undefined : parseSize(d.volblocksize) }),
    checkTransition(olds, news): Failure[] {
        if (olds.name === news.name && parseSize(news.size) < parseSize(olds.size)) {
            return [{ property: "size", reason: `shrinking ${news.name} from ${formatSize(parseSize(olds.size))} to ${formatSize(parseSize(news.size))} would cut the filesystem on it: keep size at ${formatSize(parseSize(olds.size))} or more` }];
        }
        return [];
    },
    id: (d) => d.name,
    async observe(host: Host, desired) {
        const result = await host.run(observeScript(desired.name), { step: `read volume ${desired.name}`, mutating: false });
        return parseObserved(result.stdout);
    },
    plan: planZfsVolume,
    planDelete: planDeleteZfsVolume,
    outputs: (desired, observed) => ({
        devicePath: devicePath(desired.name),
        sizeBytes: bytesOf(observed, "volsize"),
        guid: observed.properties.get("guid")?.value ?? "",
        volblocksizeBytes: bytesOf(observed, "volblocksize"),
        effectiveProperties: effectiveProperties(desired, observed),
    }),
    reflect(desired, observed) {
        if (!observed.exists) return undefined;
        const size = bytesOf(observed, "volsize");
        const properties: Record<string, string> = {};
        for (const [key, value] of Object.entries(desired.properties)) {
            const p = observed.properties.get(key);
            // A property set by hand elsewhere, or inherited now, shows as drift.
            properties[key] = p && ["local", "received"].includes(p.source) ? p.value : `${p?.value ?? "-"} (inherited)`;
            if (p && ["local", "received"].includes(p.source) && p.value === value) properties[key] = value;
        }
        return {
            ...desired,
            size: size === parseSize(desired.size) ? desired.size : formatSize(size),
            sparse: isSparse(observed),
            volblocksize: desired.volblocksize !== undefined && bytesOf(observed, "volblocksize") === parseSize(desired.volblocksize) ? desired.volblocksize : desired.volblocksize === undefined ? undefined : formatSize(bytesOf(observed, "volblocksize")),
            properties,
        };
    },
};
