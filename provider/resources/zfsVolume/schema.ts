import { z } from "zod";
import { connectionSchema } from "../../connection";
import { zvolDevicePath } from "../../derive";
import { formatSize, parseSize } from "../../units";

/** Marks volumes we created, so an interrupted create can be adopted and a stranger's volume cannot. */
export const OWNER_PROPERTY = "pulumi-zfs-docker:managed";

const COMPONENT = /^[A-Za-z0-9_.:-]+$/;
// As libzfs's zpool_name_valid: names beginning with mirror, raidz, draid or spare, and "log" itself,
// are vdev keywords; "logs", "cache2" or "dedupe" are ordinary pool names.
const RESERVED_POOL_NAMES = /^(mirror|raidz|draid|spare)|^log$/;

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

/** A size as text or bytes; any other type is named as such (a bare union would say only "Invalid input"). */
const sizeOrBytes = (what: string, example: string) =>
    z.union([z.string(), z.number()], {
        errorMap: (_issue, ctx) => ({ message: ctx.data === undefined ? `${what} is required, e.g. ${example}` : `${what} must be a size such as ${example} or a number of bytes, got ${JSON.stringify(ctx.data)}` }),
    });

const sizeSchema = sizeOrBytes("size", '"64G"').superRefine((value, ctx) => {
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
        connection: connectionSchema.describe("How to reach the host over SSH (same shape as @pulumi/command's remote.ConnectionArgs, plus hostKey pinning and sudo), or { type: \"local\" }; stored as a secret."),
        name: zfsNameSchema.describe("The volume's ZFS name, pool/path such as tank/docker; changing it replaces the volume."),
        size: sizeSchema.describe("The volume's size (volsize), e.g. \"64G\", \"512M\" or a number of bytes, a multiple of volblocksize; growing is in place, shrinking is refused."),
        sparse: z.boolean().describe("Thin provisioning (`zfs create -s`): no space is reserved up front; changing it replaces the volume.").default(true),
        volblocksize: sizeOrBytes("volblocksize", '"16K"')
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
            })
            .describe("The volume's block size, a power of two from 512 to 1M, e.g. \"16K\" or bytes; fixed at creation, so changing it replaces the volume."),
        properties: propertiesSchema.describe("Other ZFS properties to set, e.g. { compression: \"lz4\" }; ones removed later are inherited again.").default({}),
        forceDestroy: z.boolean().describe("Destroy the volume on delete even when it holds a filesystem or snapshots; their data is lost.").default(false),
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

export const zfsVolumeOutputsSchema = z.object({
    devicePath: z.string().describe("The volume's block device, /dev/zvol/<pool>/<volume>."),
    sizeBytes: z.number().describe("The volume's size (volsize) on the host, in bytes."),
    guid: z.string().describe("The volume's ZFS guid, read from the host."),
    volblocksizeBytes: z.number().describe("The volume's block size (volblocksize) on the host, in bytes."),
    effectiveProperties: z.record(z.string(), z.string()).describe("The host's values of the properties named in the properties input."),
});

export type ZfsVolumeOutputs = z.infer<typeof zfsVolumeOutputsSchema>;

export const devicePath = zvolDevicePath;
