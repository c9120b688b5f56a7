import { RefusedError } from "../../host/errors";
import { sh, Shell } from "../../host/quote";
import type { Plan } from "../../plan";
import { noop } from "../../plan";
import { formatSize, parseSize } from "../../units";
import { bytesOf, isSparse, type ZfsVolumeObserved } from "./facts";
import { devicePath, OWNER_PROPERTY, type ZfsVolumeDesired } from "./schema";

function waitForDevice(name: string): Shell {
    // udev creates the /dev/zvol link a moment after zfs returns (0.3-3 s measured): poll with a deadline.
    return sh`udevadm settle --timeout=60 2>/dev/null || true
i=0; while [ ! -e ${devicePath(name)} ]; do i=$((i+1)); if [ "$i" -gt 600 ]; then echo ${`device ${devicePath(name)} did not appear within 60 s`} >&2; exit 70; fi; sleep 0.1; done`;
}

export function planZfsVolume(desired: ZfsVolumeDesired, observed: ZfsVolumeObserved, previous?: ZfsVolumeDesired): Plan {
    const size = parseSize(desired.size);
    if (!observed.poolExists) {
        throw new RefusedError(`pool "${desired.name.split("/")[0]}" does not exist on the host: create it first (zpool create), or fix the name`);
    }
    if (!observed.exists) {
        if (observed.properties.size > 0) {
            throw new RefusedError(`${desired.name} exists but is a ${observed.properties.get("type")?.value}, not a volume: choose another name`);
        }
        const options: string[] = ["-o", `${OWNER_PROPERTY}=true`];
        if (desired.volblocksize !== undefined) options.push("-o", `volblocksize=${parseSize(desired.volblocksize)}`);
        for (const [key, value] of Object.entries(desired.properties)) options.push("-o", `${key}=${value}`);
        const create = ["zfs", "create", "-p", ...(desired.sparse ? ["-s"] : []), "-V", String(size), ...options, desired.name];
        return {
            actions: [{ description: `create ${desired.sparse ? "sparse " : ""}volume ${desired.name} of ${formatSize(size)}`, script: sh`${create}\n${waitForDevice(desired.name)}` }],
        };
    }

    const mark = observed.properties.get(OWNER_PROPERTY);
    // Only a mark set on this volume counts: one inherited from a parent would adopt a stranger's volume.
    const owned = mark?.value === "true" && ["local", "received"].includes(mark.source);
    if (!owned && previous === undefined) {
        throw new RefusedError(
            `volume ${desired.name} already exists and was not created by pulumi-zfs-docker: to manage it, adopt it with ` +
                `the resource option \`import: "${desired.name}"\` (pulumi import), or choose another name`,
        );
    }
    const actions: Plan["actions"] = [];
    const currentSize = bytesOf(observed, "volsize");
    if (currentSize > size) {
        throw new RefusedError(`${desired.name} is ${formatSize(currentSize)} on the host; shrinking it to ${formatSize(size)} would cut the filesystem on it. Keep size at ${formatSize(currentSize)} or more.`);
    }
    if (desired.volblocksize !== undefined && bytesOf(observed, "volblocksize") !== parseSize(desired.volblocksize)) {
        throw new RefusedError(`${desired.name} has volblocksize ${formatSize(bytesOf(observed, "volblocksize"))} on the host; it can only be set at creation: replace the volume (change its name) or set volblocksize to match`);
    }
    if (desired.sparse !== isSparse(observed)) {
        throw new RefusedError(`${desired.name} is ${isSparse(observed) ? "" : "not "}sparse on the host; that is fixed at creation: set sparse to ${isSparse(observed)} or replace the volume`);
    }
    if (!owned) {
        actions.push({ description: `mark ${desired.name} as managed`, script: sh`${["zfs", "set", `${OWNER_PROPERTY}=true`, desired.name]}` });
    }
    if (currentSize < size) {
        actions.push({ description: `grow ${desired.name} from ${formatSize(currentSize)} to ${formatSize(size)}`, script: sh`${["zfs", "set", `volsize=${size}`, desired.name]}` });
    }
    for (const [key, value] of Object.entries(desired.properties)) {
        const current = observed.properties.get(key);
        if (!current || current.value !== value || !["local", "received"].includes(current.source)) {
            actions.push({ description: `set ${key}=${value} on ${desired.name}`, script: sh`${["zfs", "set", `${key}=${value}`, desired.name]}` });
        }
    }
    for (const key of Object.keys(previous?.properties ?? {})) {
        if (!(key in desired.properties) && observed.properties.get(key)?.source === "local") {
            actions.push({ description: `inherit ${key} on ${desired.name} (no longer set)`, script: sh`${["zfs", "inherit", key, desired.name]}` });
        }
    }
    if (actions.length === 0) {
        return observed.devicePresent ? noop(`${desired.name} is already ${formatSize(size)} with the wanted properties`) : { actions: [{ description: `wait for ${devicePath(desired.name)}`, script: waitForDevice(desired.name) }] };
    }
    return { actions };
}

export function planDeleteZfsVolume(desired: ZfsVolumeDesired, observed: ZfsVolumeObserved): Plan {
    if (!observed.exists) {
        return noop(`${desired.name} is already gone`);
    }
    if (!desired.forceDestroy) {
        const holds = [observed.signature && `a ${observed.signature} signature`, observed.snapshots > 0 && `${observed.snapshots} snapshot(s)`].filter(Boolean);
        if (holds.length > 0) {
            throw new RefusedError(`refusing to destroy ${desired.name}: it holds ${holds.join(" and ")}. Set forceDestroy: true to destroy it with its data, or remove the resource from the stack with \`pulumi state delete\` to keep the volume.`);
        }
    }
    // -r removes this volume's own snapshots only; never -R, which would also destroy clones elsewhere.
    const destroy = ["zfs", "destroy", ...(observed.snapshots > 0 ? ["-r"] : []), desired.name];
    const busy = `${desired.name} is busy: unmount the filesystem on it (FstabEntry) and stop what uses it, then retry`;
    // zfs's error is kept in a variable: a fixed name under /tmp could be a symlink planted for root to follow.
    return { actions: [{ description: `destroy ${desired.name}`, script: sh`err=$(${destroy} 2>&1 >/dev/null) || { e=$?; case "$err" in *busy*) echo ${busy} >&2;; esac; printf '%s\n' "$err" >&2; exit $e; }` }] };
}
