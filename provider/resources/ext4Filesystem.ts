/**
 * Ext4Filesystem: ext4 on a block device (usually a ZfsVolume's devicePath).
 * Formats only a blank device; adopts matching ext4; refuses anything else unless `force`.
 * Label and reserved blocks change in place; a grown device grows the filesystem (online if mounted).
 */
import { z } from "zod";
import type { ResourceDefinition } from "../adapter";
import { connectionSchema } from "../connection";
import { ParseError, RefusedError } from "../host/errors";
import type { Host } from "../host/host";
import { sh, Shell } from "../host/quote";
import type { Plan } from "../plan";
import { noop } from "../plan";
import { parseKeyValues, requireSection, requireTools, section, splitSections } from "../sections";
import { formatSize } from "../units";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** mkfs.ext4 options we accept in extraOptions: ones that shape the filesystem, none that hide danger. */
const ALLOWED_EXTRA = /^-(E [a-z_]+(=[A-Za-z0-9_.,:=-]+)?(,[a-z_]+(=[A-Za-z0-9_.:-]+)?)*|O \^?[a-z_]+(,\^?[a-z_]+)*|[bCgGiINT] [A-Za-z0-9_.-]+|j|J [a-z]+=[A-Za-z0-9_.]+)$/;

export const ext4FilesystemSchema = z.object({
    connection: connectionSchema,
    device: z
        .string()
        .regex(/^\/dev\/[A-Za-z0-9_.:+@/-]+$/, "device must be an absolute /dev path such as /dev/zvol/tank/docker")
        .refine((d) => !d.split("/").includes(".."), "device must not contain '..'"),
    label: z
        .string()
        .max(16, "label must be at most 16 bytes (ext4 limit)")
        .regex(/^[A-Za-z0-9_.-]*$/, "label may contain letters, digits, '_', '.' and '-' only")
        .optional(),
    uuid: z.string().toLowerCase().regex(UUID, "uuid must look like 0a1b2c3d-0000-4000-8000-000000000000").optional(),
    reservedBlocksPercent: z.number().min(0).max(50, "reservedBlocksPercent must be from 0 to 50").default(5),
    extraOptions: z
        .array(z.string().regex(ALLOWED_EXTRA, "each extraOptions entry is one mkfs.ext4 option with its value, e.g. '-E lazy_itable_init=0' or '-O ^has_journal' or '-i 16384'"))
        .default([]),
    /**
     * The device's size, e.g. a ZfsVolume's sizeBytes: when it changes, the engine calls update and the
     * filesystem is grown to fill the device.
     */
    deviceSizeBytes: z.number().int().positive().optional(),
    force: z.boolean().default(false),
    wipeOnDelete: z.boolean().default(false),
});

export type Ext4Desired = z.infer<typeof ext4FilesystemSchema>;

export interface Ext4Observed {
    devicePresent: boolean;
    deviceBytes: number;
    /** blkid -p: TYPE, UUID, LABEL, PTTYPE; empty when the device is blank. */
    signature: Record<string, string>;
    /** dumpe2fs -h fields, when the device holds ext2/3/4. */
    superblock: Record<string, string>;
    mountpoints: string[];
}

export interface Ext4Outputs {
    uuid: string;
    label: string;
    sizeBytes: number;
    blockSize: number;
    deviceBytes: number;
}

export function observeScript(device: string): Shell {
    return sh`d=${device}
${requireTools(["blkid", "blockdev", "dumpe2fs", "findmnt"], "util-linux and e2fsprogs")}
${new Shell(section("device"))}
if [ -b "$d" ]; then real=$(readlink -f "$d"); echo present=1; echo bytes=$(blockdev --getsize64 "$real"); else echo present=0; fi
${new Shell(section("blkid"))}
# blkid exits 2 when the device holds no signature; anything else non-zero is a failure to read it.
sig=""; if [ -b "$d" ]; then rc=0; sig=$(blkid -p -o export "$d") || rc=$?; [ "$rc" = 0 ] || [ "$rc" = 2 ] || { echo "blkid could not read $d (exit $rc)" >&2; exit "$rc"; }; fi
[ -z "$sig" ] || printf '%s\n' "$sig"
${new Shell(section("superblock"))}
case "$sig" in *"TYPE=ext4"*) dumpe2fs -h "$d" 2>/dev/null || { echo "dumpe2fs could not read the ext4 superblock on $d" >&2; exit 74; } ;; esac
${new Shell(section("mounts"))}
[ -b "$d" ] && { findmnt -n -r -o TARGET -S "$(readlink -f "$d")" 2>/dev/null || true; }
:`;
}

