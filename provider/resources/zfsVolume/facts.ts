import { ParseError } from "../../host/errors";
import { sh, Shell, shellQuote } from "../../host/quote";
import { parseSignature, readOrAbsent, readSignature, requireSection, requireTools, section, splitSections } from "../../sections";
import { devicePath } from "./schema";

export interface ZfsProperty {
    value: string;
    source: string;
}

export interface ZfsVolumeObserved {
    poolExists: boolean;
    exists: boolean;
    /** Every property with its source, from `zfs get -H -p all`. */
    properties: Map<string, ZfsProperty>;
    /** Filesystem or partition-table signature on the device, from `blkid -p`. */
    signature?: string;
    snapshots: number;
    devicePresent: boolean;
}

export function observeScript(name: string): Shell {
    const dev = devicePath(name);
    const pool = name.split("/")[0];
    return sh`n=${name}
${requireTools(["zpool", "zfs"], "OpenZFS (zfsutils-linux)")}
${new Shell(section("pool"))}
pools=$(${readOrAbsent(["zpool", "list", "-H", "-o", "name", pool], "no such pool", `pool ${pool}`)})
# Anything but the pool's own name is printed as it is, for the parser to refuse.
if [ -z "$pools" ]; then echo no; elif [ "$pools" = ${pool} ]; then echo yes; else printf '%s\n' "$pools"; fi
${new Shell(section("props"))}
props=$(${readOrAbsent(["zfs", "get", "-H", "-p", "-o", "property,value,source", "all", name], "dataset does not exist", `the properties of ${name}`)})
[ -z "$props" ] || printf '%s\n' "$props"
${new Shell(section("device"))}
if [ -e ${dev} ]; then echo present=1; ${readSignature(shellQuote(dev))}; [ -z "$sig" ] || printf '%s\n' "$sig"; else echo present=0; fi
${new Shell(section("snapshots"))}
# A pipe into wc would hide a failing zfs (and count its junk as snapshots): list, check, then count.
if [ -n "$props" ]; then
  snaps=$(zfs list -H -t snapshot -o name -d 1 "$n") || { rc=$?; echo "zfs exited $rc: listing the snapshots of $n failed" >&2; exit "$rc"; }
  c=0
  while IFS= read -r s; do case "$s" in "") ;; "$n@"*) c=$((c+1)) ;; *) printf 'unexpected line from zfs list: %s\n' "$s"; c=; break ;; esac; done <<PZD_SNAPSHOTS
$snaps
PZD_SNAPSHOTS
  [ -z "$c" ] || echo "$c"
else echo 0; fi`;
}

/** The sources `zfs get -o source` prints (zfs_main.c); anything else is not zfs get output. */
const ZFS_SOURCE = /^(-|default|local|temporary|received|inherited from .+)$/;

/** Parses `zfs get -H -p -o property,value,source` lines. */
export function parseZfsGet(text: string): Map<string, ZfsProperty> {
    const props = new Map<string, ZfsProperty>();
    for (const line of text.split("\n")) {
        if (!line.trim()) continue;
        const cols = line.split("\t");
        if (cols.length < 3 || !cols[0] || !ZFS_SOURCE.test(cols[cols.length - 1])) {
            throw new ParseError("zfs get output (expected 3 tab-separated columns: property, value, source)", line);
        }
        // A user property's value may itself hold tabs: property is the first column, source the last.
        props.set(cols[0], { value: cols.slice(1, -1).join("\t"), source: cols[cols.length - 1] });
    }
    return props;
}

export function parseObserved(raw: string): ZfsVolumeObserved {
    const sections = splitSections(raw);
    const pool = requireSection(sections, "pool", raw).trim();
    if (pool !== "yes" && pool !== "no") {
        throw new ParseError("`zpool list -H -o name <pool>` output (expected only the pool's name)", pool);
    }
    const properties = parseZfsGet(requireSection(sections, "props", raw));
    const exists = properties.get("type")?.value === "volume";
    for (const property of ["volsize", "volblocksize"]) {
        // Sizes are compared as bytes: a missing or non-numeric one would plan a grow or a refusal on no facts.
        if (exists && !/^[0-9]+$/.test(properties.get(property)?.value ?? "")) {
            throw new ParseError(`zfs get -p output (${property} is not a number of bytes)`, `${property}\t${properties.get(property)?.value ?? "(missing)"}`);
        }
    }
    const device = parseSignature(requireSection(sections, "device", raw), requireSection(sections, "device", raw));
    const snapshotText = requireSection(sections, "snapshots", raw);
    const snapshots = Number(snapshotText.trim());
    if (!/^\s*[0-9]+\s*$/.test(snapshotText)) {
        throw new ParseError("the snapshot count (from `zfs list -t snapshot`)", snapshotText);
    }
    return {
        poolExists: pool === "yes",
        exists,
        properties,
        signature: device.TYPE ?? (device.PTTYPE ? `${device.PTTYPE} partition table` : undefined),
        snapshots,
        devicePresent: device.present === "1",
    };
}

export const bytesOf = (observed: ZfsVolumeObserved, property: string): number => Number(observed.properties.get(property)?.value ?? NaN);

/** Sparse means no refreservation; `-p` prints none as 0 (or '-' on some versions). */
export function isSparse(observed: ZfsVolumeObserved): boolean {
    const value = observed.properties.get("refreservation")?.value ?? "0";
    return value === "0" || value === "none" || value === "-";
}
