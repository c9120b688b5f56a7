/**
 * FstabEntry's planners: pure, from the inputs and what was observed to the actions that get there,
 * or a RefusedError saying why they must not run.
 */
import { RefusedError } from "../../host/errors";
import { sh } from "../../host/quote";
import type { Action, Plan } from "../../plan";
import { noop } from "../../plan";
import type { FstabEntryObserved, MountInfo } from "./facts";
import type { FoundEntry, Fstab, FstabFields } from "./fstab";
import { dotDotEntries, findEntries, formatEntry, markEntry, parseFstab, removeEntry, serializeFstab, upsertEntry } from "./fstab";
import type { FstabEntryDesired } from "./schema";
import { BACKUP_SUFFIX, BEFORE_PREFIX, MOVED_SUFFIX, REQUIRED_BY_PREFIX, REQUIRES_OPTION, TIMEOUT_PREFIX, WANTED_BY_LOCAL_FS, ZFS_VOLUMES_TARGET } from "./schema";
import { installFile, mountCommand, mountScript, moveAsideScript, moveBackScript, moveDatasetAsideScript, prepareFile, stopUnitsScript, unmountScript } from "./scripts";

/** The options written to the file: the user's plus, with bootSafety, what a late zvol needs, then requiredBy's. */
export function effectiveOptions(desired: Pick<FstabEntryDesired, "options" | "bootSafety" | "deviceTimeoutSeconds" | "requiredBy">): string[] {
    const options = [...desired.options];
    if (desired.bootSafety) {
        if (!options.includes("nofail")) options.push("nofail");
        if (!options.includes(REQUIRES_OPTION)) options.push(REQUIRES_OPTION);
        if (!options.some((o) => o.startsWith(TIMEOUT_PREFIX))) options.push(`${TIMEOUT_PREFIX}${desired.deviceTimeoutSeconds}s`);
    }
    return [...options, ...requiredByOptions(desired.requiredBy)];
}

function requiredByOptions(units: readonly string[]): string[] {
    return units.length === 0 ? [] : [...units.flatMap((u) => [BEFORE_PREFIX + u, REQUIRED_BY_PREFIX + u]), WANTED_BY_LOCAL_FS];
}

/**
 * The units a line's options make wait for it, and the options without what requiredBy writes: only
 * when they end with exactly what requiredBy would write, so any other use of those options stays the user's own.
 */
function splitRequiredBy(written: string[]): { requiredBy: string[]; rest: string[] } {
    if (written[written.length - 1] !== WANTED_BY_LOCAL_FS) return { requiredBy: [], rest: written };
    const units: string[] = [];
    let i = written.length - 1;
    while (i >= 2 && written[i - 2].startsWith(BEFORE_PREFIX) && written[i - 1] === REQUIRED_BY_PREFIX + written[i - 2].slice(BEFORE_PREFIX.length)) {
        units.unshift(written[i - 1].slice(REQUIRED_BY_PREFIX.length));
        i -= 2;
    }
    return units.length === 0 ? { requiredBy: [], rest: written } : { requiredBy: units, rest: written.slice(0, i) };
}

export function wantedFields(desired: FstabEntryDesired): FstabFields {
    return { spec: desired.spec, mountPoint: desired.mountPoint, fsType: desired.fsType, options: effectiveOptions(desired), dump: desired.dump, pass: desired.pass };
}

export const wantedLine = (desired: FstabEntryDesired): string => formatEntry(wantedFields(desired));

function sameFields(a: FstabFields & { valid?: boolean }, b: FstabFields): boolean {
    return a.valid !== false && a.spec === b.spec && a.fsType === b.fsType && a.options.join(",") === b.options.join(",") && a.dump === b.dump && a.pass === b.pass;
}

/** The inputs that would write `options` (for refresh): the boot-safety options fold back into bootSafety, requiredBy's into requiredBy. */
export function optionsAsInputs(written: string[], desired: FstabEntryDesired): Pick<FstabEntryDesired, "options" | "bootSafety" | "deviceTimeoutSeconds" | "requiredBy"> {
    if (written.join(",") === effectiveOptions(desired).join(",")) {
        return { options: desired.options, bootSafety: desired.bootSafety, deviceTimeoutSeconds: desired.deviceTimeoutSeconds, requiredBy: desired.requiredBy };
    }
    const { requiredBy, rest } = splitRequiredBy(written);
    const timeout = rest.find((o) => o.startsWith(TIMEOUT_PREFIX));
    const seconds = timeout === undefined ? undefined : /^(\d+)s?$/.exec(timeout.slice(TIMEOUT_PREFIX.length));
    if (rest.includes("nofail") && rest.includes(REQUIRES_OPTION) && seconds) {
        // Options the user lists themselves stay in `options`; the ones bootSafety adds do not.
        const own = new Set(desired.options);
        const options = rest.filter((o) => own.has(o) || !(o === "nofail" || o === REQUIRES_OPTION || o === timeout));
        return { options: options.length > 0 ? options : ["defaults"], bootSafety: true, deviceTimeoutSeconds: Number(seconds[1]), requiredBy };
    }
    return { options: rest.length > 0 ? rest : ["defaults"], bootSafety: false, deviceTimeoutSeconds: desired.deviceTimeoutSeconds, requiredBy };
}

