/**
 * FstabEntry: one /etc/fstab line (e.g. the zvol's ext4 at /var/lib/docker), mounted now as well.
 *
 * The new file is computed here (fstab.ts, pure) and sent whole; the host only checks that the file
 * is still the one we planned from, writes it atomically with a backup, and mounts. A line for the
 * mount point that we did not write is adopted only when it is already exactly what we want.
 * For zvols the line is made boot-safe (nofail, ordered after zfs-volumes.target, a long device
 * timeout): a missing pool must not drop the machine into emergency mode.
 */
import { createHash } from "crypto";
import * as path from "path";
import { z } from "zod";
import type { ResourceDefinition } from "../adapter";
import { connectionSchema } from "../connection";
import { ParseError, RefusedError } from "../host/errors";
import type { Host } from "../host/host";
import { sh, Shell, shellQuote } from "../host/quote";
import type { Action, Plan } from "../plan";
import { noop } from "../plan";
import { parseKeyValues, requireSection, section, splitSections } from "../sections";
import type { FoundEntry, Fstab, FstabFields } from "./fstab";
import { findEntries, formatEntry, markEntry, parseFstab, removeEntry, serializeFstab, upsertEntry } from "./fstab";

export const DEFAULT_FSTAB = "/etc/fstab";
export const BACKUP_SUFFIX = ".pulumi-zfs-docker.bak";
export const ZFS_VOLUMES_TARGET = "zfs-volumes.target";
export const MOVED_SUFFIX = ".pre-pulumi-zfs-docker-";
const REQUIRES_OPTION = `x-systemd.requires=${ZFS_VOLUMES_TARGET}`;
const TIMEOUT_PREFIX = "x-systemd.device-timeout=";

const UNIT_NAME = /^[A-Za-z0-9:_.@\\-]+\.(service|socket|mount|automount|target|timer|path|scope|slice|swap)$/;

const absolutePath = (what: string, example: string) =>
    z.string().superRefine((p, ctx) => {
        const problem = !p.startsWith("/")
            ? `${what} must be an absolute path such as ${example}, got ${JSON.stringify(p)}`
            : p === "/"
              ? `${what} cannot be /`
              : p.endsWith("/")
                ? `write ${what} without the trailing '/': ${p.replace(/\/+$/, "") || "/"}`
                : p.includes("//")
                  ? `${what} ${JSON.stringify(p)} has an empty component ('//')`
                  : p.split("/").some((c) => c === "." || c === "..")
                    ? `${what} ${JSON.stringify(p)} has a '.' or '..' component: write the real path`
                    : p.includes("\0")
                      ? `${what} cannot contain a NUL byte`
                      : Buffer.byteLength(p) > 4095
                        ? `${what} is longer than 4095 bytes (PATH_MAX)`
                        : undefined;
        if (problem) ctx.addIssue({ code: "custom", message: problem });
    });

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
        connection: connectionSchema,
        /** What to mount: UUID=..., LABEL=..., PARTUUID=... or a device path. */
        spec: specSchema,
        mountPoint: absolutePath("mountPoint", "/var/lib/docker"),
        fsType: z
            .string()
            .regex(/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/, "fsType is a filesystem type such as ext4, xfs or auto")
            .refine((t) => t !== "swap", "swap is not mounted at a mount point: this resource manages mounts (use swapon for swap)"),
        options: z.array(optionSchema).min(1, "options needs at least one entry: use ['defaults']").default(["defaults"]),
        dump: z.union([z.literal(0), z.literal(1)]).default(0),
        pass: z.number().int().min(0, "pass is 0, 1 or 2").max(2, "pass is 0, 1 or 2").default(2),
        /** Also mount it now (and keep it mounted): `mount <mountPoint>` with the fstab line's options. */
        mount: z.boolean().default(true),
        fstabPath: absolutePath("fstabPath", DEFAULT_FSTAB).default(DEFAULT_FSTAB),
        /** Append nofail, x-systemd.requires=zfs-volumes.target and a device timeout (zvols appear late at boot). */
        bootSafety: z.boolean().default(true),
        /** How long systemd waits for the device at boot. 60 s was measured too short on a loaded host. */
        deviceTimeoutSeconds: z.number().int().min(1).max(86400).default(300),
        /** Mount over a directory that has files in it (they are hidden, not lost, while mounted). */
        allowNonEmptyMountPoint: z.boolean().default(false),
        /**
         * Before mounting over a non-empty directory, rename it to `<mountPoint>.pre-pulumi-zfs-docker-<time>`
         * and create an empty one with the same mode and owner; a ZFS dataset mounted there (Docker's zfs
         * driver) gets `mountpoint=<mountPoint>.pre-pulumi-zfs-docker-<time>.zfs`. Nothing is deleted or hidden.
         */
        moveAsideExisting: z.boolean().default(false),
        /**
         * systemd units that use the mount point (e.g. docker.socket, docker.service): stopped while it is
         * mounted or unmounted, then started again if they were running.
         */
        stopUnits: z
            .array(z.string().regex(UNIT_NAME, "each stopUnits entry is a full systemd unit name such as docker.service or docker.socket"))
            .default([]),
    })
    .superRefine((v, ctx) => {
        const timeout = v.options.find((o) => o.startsWith(TIMEOUT_PREFIX));
        if (v.bootSafety && timeout !== undefined && timeout !== `${TIMEOUT_PREFIX}${v.deviceTimeoutSeconds}s`) {
            ctx.addIssue({ code: "custom", path: ["options"], message: `options has ${timeout} but deviceTimeoutSeconds is ${v.deviceTimeoutSeconds}: remove it from options and set deviceTimeoutSeconds instead` });
        }
    });