/** `dumpe2fs -h` prints "Block count:              262144": key → value. */
export function parseSuperblock(text: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const m = /^([A-Za-z][A-Za-z0-9 #/_()-]*?):\s*(.*)$/.exec(line);
        if (m) out[m[1]] = m[2].trim();
    }
    return out;
}

export function parseObserved(raw: string): Ext4Observed {
    const sections = splitSections(raw);
    const device = parseKeyValues(requireSection(sections, "device", raw));
    const deviceBytes = Number(device.bytes ?? 0);
    if (device.present === "1" && !Number.isSafeInteger(deviceBytes)) {
        throw new ParseError("the device size", raw);
    }
    const mounts = requireSection(sections, "mounts", raw)
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean)
        // findmnt -r escapes spaces as \x20
        .map((l) => l.replace(/\\x([0-9a-f]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16))));
    const signature = parseKeyValues(requireSection(sections, "blkid", raw));
    const superblock = parseSuperblock(requireSection(sections, "superblock", raw));
    // Without these the filesystem would look 0 bytes and the plan would resize2fs/tune2fs on no facts.
    if (signature.TYPE === "ext4" && !(Number(superblock["Block count"]) > 0 && Number(superblock["Block size"]) > 0)) {
        throw new ParseError("the ext4 superblock (dumpe2fs -h gave no Block count or Block size)", raw);
    }
    return {
        devicePresent: device.present === "1",
        deviceBytes,
        signature,
        superblock,
        mountpoints: mounts,
    };
}

export function filesystemBytes(observed: Ext4Observed): number {
    return Number(observed.superblock["Block count"] ?? 0) * Number(observed.superblock["Block size"] ?? 0);
}

export function reservedPercent(observed: Ext4Observed): number {
    const blocks = Number(observed.superblock["Block count"] ?? 0);
    const reserved = Number(observed.superblock["Reserved block count"] ?? 0);
    // mkfs rounds the count down: compare at the precision a user writes it.
    return blocks > 0 ? Math.round((reserved / blocks) * 1000) / 10 : 0;
}

const labelOf = (o: Ext4Observed): string => {
    const name = o.superblock["Filesystem volume name"];
    return name === undefined || name === "<none>" ? "" : name;
};

function describeSignature(signature: Record<string, string>): string | undefined {
    if (signature.TYPE) return signature.TYPE;
    if (signature.PTTYPE) return `a ${signature.PTTYPE} partition table`;
    return undefined;
}

/** The filesystem can grow when the device is larger by at least one 4K block... and a bit of slack. */
const GROW_SLACK_BYTES = 1024 * 1024;

function mkfsCommand(desired: Ext4Desired): string[] {
    const argv = ["mkfs.ext4", "-q"];
    if (desired.force) argv.push("-F");
    if (desired.label) argv.push("-L", desired.label);
    if (desired.uuid) argv.push("-U", desired.uuid);
    argv.push("-m", String(desired.reservedBlocksPercent));
    for (const option of desired.extraOptions) {
        const space = option.indexOf(" ");
        argv.push(...(space < 0 ? [option] : [option.slice(0, space), option.slice(space + 1)]));
    }
    argv.push(desired.device);
    return argv;
}

