import { ParseError } from "../../host/errors";
import { sh, Shell } from "../../host/quote";
import { parseKeyValues, readOrAbsent, requireSection, requireTools, section, splitSections } from "../../sections";
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
if [ -n "$pools" ]; then echo yes; else echo no; fi
${new Shell(section("props"))}
props=$(${readOrAbsent(["zfs", "get", "-H", "-p", "-o", "property,value,source", "all", name], "dataset does not exist", `the properties of ${name}`)})
[ -z "$props" ] || printf '%s\n' "$props"
${new Shell(section("device"))}
if [ -e ${dev} ]; then echo present=1; rc=0; blkid -p -o export ${dev} || rc=$?; [ "$rc" = 0 ] || [ "$rc" = 2 ] || { echo ${`blkid could not read ${dev} (exit`} "$rc)" >&2; exit "$rc"; }; else echo present=0; fi
${new Shell(section("snapshots"))}
if [ -n "$props" ]; then zfs list -H -t snapshot -o name -d 1 "$n" | wc -l; else echo 0; fi`;
}

/** Parses `zfs get -H -p -o property,value,source` lines. */
export function parseZfsGet(text: string): Map<string, ZfsProperty> {
    const props = new Map<string, ZfsProperty>();
    for (const line of text.split("\n")) {
        if (!line.trim()) continue;
        const cols = line.split("\t");
        if (cols.length < 3) {
            throw new ParseError("zfs get output (expected 3 tab-separated columns)", line);
        }
        // A user property's value may itself hold tabs: property is the first column, source the last.
        props.set(cols[0], { value: cols.slice(1, -1).join("\t"), source: cols[cols.length - 1] });
    }
    return props;
}

export function parseObserved(raw: string): ZfsVolumeObserved {
    const sections = splitSections(raw);
    const properties = parseZfsGet(requireSection(sections, "props", raw));
    const device = parseKeyValues(requireSection(sections, "device", raw));
    const snapshots = Number(requireSection(sections, "snapshots", raw).trim());
    if (!Number.isInteger(snapshots)) {
        throw new ParseError("the snapshot count", raw);
    }
    return {
        poolExists: requireSection(sections, "pool", raw).trim() === "yes",
        exists: properties.get("type")?.value === "volume",
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
