/**
 * Values a program can know before anything runs, so `pulumi preview` shows them instead of
 * `[unknown]`: dynamic providers get no update call during preview, so an output of a resource being
 * updated is unknown unless the program computes it from inputs. Wire resources with these.
 */
import { createHash } from "crypto";
import { parseSize } from "./units";

/** The device node OpenZFS (udev) makes for a volume: `tank/docker` → `/dev/zvol/tank/docker`. */
export function zvolDevicePath(volumeName: string): string {
    return `/dev/zvol/${volumeName}`;
}

/** "64G" → 68719476736, as ZfsVolume compares sizes; undefined for a size check will reject. */
export function sizeToBytes(size: string | number): number | undefined {
    try {
        return parseSize(size);
    } catch {
        return undefined;
    }
}

/** Namespace of the name-based UUIDs below (a random UUID fixed once for this package). */
const NAMESPACE = Buffer.from("5f0c3e1e6a8b4c2d9b7e2a6f4d1c8e35", "hex");

/**
 * A UUID that is the same every time for the same parts (RFC 4122 version 5, SHA-1, name-based), e.g.
 * `stableUuid(pulumi.getProject(), pulumi.getStack(), "build-01")`: the program knows the filesystem's
 * UUID, so the fstab line `UUID=...` is known at preview time.
 */
export function stableUuid(...parts: string[]): string {
    const hash = createHash("sha1").update(NAMESPACE).update(parts.map((p) => `${p.length}:${p}`).join("/")).digest();
    hash[6] = (hash[6] & 0x0f) | 0x50;
    hash[8] = (hash[8] & 0x3f) | 0x80;
    const hex = hash.subarray(0, 16).toString("hex");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