/** Options mount(8) keeps to itself; a change in only these needs no remount. */
function kernelOptions(options: string[]): string {
    const userspace = /^(defaults|auto|noauto|nofail|user|nouser|users|owner|group|_netdev|comment=.*|x-.*)$/;
    return [...new Set(options.filter((o) => !userspace.test(o)))].sort().join(",");
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

export function mountedCorrectly(desired: FstabEntryDesired, observed: FstabEntryObserved): boolean {
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
            `${desired.fstabPath} has ${entries.length} lines for ${desired.mountPoint} (systemd ignores repeated and trailing '/' and '.' components):\n${entries.map((e) => `  line ${e.lineNumber}: ${e.text}`).join("\n")}\n` +
                `systemd reports a duplicate entry and mounts only the first of them at boot. Remove or comment out all but one of them, then run again.`,
        );
    }
    return entries[0];
}

/** A ".." line may be our mount point under another name (systemd resolves it through symlinks at boot): adding ours could make a duplicate. */
function refuseDotDotAliases(desired: FstabEntryDesired, fstab: Fstab): void {
    const aliases = dotDotEntries(fstab, desired.mountPoint);
    if (aliases.length > 0) {
        throw new RefusedError(
            `${desired.fstabPath} has a line whose mount point reaches ${desired.mountPoint} through '..':\n${aliases.map((e) => `  line ${e.lineNumber}: ${e.text}`).join("\n")}\n` +
                `Whether it is the same mount point depends on symlinks, so it is neither adopted nor left beside a second line. Write its mount point without '..', or remove it, then run again.`,
        );
    }
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
    refuseDotDotAliases(desired, fstab);
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

    // An adopted line stays byte for byte as its author wrote it (tabs, alignment); it only gets our
    // marker, which keeps those bytes so that delete gives them back. On update, an unmarked line is
    // one of ours that lost its marker: it is claimed as ours again, as before.
    const adopting = existing !== undefined && sameFields(existing.fields, want);
    const unmarked = previous === undefined ? "adopt" : "claim";
    const content = needWrite ? serializeFstab(adopting ? markEntry(fstab, desired.mountPoint, unmarked) : upsertEntry(fstab, want, unmarked)) : undefined;
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

/**
 * The line the file keeps for the mount point after delete: a line without our marker (not ours:
 * written by hand, or given back after adoption), or the adopted line as it was.
 */
function lineLeftBehind(existing: FoundEntry | undefined): FstabFields | undefined {
    if (existing === undefined || existing.marker?.kind === "ours") return undefined;
    if (existing.marker === undefined) return existing.fields;
    return parseFstab(existing.marker.original ?? "").lines[0]?.entry;
}

export function planDeleteFstabEntry(desired: FstabEntryDesired, observed: FstabEntryObserved): Plan {
    const fstab = observed.file.state === "absent" ? { lines: [] } : parsedFile(desired, observed);
    const existing = ourEntry(desired, fstab);
    const kept = lineLeftBehind(existing);
    const actions: Action[] = [];
    const mounted = mountAt(observed, desired.mountPoint);
    // What the line left behind mounts stays mounted with it: unmounting would leave the host unlike its fstab.
    if (mounted !== undefined && mountIsOurs(desired, observed, mounted) && kept?.spec !== desired.spec) {
        refuseBusy(desired, observed, `unmount ${desired.mountPoint}`);
        actions.push(...stopAction(desired, observed));
        actions.push({ description: `unmount ${desired.mountPoint}`, script: unmountScript(desired.mountPoint) });
    }
    if (existing?.marked) {
        const content = serializeFstab(removeEntry(fstab, desired.mountPoint));
        const what = existing.marker?.kind === "adopted" ? `with the adopted line for ${desired.mountPoint} as it was before` : `without the line for ${desired.mountPoint}`;
        actions.push({ description: `prepare ${desired.fstabPath} ${what}`, script: prepareFile(desired, observed, content) });
        actions.push({ description: `install the new ${desired.fstabPath} (backup: ${desired.fstabPath}${BACKUP_SUFFIX})`, script: installFile(desired, observed) });
    }
    if (desired.moveAsideExisting && actions.length > 0) {
        actions.push({ description: `move what was in ${desired.mountPoint} before back, if it was moved aside`, script: moveBackScript(desired) });
    }
    if (actions.length > 0) return { actions };
    return noop(
        existing === undefined
            ? `${desired.fstabPath} has no line for ${desired.mountPoint} and nothing of ours is mounted there`
            : `the line for ${desired.mountPoint} in ${desired.fstabPath} (line ${existing.lineNumber}) has no "# managed by pulumi-zfs-docker" comment, so it is not ours: it stays, and so does what it mounts`,
    );
}