export type FstabEntryDesired = z.infer<typeof fstabEntrySchema>;

export interface MountInfo {
    target: string;
    source: string;
    fsType: string;
    options: string;
    majMin: string;
}

export type FstabFileState =
    | { state: "present"; bytes: Buffer; sha256: string; mode: string; uid: number; gid: number }
    | { state: "absent" }
    | { state: "symlink"; target: string }
    | { state: "other" };

export interface FstabEntryObserved {
    file: FstabFileState;
    mountPoint: { kind: "dir" | "absent" | "symlink" | "other"; empty: boolean };
    /** The whole mount table (findmnt), in mount order: the last entry for a target is the one on top. */
    mounts: MountInfo[];
    /** The block device `spec` names now, when it resolves to one. */
    device?: { path: string; majMin: string; zvol: boolean };
    systemd: boolean;
    /** systemctl's LoadState of zfs-volumes.target ("loaded", "not-found"), when systemd runs. */
    zfsVolumesTarget?: string;
    /** Processes with a file, directory or mapping under the mount point, with their systemd unit ("-" if none). */
    users: { pid: number; unit: string; command: string }[];
}

export interface FstabEntryOutputs {
    /** The line for the mount point as it is in the file ("" when there is none). */
    line: string;
    /** Whether `spec` is mounted at the mount point now. */
    mounted: boolean;
    /** What is mounted there now, as findmnt shows it ("" when nothing is). */
    mountedSource: string;
    backupPath: string;
}

/** The options written to the file: the user's plus, with bootSafety, what a late zvol needs. */
export function effectiveOptions(desired: Pick<FstabEntryDesired, "options" | "bootSafety" | "deviceTimeoutSeconds">): string[] {
    const options = [...desired.options];
    if (desired.bootSafety) {
        if (!options.includes("nofail")) options.push("nofail");
        if (!options.includes(REQUIRES_OPTION)) options.push(REQUIRES_OPTION);
        if (!options.some((o) => o.startsWith(TIMEOUT_PREFIX))) options.push(`${TIMEOUT_PREFIX}${desired.deviceTimeoutSeconds}s`);
    }
    return options;
}

export function wantedFields(desired: FstabEntryDesired): FstabFields {
    return { spec: desired.spec, mountPoint: desired.mountPoint, fsType: desired.fsType, options: effectiveOptions(desired), dump: desired.dump, pass: desired.pass };
}

export const wantedLine = (desired: FstabEntryDesired): string => formatEntry(wantedFields(desired));

function sameFields(a: FstabFields & { valid?: boolean }, b: FstabFields): boolean {
    return a.valid !== false && a.spec === b.spec && a.fsType === b.fsType && a.options.join(",") === b.options.join(",") && a.dump === b.dump && a.pass === b.pass;
}

/** The inputs that would write `options` (for refresh): the boot-safety options fold back into bootSafety. */
export function optionsAsInputs(written: string[], desired: FstabEntryDesired): Pick<FstabEntryDesired, "options" | "bootSafety" | "deviceTimeoutSeconds"> {
    if (written.join(",") === effectiveOptions(desired).join(",")) {
        return { options: desired.options, bootSafety: desired.bootSafety, deviceTimeoutSeconds: desired.deviceTimeoutSeconds };
    }
    const timeout = written.find((o) => o.startsWith(TIMEOUT_PREFIX));
    const seconds = timeout === undefined ? undefined : /^(\d+)s?$/.exec(timeout.slice(TIMEOUT_PREFIX.length));
    if (written.includes("nofail") && written.includes(REQUIRES_OPTION) && seconds) {
        // Options the user lists themselves stay in `options`; the ones bootSafety adds do not.
        const own = new Set(desired.options);
        const options = written.filter((o) => own.has(o) || !(o === "nofail" || o === REQUIRES_OPTION || o === timeout));
        return { options: options.length > 0 ? options : ["defaults"], bootSafety: true, deviceTimeoutSeconds: Number(seconds[1]) };
    }
    return { options: written.length > 0 ? written : ["defaults"], bootSafety: false, deviceTimeoutSeconds: desired.deviceTimeoutSeconds };
}

/** Options mount(8) keeps to itself; a change in only these needs no remount. */
function kernelOptions(options: string[]): string {
    const userspace = /^(defaults|auto|noauto|nofail|user|nouser|users|owner|group|_netdev|comment=.*|x-.*)$/;
    return [...new Set(options.filter((o) => !userspace.test(o)))].sort().join(",");
}

/** A pattern for find -lname that matches the path literally. */
export function globEscape(p: string): string {
    return p.replace(/[\\*?[\]]/g, (c) => "\\" + c);
}

/**
 * Prints "pid unit command" for each process that has its cwd, root, an open file or a mapped file at or
 * under `mountPoint`. Reads /proc directly: fuser and lsof are not always installed, and `fuser -m`
 * on a directory that is not mounted would name every user of the root filesystem.
 */
