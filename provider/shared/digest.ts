import { createHash } from "crypto";

/** Hex SHA-256, as `sha256sum` prints it: how a file read is compared with the file about to be replaced. */
export function sha256(data: Buffer | string): string {
    return createHash("sha256").update(data).digest("hex");
}
