import { ParseError } from "../../host/errors";
import { sh, Shell } from "../../host/quote";
import { parseKeyValues, parseSignature, readSignature, requireSection, requireTools, section, splitSections } from "../../sections";
import { unescapeFindmnt } from "../../shared/findmnt";

export interface Ext4Observed {
    devicePresent: boolean;
    deviceBytes: number;
    /** blkid -p: TYPE, UUID, LABEL, PTTYPE; empty when the device is blank. */
    signature: Record<string, string>;
    /** dumpe2fs -h fields, when the device holds ext2/3/4. */
    superblock: Record<string, string>;
    mountpoints: string[];
}

export function observeScript(device: string): Shell {
    return sh`d=${device}
${requireTools(["blkid", "blockdev", "dumpe2fs", "findmnt"], "util-linux and e2fsprogs")}
${new Shell(section("device"))}
if [ -b "$d" ]; then
  real=$(readlink -f "$d"); echo present=1
  bytes=$(blockdev --getsize64 "$real") || { rc=$?; echo "blockdev could not read the size of $d (exit $rc)" >&2; exit "$rc"; }
  echo "bytes=$bytes"
else echo present=0; fi
${new Shell(section("blkid"))}
# blkid exits 2 when the device holds no signature; anything else non-zero is a failure to read it.
sig=""; if [ -b "$d" ]; then ${readSignature('"$d"')}; fi
[ -z "$sig" ] || printf '%s\n' "$sig"
${new Shell(section("superblock"))}
case "$sig" in *"TYPE=ext4"*) dumpe2fs -h "$d" 2>/dev/null || { echo "dumpe2fs could not read the ext4 superblock on $d" >&2; exit 74; } ;; esac
${new Shell(section("mounts"))}
[ -b "$d" ] && { findmnt -n -r -o TARGET -S "$(readlink -f "$d")" 2>/dev/null || true; }
:`;
}

/** `dumpe2fs -h` prints "Block count:              262144": key → value. */
export function parseSuperblock(text: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const m = /^([A-Za-z][A-Za-z0-9 #/_()-]*?):\s*(.*)$/.exec(line);
        if (m) out[m[1]] = m[2].trim();
    }
    return out;
}

export function parseObserved(raw: string): Ext4Observed {
    const sections = splitSections(raw);
    const device = parseKeyValues(requireSection(sections, "device", raw));
    const deviceBytes = Number(device.bytes ?? 0);
    if (device.present === "1" && !(/^[0-9]+$/.test(device.bytes ?? "") && Number.isSafeInteger(deviceBytes))) {
        throw new ParseError("the device size (from `blockdev --getsize64`)", raw);
    }
    const mounts = requireSection(sections, "mounts", raw)
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean)
        // findmnt -r escapes spaces and non-ASCII bytes as \xHH
        .map((l) => unescapeFindmnt(l));
    const signature = parseSignature(requireSection(sections, "blkid", raw), requireSection(sections, "blkid", raw));
    const superblock = parseSuperblock(requireSection(sections, "superblock", raw));
    // Without these the filesystem would look 0 bytes and the plan would resize2fs/tune2fs on no facts.
    if (signature.TYPE === "ext4" && !(Number(superblock["Block count"]) > 0 && Number(superblock["Block size"]) > 0)) {
        throw new ParseError("the ext4 superblock (dumpe2fs -h gave no Block count or Block size)", raw);
    }
    return {
        devicePresent: device.present === "1",
        deviceBytes,
        signature,
        superblock,
        mountpoints: mounts,
    };
}

export function filesystemBytes(observed: Ext4Observed): number {
    return Number(observed.superblock["Block count"] ?? 0) * Number(observed.superblock["Block size"] ?? 0);
}

export function reservedPercent(observed: Ext4Observed): number {
    const blocks = Number(observed.superblock["Block count"] ?? 0);
    const reserved = Number(observed.superblock["Reserved block count"] ?? 0);
    // mkfs rounds the count down: compare at the precision a user writes it.
    return blocks > 0 ? Math.round((reserved / blocks) * 1000) / 10 : 0;
}

export const labelOf = (o: Ext4Observed): string => {
    const name = o.superblock["Filesystem volume name"];
    return name === undefined || name === "<none>" ? "" : name;
};