export function usersScript(mountPoint: string): Shell {
    const pattern = globEscape(mountPoint);
    return sh`{ find /proc/[0-9]*/cwd /proc/[0-9]*/root /proc/[0-9]*/fd -maxdepth 1 \\( -lname ${pattern} -o -lname ${pattern + "/*"} \\) -print 2>/dev/null || true
  grep -lF -e ${" " + mountPoint + "/"} /proc/[0-9]*/maps 2>/dev/null || true
} | sed -n 's#^/proc/\\([0-9][0-9]*\\)/.*#\\1#p' | sort -un | while read -r pid; do
  [ "$pid" = "$$" ] && continue
  c=$(cat /proc/"$pid"/comm 2>/dev/null) || continue
  u=$(awk -F: '$2 == "" || $2 == "name=systemd" { n = split($3, p, "/"); print p[n]; exit }' /proc/"$pid"/cgroup 2>/dev/null || true)
  printf '%s %s %s\\n' "$pid" "\${u:--}" "$c"
done`;
}

export function observeScript(desired: FstabEntryDesired): Shell {
    const mp = desired.mountPoint;
    return sh`f=${desired.fstabPath}
mp=${mp}
spec=${desired.spec}
${new Shell(section("file"))}
if [ -L "$f" ]; then echo state=symlink; printf 'target=%s\\n' "$(readlink -f "$f" || true)"
elif [ -f "$f" ]; then echo state=present; stat -c 'mode=%a
uid=%u
gid=%g' "$f"; echo "sha256=$(sha256sum <"$f" | cut -d' ' -f1)"
elif [ -e "$f" ]; then echo state=other
else echo state=absent; fi
${new Shell(section("content"))}
if [ -f "$f" ] && [ ! -L "$f" ]; then base64 <"$f"; fi
${new Shell(section("mountpoint"))}
if [ -L "$mp" ]; then echo kind=symlink
elif [ -d "$mp" ]; then echo kind=dir; if [ -n "$(find "$mp" -mindepth 1 -maxdepth 1 -print -quit 2>/dev/null)" ]; then echo empty=0; else echo empty=1; fi
elif [ -e "$mp" ]; then echo kind=other
else echo kind=absent; fi
${new Shell(section("mounts"))}
findmnt -P -o TARGET,SOURCE,FSTYPE,OPTIONS,MAJ:MIN 2>/dev/null || true
${new Shell(section("device"))}
case "$spec" in
  UUID=*|LABEL=*|PARTUUID=*) d=$(findfs "$spec" 2>/dev/null || blkid -l -o device -t "$spec" 2>/dev/null || true) ;;
  *) d=$spec ;;
esac
if [ -n "$d" ] && [ -b "$d" ]; then r=$(readlink -f "$d"); printf 'path=%s\\n' "$r"; stat -L -c 'major=%t
minor=%T' "$r"; fi
${new Shell(section("systemd"))}
if [ -d /run/systemd/system ]; then echo systemd=1; echo "zfsvolumes=$(systemctl show -p LoadState --value ${ZFS_VOLUMES_TARGET} 2>/dev/null || true)"; else echo systemd=0; fi
${new Shell(section("users"))}
if [ -d "$mp" ] && [ ! -L "$mp" ]; then
${usersScript(mp)}
fi
:`;
}

/** findmnt -P escapes unsafe bytes as \xHH; other characters come through as they are. */
export function unescapeFindmnt(value: string): string {
    const parts: Buffer[] = [];
    let last = 0;
    for (const m of value.matchAll(/\\x([0-9a-fA-F]{2})/g)) {
        parts.push(Buffer.from(value.slice(last, m.index), "utf8"), Buffer.from([parseInt(m[1], 16)]));
        last = (m.index ?? 0) + m[0].length;
    }
    parts.push(Buffer.from(value.slice(last), "utf8"));
    return Buffer.concat(parts).toString("utf8");
}

export function parseFindmnt(text: string): MountInfo[] {
    const mounts: MountInfo[] = [];
    for (const line of text.split("\n")) {
        if (!line.trim()) continue;
        const pairs: Record<string, string> = {};
        for (const m of line.matchAll(/([A-Z_:]+)="((?:[^"\\]|\\.)*)"/g)) {
            pairs[m[1].replace("MAJ_MIN", "MAJ:MIN")] = unescapeFindmnt(m[2]);
        }
        if (pairs.TARGET === undefined || pairs["MAJ:MIN"] === undefined) {
            throw new ParseError("findmnt -P output", line);
        }
        mounts.push({ target: pairs.TARGET, source: pairs.SOURCE ?? "", fsType: pairs.FSTYPE ?? "", options: pairs.OPTIONS ?? "", majMin: pairs["MAJ:MIN"] });
    }
    return mounts;
}

