/**
 * A host that runs Docker on the `zfs` storage driver today (its data root is a ZFS dataset), moved to
 * overlay2 on ext4 on a zvol in one `pulumi up`, its data kept:
 *   - the dataset mounted at /var/lib/docker gets mountpoint=/var/lib/docker.pre-pulumi-zfs-docker-<time>.zfs
 *     (nothing on it is deleted; Docker stops seeing those images until you move them back or re-pull),
 *   - Docker is stopped while the mount changes and restarted on overlay2, verified with `docker info`,
 *   - `pulumi destroy` (with forceDestroy) is the inverse: the old dataset goes back to /var/lib/docker
 *     and Docker runs on the zfs driver again, with its old images.
 *   pulumi config set host 10.0.0.5; pulumi config set hostKey "ssh-ed25519 AAAA..."
 *   pulumi config set --secret privateKey < ~/.ssh/id_ed25519
 */
import * as pulumi from "@pulumi/pulumi";
import { DockerHostStorage } from "pulumi-zfs-docker";

const config = new pulumi.Config();
const storage = new DockerHostStorage("migrated", {
    connection: { host: config.require("host"), port: config.getNumber("port") ?? 22, hostKey: config.require("hostKey"), privateKey: config.requireSecret("privateKey") },
    pool: config.get("pool") ?? "tank",
    volumeName: config.get("volumeName") ?? "docker",
    size: config.get("size") ?? "64G",
    storageDriver: "overlay2",
    forceDestroy: config.getBoolean("forceDestroy") ?? false,
});

export const driver = storage.storageDriver;
export const backingFilesystem = storage.backingFilesystem;
