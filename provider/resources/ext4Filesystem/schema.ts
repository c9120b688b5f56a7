import { z } from "zod";
import { connectionSchema } from "../../connection";

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

export const ext4FilesystemOutputsSchema = z.object({
    uuid: z.string().describe("The filesystem's UUID, as blkid reads it from the device."),
    label: z.string().describe("The filesystem's volume label; empty when it has none."),
    sizeBytes: z.number().describe("The filesystem's size in bytes (block count × block size)."),
    blockSize: z.number().describe("The filesystem's block size in bytes."),
    deviceBytes: z.number().describe("The block device's size in bytes, which the filesystem may not yet fill."),
});

export type Ext4Outputs = z.infer<typeof ext4FilesystemOutputsSchema>;