export function parseObserved(raw: string): FstabEntryObserved {
    const sections = splitSections(raw);
    const meta = parseKeyValues(requireSection(sections, "file", raw));
    let file: FstabFileState;
    if (meta.state === "present") {
        const bytes = Buffer.from(requireSection(sections, "content", raw).replace(/\s+/g, ""), "base64");
        const sha256 = createHash("sha256").update(bytes).digest("hex");
        if (sha256 !== meta.sha256) {
            throw new RefusedError("the fstab file changed while it was being read (someone is editing it): nothing was changed; run the update again");
        }
        file = { state: "present", bytes, sha256, mode: meta.mode, uid: Number(meta.uid), gid: Number(meta.gid) };
    } else if (meta.state === "symlink") {
        file = { state: "symlink", target: meta.target ?? "" };
    } else if (meta.state === "absent" || meta.state === "other") {
        file = { state: meta.state };
    } else {
        throw new ParseError("the fstab file's state", raw);
    }
    const mp = parseKeyValues(requireSection(sections, "mountpoint", raw));
    if (!["dir", "absent", "symlink", "other"].includes(mp.kind)) {
        throw new ParseError("the mount point's state", raw);
    }
    const dev = parseKeyValues(requireSection(sections, "device", raw));
    const sd = parseKeyValues(requireSection(sections, "systemd", raw));
    const users = requireSection(sections, "users", raw)
        .split("\n")
        .map((l) => /^(\d+) (\S+) (.*)$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => ({ pid: Number(m[1]), unit: m[2], command: m[3] }));
    return {
        file,
        mountPoint: { kind: mp.kind as FstabEntryObserved["mountPoint"]["kind"], empty: mp.empty !== "0" },
        mounts: parseFindmnt(requireSection(sections, "mounts", raw)),
        device: dev.path ? { path: dev.path, majMin: `${parseInt(dev.major, 16)}:${parseInt(dev.minor, 16)}`, zvol: /^\/dev\/zd\d+$/.test(dev.path) } : undefined,
        systemd: sd.systemd === "1",
        zfsVolumesTarget: sd.systemd === "1" ? sd.zfsvolumes || "unknown" : undefined,
        users,
    };
}

// ---- analysis shared by plan, outputs and reflect -------------------------------------------------

/** What is mounted at the mount point (the top of a stack), if anything. */
export function mountAt(observed: FstabEntryObserved, mountPoint: string): MountInfo | undefined {
    return observed.mounts.filter((m) => m.target === mountPoint).pop();
}

function isBind(desired: FstabEntryDesired): boolean {
    return desired.options.includes("bind") || desired.options.includes("rbind");
}

/** True when what is mounted there is `spec` (compared by device number: names differ, /dev/zd0 vs a link). */
export function mountIsOurs(desired: FstabEntryDesired, observed: FstabEntryObserved, mount: MountInfo): boolean {
    const sourceOk = observed.device && !isBind(desired) ? mount.majMin === observed.device.majMin : mount.source === desired.spec || mount.source.endsWith(`[${desired.spec}]`);
    const typeOk = isBind(desired) || ["auto", "none"].includes(desired.fsType) || mount.fsType === desired.fsType;
    return sourceOk && typeOk;
}

function mountedCorrectly(desired: FstabEntryDesired, observed: FstabEntryObserved): boolean {
    const mount = mountAt(observed, desired.mountPoint);
    return mount !== undefined && mountIsOurs(desired, observed, mount);
}

function submounts(observed: FstabEntryObserved, mountPoint: string): string[] {
    return observed.mounts.filter((m) => m.target.startsWith(mountPoint + "/")).map((m) => m.target);
}

const describeUsers = (users: FstabEntryObserved["users"]): string => users.map((u) => `${u.command} (pid ${u.pid}${u.unit === "-" ? "" : `, ${u.unit}`})`).join(", ");

/** Users that stopping `stopUnits` would not stop. */
function blockingUsers(desired: FstabEntryDesired, observed: FstabEntryObserved): FstabEntryObserved["users"] {
    return observed.users.filter((u) => !desired.stopUnits.includes(u.unit));
}

function parsedFile(desired: FstabEntryDesired, observed: FstabEntryObserved): Fstab {
    const file = observed.file;
    if (file.state === "symlink") {
        throw new RefusedError(`${desired.fstabPath} is a symlink to ${file.target}: replacing it would break the link. Set fstabPath to ${file.target}.`);
    }
    if (file.state === "other") {
        throw new RefusedError(`${desired.fstabPath} exists but is not a regular file: fix fstabPath`);
    }
    return file.state === "present" ? parseFstab(file.bytes) : { lines: [] };
}

function ourEntry(desired: FstabEntryDesired, fstab: Fstab): FoundEntry | undefined {
    const entries = findEntries(fstab, desired.mountPoint);
    if (entries.length > 1) {
        throw new RefusedError(
            `${desired.fstabPath} has ${entries.length} lines for ${desired.mountPoint}:\n${entries.map((e) => `  line ${e.lineNumber}: ${e.text}`).join("\n")}\n` +
                `Only the last one takes effect at boot. Remove or comment out all but one of them, then run again.`,
        );
    }
    return entries[0];
}

// ---- scripts --------------------------------------------------------------------------------------

const sha256 = (bytes: Buffer): string => createHash("sha256").update(bytes).digest("hex");

/** On any exit: no temporary file is left, and units we stopped run again (also when a step failed). */
const CLEANUP = sh`trap 'rm -f "\${pzd_tmp:-}"; if [ -n "\${pzd_restart:-}" ]; then systemctl start $pzd_restart || echo "could not start again:$pzd_restart" >&2; fi' EXIT`;

