/**
 * The shell snippets FstabEntry's plans are made of. The new fstab is written next to the old one
 * first, so `mount --fstab` can try it before it is renamed into place.
 */
import * as path from "path";
import { sh, Shell, shellQuote } from "../../host/quote";
import { sha256 } from "../../shared/digest";
import { FILE_FUNCTIONS, unchangedGuard } from "../../shared/files";
import type { FstabEntryObserved } from "./facts";
import { usersScript } from "./facts";
import type { FstabEntryDesired } from "./schema";
import { BACKUP_SUFFIX, DEFAULT_FSTAB, MOVED_SUFFIX } from "./schema";

/** On any exit: no temporary file is left, and units we stopped run again (also when a step failed). */
const CLEANUP = sh`trap 'rm -f "\${pzd_tmp:-}"; if [ -n "\${pzd_restart:-}" ]; then systemctl start $pzd_restart || echo "could not start again:$pzd_restart" >&2; fi' EXIT`;

/** Stops unless the file is still exactly what the plan was computed from: a concurrent edit is never lost. */
function guardUnchanged(f: string, observed: FstabEntryObserved): Shell {
    const changed = `${f} changed on the host after it was read (someone else edited it): nothing was written; run the update again`;
    return sh`${FILE_FUNCTIONS}\n${unchangedGuard(f, observed.file.state === "present" ? observed.file.sha256 : undefined, changed)}`;
}

/** Writes the new file next to the old one (same filesystem, so the rename is atomic), same mode and owner. */
export function prepareFile(desired: FstabEntryDesired, observed: FstabEntryObserved, content: Buffer): Shell {
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

export function installFile(desired: FstabEntryDesired, observed: FstabEntryObserved): Shell {
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
export function mountCommand(desired: FstabEntryDesired, fstabVar: Shell, remount: boolean): Shell {
    return sh`mount --fstab ${fstabVar} ${remount ? sh`-o remount ` : sh``}-- ${desired.mountPoint}`;
}

export function mountScript(desired: FstabEntryDesired, fstabVar: Shell): Shell {
    const mp = desired.mountPoint;
    const guard = desired.allowNonEmptyMountPoint
        ? sh``
        : sh`if [ -n "$(find ${mp} -mindepth 1 -maxdepth 1 -print -quit 2>/dev/null)" ]; then printf '%s\\n' ${`${mp} is not empty: mounting over it would hide its files; move them away or set allowNonEmptyMountPoint: true`} >&2; exit 73; fi\n`;
    return sh`mkdir -p -- ${mp}
${guard}${mountCommand(desired, fstabVar, false)}
findmnt -M ${mp} >/dev/null || { printf '%s\\n' ${`mount reported success but nothing is mounted at ${mp}`} >&2; exit 1; }`;
}

/** Stops the units (remembering which ran), then insists that nothing else still uses the mount point. */
export function stopUnitsScript(desired: FstabEntryDesired): Shell {
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
export function moveAsideScript(mountPoint: string): Shell {
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
export function moveDatasetAsideScript(mountPoint: string, dataset: string): Shell {
    return sh`pzd_zfs_aside=${mountPoint + MOVED_SUFFIX}$(date +%Y%m%d-%H%M%S).zfs
zfs set mountpoint="$pzd_zfs_aside" ${dataset}
if findmnt -M ${mountPoint} >/dev/null; then printf '%s\n' ${`${dataset} moved, but ${mountPoint} is still mounted: unmount what is there and run again`} >&2; exit 1; fi`;
}

export function unmountScript(mountPoint: string): Shell {
    // umount's error is kept in a variable: a fixed name under /tmp could be a symlink planted for root.
    return sh`if ! pzd_err=$(umount -- ${mountPoint} 2>&1); then
  printf '%s\n' "$pzd_err" >&2
  pzd_users=$(${usersScript(mountPoint)} | tr '\\n' ',')
  printf '%s\\n' ${`cannot unmount ${mountPoint}: it is busy. Processes using it (pid unit command): `}"$pzd_users"${". Stop them (e.g. systemctl stop docker.socket docker.service) and run again."} >&2
  exit 1
fi`;
}

/**
 * The inverse of moving aside, so a destroy leaves the host as it was: the newest aside copy (a ZFS
 * dataset, else a directory) goes back to the now empty mount point, and the stopped units that are
 * enabled start again on it. Decided on the host: only it knows what was moved.
 */
export function moveBackScript(desired: FstabEntryDesired): Shell {
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
elif [ -d ${mp} ] && ! findmnt -M ${mp} >/dev/null; then
  pzd_left=$(for d in ${new Shell(shellQuote(prefix))}*; do [ -e "$d" ] && printf '%s\n' "$d"; done | sort | tail -n 1)
  if [ -n "$pzd_left" ]; then
    pzd_seen=$(ls -A ${mp} | head -n 5 | tr '\n' ' ')
    echo "pzd-warning: $pzd_left was not moved back: "${mp}" is not empty (something wrote there while nothing was mounted on it: $pzd_seen). Both are kept; compare them and move back by hand"
  fi
fi`;
}
