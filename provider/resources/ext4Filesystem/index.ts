/**
 * Ext4Filesystem: ext4 on a block device (usually a ZfsVolume's devicePath).
 * Formats only a blank device; adopts matching ext4; refuses anything else unless `force`.
 * Label and reserved blocks change in place; a grown device grows the filesystem (online if mounted).
 */
import type { z } from "zod";
import type { ResourceDefinition } from "../../adapter";
import { filesystemBytes, labelOf, observeScript, parseObserved, reservedPercent, type Ext4Observed } from "./facts";
import { GROW_SLACK_BYTES, planDeleteExt4, planExt4 } from "./plan";
import { ext4FilesystemOutputsSchema, ext4FilesystemSchema, type Ext4Desired, type Ext4Outputs } from "./schema";

export { ext4FilesystemOutputsSchema, ext4FilesystemSchema } from "./schema";
export type { Ext4Desired, Ext4Outputs } from "./schema";
export { filesystemBytes, observeScript, parseObserved, parseSuperblock, reservedPercent } from "./facts";
export type { Ext4Observed } from "./facts";
export { planDeleteExt4, planExt4 } from "./plan";

export const ext4Filesystem: ResourceDefinition<Ext4Desired, Ext4Observed, Ext4Outputs> = {
    kind: "Ext4Filesystem",
    outputsSchema: ext4FilesystemOutputsSchema,
    documentation: {
        summary: "ext4 on a block device (usually a ZfsVolume). Formats only a blank device, adopts matching ext4, grows with its device (online when mounted); label and reserved blocks change in place.",
        guardedBy: {
            force: "formatting a device that already holds another filesystem or a partition table (its data is lost)",
            wipeOnDelete: "wiping the filesystem signature on delete (by default the data is left in place), and never a filesystem with another UUID",
        },
    },
    schema: ext4FilesystemSchema as unknown as z.ZodType<Ext4Desired, z.ZodTypeDef, unknown>,
    replaceProperties: ["device", "uuid"],
    // Same device, new filesystem: the old one must be gone (and wiped, if asked) before the new is made,
    // or deleting the old would wipe the new.
    deleteBeforeReplace: true,
    computedWhenUnset: ["uuid", "label"],
    // A program that starts choosing UUIDs must not reformat (replace) a filesystem made without one.
    onlyAtCreation: ["uuid"],
    id: (d) => d.device,
    observation: (desired) => ({ script: observeScript(desired.device), step: `read filesystem on ${desired.device}`, parse: parseObserved }),
    plan: planExt4,
    planDelete: planDeleteExt4,
    outputs: (_desired, observed) => ({
        uuid: observed.signature.UUID ?? "",
        label: labelOf(observed),
        sizeBytes: filesystemBytes(observed),
        blockSize: Number(observed.superblock["Block size"] ?? 0),
        deviceBytes: observed.deviceBytes,
    }),
    reflect(desired, observed) {
        if (!observed.devicePresent || observed.signature.TYPE !== "ext4") return undefined;
        return {
            ...desired,
            label: desired.label === undefined ? undefined : labelOf(observed),
            uuid: desired.uuid === undefined ? undefined : observed.signature.UUID,
            // A filesystem smaller than its device shows as drift, so the next up grows it.
            deviceSizeBytes:
                desired.deviceSizeBytes !== undefined && observed.deviceBytes - filesystemBytes(observed) >= GROW_SLACK_BYTES ? filesystemBytes(observed) : desired.deviceSizeBytes,
            reservedBlocksPercent: Math.abs(reservedPercent(observed) - desired.reservedBlocksPercent) < 0.1 ? desired.reservedBlocksPercent : reservedPercent(observed),
        };
    },
};