/** Stops unless the file is still exactly what the plan was computed from: a concurrent edit is never lost. */
function guardUnchanged(f: string, observed: FstabEntryObserved): Shell {
    const changed = `${f} changed on the host after it was read (someone else edited it): nothing was written; run the update again`;
    return observed.file.state === "present"
        ? sh`if [ "$(sha256sum <${f} | cut -d' ' -f1)" != ${observed.file.sha256} ]; then printf '%s\\n' ${changed} >&2; exit 75; fi`
        : sh`if [ -e ${f} ]; then printf '%s\\n' ${changed} >&2; exit 75; fi`;
}

/** Writes the new file next to the old one (same filesystem, so the rename is atomic), same mode and owner. */
function prepareFile(desired: FstabEntryDesired, observed: FstabEntryObserved, content: Buffer): Shell {
    const f = desired.fstabPath;
    const keepMode = observed.file.state === "present" ? sh`chmod --reference=${f} "$pzd_tmp"; chown --reference=${f} "$pzd_tmp"` : sh`chmod 644 "$pzd_tmp"`;
    return sh`${guardUnchanged(f, observed)}
pzd_tmp=$(mktemp ${f + ".pzd-XXXXXX"})
${CLEANUP}
printf '%s\\n' ${content.toString("base64")} | base64 -d >"$pzd_tmp"
if [ "$(sha256sum <"$pzd_tmp" | cut -d' ' -f1)" != ${sha256(content)} ]; then printf '%s\\n' ${`the new ${f} did not arrive intact: nothing was changed; run the update again`} >&2; exit 74; fi
${keepMode}
sync "$pzd_tmp" 2>/dev/null || sync`;
}

function installFile(desired: FstabEntryDesired, observed: FstabEntryObserved): Shell {
    const f = desired.fstabPath;
    const backup = f + BACKUP_SUFFIX;
    const keepBackup = observed.file.state === "present" ? sh`cp -p ${f} ${backup + ".tmp"} && mv -f ${backup + ".tmp"} ${backup}\n` : sh``;
    // systemd turns /etc/fstab into mount units; without a reload it keeps using the old lines.
    const reload = f === DEFAULT_FSTAB ? sh`\nif [ -d /run/systemd/system ]; then systemctl daemon-reload; fi` : sh``;
    return sh`${guardUnchanged(f, observed)}
${keepBackup}mv -f "$pzd_tmp" ${f}
sync ${path.posix.dirname(f)} 2>/dev/null || sync${reload}`;
}

/** mount(8) with the planned file: its options apply, and a failed mount leaves the old file in place. */
function mountCommand(desired: FstabEntryDesired, fstabVar: Shell, remount: boolean): Shell {
    return sh`mount --fstab ${fstabVar} ${remount ? sh`-o remount ` : sh``}-- ${desired.mountPoint}`;
}

function mountScript(desired: FstabEntryDesired, fstabVar: Shell): Shell {
    const mp = desired.mountPoint;
    const guard = desired.allowNonEmptyMountPoint
        ? sh``
        : sh`if [ -n "$(find ${mp} -mindepth 1 -maxdepth 1 -print -quit 2>/dev/null)" ]; then printf '%s\\n' ${`${mp} is not empty: mounting over it would hide its files; move them away or set allowNonEmptyMountPoint: true`} >&2; exit 73; fi\n`;
    return sh`mkdir -p -- ${mp}
${guard}${mountCommand(desired, fstabVar, false)}
findmnt -M ${mp} >/dev/null || { printf '%s\\n' ${`mount reported success but nothing is mounted at ${mp}`} >&2; exit 1; }`;
}

/** Stops the units (remembering which ran), then insists that nothing else still uses the mount point. */
function stopUnitsScript(desired: FstabEntryDesired): Shell {
    const mp = desired.mountPoint;
    return sh`pzd_restart=
for u in ${desired.stopUnits}; do if systemctl is-active --quiet "$u"; then pzd_restart="$pzd_restart $u"; fi; done
${CLEANUP}
systemctl stop ${desired.stopUnits}
if [ -d ${mp} ]; then
  pzd_users=$(${usersScript(mp)} | tr '\n' ',')
  if [ -n "$pzd_users" ]; then printf '%s\\n' ${`${mp} is still in use after stopping ${desired.stopUnits.join(", ")} (pid unit command): `}"$pzd_users"${". Stop those too (or add their units to stopUnits) and run again."} >&2; exit 1; fi
fi`;
}

/** Renames the non-empty mount point out of the way and puts an empty one with the same mode and owner in its place. */
function moveAsideScript(mountPoint: string): Shell {
    return sh`if [ -d ${mountPoint} ] && [ -n "$(find ${mountPoint} -mindepth 1 -maxdepth 1 -print -quit 2>/dev/null)" ]; then
  pzd_aside=${mountPoint + MOVED_SUFFIX}$(date +%Y%m%d-%H%M%S)
  mv -T -- ${mountPoint} "$pzd_aside"
  mkdir -- ${mountPoint}
  chmod --reference="$pzd_aside" -- ${mountPoint}
  chown --reference="$pzd_aside" -- ${mountPoint}
fi`;
}

/**
 * Gives a ZFS dataset mounted at the mount point a new mountpoint property: zfs remounts it (and its
 * children) there, and it stays there after a reboot, where a plain umount would be undone by zfs-mount.
 */
