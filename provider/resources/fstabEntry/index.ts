/**
 * FstabEntry: one /etc/fstab line (e.g. the zvol's ext4 at /var/lib/docker), mounted now as well.
 *
 * The new file is computed here (fstab.ts, pure) and sent whole; the host only checks that the file
 * is still the one we planned from, writes it atomically with a backup, and mounts. A line for the
 * mount point that we did not write is adopted only when it is already exactly what we want; the
 * marker above it keeps its bytes, and delete gives it back as it was (and leaves its mount).
 * For zvols the line is made boot-safe (nofail, ordered after zfs-volumes.target, a long device
 * timeout): a missing pool must not drop the machine into emergency mode.
 */
import type { z } from "zod";
import type { ResourceDefinition } from "../../adapter";
import type { FstabEntryObserved } from "./facts";
import { observeScript, parseObserved } from "./facts";
import { findEntries, parseFstab } from "./fstab";
import { mountAt, mountedCorrectly, optionsAsInputs, planDeleteFstabEntry, planFstabEntry } from "./plan";
import type { FstabEntryDesired, FstabEntryOutputs } from "./schema";
import { BACKUP_SUFFIX, DEFAULT_FSTAB, fstabEntryOutputsSchema, fstabEntrySchema } from "./schema";

export type { FstabEntryObserved, FstabFileState, MountInfo } from "./facts";
export { globEscape, observeScript, parseFindmnt, parseObserved, usersScript } from "./facts";
export * from "./fstab";
export { effectiveOptions, mountAt, mountIsOurs, optionsAsInputs, planDeleteFstabEntry, planFstabEntry, wantedFields, wantedLine } from "./plan";
export type { FstabEntryDesired, FstabEntryOutputs } from "./schema";
export { BACKUP_SUFFIX, DEFAULT_FSTAB, fstabEntryOutputsSchema, fstabEntrySchema, MOVED_SUFFIX, ZFS_VOLUMES_TARGET } from "./schema";
export { unescapeFindmnt } from "../../shared/findmnt";

export const fstabEntry: ResourceDefinition<FstabEntryDesired, FstabEntryObserved, FstabEntryOutputs> = {
    kind: "FstabEntry",
    outputsSchema: fstabEntryOutputsSchema,
    documentation: {
        summary:
            "One /etc/fstab line, mounted now as well. The new file is written atomically with a backup, only if it is still the one planned from; for zvols the line is made boot-safe (nofail, after zfs-volumes.target). A line it did not write is adopted only when it already matches, and delete gives it back as it was.",
        guardedBy: {
            allowNonEmptyMountPoint: "mounting over a directory that has files in it (they are hidden, not lost, while mounted)",
            moveAsideExisting: "moving the files, or a ZFS dataset, already at the mount point aside to <mountPoint>.pre-pulumi-zfs-docker-<time> (nothing is deleted)",
            stopUnits: "stopping the listed systemd units while the mount changes (started again afterwards if they were running)",
        },
    },
    schema: fstabEntrySchema as unknown as z.ZodType<FstabEntryDesired, z.ZodTypeDef, unknown>,
    replaceProperties: ["mountPoint", "fstabPath"],
    // spec is unknown at preview when the filesystem it names is being replaced: that filesystem must be
    // unmounted before its device can go, so the entry is taken down first and made again.
    replaceWhenUnknown: ["spec"],
    // The old line and mount must go before the new ones: both would claim the same device or directory.
    deleteBeforeReplace: true,
    diffWarnings(olds, news) {
        if (!news.mount || (olds.spec === news.spec && olds.fsType === news.fsType)) return [];
        const stops = news.stopUnits.length > 0 ? `; ${news.stopUnits.join(", ")} are stopped meanwhile` : "";
        return [`${news.mountPoint} will be unmounted and ${news.spec} mounted in its place${stops}`];
    },
    id: (d) => (d.fstabPath === DEFAULT_FSTAB ? d.mountPoint : `${d.fstabPath}:${d.mountPoint}`),
    observation: (desired) => ({ script: observeScript(desired), step: `read ${desired.fstabPath} and the mount at ${desired.mountPoint}`, parse: parseObserved }),
    plan: planFstabEntry,
    planDelete: planDeleteFstabEntry,
    outputs(desired, observed) {
        const entries = observed.file.state === "present" ? findEntries(parseFstab(observed.file.bytes), desired.mountPoint) : [];
        const entry = entries.find((e) => e.marked) ?? entries.pop();
        const mount = mountAt(observed, desired.mountPoint);
        // Read from the marker on the host, not carried in state: delete only gets the inputs, and
        // state from before these outputs existed needs no migration (a plain marker means ours).
        const adopted = entry?.marker?.kind === "adopted";
        return {
            line: entry?.text ?? "",
            mounted: mountedCorrectly(desired, observed),
            mountedSource: mount?.source ?? "",
            backupPath: desired.fstabPath + BACKUP_SUFFIX,
            adopted,
            originalLine: adopted ? (entry?.originalText ?? "") : "",
        };
    },
    reflect(desired, observed) {
        if (observed.file.state !== "present") return undefined;
        const entries = findEntries(parseFstab(observed.file.bytes), desired.mountPoint);
        const entry = entries.find((e) => e.marked) ?? entries[0];
        if (entry === undefined) return undefined;
        const fields = entry.fields;
        return {
            ...desired,
            spec: fields.spec,
            fsType: fields.fsType,
            ...optionsAsInputs(fields.options, desired),
            dump: fields.dump as 0 | 1,
            pass: fields.pass,
            // With mount: false we promise nothing about the mount, so its state is no drift.
            mount: desired.mount ? mountedCorrectly(desired, observed) : false,
        };
    },
};
