/**
 * The demo stack: Docker on overlay2 over ext4 on a sparse zvol, on every host listed in config.
 *   pulumi config set hosts '[{"host":"10.0.0.5","hostKey":"ssh-ed25519 AAAA..."}]'
 *   pulumi config set --secret privateKey < ~/.ssh/id_ed25519
 * Hosts converge in parallel: the engine runs independent resources at once.
 */
import * as pulumi from "@pulumi/pulumi";
import { DockerHostStorage } from "pulumi-zfs-docker";

interface HostConfig {
    host: string;
    port?: number;
    user?: string;
    hostKey: string;
}

const config = new pulumi.Config();
const hosts = config.requireObject<HostConfig[]>("hosts");
const privateKey = config.requireSecret("privateKey");

export const storage = hosts.map((h, i) => {
    const s = new DockerHostStorage(`docker-storage-${i}`, {
        connection: { host: h.host, port: h.port ?? 22, user: h.user ?? "root", hostKey: h.hostKey, privateKey },
        pool: config.get("pool") ?? "tank",
        volumeName: config.get("volumeName") ?? "docker",
        size: config.get("size") ?? "8G",
        volumeProperties: { compression: "lz4" },
        forceDestroy: config.getBoolean("forceDestroy") ?? false,
    });
    return { host: `${h.host}:${h.port ?? 22}`, device: s.devicePath, uuid: s.uuid, mountPoint: s.mountPoint, driver: s.storageDriver, backingFilesystem: s.backingFilesystem };
});