function moveDatasetAsideScript(mountPoint: string, dataset: string): Shell {
    return sh`pzd_zfs_aside=${mountPoint + MOVED_SUFFIX}$(date +%Y%m%d-%H%M%S).zfs
zfs set mountpoint="$pzd_zfs_aside" ${dataset}
if findmnt -M ${mountPoint} >/dev/null; then printf '%s\n' ${`${dataset} moved, but ${mountPoint} is still mounted: unmount what is there and run again`} >&2; exit 1; fi`;
}

function unmountScript(mountPoint: string): Shell {
    // umount's error is kept in a variable: a fixed name under /tmp could be a symlink planted for root.
    return sh`if ! pzd_err=$(umount -- ${mountPoint} 2>&1); then
  printf '%s\n' "$pzd_err" >&2
  pzd_users=$(${usersScript(mountPoint)} | tr '\\n' ',')
  printf '%s\\n' ${`cannot unmount ${mountPoint}: it is busy. Processes using it (pid unit command): `}"$pzd_users"${". Stop them (e.g. systemctl stop docker.socket docker.service) and run again."} >&2
  exit 1
fi`;
}

/** `doing` completes "cannot ...", e.g. "unmount /var/lib/docker". */
function refuseBusy(desired: FstabEntryDesired, observed: FstabEntryObserved, doing: string): void {
    const users = blockingUsers(desired, observed);
    // Mounts inside (Docker's overlays) usually go with the units that made them: the script checks again.
    const nested = desired.stopUnits.length > 0 ? [] : submounts(observed, desired.mountPoint);
    if (users.length > 0 || nested.length > 0) {
        const what = [users.length > 0 && `processes use it: ${describeUsers(users)}`, nested.length > 0 && `filesystems are mounted inside it: ${nested.join(", ")}`].filter(Boolean).join("; ");
        throw new RefusedError(`cannot ${doing}: ${desired.mountPoint} is busy (${what}). Stop them (for Docker: systemctl stop docker.socket docker.service, or list those units in stopUnits) and run again.`);
    }
}

/** The action that stops `stopUnits` before the mount changes, if there are any. */
function stopAction(desired: FstabEntryDesired, observed: FstabEntryObserved): Action[] {
    if (desired.stopUnits.length === 0) return [];
    if (!observed.systemd) {
        throw new RefusedError(`stopUnits (${desired.stopUnits.join(", ")}) needs systemd, which does not run on this host: stop what uses ${desired.mountPoint} yourself and remove stopUnits`);
    }
    return [{ description: `stop ${desired.stopUnits.join(", ")} (started again afterwards if they were running)`, script: stopUnitsScript(desired) }];
}

// ---- planners -------------------------------------------------------------------------------------

