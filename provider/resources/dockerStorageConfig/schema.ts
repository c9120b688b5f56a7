/**
 * DockerStorageConfig's inputs and outputs: the zod schemas `check` uses, the paths the resource
 * owns, and which options each storage driver takes.
 */
import { z } from "zod";
import { connectionSchema } from "../../connection";
import { absolutePath } from "../../shared/paths";
import { parseSize } from "../../units";
import { zfsNameSchema } from "../zfsVolume";

export const DEFAULT_DATA_ROOT = "/var/lib/docker";
export const DROP_IN_PATH = "/etc/systemd/system/docker.service.d/pulumi-zfs-docker.conf";
export const backupPathFor = (daemonJsonPath: string): string => `${daemonJsonPath}.pulumi-zfs-docker.bak`;

/** How long Docker may take to start. ~15 s measured under emulation; several loaded guests take longer. */
export const START_TIMEOUT_SECONDS = 300;
/** How long a read waits for a Docker that is still starting. */
export const OBSERVE_WAIT_SECONDS = 90;

export const SUPPORTED_DRIVERS = ["overlay2", "zfs", "btrfs", "vfs", "fuse-overlayfs"] as const;

const REMOVED_DRIVERS: Record<string, string> = {
    devicemapper: "devicemapper was deprecated in Docker 18.09 and removed in Docker 25",
    aufs: "aufs was deprecated in Docker 20.10 and removed in Docker 24",
    overlay: "the legacy overlay driver was deprecated in Docker 18.09 and removed in Docker 24",
};

/**
 * Paths go into daemon.json and a systemd unit; there spaces, quotes, '%' and '\' need escaping of
 * their own. A plain character set keeps both files unambiguous and every path a single shell word.
 */
const plainAbsolutePath = (what: string, example: string) => absolutePath(what, example, { plain: true });

const dataRootSchema = plainAbsolutePath("dataRoot", DEFAULT_DATA_ROOT).superRefine((p, ctx) => {
    if (p === "/" || /^\/(proc|sys|dev|etc|boot|usr)(\/|$)/.test(p)) {
        ctx.addIssue({ code: "custom", message: `dataRoot ${p} is a system directory; Docker would fill it with its layers. Use a directory of its own, e.g. /srv/docker or ${DEFAULT_DATA_ROOT}.` });
    }
});

const driverSchema = z
    .string()
    .default("overlay2")
    .superRefine((driver, ctx) => {
        if (driver in REMOVED_DRIVERS) {
            ctx.addIssue({
                code: "custom",
                message: `storageDriver "${driver}" is refused: it is removed from current Docker (${REMOVED_DRIVERS[driver]}). Use overlay2 on an ext4 or xfs data root (a ZfsVolume with an Ext4Filesystem), or zfs on a ZFS dataset.`,
            });
        } else if (!(SUPPORTED_DRIVERS as readonly string[]).includes(driver)) {
            ctx.addIssue({ code: "custom", message: `storageDriver "${driver}" is not one of ${SUPPORTED_DRIVERS.join(", ")}` });
        }
    });

type OptionRule = (value: string) => string | undefined;

const sizeRule: OptionRule = (value) => {
    try {
        parseSize(value);
        return undefined;
    } catch (error) {
        return (error as Error).message;
    }
};
const boolRule: OptionRule = (value) => (/^(1|0|t|f|true|false)$/i.test(value) ? undefined : `"${value}" is not a boolean: write true or false`);
const zfsNameRule: OptionRule = (value) => {
    const parsed = zfsNameSchema.safeParse(value.includes("/") ? value : `${value}/x`);
    return parsed.success ? undefined : parsed.error.issues[0].message;
};

/** The options each driver takes (Docker fails to start on an unknown one), and whether it is a quota. */
export const STORAGE_OPTIONS: Record<string, Record<string, { rule: OptionRule; quota?: boolean }>> = {
    overlay2: { "overlay2.size": { rule: sizeRule, quota: true }, "overlay2.override_kernel_check": { rule: boolRule } },
    vfs: { "vfs.size": { rule: sizeRule, quota: true } },
    btrfs: { "btrfs.min_space": { rule: sizeRule } },
    zfs: { "zfs.fsname": { rule: zfsNameRule } },
    "fuse-overlayfs": {},
};

const OPTION_DRIVER_PREFIX: Record<string, string> = { dm: "devicemapper", overlay2: "overlay2", vfs: "vfs", btrfs: "btrfs", zfs: "zfs", aufs: "aufs" };

