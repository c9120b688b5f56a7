/** FstabEntry's inputs and outputs, and the names and options it writes on the host. */
import { z } from "zod";
import { connectionSchema } from "../../connection";
import { absolutePath } from "../../shared/paths";

export const DEFAULT_FSTAB = "/etc/fstab";
export const BACKUP_SUFFIX = ".pulumi-zfs-docker.bak";
export const ZFS_VOLUMES_TARGET = "zfs-volumes.target";
export const MOVED_SUFFIX = ".pre-pulumi-zfs-docker-";
export const REQUIRES_OPTION = `x-systemd.requires=${ZFS_VOLUMES_TARGET}`;
export const TIMEOUT_PREFIX = "x-systemd.device-timeout=";
/** What requiredBy writes for each unit: systemd-fstab-generator turns them into Requires= and After= on the unit. */
export const REQUIRED_BY_PREFIX = "x-systemd.required-by=";
export const BEFORE_PREFIX = "x-systemd.before=";
/**
 * With x-systemd.required-by the generator drops the mount's own link from local-fs.target; this puts
 * it back, so the line still mounts at boot when nothing that requires it starts (as nofail alone does).
 */
export const WANTED_BY_LOCAL_FS = "x-systemd.wanted-by=local-fs.target";

// No leading '-': systemctl would read the name as an option.
const UNIT_TYPES = "(service|socket|mount|automount|target|timer|path|scope|slice|swap)";
const UNIT_NAME = new RegExp(`^[A-Za-z0-9:_.@\\\\][A-Za-z0-9:_.@\\\\-]*\\.${UNIT_TYPES}$`);
/** A unit name as an fstab option can carry it: fstab reads '\\' as the start of an octal escape. */
const FSTAB_UNIT_NAME = new RegExp(`^[A-Za-z0-9:_.@][A-Za-z0-9:_.@-]*\\.${UNIT_TYPES}$`);

const specSchema = z.string().superRefine((s, ctx) => {
    const ok = /^(UUID|PARTUUID)=[0-9A-Fa-f-]+$/.test(s) || /^LABEL=[^\0]+$/.test(s) || (/^\/[^\0]*[^/\0]$/.test(s) && !s.split("/").includes(".."));
    if (!ok) {
        ctx.addIssue({ code: "custom", message: `spec must be UUID=..., LABEL=..., PARTUUID=... or an absolute device path such as /dev/zvol/tank/docker, got ${JSON.stringify(s)}` });
    }
});

const optionSchema = z
    .string()
    .regex(/^[\x21-\x7e]+$/, "each option is one word of printable ASCII without spaces, e.g. 'noatime' or 'commit=60'")
    .refine((o) => !o.includes(",") && !o.includes("\\"), "put each option in its own list entry (no ',' or '\\' inside one)");