export function planExt4(desired: Ext4Desired, observed: Ext4Observed, previous?: Ext4Desired): Plan {
    if (!observed.devicePresent) {
        throw new RefusedError(`${desired.device} is not a block device on the host: create it first (e.g. a ZfsVolume) or fix device`);
    }
    const found = describeSignature(observed.signature);
    const isExt4 = observed.signature.TYPE === "ext4";
    const creating = previous === undefined;
    const matches = isExt4 && (!desired.uuid || observed.signature.UUID === desired.uuid) && (!creating || !desired.label || labelOf(observed) === desired.label);

    if (found === undefined || (desired.force && creating && !matches)) {
        if (observed.mountpoints.length > 0) {
            throw new RefusedError(`${desired.device} is mounted at ${observed.mountpoints.join(", ")}: refusing to format a mounted device`);
        }
        return {
            actions: [{ description: `format ${desired.device} as ext4${found ? ` (replacing ${found}, force: true)` : ""}`, script: sh`${mkfsCommand(desired)}` }],
            warnings: found ? [`force: true: formatting ${desired.device}, which held ${found}; its data is destroyed`] : undefined,
        };
    }
    if (!isExt4) {
        throw new RefusedError(`${desired.device} already holds ${found}; refusing to format it. If its data may be destroyed, set force: true.`);
    }
    if (!matches) {
        const why = desired.uuid && observed.signature.UUID !== desired.uuid ? `UUID ${observed.signature.UUID} (wanted ${desired.uuid})` : `label "${labelOf(observed)}" (wanted "${desired.label}")`;
        throw new RefusedError(`${desired.device} already holds an ext4 filesystem with ${why}; refusing to format it. If its data may be destroyed, set force: true; to keep it, make the inputs match.`);
    }

    const actions: Plan["actions"] = [];
    if ((desired.label ?? "") !== labelOf(observed) && desired.label !== undefined) {
        actions.push({ description: `set label of ${desired.device} to "${desired.label}"`, script: sh`${["e2label", desired.device, desired.label]}` });
    }
    const fsBytes = filesystemBytes(observed);
    const grows = observed.deviceBytes - fsBytes >= GROW_SLACK_BYTES;
    if (grows) {
        const how = observed.mountpoints.length > 0 ? `online at ${observed.mountpoints[0]}` : "offline";
        actions.push({ description: `grow ext4 on ${desired.device} from ${formatSize(fsBytes)} to ${formatSize(observed.deviceBytes)} (${how})`, script: sh`${["resize2fs", desired.device]} 2>&1` });
    }
    // A grow gives the new block groups the kernel's whole-percent share of reserved blocks (5% became
    // 4.7% when 4G grew online to 6G): after one, the wanted share is set again.
    if (grows || Math.abs(reservedPercent(observed) - desired.reservedBlocksPercent) >= 0.1) {
        actions.push({ description: `set reserved blocks of ${desired.device} to ${desired.reservedBlocksPercent}%`, script: sh`${["tune2fs", "-m", String(desired.reservedBlocksPercent), desired.device]} >/dev/null` });
    }
    return actions.length === 0 ? noop(`${desired.device} already holds the wanted ext4 (${formatSize(fsBytes)})`) : { actions };
}

export function planDeleteExt4(desired: Ext4Desired, observed: Ext4Observed): Plan {
    if (!desired.wipeOnDelete) {
        return noop(`wipeOnDelete is false: the filesystem on ${desired.device} and its data are left in place`);
    }
    if (!observed.devicePresent || describeSignature(observed.signature) === undefined) {
        return noop(`${desired.device} holds no filesystem`);
    }
    // In stored state `uuid` is the filesystem we made or adopted: never wipe a different one.
    if (desired.uuid && observed.signature.UUID !== desired.uuid) {
        return noop(`${desired.device} now holds filesystem ${observed.signature.UUID ?? "?"}, not ours (${desired.uuid}): left alone`);
    }
    if (observed.mountpoints.length > 0) {
        throw new RefusedError(`${desired.device} is mounted at ${observed.mountpoints.join(", ")}: unmount it (delete the FstabEntry first) before wiping`);
    }
    return { actions: [{ description: `wipe filesystem signatures on ${desired.device}`, script: sh`${["wipefs", "-a", "-q", desired.device]}` }] };
}

export const ext4Filesystem: ResourceDefinition<Ext4Desired, Ext4Observed, Ext4Outputs> = {
    kind: "Ext4Filesystem",
    schema: ext4FilesystemSchema as unknown as z.ZodType<Ext4Desired, z.ZodTypeDef, unknown>,
    replaceProperties: ["device", "uuid"],
    // Same device, new filesystem: the old one must be gone (and wiped, if asked) before the new is made,
    // or deleting the old would wipe the new.
    deleteBeforeReplace: true,
    computedWhenUnset: ["uuid", "label"],
    // A program that starts choosing UUIDs must not reformat (replace) a filesystem made without one.
    onlyAtCreation: ["uuid"],
    id: (d) => d.device,
    async observe(host: Host, desired) {
        const result = await host.run(observeScript(desired.device), { step: `read filesystem on ${desired.device}`, mutating: false });
        return parseObserved(result.stdout);
    },
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