/** Problems of one storage option for the chosen driver, or undefined. */
export function storageOptionProblem(driver: string, option: string): string | undefined {
    const eq = option.indexOf("=");
    if (eq <= 0) {
        return `"${option}" is not key=value, e.g. overlay2.size=20G`;
    }
    const key = option.slice(0, eq);
    const value = option.slice(eq + 1);
    const allowed = STORAGE_OPTIONS[driver] ?? {};
    if (key !== key.toLowerCase()) {
        return `write the option name in lower case: ${key.toLowerCase()}`;
    }
    if (!(key in allowed)) {
        const owner = OPTION_DRIVER_PREFIX[key.split(".")[0]];
        if (owner && owner !== driver) {
            return `${key} is an option of the ${owner} driver, but storageDriver is ${driver}: remove it or change storageDriver`;
        }
        const known = Object.keys(allowed);
        return `${driver} takes ${known.length ? `only ${known.join(", ")}` : "no storage options"}; Docker would refuse to start with ${key}`;
    }
    if (/[\s"\\]/.test(value) || value.length === 0) {
        return `the value of ${key} must be non-empty, without spaces, quotes or backslashes`;
    }
    return allowed[key].rule(value);
}

const pathList = z.array(plainAbsolutePath("requiresMountsFor", DEFAULT_DATA_ROOT));

export const dockerStorageConfigSchema = z
    .object({
        connection: connectionSchema.describe("How to reach the host over SSH (same shape as @pulumi/command's remote.ConnectionArgs, plus hostKey pinning and sudo), or { type: \"local\" }; stored as a secret."),
        storageDriver: driverSchema.describe("Docker's storage driver: overlay2, zfs, btrfs, vfs or fuse-overlayfs (the removed devicemapper, aufs and overlay are refused)."),
        /** Docker's root directory (daemon.json "data-root"); Docker's own default when unset. */
        dataRoot: dataRootSchema.describe("Docker's root directory (daemon.json \"data-root\"), an absolute path that is not a system directory; Docker's own default (/var/lib/docker) when unset.").optional(),
        storageOpts: z
            .array(z.string())
            .describe("Storage driver options as key=value, e.g. overlay2.size=20G, each checked against the chosen driver (overlay2.size needs xfs with pquota).")
            .default([]),
        daemonJsonPath: plainAbsolutePath("daemonJsonPath", "/etc/docker/daemon.json")
            .describe("The daemon.json file to edit, an absolute path; changing it replaces the resource.")
            .default("/etc/docker/daemon.json"),
        restart: z.boolean().describe("Restart Docker to apply the configuration; a restart stops running containers.").default(true),
        /** Mount points Docker must wait for; [] writes no drop-in. Default: the data root. */
        requiresMountsFor: pathList.describe("Mount points Docker must wait for at boot (systemd RequiresMountsFor=, in a drop-in whose write costs a second daemon-reload); [] writes no drop-in, and when unset it is the data root. An FstabEntry with requiredBy: [\"docker.service\"] does the same through its fstab line, with no drop-in: then set [].").optional(),
    })
    .superRefine((v, ctx) => {
        const seen = new Set<string>();
        v.storageOpts.forEach((option, i) => {
            const problem = storageOptionProblem(v.storageDriver, option);
            const key = option.split("=")[0];
            if (problem) {
                ctx.addIssue({ code: "custom", path: ["storageOpts", i], message: `storageOpts[${i}] ${JSON.stringify(option)}: ${problem}` });
            } else if (seen.has(key)) {
                ctx.addIssue({ code: "custom", path: ["storageOpts", i], message: `storageOpts sets ${key} twice: keep one` });
            }
            seen.add(key);
        });
    })
    .transform((v) => ({ ...v, requiresMountsFor: v.requiresMountsFor ?? [v.dataRoot ?? DEFAULT_DATA_ROOT] }));

export type DockerStorageDesired = z.infer<typeof dockerStorageConfigSchema>;

export const wantedRoot = (d: DockerStorageDesired): string => d.dataRoot ?? DEFAULT_DATA_ROOT;

export const dockerStorageConfigOutputsSchema = z.object({
    activeDriver: z.string().describe('The storage driver the running Docker uses; "" when Docker is not running.'),
    dockerRootDir: z.string().describe('The running Docker\'s root directory; "" when Docker is not running.'),
    backingFilesystem: z.string().describe('Docker\'s name for the filesystem under its layers ("extfs", "xfs"); otherwise findmnt\'s type of the data root.'),
    dockerRunning: z.boolean().describe("Whether Docker is running and answers `docker info`."),
    dockerVersion: z.string().describe("The running Docker's server version; otherwise what `dockerd --version` prints (\"\" when dockerd is not installed)."),
    previousValues: z.record(z.string(), z.unknown()).describe("The storage keys daemon.json had before this resource first changed it: what delete puts back."),
    previousFileExisted: z.boolean().describe("Whether daemon.json existed before this resource first wrote it."),
    backupPath: z.string().describe('Where daemon.json as it was before our first change is kept: daemonJsonPath + .pulumi-zfs-docker.bak ("" when there is no backup).'),
    dropInPath: z.string().describe('The systemd drop-in that makes docker.service wait for requiresMountsFor ("" when there is none).'),
});

export type DockerStorageOutputs = z.infer<typeof dockerStorageConfigOutputsSchema>;
