/**
 * A fleet: Docker on overlay2 over ext4 on a sparse zvol, on every host listed in stack config.
 *   pulumi config set --path 'hosts[0].host' 10.0.0.5
 *   pulumi config set --path 'hosts[0].hostKey' "$(ssh-keyscan -t ed25519 10.0.0.5 2>/dev/null | cut -d' ' -f2-)"
 *   pulumi config set --path 'hosts[1].host' 10.0.0.6   # ... and its hostKey, port, user
 *   pulumi config set --secret privateKey < ~/.ssh/id_ed25519
 * Hosts converge in parallel: the engine runs the components' independent resources at once.
 */
import * as pulumi from "@pulumi/pulumi";
import { DockerHostStorage } from "pulumi-zfs-docker";

interface HostConfig {
    host: string;
    port?: number | string;
    user?: string;
    hostKey: string;
}

const config = new pulumi.Config();
const hosts = config.requireObject<HostConfig[]>("hosts");
const privateKey = config.requireSecret("privateKey");

export const storage = hosts.map((h, i) => {
    const s = new DockerHostStorage(`docker-storage-${i}`, {
        // `config set --path` may store a port as a string: the connection wants a number.
        connection: { host: h.host, port: Number(h.port ?? 22), user: h.user ?? "root", hostKey: h.hostKey, privateKey },
        pool: config.get("pool") ?? "tank",
        volumeName: config.get("volumeName") ?? "docker",
        size: config.get("size") ?? "8G",
        volblocksize: config.get("volblocksize"),
        label: config.get("label"),
        volumeProperties: { compression: "lz4" },
        forceDestroy: config.getBoolean("forceDestroy") ?? false,
    });
    return { host: `${h.host}:${h.port ?? 22}`, device: s.devicePath, uuid: s.uuid, mountPoint: s.mountPoint, driver: s.storageDriver, backingFilesystem: s.backingFilesystem };
});
