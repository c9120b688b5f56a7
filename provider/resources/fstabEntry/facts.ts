/**
 * What FstabEntry reads from the host in one round trip: the fstab file (bytes and checksum), the
 * mount point, the mount table, the device `spec` names, systemd, and who uses the mount point.
 */
import { ParseError, RefusedError } from "../../host/errors";
import { sh, Shell } from "../../host/quote";
import { parseKeyValues, requireSection, section, splitSections } from "../../sections";
import { sha256 } from "../../shared/digest";
import { unescapeFindmnt } from "../../shared/findmnt";
import type { FstabEntryDesired } from "./schema";
import { ZFS_VOLUMES_TARGET } from "./schema";

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
        const digest = sha256(bytes);
        if (digest !== meta.sha256) {
            throw new RefusedError("the fstab file changed while it was being read (someone is editing it): nothing was changed; run the update again");
        }
        file = { state: "present", bytes, sha256: digest, mode: meta.mode, uid: Number(meta.uid), gid: Number(meta.gid) };
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
