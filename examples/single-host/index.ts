/**
 * One host, the four resources wired by hand (what DockerHostStorage does), so that `pulumi preview`
 * stays exact: every value a later resource needs is known from inputs, not from a host.
 *   pulumi config set host 10.0.0.5
 *   pulumi config set hostKey "ssh-ed25519 AAAA..."      # /etc/ssh/ssh_host_ed25519_key.pub on the host
 *   pulumi config set --secret privateKey < ~/.ssh/id_ed25519
 */
import * as pulumi from "@pulumi/pulumi";
import * as zd from "pulumi-zfs-docker";

const config = new pulumi.Config();
const connection = { host: config.require("host"), port: config.getNumber("port") ?? 22, hostKey: config.require("hostKey"), privateKey: config.requireSecret("privateKey") };
const forceDestroy = config.getBoolean("forceDestroy") ?? false;

const volume = new zd.ZfsVolume("vol", {
    connection,
    name: `${config.get("pool") ?? "tank"}/${config.get("volumeName") ?? "docker"}`,
    size: config.get("size") ?? "8G",
    volblocksize: config.get("volblocksize"),
    forceDestroy,
});
const filesystem = new zd.Ext4Filesystem("fs", {
    connection,
    device: volume.devicePath,          // known at preview: computed from the volume's name
    deviceSizeBytes: volume.sizeBytes,  // known at preview: computed from size; a grow grows ext4 too
    uuid: zd.stableUuid(pulumi.getProject(), pulumi.getStack(), "fs"),  // chosen here, so the fstab line is known
    label: config.get("label") ?? "docker",
});
const mount = new zd.FstabEntry("mount", {
    connection,
    spec: pulumi.interpolate`UUID=${filesystem.uuid}`,
    mountPoint: "/var/lib/docker",
    fsType: "ext4",
    moveAsideExisting: true,                          // Docker's old files are kept aside, never deleted
    stopUnits: ["docker.socket", "docker.service"],   // Docker never writes under the mount while it changes
    requiredBy: ["docker.service"],                   // Docker waits for the mount at boot, through the line itself
});
const docker = new zd.DockerStorageConfig("docker", {
    connection,
    storageDriver: "overlay2",
    requiresMountsFor: [],                            // requiredBy above does it: no drop-in, no second daemon-reload
}, { dependsOn: [mount] });

export const driver = docker.activeDriver;
export const uuid = filesystem.uuid;
