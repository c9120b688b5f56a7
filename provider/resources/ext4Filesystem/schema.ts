import { z } from "zod";
import { connectionSchema } from "../../connection";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** mkfs.ext4 options we accept in extraOptions: ones that shape the filesystem, none that hide danger. */
const ALLOWED_EXTRA = /^-(E [a-z_]+(=[A-Za-z0-9_.,:=-]+)?(,[a-z_]+(=[A-Za-z0-9_.:-]+)?)*|O \^?[a-z_]+(,\^?[a-z_]+)*|[bCgGiINT] [A-Za-z0-9_.-]+|j|J [a-z]+=[A-Za-z0-9_.]+)$/;

export const ext4FilesystemSchema = z.object({
    connection: connectionSchema.describe("How to reach the host over SSH (same shape as @pulumi/command's remote.ConnectionArgs, plus hostKey pinning and sudo), or { type: \"local\" }; stored as a secret."),
    device: z
        .string()
        .regex(/^\/dev\/[A-Za-z0-9_.:+@/-]+$/, "device must be an absolute /dev path such as /dev/zvol/tank/docker")
        .refine((d) => !d.split("/").includes(".."), "device must not contain '..'")
        .describe("The block device to format, an absolute /dev path such as a ZfsVolume's devicePath; changing it replaces the filesystem."),
    label: z
        .string()
        .max(16, "label must be at most 16 bytes (ext4 limit)")
        .regex(/^[A-Za-z0-9_.-]*$/, "label may contain letters, digits, '_', '.' and '-' only")
        .describe("The filesystem's volume label, at most 16 letters, digits, '_', '.' or '-'; changed in place with e2label.")
        .optional(),
    uuid: z
        .string()
        .toLowerCase()
        .regex(UUID, "uuid must look like 0a1b2c3d-0000-4000-8000-000000000000")
        .describe("A fixed UUID for the filesystem, applied when it is made; changing it replaces the filesystem, while adding one to an existing filesystem keeps that filesystem's own UUID.")
        .optional(),
    reservedBlocksPercent: z
        .number()
        .min(0)
        .max(50, "reservedBlocksPercent must be from 0 to 50")
        .describe("The percentage of blocks reserved for root (mkfs.ext4 -m), from 0 to 50; changed in place with tune2fs.")
        .default(5),
    extraOptions: z
        .array(z.string().regex(ALLOWED_EXTRA, "each extraOptions entry is one mkfs.ext4 option with its value, e.g. '-E lazy_itable_init=0' or '-O ^has_journal' or '-i 16384'"))
        .describe("Extra mkfs.ext4 options, one option with its value per entry, e.g. \"-E lazy_itable_init=0\" or \"-i 16384\"; used only when the filesystem is made.")
        .default([]),
    /**
     * The device's size, e.g. a ZfsVolume's sizeBytes: when it changes, the engine calls update and the
     * filesystem is grown to fill the device.
     */
    deviceSizeBytes: z.number().int().positive().describe("The device's size in bytes, e.g. a ZfsVolume's sizeBytes: when it changes, the filesystem is grown to fill the device.").optional(),
    force: z.boolean().describe("Format the device even if it holds another filesystem or a partition table; its data is lost.").default(false),
    wipeOnDelete: z.boolean().describe("Wipe the filesystem signature on delete; otherwise the filesystem and its data are left in place.").default(false),
});

export type Ext4Desired = z.infer<typeof ext4FilesystemSchema>;

export const ext4FilesystemOutputsSchema = z.object({
    uuid: z.string().describe("The filesystem's UUID, as blkid reads it from the device."),
    label: z.string().describe("The filesystem's volume label; empty when it has none."),
    sizeBytes: z.number().describe("The filesystem's size in bytes (block count × block size)."),
    blockSize: z.number().describe("The filesystem's block size in bytes."),
    deviceBytes: z.number().describe("The block device's size in bytes, which the filesystem may not yet fill."),
});

export type Ext4Outputs = z.infer<typeof ext4FilesystemOutputsSchema>;