export function planFstabEntry(desired: FstabEntryDesired, observed: FstabEntryObserved, previous?: FstabEntryDesired): Plan {
    const fstab = parsedFile(desired, observed);
    const existing = ourEntry(desired, fstab);
    const want = wantedFields(desired);
    const line = formatEntry(want);

    if (observed.systemd && desired.bootSafety && observed.zfsVolumesTarget !== "loaded") {
        throw new RefusedError(
            `bootSafety makes the line require ${ZFS_VOLUMES_TARGET}, but this host's systemd does not know that unit (LoadState ${observed.zfsVolumesTarget}): ` +
                `the mount would never happen at boot. Install zfsutils-linux, or set bootSafety: false for a device that is not a zvol.`,
        );
    }
    if (!desired.bootSafety && observed.device?.zvol && !want.options.includes("nofail")) {
        throw new RefusedError(
            `${desired.spec} is a zvol (${observed.device.path}); with bootSafety: false and no nofail, a boot without the pool stops in emergency mode (measured). ` +
                `Set bootSafety: true, or add nofail and x-systemd.requires=${ZFS_VOLUMES_TARGET} to options.`,
        );
    }

    // Ours: carries our marker, or this is an update of a resource we manage.
    const owned = existing !== undefined && (existing.marked || previous !== undefined);
    let needWrite = false;
    if (existing === undefined) {
        needWrite = true;
    } else if (sameFields(existing.fields, want)) {
        needWrite = !existing.marked;
    } else if (owned) {
        needWrite = true;
    } else {
        throw new RefusedError(
            `${desired.fstabPath} already has a line for ${desired.mountPoint} that pulumi-zfs-docker did not write (line ${existing.lineNumber}):\n  ${existing.text}\n` +
                `It differs from the wanted line:\n  ${line}\n` +
                `To manage it, either make spec, fsType, options, dump and pass match it exactly (it is then adopted as it is), ` +
                `or remove or comment out that line yourself and run again, or choose another mountPoint.`,
        );
    }

    // An adopted line stays byte for byte as its author wrote it (tabs, alignment); it only gets our marker.
    const adopting = existing !== undefined && sameFields(existing.fields, want);
    const content = needWrite ? serializeFstab(adopting ? markEntry(fstab, desired.mountPoint) : upsertEntry(fstab, want)) : undefined;
    const fstabVar = content ? sh`"$pzd_tmp"` : sh`${desired.fstabPath}`;
    const actions: Action[] = [];
    const warnings: string[] = [];
    if (content) {
        const verb = existing === undefined ? "add" : adopting ? "adopt (mark as managed)" : "rewrite";
        actions.push({ description: `prepare ${desired.fstabPath} (${verb} the line for ${desired.mountPoint})`, script: prepareFile(desired, observed, content) });
    }

    if (desired.mount) {
        const mounted = mountAt(observed, desired.mountPoint);
        if (mounted === undefined) {
            if (observed.mountPoint.kind === "symlink") {
                throw new RefusedError(`${desired.mountPoint} is a symlink; mount would follow it and the fstab line would not match the mount: set mountPoint to the real path`);
            }
            if (observed.mountPoint.kind === "other") {
                throw new RefusedError(`${desired.mountPoint} exists and is not a directory: move it away or choose another mountPoint`);
            }
            const nonEmpty = observed.mountPoint.kind === "dir" && !observed.mountPoint.empty;
            if (nonEmpty) {
                const users = blockingUsers(desired, observed);
                if (users.length > 0) {
                    throw new RefusedError(
                        `${desired.mountPoint} is not empty and in use by ${describeUsers(users)}: mounting over it would leave them working on hidden files. ` +
                            `Stop them (for Docker: systemctl stop docker.socket docker.service, or list those units in stopUnits), move the files away, and run again.`,
                    );
                }
                if (desired.moveAsideExisting) {
                    warnings.push(`the files in ${desired.mountPoint} are moved to ${desired.mountPoint}${MOVED_SUFFIX}<date-time> before mounting (moveAsideExisting: true); nothing is deleted`);
                } else if (!desired.allowNonEmptyMountPoint) {
                    throw new RefusedError(
                        `${desired.mountPoint} is not empty: mounting over it would hide its files (they stay on the disk underneath, unreachable while mounted). ` +
                            `Move them away (or into the new filesystem), or set moveAsideExisting: true to have them moved aside, or allowNonEmptyMountPoint: true to mount over them anyway.`,
                    );
                } else {
                    warnings.push(`mounting over the non-empty ${desired.mountPoint} (allowNonEmptyMountPoint: true): its files are hidden while mounted`);
                }
            }
            if (observed.device === undefined && !isBind(desired)) {
                throw new RefusedError(`${desired.spec} does not name a block device on the host: create the filesystem first (e.g. an Ext4Filesystem), or fix spec`);
            }
            actions.push(...stopAction(desired, observed));
            if (desired.moveAsideExisting) {
                actions.push({ description: `move the files in ${desired.mountPoint} aside, if there are any`, script: moveAsideScript(desired.mountPoint) });
            }
            actions.push({ description: `mount ${desired.spec} at ${desired.mountPoint}`, script: mountScript(desired, fstabVar) });
        } else if (!mountIsOurs(desired, observed, mounted)) {
            if (!owned && desired.moveAsideExisting && mounted.fsType === "zfs") {
                const users = blockingUsers(desired, observed);
                if (users.length > 0) {
                    throw new RefusedError(
                        `the ZFS dataset ${mounted.source} at ${desired.mountPoint} is in use by ${describeUsers(users)}: moving it aside would pull it from under them. ` +
                            `Stop them (for Docker: list docker.socket and docker.service in stopUnits) and run again.`,
                    );
                }
                if (observed.device === undefined) {
                    throw new RefusedError(`${desired.spec} does not name a block device on the host: create the filesystem first (e.g. an Ext4Filesystem), or fix spec`);
                }
                warnings.push(`the ZFS dataset ${mounted.source} mounted at ${desired.mountPoint} gets mountpoint=${desired.mountPoint}${MOVED_SUFFIX}<date-time>.zfs (moveAsideExisting: true); its data stays on the pool`);
                actions.push(...stopAction(desired, observed));
                actions.push({ description: `move the ZFS dataset ${mounted.source} away from ${desired.mountPoint}`, script: moveDatasetAsideScript(desired.mountPoint, mounted.source) });
                actions.push({ description: `move the files in ${desired.mountPoint} aside, if there are any`, script: moveAsideScript(desired.mountPoint) });
                actions.push({ description: `mount ${desired.spec} at ${desired.mountPoint}`, script: mountScript(desired, fstabVar) });
                return finish();
            }
            if (!owned) {
                throw new RefusedError(
                    `${mounted.source} (${mounted.fsType}) is already mounted at ${desired.mountPoint}, not ${desired.spec}: unmount it, or choose another mountPoint` +
                        (mounted.fsType === "zfs" ? ` (for a ZFS dataset, moveAsideExisting: true moves it to another mountpoint, keeping its data)` : ""),
                );
            }
            if (observed.device === undefined && !isBind(desired)) {
                throw new RefusedError(`${desired.spec} does not name a block device on the host: create the filesystem first (e.g. an Ext4Filesystem), or fix spec`);
            }
            refuseBusy(desired, observed, `unmount ${mounted.source} from ${desired.mountPoint} to mount ${desired.spec} there`);
            actions.push(...stopAction(desired, observed));
            actions.push({
                description: `unmount ${mounted.source} from ${desired.mountPoint} and mount ${desired.spec} there`,
                script: sh`${unmountScript(desired.mountPoint)}\n${mountScript({ ...desired, allowNonEmptyMountPoint: true }, fstabVar)}`,
            });
        } else if (existing !== undefined && needWrite && kernelOptions(existing.fields.options) !== kernelOptions(want.options)) {
            actions.push({ description: `remount ${desired.mountPoint} with options ${want.options.join(",")}`, script: mountCommand(desired, fstabVar, true) });
        }
    }

    return finish();

    function finish(): Plan {
        if (content) {
            actions.push({ description: `install the new ${desired.fstabPath} (backup: ${desired.fstabPath}${BACKUP_SUFFIX})`, script: installFile(desired, observed) });
        }
        if (actions.length === 0) {
            return noop(`${desired.fstabPath} already has the line for ${desired.mountPoint}${desired.mount ? ` and ${desired.spec} is mounted there` : ""}`);
        }
        return { actions, warnings: warnings.length > 0 ? warnings : undefined };
    }
}