export const fstabEntrySchema = z
    .object({
        connection: connectionSchema.describe("How to reach the host over SSH (same shape as @pulumi/command's remote.ConnectionArgs, plus hostKey pinning and sudo), or { type: \"local\" }; stored as a secret."),
        /** What to mount: UUID=..., LABEL=..., PARTUUID=... or a device path. */
        spec: specSchema.describe("What to mount: UUID=..., LABEL=..., PARTUUID=... or an absolute device path such as /dev/zvol/tank/docker."),
        mountPoint: absolutePath("mountPoint", "/var/lib/docker").describe("The absolute directory to mount on (spaces are written as \\040); changing it replaces the entry."),
        fsType: z
            .string()
            .regex(/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/, "fsType is a filesystem type such as ext4, xfs or auto")
            .refine((t) => t !== "swap", "swap is not mounted at a mount point: this resource manages mounts (use swapon for swap)")
            .describe("The filesystem type, such as ext4, xfs or auto (swap is refused)."),
        options: z
            .array(optionSchema)
            .min(1, "options needs at least one entry: use ['defaults']")
            .describe("Mount options, one per entry, e.g. \"noatime\" or \"commit=60\"; with bootSafety, nofail and the systemd options a zvol needs are added.")
            .default(["defaults"]),
        dump: z.union([z.literal(0), z.literal(1)], { errorMap: () => ({ message: "dump is 0 or 1" }) }).describe("The fstab dump field: 1 to have dump(8) back the filesystem up, otherwise 0.").default(0),
        pass: z
            .number()
            .int()
            .min(0, "pass is 0, 1 or 2")
            .max(2, "pass is 0, 1 or 2")
            .describe("The fsck pass at boot: 0 skips the check, 1 is for the root filesystem, 2 for all others.")
            .default(2),
        /** Also mount it now (and keep it mounted): `mount <mountPoint>` with the fstab line's options. */
        mount: z.boolean().describe("Also mount it now and keep it mounted: `mount <mountPoint>` with the fstab line's options.").default(true),
        fstabPath: absolutePath("fstabPath", DEFAULT_FSTAB).describe("The fstab file to edit, an absolute path; changing it replaces the entry.").default(DEFAULT_FSTAB),
        /** Append nofail, x-systemd.requires=zfs-volumes.target and a device timeout (zvols appear late at boot). */
        bootSafety: z.boolean().describe("Append nofail, x-systemd.requires=zfs-volumes.target and a device timeout to the options, since zvols appear late at boot.").default(true),
        /** How long systemd waits for the device at boot. 60 s was measured too short on a loaded host. */
        deviceTimeoutSeconds: z.number().int().min(1).max(86400).describe("How long systemd waits for the device at boot, in seconds (1 to 86400).").default(300),
        /** Mount over a directory that has files in it (they are hidden, not lost, while mounted). */
        allowNonEmptyMountPoint: z.boolean().describe("Mount over a directory that has files in it; they are hidden, not lost, while it is mounted.").default(false),
        /**
         * Before mounting over a non-empty directory, rename it to `<mountPoint>.pre-pulumi-zfs-docker-<time>`
         * and create an empty one with the same mode and owner; a ZFS dataset mounted there (Docker's zfs
         * driver) gets `mountpoint=<mountPoint>.pre-pulumi-zfs-docker-<time>.zfs`. Nothing is deleted or hidden.
         */
        moveAsideExisting: z
            .boolean()
            .describe("Before mounting over a non-empty directory (or a ZFS dataset mounted there), rename it to <mountPoint>.pre-pulumi-zfs-docker-<time> and create an empty one with the same mode and owner; nothing is deleted.")
            .default(false),
        /**
         * systemd units that use the mount point (e.g. docker.socket, docker.service): stopped while it is
         * mounted or unmounted, then started again if they were running.
         */
        stopUnits: z
            .array(z.string().regex(UNIT_NAME, "each stopUnits entry is a full systemd unit name such as docker.service or docker.socket"))
            .describe("Full names of systemd units that use the mount point (e.g. docker.socket, docker.service): stopped while it is mounted or unmounted, then started again if they were running.")
            .default([]),
        /**
         * systemd units that must not start without this mount (e.g. docker.service): the line gets
         * x-systemd.required-by= and x-systemd.before= for each, the fstab way of RequiresMountsFor=, so
         * the one daemon-reload the fstab write makes also loads these dependencies.
         */
        requiredBy: z
            .array(z.string().regex(FSTAB_UNIT_NAME, "each requiredBy entry is a full systemd unit name such as docker.service, without '\\' (an fstab option cannot hold it)"))
            .describe("Full names of systemd units that must not start without this mount (e.g. docker.service): the line gets x-systemd.required-by= and x-systemd.before= for each (the fstab form of RequiresMountsFor=), so at boot, and at any start, they wait for it and do not start when it fails. Needs nofail (bootSafety adds it).")
            .default([]),
    })
    .superRefine((v, ctx) => {
        if (v.allowNonEmptyMountPoint && v.moveAsideExisting) {
            ctx.addIssue({ code: "custom", path: ["moveAsideExisting"], message: "moveAsideExisting moves the files aside; allowNonEmptyMountPoint mounts over them: set one" });
        }
        const timeout = v.options.find((o) => o.startsWith(TIMEOUT_PREFIX));
        if (v.bootSafety && timeout !== undefined && timeout !== `${TIMEOUT_PREFIX}${v.deviceTimeoutSeconds}s`) {
            ctx.addIssue({ code: "custom", path: ["options"], message: `options has ${timeout} but deviceTimeoutSeconds is ${v.deviceTimeoutSeconds}: remove it from options and set deviceTimeoutSeconds instead` });
        }
        // Without nofail the generator would make local-fs.target require the mount and order it first;
        // x-systemd.required-by takes that away, so a missing device would no longer stop the boot where it should.
        if (v.requiredBy.length > 0 && !v.bootSafety && !v.options.includes("nofail")) {
            ctx.addIssue({ code: "custom", path: ["requiredBy"], message: "requiredBy needs nofail in the line (x-systemd.required-by replaces local-fs.target's hold on a mount that lacks it): set bootSafety: true, or add \"nofail\" to options" });
        }
        const twice = v.requiredBy.find((u, i) => v.requiredBy.indexOf(u) !== i);
        if (twice !== undefined) {
            ctx.addIssue({ code: "custom", path: ["requiredBy"], message: `requiredBy lists ${twice} twice: list each unit once` });
        }
        const written = v.options.find((o) => o.startsWith(REQUIRED_BY_PREFIX) || o.startsWith(BEFORE_PREFIX) || o === WANTED_BY_LOCAL_FS);
        if (written !== undefined && v.requiredBy.length > 0) {
            ctx.addIssue({ code: "custom", path: ["options"], message: `options has ${written}, which requiredBy writes: list the units in requiredBy only` });
        }
    });

export type FstabEntryDesired = z.infer<typeof fstabEntrySchema>;

export const fstabEntryOutputsSchema = z.object({
    line: z.string().describe('The line for the mount point as it is in the file ("" when there is none).'),
    mounted: z.boolean().describe("Whether `spec` is mounted at the mount point now."),
    mountedSource: z.string().describe('What is mounted there now, as findmnt shows it ("" when nothing is).'),
    backupPath: z.string().describe('Where the file as it was before the last rewrite is kept: fstabPath + ".pulumi-zfs-docker.bak".'),
    adopted: z.boolean().describe("Whether the line was in the file already, identical, when this resource took it over: delete then puts it back as it was (and leaves what it mounts mounted) instead of removing it."),
    originalLine: z.string().describe('For an adopted line, the line as it was when adopted, which delete puts back; "" otherwise. Kept in the marker comment above the line, so it survives lost state.'),
});

export type FstabEntryOutputs = z.infer<typeof fstabEntryOutputsSchema>;
