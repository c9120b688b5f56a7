import { RefusedError } from "../../host/errors";
import { sh } from "../../host/quote";
import type { Plan } from "../../plan";
import { noop } from "../../plan";
import { formatSize } from "../../units";
import { filesystemBytes, labelOf, reservedPercent, type Ext4Observed } from "./facts";
import type { Ext4Desired } from "./schema";

function describeSignature(signature: Record<string, string>): string | undefined {
    if (signature.TYPE) return signature.TYPE;
    if (signature.PTTYPE) return `a ${signature.PTTYPE} partition table`;
    return undefined;
}

/** The filesystem can grow when the device is larger by at least one 4K block... and a bit of slack. */
export const GROW_SLACK_BYTES = 1024 * 1024;

function mkfsCommand(desired: Ext4Desired): string[] {
    const argv = ["mkfs.ext4", "-q"];
    if (desired.force) argv.push("-F");
    if (desired.label) argv.push("-L", desired.label);
    if (desired.uuid) argv.push("-U", desired.uuid);
    argv.push("-m", String(desired.reservedBlocksPercent));
    for (const option of desired.extraOptions) {
        const space = option.indexOf(" ");
        argv.push(...(space < 0 ? [option] : [option.slice(0, space), option.slice(space + 1)]));
    }
    argv.push(desired.device);
    return argv;
}

export function planExt4(desired: Ext4Desired, observed: Ext4Observed, previous?: Ext4Desired): Plan {
    if (!observed.devicePresent) {
        throw new RefusedError(`${desired.device} is not a block device on the host: create it first (e.g. a ZfsVolume) or fix device`);
    }
    const found = describeSignature(observed.signature);
    const isExt4 = observed.signature.TYPE === "ext4";
    const creating = previous === undefined;
    const matches = isExt4 && (!desired.uuid || observed.signature.UUID === desired.uuid) && (!creating || !desired.label || labelOf(observed) === desired.label);

    if (found === undefined || (desired.force && creating && !matches)) {
        if (observed.mountpoints.length > 0) {
            throw new RefusedError(`${desired.device} is mounted at ${observed.mountpoints.join(", ")}: refusing to format a mounted device`);
        }
        return {
            actions: [{ description: `format ${desired.device} as ext4${found ? ` (replacing ${found}, force: true)` : ""}`, script: sh`${mkfsCommand(desired)}` }],
            warnings: found ? [`force: true: formatting ${desired.device}, which held ${found}; its data is destroyed`] : undefined,
        };
    }
    if (!isExt4) {
        throw new RefusedError(`${desired.device} already holds ${found}; refusing to format it. If its data may be destroyed, set force: true.`);
    }
    if (!matches) {
        const why = desired.uuid && observed.signature.UUID !== desired.uuid ? `UUID ${observed.signature.UUID} (wanted ${desired.uuid})` : `label "${labelOf(observed)}" (wanted "${desired.label}")`;
        throw new RefusedError(`${desired.device} already holds an ext4 filesystem with ${why}; refusing to format it. If its data may be destroyed, set force: true; to keep it, make the inputs match.`);
    }

    const actions: Plan["actions"] = [];
    if ((desired.label ?? "") !== labelOf(observed) && desired.label !== undefined) {
        actions.push({ description: `set label of ${desired.device} to "${desired.label}"`, script: sh`${["e2label", desired.device, desired.label]}` });
    }
    const fsBytes = filesystemBytes(observed);
    const grows = observed.deviceBytes - fsBytes >= GROW_SLACK_BYTES;
    if (grows) {
        const how = observed.mountpoints.length > 0 ? `online at ${observed.mountpoints[0]}` : "offline";
        actions.push({ description: `grow ext4 on ${desired.device} from ${formatSize(fsBytes)} to ${formatSize(observed.deviceBytes)} (${how})`, script: sh`${["resize2fs", desired.device]} 2>&1` });
    }
    // A grow gives the new block groups the kernel's whole-percent share of reserved blocks (5% became
    // 4.7% when 4G grew online to 6G): after one, the wanted share is set again.
    if (grows || Math.abs(reservedPercent(observed) - desired.reservedBlocksPercent) >= 0.1) {
        actions.push({ description: `set reserved blocks of ${desired.device} to ${desired.reservedBlocksPercent}%`, script: sh`${["tune2fs", "-m", String(desired.reservedBlocksPercent), desired.device]} >/dev/null` });
    }
    return actions.length === 0 ? noop(`${desired.device} already holds the wanted ext4 (${formatSize(fsBytes)})`) : { actions };
}

export function planDeleteExt4(desired: Ext4Desired, observed: Ext4Observed): Plan {
    if (!desired.wipeOnDelete) {
        return noop(`wipeOnDelete is false: the filesystem on ${desired.device} and its data are left in place`);
    }
    if (!observed.devicePresent || describeSignature(observed.signature) === undefined) {
        return noop(`${desired.device} holds no filesystem`);
    }
    // In stored state `uuid` is the filesystem we made or adopted: never wipe a different one.
    if (desired.uuid && observed.signature.UUID !== desired.uuid) {
        return noop(`${desired.device} now holds filesystem ${observed.signature.UUID ?? "?"}, not ours (${desired.uuid}): left alone`);
    }
    if (observed.mountpoints.length > 0) {
        throw new RefusedError(`${desired.device} is mounted at ${observed.mountpoints.join(", ")}: unmount it (delete the FstabEntry first) before wiping`);
    }
    return { actions: [{ description: `wipe filesystem signatures on ${desired.device}`, script: sh`${["wipefs", "-a", "-q", desired.device]}` }] };
}
