/**
 * DockerStorageConfig: Docker's storage driver, storage options and data root in daemon.json, a systemd
 * drop-in so Docker never starts before its storage is mounted, and a verified restart.
 * Only the three storage keys of daemon.json are ours; every other key is kept where it is. What the
 * file said before we first changed it is kept in a backup next to it, and delete puts it back.
 */
import * as crypto from "crypto";
import { z } from "zod";
import type { ResourceDefinition } from "../adapter";
import { connectionSchema } from "../connection";
import { ParseError, RefusedError } from "../host/errors";
import type { Host } from "../host/host";
import { sh, Shell } from "../host/quote";
import type { Action, Plan } from "../plan";
import { noop } from "../plan";
import { parseKeyValues, requireSection, section, splitSections } from "../sections";
import { parseSize } from "../units";
import { zfsNameSchema } from "./zfsVolume";
import type { DaemonJsonBackup, ManagedKey, ManagedValues } from "./daemonJson";
import { managedValues, mergeDaemonJson, parseBackup, parseDaemonJson, previousValues, restoreDaemonJson, serializeBackup } from "./daemonJson";

export const DEFAULT_DATA_ROOT = "/var/lib/docker";
export const DROP_IN_PATH = "/etc/systemd/system/docker.service.d/pulumi-zfs-docker.conf";
export const backupPathFor = (daemonJsonPath: string): string => `${daemonJsonPath}.pulumi-zfs-docker.bak`;

/** How long Docker may take to start. ~15 s measured under emulation; several loaded guests take longer. */
const START_TIMEOUT_SECONDS = 300;
/** How long a read waits for a Docker that is still starting. */
const OBSERVE_WAIT_SECONDS = 90;

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
const PATH_CHARACTERS = /^[A-Za-z0-9._@+:=,/-]+$/;

export function absolutePath(what: string, example: string) {
    return z.string().superRefine((p, ctx) => {
        const problem = !p.startsWith("/")
            ? `${what} must be an absolute path such as ${example}, got ${JSON.stringify(p)}`
            : !PATH_CHARACTERS.test(p)
              ? `${what} ${JSON.stringify(p)} has characters other than letters, digits and . _ - + @ : = , /; it is written into daemon.json and a systemd unit, where spaces, quotes, ';', '$', '%' or '\\' would need escaping. Choose a plainer path.`
              : p.length > 1 && (p.endsWith("/") || p.includes("//"))
                ? `${what} ${JSON.stringify(p)} has a trailing or doubled '/': write ${p.replace(/\/+/g, "/").replace(/(.)\/$/, "$1")}`
                : p.split("/").some((c) => c === "." || c === "..")
                  ? `${what} ${JSON.stringify(p)} has a '.' or '..' component: write the path it means`
                  : p.length > 4095
                    ? `${what} is longer than 4095 characters`
                    : undefined;
        if (problem) ctx.addIssue({ code: "custom", message: problem });
    });
}

