/**
 * ZfsVolume: a (sparse) zvol, e.g. `zfs create -s -V 64G tank/docker`.
 * Schema, one-round-trip observe, pure plan, outputs. Growing is in place; shrinking is refused.
 */
import type { z } from "zod";
import type { ResourceDefinition, Failure } from "../../adapter";
import { formatSize, parseSize } from "../../units";
import { bytesOf, isSparse, observeScript, parseObserved, type ZfsVolumeObserved } from "./facts";
import { planDeleteZfsVolume, planZfsVolume } from "./plan";
import { devicePath, zfsVolumeOutputsSchema, zfsVolumeSchema, type ZfsVolumeDesired, type ZfsVolumeOutputs } from "./schema";

export { devicePath, OWNER_PROPERTY, zfsNameSchema, zfsVolumeOutputsSchema, zfsVolumeSchema } from "./schema";
export type { ZfsVolumeDesired, ZfsVolumeOutputs } from "./schema";
export { observeScript, parseObserved, parseZfsGet } from "./facts";
export type { ZfsProperty, ZfsVolumeObserved } from "./facts";
export { planDeleteZfsVolume, planZfsVolume } from "./plan";

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
    outputsSchema: zfsVolumeOutputsSchema,
    documentation: {
        summary: "A ZFS volume (zvol), sparse by default: `zfs create -s -V <size> <pool/name>`. Growing is in place; shrinking is refused at preview.",
        guardedBy: {
            forceDestroy: "destroying a volume that holds a filesystem or snapshots (never `zfs destroy -R`); a volume not created by this package is never managed unless imported",
        },
    },
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
    observation: (desired) => ({ script: observeScript(desired.name), step: `read volume ${desired.name}`, parse: parseObserved }),
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