export function planDeleteFstabEntry(desired: FstabEntryDesired, observed: FstabEntryObserved): Plan {
    const fstab = observed.file.state === "absent" ? { lines: [] } : parsedFile(desired, observed);
    const existing = ourEntry(desired, fstab);
    if (existing !== undefined && !existing.marked && !sameFields(existing.fields, wantedFields(desired))) {
        throw new RefusedError(
            `the line for ${desired.mountPoint} in ${desired.fstabPath} was changed by hand and no longer carries the "# managed by pulumi-zfs-docker" comment (line ${existing.lineNumber}):\n  ${existing.text}\n` +
                `It may not be ours any more, so it is left alone. Remove it yourself and run again, or drop this resource from the stack with \`pulumi state delete\`.`,
        );
    }
    const actions: Action[] = [];
    const mounted = mountAt(observed, desired.mountPoint);
    if (mounted !== undefined && mountIsOurs(desired, observed, mounted)) {
        refuseBusy(desired, observed, `unmount ${desired.mountPoint}`);
        actions.push(...stopAction(desired, observed));
        actions.push({ description: `unmount ${desired.mountPoint}`, script: unmountScript(desired.mountPoint) });
    }
    if (existing !== undefined) {
        const content = serializeFstab(removeEntry(fstab, desired.mountPoint));
        actions.push({ description: `prepare ${desired.fstabPath} without the line for ${desired.mountPoint}`, script: prepareFile(desired, observed, content) });
        actions.push({ description: `install the new ${desired.fstabPath} (backup: ${desired.fstabPath}${BACKUP_SUFFIX})`, script: installFile(desired, observed) });
    }
    if (desired.moveAsideExisting && actions.length > 0) {
        actions.push({ description: `move what was in ${desired.mountPoint} before back, if it was moved aside`, script: moveBackScript(desired) });
    }
    return actions.length === 0 ? noop(`${desired.fstabPath} has no line for ${desired.mountPoint} and nothing of ours is mounted there`) : { actions };
}

/**
 * The inverse of moving aside, so a destroy leaves the host as it was: the newest aside copy (a ZFS
 * dataset, else a directory) goes back to the now empty mount point, and the stopped units that are
 * enabled start again on it. Decided on the host: only it knows what was moved.
 */
function moveBackScript(desired: FstabEntryDesired): Shell {
    const mp = desired.mountPoint;
    const prefix = mp + MOVED_SUFFIX;
    const units = desired.stopUnits.length > 0 ? sh`for pzd_u in ${desired.stopUnits}; do if systemctl is-enabled --quiet "$pzd_u" 2>/dev/null; then systemctl start "$pzd_u" || true; fi; done` : sh`:`;
    return sh`if [ -d ${mp} ] && ! findmnt -M ${mp} >/dev/null && [ -z "$(find ${mp} -mindepth 1 -maxdepth 1 -print -quit 2>/dev/null)" ]; then
  pzd_back=""
  pzd_ds=$(zfs list -H -o name,mountpoint 2>/dev/null | awk -F '\t' -v p=${prefix} 'index($2, p) == 1 && $2 ~ /[.]zfs$/ { print $2 "\t" $1 }' | sort | tail -n 1 | cut -f 2) || pzd_ds=""
  if [ -n "$pzd_ds" ]; then
    zfs set mountpoint=${mp} "$pzd_ds" && pzd_back="ZFS dataset $pzd_ds"
  else
    pzd_dir=$(for d in ${new Shell(shellQuote(prefix))}*; do case "$d" in *.zfs) ;; *) [ -d "$d" ] && printf '%s\n' "$d";; esac; done | sort | tail -n 1)
    if [ -n "$pzd_dir" ]; then rmdir -- ${mp} && mv -T -- "$pzd_dir" ${mp} && pzd_back="$pzd_dir"; fi
  fi
  if [ -n "$pzd_back" ]; then
    echo "pzd-warning: moved $pzd_back back to "${mp}", as it was before pulumi-zfs-docker"
    ${units}
  fi
fi`;
}

export const fstabEntry: ResourceDefinition<FstabEntryDesired, FstabEntryObserved, FstabEntryOutputs> = {
    kind: "FstabEntry",
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
    async observe(host: Host, desired) {
        const result = await host.run(observeScript(desired), { step: `read ${desired.fstabPath} and the mount at ${desired.mountPoint}`, mutating: false });
        return parseObserved(result.stdout);
    },
    plan: planFstabEntry,
    planDelete: planDeleteFstabEntry,
    outputs(desired, observed) {
        const entry = observed.file.state === "present" ? findEntries(parseFstab(observed.file.bytes), desired.mountPoint).pop() : undefined;
        const mount = mountAt(observed, desired.mountPoint);
        return {
            line: entry?.text ?? "",
            mounted: mountedCorrectly(desired, observed),
            mountedSource: mount?.source ?? "",
            backupPath: desired.fstabPath + BACKUP_SUFFIX,
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