const dataRootSchema = absolutePath("dataRoot", DEFAULT_DATA_ROOT).superRefine((p, ctx) => {
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

const pathList = z.array(absolutePath("requiresMountsFor", DEFAULT_DATA_ROOT));

export const dockerStorageConfigSchema = z
    .object({
        connection: connectionSchema,
        storageDriver: driverSchema,
        /** Docker's root directory (daemon.json "data-root"); Docker's own default when unset. */
        dataRoot: dataRootSchema.optional(),
        storageOpts: z.array(z.string()).default([]),
        daemonJsonPath: absolutePath("daemonJsonPath", "/etc/docker/daemon.json").default("/etc/docker/daemon.json"),
        restart: z.boolean().default(true),
        /** Mount points Docker must wait for; [] writes no drop-in. Default: the data root. */
        requiresMountsFor: pathList.optional(),
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

/** What `docker info` says, when Docker runs. */
export interface DockerInfo {
    driver: string;
    rootDir: string;
    /** Docker's own name for it: "extfs", "xfs", "zfs"... (overlay2 only). */
    backingFilesystem?: string;
    serverVersion: string;
    containersRunning: number;
}

/** The filesystem that holds the data root (or its nearest existing parent). */
export interface BackingFilesystem {
    /** The path that was examined: the data root, or its nearest existing parent. */
    path: string;
    /** The data root with symlinks resolved, as Docker reports its root dir. */
    resolvedRoot: string;
    /** findmnt's FSTYPE (ext4, xfs, zfs, nfs4, fuse.sshfs...), or `stat -f`'s name when findmnt had none. */
    fsType: string;
    source: string;
    mountPoint: string;
    options: string[];
    /** xfs only: 1 when the filesystem records file types (d_type), which overlay2 needs. */
    xfsFtype?: number;
}

export interface DockerStorageObserved {
    /** daemon.json's raw bytes, or undefined when there is no such file. */
    daemonJson?: Buffer;
    daemonJsonMode?: string;
    /** Set when the path exists but is not a regular file. */
    daemonJsonNotAFile: boolean;
    backup?: string;
    dropIn?: string;
    systemd: { present: boolean; unitLoaded: boolean; activeState: string; needDaemonReload: boolean };
    dockerd: { installed: boolean; version: string; validate: boolean };
    /** Undefined when Docker is not running (or does not answer). */
    info?: DockerInfo;
    backing: BackingFilesystem;
    fuse: { binary: boolean; device: boolean };
}

export interface DockerStorageOutputs {
    /** The storage driver the running Docker uses; "" when Docker is not running. */
    activeDriver: string;
    /** The running Docker's root directory; "" when Docker is not running. */
    dockerRootDir: string;
    /** Docker's name for the filesystem under its layers ("extfs", "xfs"); otherwise findmnt's type of the data root. */
    backingFilesystem: string;
    dockerRunning: boolean;
    dockerVersion: string;
    /** The storage keys daemon.json had before this resource first changed it: what delete puts back. */
    previousValues: Record<string, unknown>;
    /** Whether daemon.json existed before this resource first wrote it. */
    previousFileExisted: boolean;
    backupPath: string;
    dropInPath: string;
}

export const wantedRoot = (d: DockerStorageDesired): string => d.dataRoot ?? DEFAULT_DATA_ROOT;

export function observeScript(desired: DockerStorageDesired): Shell {
    return sh`f=${desired.daemonJsonPath}
b=${backupPathFor(desired.daemonJsonPath)}
d=${DROP_IN_PATH}
root=${wantedRoot(desired)}
# A Docker still starting (at boot, ~15 s under emulation) would read as stopped and be restarted for nothing.
if command -v systemctl >/dev/null 2>&1; then
  i=0
  while [ "$(systemctl show -p ActiveState --value docker.service 2>/dev/null || true)" = activating ] && [ "$i" -lt ${new Shell(String(OBSERVE_WAIT_SECONDS))} ]; do i=$((i+1)); sleep 1; done
fi
${new Shell(section("daemon"))}
if [ -f "$f" ]; then echo present; stat -c %a -- "$f"; base64 -w0 -- "$f"; echo; elif [ -e "$f" ]; then echo notfile; else echo absent; fi
${new Shell(section("backup"))}
if [ -f "$b" ]; then echo present; base64 -w0 -- "$b"; echo; else echo absent; fi
${new Shell(section("dropin"))}
if [ -f "$d" ]; then echo present; base64 -w0 -- "$d"; echo; else echo absent; fi
${new Shell(section("systemd"))}
if command -v systemctl >/dev/null 2>&1; then echo systemctl=1; systemctl show -p LoadState,ActiveState,NeedDaemonReload docker.service 2>/dev/null || true; else echo systemctl=0; fi
${new Shell(section("dockerd"))}
if command -v dockerd >/dev/null 2>&1; then echo installed=1; echo "version=$(dockerd --version 2>/dev/null | head -n 1)"; if dockerd --help 2>&1 | grep -q -- '--validate'; then echo validate=1; else echo validate=0; fi; else echo installed=0; fi
${new Shell(section("info"))}
# Only ask a running daemon: docker.socket would start a stopped one just to answer.
if command -v systemctl >/dev/null 2>&1 && [ "$(systemctl show -p ActiveState --value docker.service 2>/dev/null || true)" = active ]; then timeout 30 docker info --format '{{json .}}' 2>/dev/null || true; fi
${new Shell(section("backing"))}
p=$root; while [ ! -e "$p" ]; do p=$(dirname -- "$p"); done
echo "path=$p"
echo "resolved=$(readlink -m -- "$root")"
echo "stat=$(stat -f -c %T -- "$p" 2>/dev/null || true)"
${new Shell(section("mount"))}
findmnt -n -P -T "$p" -o FSTYPE,SOURCE,TARGET,OPTIONS 2>/dev/null | head -n 1 || true
${new Shell(section("xfs"))}
if [ "$(findmnt -n -o FSTYPE -T "$p" 2>/dev/null | head -n 1 || true)" = xfs ]; then xfs_info "$(findmnt -n -o TARGET -T "$p" | head -n 1)" 2>/dev/null | grep -o 'ftype=[01]' | head -n 1 || true; fi
${new Shell(section("fuse"))}
if command -v fuse-overlayfs >/dev/null 2>&1; then echo binary=1; else echo binary=0; fi
if [ -e /dev/fuse ]; then echo device=1; else echo device=0; fi`;
}

/** `findmnt -P` prints KEY="value" pairs with \xNN escapes. */
export function parseFindmntPairs(line: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const m of line.matchAll(/([A-Z0-9_-]+)="((?:[^"\\]|\\.)*)"/g)) {
        out[m[1]] = m[2].replace(/\\x([0-9a-fA-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))).replace(/\\(.)/g, "$1");
    }
    return out;
}

/** A file read as `present` + base64, or `absent`. */
function fileSection(text: string, raw: string, what: string): { present: boolean; lines: string[] } {
    const lines = text.split("\n");
    if (lines[0] === "absent" || lines[0] === "notfile") return { present: false, lines };
    if (lines[0] !== "present") throw new ParseError(what, raw);
    return { present: true, lines };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function parseDockerInfo(text: string): DockerInfo | undefined {
    const json = text.trim();
    if (!json) return undefined;
    let info: { Driver?: string; DockerRootDir?: string; DriverStatus?: [string, string][] | null; ServerVersion?: string; ContainersRunning?: number; ServerErrors?: string[] };
    try {
        info = JSON.parse(json);
    } catch {
        throw new ParseError("`docker info --format '{{json .}}'`", json);
    }
    if (!info.Driver || (info.ServerErrors?.length ?? 0) > 0) return undefined;
    return {
        driver: info.Driver,
        rootDir: info.DockerRootDir ?? "",
        backingFilesystem: (info.DriverStatus ?? []).find((s) => s[0] === "Backing Filesystem")?.[1],
        serverVersion: info.ServerVersion ?? "",
        containersRunning: info.ContainersRunning ?? 0,
    };
}

export function parseObserved(raw: string): DockerStorageObserved {
    const sections = splitSections(raw);
    const daemon = fileSection(requireSection(sections, "daemon", raw), raw, "the daemon.json part of a host's answer");
    const backup = fileSection(requireSection(sections, "backup", raw), raw, "the backup part of a host's answer");
    const dropIn = fileSection(requireSection(sections, "dropin", raw), raw, "the drop-in part of a host's answer");
    const systemd = parseKeyValues(requireSection(sections, "systemd", raw));
    const dockerd = parseKeyValues(requireSection(sections, "dockerd", raw));
    const backing = parseKeyValues(requireSection(sections, "backing", raw));
    const mount = parseFindmntPairs(requireSection(sections, "mount", raw));
    const ftype = /ftype=([01])/.exec(requireSection(sections, "xfs", raw));
    const fuse = parseKeyValues(requireSection(sections, "fuse", raw));
    if (!backing.path) throw new ParseError("the data root's filesystem", raw);
    return {
        daemonJson: daemon.present ? Buffer.from(daemon.lines[2] ?? "", "base64") : undefined,
        daemonJsonMode: daemon.present ? daemon.lines[1] : undefined,
        daemonJsonNotAFile: daemon.lines[0] === "notfile",
        backup: backup.present ? Buffer.from(backup.lines[1] ?? "", "base64").toString("utf8") : undefined,
        dropIn: dropIn.present ? Buffer.from(dropIn.lines[1] ?? "", "base64").toString("utf8") : undefined,
        systemd: {
            present: systemd.systemctl === "1",
            unitLoaded: systemd.LoadState === "loaded",
            activeState: systemd.ActiveState ?? "",
            needDaemonReload: systemd.NeedDaemonReload === "yes",
        },
        dockerd: { installed: dockerd.installed === "1", version: dockerd.version ?? "", validate: dockerd.validate === "1" },
        info: parseDockerInfo(requireSection(sections, "info", raw)),
        backing: {
            path: backing.path,
            resolvedRoot: backing.resolved || backing.path,
            fsType: mount.FSTYPE || backing.stat || "",
            source: mount.SOURCE ?? "",
            mountPoint: mount.TARGET ?? "",
            options: (mount.OPTIONS ?? "").split(",").filter(Boolean),
            xfsFtype: ftype ? Number(ftype[1]) : undefined,
        },
        fuse: { binary: fuse.binary === "1", device: fuse.device === "1" },
    };
}

/** daemon.json as text; refused when it is not UTF-8, since rewriting it would corrupt it. */
function daemonJsonText(observed: DockerStorageObserved, path: string): string | undefined {
    if (observed.daemonJsonNotAFile) {
        throw new RefusedError(`${path} on the host exists but is not a regular file; refusing to replace it. Remove it or set daemonJsonPath, then run again.`);
    }
    if (observed.daemonJson === undefined) return undefined;
    try {
        return utf8.decode(observed.daemonJson);
    } catch {
        throw new RefusedError(`${path} on the host is not valid UTF-8, so it is not valid JSON either; refusing to overwrite it. Fix the file by hand, then run again.`);
    }
}

/** The name Docker prints as "Backing Filesystem" for a findmnt type, where we know it. */
const DOCKER_FS_NAMES: Record<string, string> = { ext2: "extfs", ext3: "extfs", ext4: "extfs", "ext2/ext3": "extfs", xfs: "xfs", tmpfs: "tmpfs", f2fs: "f2fs" };

const FIX = "put the data root on a zvol with ext4 or xfs (ZfsVolume → Ext4Filesystem → FstabEntry mounted at the data root)";

function where(b: BackingFilesystem): string {
    return `${b.path} is on ${b.fsType || "an unknown filesystem"}${b.source ? ` (${b.source} mounted at ${b.mountPoint})` : ""}`;
}

/**
 * Whether the data root's filesystem suits the driver. Docker checks this too, but only after it was
 * restarted with the new configuration; refusing here leaves the host untouched.
 */
export function backingProblems(desired: DockerStorageDesired, observed: DockerStorageObserved): { problems: string[]; warnings: string[] } {
    const b = observed.backing;
    const fs = b.fsType;
    const problems: string[] = [];
    const warnings: string[] = [];
    switch (desired.storageDriver) {
        case "overlay2":
            if (["ext2", "ext3", "ext4", "ext2/ext3", "f2fs"].includes(fs)) {
                break;
            } else if (fs === "xfs") {
                if (b.xfsFtype === 0) {
                    problems.push(`${where(b)}, made with ftype=0: overlay2 needs file types in directory entries (d_type). Reformat it with mkfs.xfs -n ftype=1, or ${FIX}.`);
                }
            } else if (fs === "tmpfs") {
                warnings.push(`${where(b)}: Docker's images and containers live in memory and are gone after a reboot`);
            } else if (fs === "zfs") {
                problems.push(`${where(b)}: Docker refuses overlay2 on ZFS ("backing file system is unsupported for this graph driver"). To keep overlay2's speed, ${FIX}; or set storageDriver: zfs.`);
            } else if (fs === "btrfs") {
                problems.push(`${where(b)}: Docker refuses overlay2 on btrfs. Set storageDriver: btrfs, or ${FIX}.`);
            } else if (/^(nfs|nfs4|cifs|smb3|smbfs|9p|ceph|glusterfs|virtiofs)$/.test(fs)) {
                problems.push(`${where(b)}, a network filesystem: overlay2's upper layers cannot live there. ${FIX[0].toUpperCase()}${FIX.slice(1)}.`);
            } else if (fs === "overlay" || fs === "overlayfs" || fs === "aufs") {
                problems.push(`${where(b)}: overlay2 cannot be stacked on ${fs}. ${FIX[0].toUpperCase()}${FIX.slice(1)}.`);
            } else if (fs.startsWith("fuse") || fs === "ecryptfs") {
                problems.push(`${where(b)}: overlay2 does not work on ${fs}. ${FIX[0].toUpperCase()}${FIX.slice(1)}, or set storageDriver: fuse-overlayfs.`);
            } else {
                problems.push(`${where(b)}, which overlay2 is not known to work on (it needs a local filesystem with d_type, such as ext4 or xfs). ${FIX[0].toUpperCase()}${FIX.slice(1)}.`);
            }
            break;
        case "zfs":
            if (fs !== "zfs") {
                problems.push(`${where(b)}: the zfs driver keeps layers as datasets below the ZFS dataset that holds the data root. Put the data root on a dataset (zfs create -o mountpoint=${wantedRoot(desired)} tank/docker), or use overlay2 and ${FIX}.`);
            }
            break;
        case "btrfs":
            if (fs !== "btrfs") {
                problems.push(`${where(b)}: the btrfs driver needs the data root on btrfs. Use overlay2 and ${FIX}.`);
            }
            break;
        case "fuse-overlayfs":
            if (!observed.fuse.binary || !observed.fuse.device) {
                problems.push(`fuse-overlayfs needs the fuse-overlayfs program and /dev/fuse; the host lacks ${[!observed.fuse.binary && "the program", !observed.fuse.device && "/dev/fuse"].filter(Boolean).join(" and ")}. Install fuse-overlayfs (apt-get install fuse-overlayfs) or use overlay2.`);
            }
            break;
        case "vfs":
            warnings.push("vfs copies every layer in full: images take much more space and builds are slow; it is meant for testing");
            break;
    }
    for (const option of desired.storageOpts) {
        const key = option.split("=")[0];
        if (STORAGE_OPTIONS[desired.storageDriver]?.[key]?.quota) {
            const pquota = b.options.some((o) => o === "prjquota" || o === "pquota");
            if (fs !== "xfs" || !pquota) {
                problems.push(`${key} needs the data root on xfs mounted with the pquota option; ${where(b)}${fs === "xfs" ? " without pquota" : ""}. Remove ${key}, or mount an xfs data root with -o pquota.`);
            }
        }
    }
    return { problems, warnings };
}

export function renderDropIn(paths: readonly string[]): string {
    return (
        "# Written by pulumi-zfs-docker (DockerStorageConfig): Docker starts only once these are mounted,\n" +
        "# never on the empty directory under a mount point whose filesystem is missing.\n" +
        "[Unit]\n" +
        `RequiresMountsFor=${paths.join(" ")}\n`
    );
}

export function parseDropIn(text: string): string[] {
    return text
        .split("\n")
        .filter((l) => l.startsWith("RequiresMountsFor="))
        .flatMap((l) => l.slice("RequiresMountsFor=".length).trim().split(/\s+/))
        .filter(Boolean);
}

const sha256 = (data: Buffer | string): string => crypto.createHash("sha256").update(data).digest("hex");
const base64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

/** Shell functions the actions share: atomic write, "unchanged since read", Docker stop/start. */
const FUNCTIONS = new Shell(`pzd_write() {
  # $1 path, $2 content as base64, $3 mode when the file is new: temp file in the same directory,
  # flushed, then renamed over the old one, so a crash leaves the old file or the new one, never half.
  mkdir -p -- "$(dirname -- "$1")"
  t=$(mktemp -- "$1.pzd-XXXXXX")
  if ! { printf '%s' "$2" | base64 -d >"$t" &&
         if [ -e "$1" ]; then chmod --reference="$1" -- "$t" && chown --reference="$1" -- "$t"; else chmod "$3" -- "$t"; fi &&
         sync -- "$t" && mv -f -- "$t" "$1" && sync -- "$(dirname -- "$1")"; }; then
    rm -f -- "$t"; return 1
  fi
}
pzd_unchanged() {
  # $1 path, $2 its sha256 when it was read, or "absent".
  if [ "$2" = absent ]; then [ ! -e "$1" ]; else [ -f "$1" ] && [ "$(sha256sum <"$1" | cut -d ' ' -f 1)" = "$2" ]; fi
}
pzd_stop_docker() {
  # Both units: with the socket left active, the next client would start the daemon again.
  systemctl stop docker.socket docker.service
}
pzd_start_docker() {
  systemctl reset-failed docker.service docker.socket >/dev/null 2>&1 || true
  timeout ${START_TIMEOUT_SECONDS} systemctl start docker.socket docker.service || return 1
  i=0
  until timeout 30 docker info >/dev/null 2>&1; do
    i=$((i+1)); [ "$i" -lt 60 ] || return 1; sleep 1
  done
}
pzd_docker_errors() {
  journalctl -u docker.service -n 30 --no-pager -o cat 2>/dev/null | grep -E 'level=(error|fatal)|failed to start|Error' | tail -n 3 || true
}`);

function describeValues(values: ManagedValues): string {
    const keys = Object.keys(values) as ManagedKey[];
    return keys.length === 0 ? "none of the storage keys set" : keys.map((k) => `${k} ${JSON.stringify(values[k])}`).join(", ");
}

function wantedValues(desired: DockerStorageDesired): Record<ManagedKey, unknown> {
    return {
        "storage-driver": desired.storageDriver,
        "storage-opts": desired.storageOpts.length > 0 ? desired.storageOpts : undefined,
        "data-root": desired.dataRoot,
    };
}

/** Stops the script when someone changed the file between our read and our write. */
function unchangedGuard(path: string, before: Buffer | undefined): Shell {
    return sh`if ! pzd_unchanged ${path} ${before === undefined ? "absent" : sha256(before)}; then echo ${`${path} changed on the host since it was read; nothing was written. Run again.`} >&2; exit 75; fi`;
}

/** Writes daemon.json, refusing if someone changed it since it was read, and checking it with dockerd when dockerd can. */
function writeDaemonJsonScript(path: string, before: Buffer | undefined, next: string | undefined, validate: boolean): Shell {
    const guard = unchangedGuard(path, before);
    if (next === undefined) {
        return sh`${guard}\nrm -f -- ${path}`;
    }
    const check = validate
        ? sh`v=$(mktemp)
printf '%s' ${base64(next)} | base64 -d >"$v"
if ! out=$(dockerd --validate --config-file "$v" 2>&1); then rm -f -- "$v"; printf '%s\\n' "$out" >&2; echo ${`dockerd --validate rejects the new ${path} (its words are above); nothing was changed. Fix the inputs, then run again.`} >&2; exit 65; fi
rm -f -- "$v"\n`
        : new Shell("");
    return sh`${guard}\n${check}pzd_write ${path} ${base64(next)} 644`;
}

function restartScript(desired: DockerStorageDesired, observed: DockerStorageObserved, rollback: Shell | undefined): Shell {
    const wantBacking = desired.storageDriver === "overlay2" ? (DOCKER_FS_NAMES[observed.backing.fsType] ?? "") : "";
    const headline = `Docker did not come up with storage-driver ${desired.storageDriver} at ${wantedRoot(desired)}: `;
    const fail = rollback
        ? sh`echo ${`Restoring the previous ${desired.daemonJsonPath} and restarting Docker with it.`} >&2
pzd_stop_docker || true
${rollback}
if ! pzd_start_docker; then echo ${"Docker did not start with the previous configuration either: see journalctl -u docker.service."} >&2; fi
printf '%s%s%s\\n' ${headline} "$problem" ${". Docker said:"} >&2
printf '%s\\n' "$errors" >&2
echo ${`The previous ${desired.daemonJsonPath} is back in place. Fix the cause (journalctl -u docker.service shows the whole log), then run again.`} >&2
exit 1`
        : sh`printf '%s%s%s\\n' ${headline} "$problem" ${". Docker said:"} >&2
printf '%s\\n' "$errors" >&2
echo ${"Fix the cause (journalctl -u docker.service shows the whole log), then run again."} >&2
exit 1`;
    return sh`want_driver=${desired.storageDriver}
want_root=$(readlink -m -- ${wantedRoot(desired)})
want_backing=${wantBacking}
problem=""
pzd_stop_docker
if pzd_start_docker; then
  got=$(timeout 30 docker info --format '{{.Driver}}|{{.DockerRootDir}}|{{range .DriverStatus}}{{if eq (index . 0) "Backing Filesystem"}}{{index . 1}}{{end}}{{end}}' 2>/dev/null || true)
  driver=\${got%%|*}; rest=\${got#*|}; root=\${rest%%|*}; backing=\${rest#*|}
  if [ "$driver" != "$want_driver" ]; then problem="it runs the '$driver' storage driver"; fi
  if [ "$root" != "$want_root" ]; then problem="\${problem:+$problem, }its root is '$root'"; fi
  if [ -n "$want_backing" ] && [ "$driver" = "$want_driver" ] && [ "$backing" != "$want_backing" ]; then problem="\${problem:+$problem, }its backing filesystem is '$backing', not '$want_backing'"; fi
else
  problem="it did not start, or did not answer within ${new Shell(String(START_TIMEOUT_SECONDS))} s"
fi
if [ -n "$problem" ]; then
  journalctl -u docker.service -n 30 --no-pager -o cat >&2 2>/dev/null || true
  errors=$(pzd_docker_errors)
${fail}
fi`;
}

/** Warnings for what a restart into this configuration does to what Docker holds now. */
function changeWarnings(desired: DockerStorageDesired, observed: DockerStorageObserved, current: ManagedValues): string[] {
    const warnings: string[] = [];
    const oldDriver = observed.info?.driver ?? (typeof current["storage-driver"] === "string" ? current["storage-driver"] : undefined);
    const oldRoot = observed.info?.rootDir ?? (typeof current["data-root"] === "string" ? current["data-root"] : DEFAULT_DATA_ROOT);
    if (oldRoot !== observed.backing.resolvedRoot && oldRoot !== wantedRoot(desired)) {
        warnings.push(`the data root changes from ${oldRoot} to ${wantedRoot(desired)}: Docker will not see the images, containers and volumes under ${oldRoot}. They stay on disk (nothing is deleted) and come back if you switch back.`);
    } else if (oldDriver !== undefined && oldDriver !== desired.storageDriver) {
        warnings.push(`the storage driver changes from ${oldDriver} to ${desired.storageDriver}: Docker will not see the images and containers it made with ${oldDriver}. They stay on disk under ${oldRoot}/${oldDriver} (nothing is deleted) and come back if you switch back.`);
    }
    return warnings;
}

export function planDockerStorage(desired: DockerStorageDesired, observed: DockerStorageObserved): Plan {
    const path = desired.daemonJsonPath;
    const current = daemonJsonText(observed, path);
    const currentValues = managedValues(parseDaemonJson(current ?? "", path));
    const next = mergeDaemonJson(current, wantedValues(desired), path);
    const fileChanges = next !== current;
    const dropIn = desired.requiresMountsFor.length > 0 ? renderDropIn(desired.requiresMountsFor) : undefined;
    const dropInChanges = dropIn !== observed.dropIn;
    const info = observed.info;
    const runningDiffers = info !== undefined && (info.driver !== desired.storageDriver || info.rootDir !== observed.backing.resolvedRoot);

    if (!observed.systemd.present && (desired.restart || dropIn !== undefined)) {
        throw new RefusedError(`the host has no systemd (systemctl not found): the RequiresMountsFor drop-in and the restart need it. Set requiresMountsFor: [] and restart: false to only write ${path}.`);
    }
    if (desired.restart && !observed.systemd.unitLoaded) {
        throw new RefusedError(`docker.service is not installed on the host, so Docker cannot be restarted into this configuration. Install Docker first (apt-get install docker.io), or set restart: false to only write the configuration.`);
    }
    const restarting = desired.restart && (fileChanges || runningDiffers || info === undefined);
    if (!fileChanges && !dropInChanges && !observed.systemd.needDaemonReload && !restarting) {
        return noop(`Docker already uses ${desired.storageDriver} at ${wantedRoot(desired)}${info ? ` (docker info: ${info.driver}, ${info.rootDir}${info.backingFilesystem ? ` on ${info.backingFilesystem}` : ""})` : ""}`);
    }

    const { problems, warnings } = backingProblems(desired, observed);
    if (problems.length > 0 && (fileChanges || restarting)) {
        throw new RefusedError(`refusing to configure Docker's ${desired.storageDriver} storage driver at ${wantedRoot(desired)}: ${problems.join(" ")} Nothing was changed.`);
    }

    const actions: Action[] = [];
    const backupPath = backupPathFor(path);
    if (fileChanges && observed.backup === undefined) {
        const backup: DaemonJsonBackup = { existed: current !== undefined, content: current ?? "", mode: observed.daemonJsonMode };
        actions.push({
            description: `keep the current storage keys of ${path} in ${backupPath} (${describeValues(currentValues)}), for delete to restore`,
            script: sh`${FUNCTIONS}\n${unchangedGuard(path, observed.daemonJson)}\npzd_write ${backupPath} ${base64(serializeBackup(path, backup))} 600`,
        });
    }
    if (fileChanges) {
        const others = parseDaemonJson(current ?? "", path).members.filter((m) => !(m.key in wantedValues(desired))).length;
        actions.push({
            description: `set ${describeValues(managedValues(parseDaemonJson(next ?? "", path)))} in ${path}${others > 0 ? ` (keeping its ${others} other key(s))` : ""}`,
            script: sh`${FUNCTIONS}\n${writeDaemonJsonScript(path, observed.daemonJson, next, observed.dockerd.validate)}`,
        });
    }
    if (dropInChanges) {
        actions.push(
            dropIn === undefined
                ? { description: `remove ${DROP_IN_PATH} (requiresMountsFor is empty)`, script: sh`rm -f -- ${DROP_IN_PATH}\nsystemctl daemon-reload` }
                : {
                      description: `make docker.service wait for ${desired.requiresMountsFor.join(", ")} (RequiresMountsFor in ${DROP_IN_PATH})`,
                      script: sh`${FUNCTIONS}\npzd_write ${DROP_IN_PATH} ${base64(dropIn)} 644\nsystemctl daemon-reload`,
                  },
        );
    } else if (observed.systemd.needDaemonReload) {
        actions.push({ description: "reload systemd (docker.service changed on disk)", script: sh`systemctl daemon-reload` });
    }
    const allWarnings = [...warnings];
    if (restarting) {
        allWarnings.push(...changeWarnings(desired, observed, currentValues));
        if (info !== undefined) {
            allWarnings.push(`restarting Docker stops its ${info.containersRunning} running container(s); those with a restart policy start again`);
        }
        const rollback = fileChanges ? (current === undefined ? sh`rm -f -- ${path}` : sh`pzd_write ${path} ${observed.daemonJson!.toString("base64")} 644`) : undefined;
        const what = info === undefined ? "start Docker" : "restart Docker (stops running containers; images and containers of another driver or data root stay on disk, unseen)";
        actions.push({
            description: `${what} and check that docker info shows ${desired.storageDriver} at ${wantedRoot(desired)}; on failure put the previous ${path} back`,
            script: sh`${FUNCTIONS}\n${restartScript(desired, observed, rollback)}`,
        });
    } else if (fileChanges && !desired.restart && info !== undefined) {
        allWarnings.push(`restart is false: Docker keeps running ${info.driver} at ${info.rootDir} until it is restarted`);
    }
    return { actions, warnings: allWarnings.length > 0 ? allWarnings : undefined };
}

export function planDeleteDockerStorage(desired: DockerStorageDesired, observed: DockerStorageObserved): Plan {
    const path = desired.daemonJsonPath;
    const backupPath = backupPathFor(path);
    const actions: Action[] = [];
    let fileChanges = false;
    if (observed.backup !== undefined) {
        const backup = parseBackup(observed.backup, backupPath);
        const current = daemonJsonText(observed, path);
        const restored = restoreDaemonJson(current, backup, path);
        fileChanges = restored !== current;
        if (fileChanges) {
            actions.push({
                description: `put back the storage keys of ${path} as they were (${describeValues(previousValues(backup, path))})${restored === undefined ? `; remove the file, which did not exist before` : ""}`,
                script: sh`${FUNCTIONS}\n${writeDaemonJsonScript(path, observed.daemonJson, restored, false)}`,
            });
        }
        actions.push({ description: `remove ${backupPath}`, script: sh`rm -f -- ${backupPath}` });
    }
    if (observed.dropIn !== undefined) {
        actions.push({ description: `remove ${DROP_IN_PATH}`, script: sh`rm -f -- ${DROP_IN_PATH}\nsystemctl daemon-reload` });
    }
    if (fileChanges && desired.restart && observed.info !== undefined) {
        actions.push({
            description: "restart Docker with the restored configuration (stops running containers; nothing under any data root is deleted)",
            script: sh`${FUNCTIONS}
pzd_stop_docker
if ! pzd_start_docker; then
  journalctl -u docker.service -n 30 --no-pager -o cat >&2 2>/dev/null || true
  pzd_docker_errors >&2
  # The delete itself is done (the file is restored); failing it would block every destroy. The usual
  # cause is a data root that is still mounted or not moved back yet (FstabEntry's delete comes next).
  pzd_stop_docker || true
  echo ${`pzd-warning: Docker did not start with the restored ${path} and is left stopped (journal: journalctl -u docker). The file is as it was before pulumi-zfs-docker changed it; if its data root was moved aside, move it back, then start Docker (systemctl start docker).`}
fi`,
        });
    }
    return actions.length === 0 ? noop(`nothing of pulumi-zfs-docker is left in ${path} or docker.service`) : { actions };
}

function driverStatus(observed: DockerStorageObserved): string {
    return observed.info?.backingFilesystem ?? observed.backing.fsType;
}

export function outputsOf(desired: DockerStorageDesired, observed: DockerStorageObserved): DockerStorageOutputs {
    const path = desired.daemonJsonPath;
    const backup = observed.backup === undefined ? undefined : parseBackup(observed.backup, backupPathFor(path));
    let current: ManagedValues = {};
    try {
        current = managedValues(parseDaemonJson(daemonJsonText(observed, path) ?? "", path));
    } catch {
        // Outputs describe; a broken file is reported by the next plan, not here.
    }
    return {
        activeDriver: observed.info?.driver ?? "",
        dockerRootDir: observed.info?.rootDir ?? "",
        backingFilesystem: driverStatus(observed),
        dockerRunning: observed.info !== undefined,
        dockerVersion: observed.info?.serverVersion || observed.dockerd.version,
        previousValues: backup ? previousValues(backup, path) : current,
        previousFileExisted: backup ? backup.existed : observed.daemonJson !== undefined,
        backupPath: backup ? backupPathFor(path) : "",
        dropInPath: observed.dropIn !== undefined ? DROP_IN_PATH : "",
    };
}

/**
 * The inputs that describe the host now, for refresh. What daemon.json says wins (a hand edit shows as
 * drift); when the file agrees with the inputs but the running Docker does not (a restart is pending),
 * the running value shows. Values the schema would reject fall back to the inputs, so the state stays
 * readable and deletable.
 */
export function reflectDockerStorage(desired: DockerStorageDesired, observed: DockerStorageObserved): DockerStorageDesired | undefined {
    if (observed.daemonJson === undefined && observed.dropIn === undefined && observed.backup === undefined) {
        return undefined;
    }
    let file: ManagedValues = {};
    try {
        file = managedValues(parseDaemonJson(daemonJsonText(observed, desired.daemonJsonPath) ?? "", desired.daemonJsonPath));
    } catch {
        return desired;
    }
    const running = desired.restart ? observed.info : undefined;
    const fileDriver = file["storage-driver"];
    const storageDriver = typeof fileDriver === "string" && fileDriver !== desired.storageDriver ? fileDriver : running && running.driver !== desired.storageDriver ? running.driver : desired.storageDriver;
    const fileRoot = file["data-root"];
    let dataRoot: unknown = fileRoot;
    if (fileRoot === desired.dataRoot && running && running.rootDir !== observed.backing.resolvedRoot) {
        dataRoot = running.rootDir === DEFAULT_DATA_ROOT ? undefined : running.rootDir;
    }
    const candidate: Record<string, unknown> = {
        ...desired,
        storageDriver,
        dataRoot,
        storageOpts: file["storage-opts"] ?? [],
        requiresMountsFor: observed.dropIn === undefined ? [] : parseDropIn(observed.dropIn),
    };
    for (let attempt = 0; attempt < 6; attempt++) {
        const parsed = dockerStorageConfigSchema.safeParse(candidate);
        if (parsed.success) return parsed.data;
        for (const issue of parsed.error.issues) {
            const key = String(issue.path[0]);
            candidate[key] = (desired as Record<string, unknown>)[key];
        }
    }
    return desired;
}

export const dockerStorageConfig: ResourceDefinition<DockerStorageDesired, DockerStorageObserved, DockerStorageOutputs> = {
    kind: "DockerStorageConfig",
    schema: dockerStorageConfigSchema as unknown as z.ZodType<DockerStorageDesired, z.ZodTypeDef, unknown>,
    // Another path is another file; the drop-in has one fixed name, so the old one must go first.
    replaceProperties: ["daemonJsonPath"],
    deleteBeforeReplace: true,
    id: (d) => d.daemonJsonPath,
    async observe(host: Host, desired) {
        const result = await host.run(observeScript(desired), { step: `read Docker's storage configuration`, mutating: false });
        return parseObserved(result.stdout);
    },
    plan: planDockerStorage,
    planDelete: planDeleteDockerStorage,
    outputs: outputsOf,
    reflect: reflectDockerStorage,
};
