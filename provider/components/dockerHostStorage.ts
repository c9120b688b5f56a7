/**
 * DockerHostStorage: the whole recipe on one host, in dependency order —
 * sparse ZfsVolume → Ext4Filesystem → FstabEntry (mounted at Docker's data root, boot-safe) →
 * DockerStorageConfig (overlay2, verified with `docker info`).
 */
import * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "../classes";
import { stableUuid } from "../derive";
import { DockerStorageConfig, Ext4Filesystem, FstabEntry, ZfsVolume } from "../classes";

export interface DockerHostStorageArgs {
    connection: ConnectionArgs;
    /** The ZFS pool that holds the volume, e.g. "tank". It must exist. */
    pool: pulumi.Input<string>;
    /** Volume name under the pool. Default "docker" (→ tank/docker). */
    volumeName?: pulumi.Input<string>;
    /** Volume size, e.g. "64G". Sparse: space is used only as Docker writes. Growing later is in place. */
    size: pulumi.Input<string | number>;
    volblocksize?: pulumi.Input<string | number>;
    /** Extra ZFS properties for the volume, e.g. { compression: "lz4" }. */
    volumeProperties?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * The UUID the filesystem is formatted with. Default: a stable UUID from the project, stack and
     * component name (stableUuid), so the fstab line is known at preview time. A filesystem that exists
     * already keeps its own.
     */
    uuid?: pulumi.Input<string>;
    /** ext4 label. Default "docker". */
    label?: pulumi.Input<string>;
    reservedBlocksPercent?: pulumi.Input<number>;
    mkfsOptions?: pulumi.Input<pulumi.Input<string>[]>;
    /** Docker's data root, where the filesystem is mounted. Default /var/lib/docker. */
    dataRoot?: pulumi.Input<string>;
    /** Mount options besides the boot-safety ones added for zvols. Default ["defaults"]. */
    mountOptions?: pulumi.Input<pulumi.Input<string>[]>;
    /** How long boot waits for the zvol's device node. Default 300 s (60 s was too short under load). */
    deviceTimeoutSeconds?: pulumi.Input<number>;
    /** Default overlay2. */
    storageDriver?: pulumi.Input<string>;
    /** Let `pulumi destroy` destroy the volume and the Docker data on it. Default false. */
    forceDestroy?: pulumi.Input<boolean>;
}

export class DockerHostStorage extends pulumi.ComponentResource {
    readonly volume: ZfsVolume;
    readonly filesystem: Ext4Filesystem;
    readonly mount: FstabEntry;
    readonly docker: DockerStorageConfig;
    /** /dev/zvol/<pool>/<volume> */
    readonly devicePath: pulumi.Output<string>;
    readonly uuid: pulumi.Output<string>;
    readonly mountPoint: pulumi.Output<string>;
    /** The driver `docker info` reported after the change. */
    readonly storageDriver: pulumi.Output<string>;
    readonly backingFilesystem: pulumi.Output<string>;

    constructor(name: string, args: DockerHostStorageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pulumi-zfs-docker:index:DockerHostStorage", name, {}, opts);
        const parent = { parent: this };
        const dataRoot = pulumi.output(args.dataRoot ?? "/var/lib/docker");
        const volumeName = pulumi.interpolate`${args.pool}/${args.volumeName ?? "docker"}`;

        this.volume = new ZfsVolume(`${name}-volume`, {
            connection: args.connection,
            name: volumeName,
            size: args.size,
            sparse: true,
            volblocksize: args.volblocksize,
            properties: args.volumeProperties,
            forceDestroy: args.forceDestroy,
        }, parent);
        this.filesystem = new Ext4Filesystem(`${name}-ext4`, {
            connection: args.connection,
            device: this.volume.devicePath,
            deviceSizeBytes: this.volume.sizeBytes,
            uuid: args.uuid ?? stableUuid(pulumi.getProject(), pulumi.getStack(), name),
            label: args.label ?? "docker",
            reservedBlocksPercent: args.reservedBlocksPercent,
            extraOptions: args.mkfsOptions,
        }, parent);
        this.mount = new FstabEntry(`${name}-mount`, {
            connection: args.connection,
            spec: pulumi.interpolate`UUID=${this.filesystem.uuid}`,
            mountPoint: dataRoot,
            fsType: "ext4",
            options: args.mountOptions,
            deviceTimeoutSeconds: args.deviceTimeoutSeconds,
            // Docker's own files (a fresh install's skeleton, or a zfs-driver data root) are moved
            // aside, never deleted, and Docker is stopped first so it never writes under the mount.
            moveAsideExisting: true,
            stopUnits: ["docker.socket", "docker.service"],
        }, parent);
        this.docker = new DockerStorageConfig(`${name}-docker`, {
            connection: args.connection,
            storageDriver: args.storageDriver ?? "overlay2",
            dataRoot: args.dataRoot,
            requiresMountsFor: [dataRoot],
        }, { parent: this, dependsOn: [this.mount] });

        this.devicePath = this.volume.devicePath;
        this.uuid = this.filesystem.uuid;
        this.mountPoint = this.mount.mountPoint;
        this.storageDriver = this.docker.activeDriver;
        this.backingFilesystem = this.docker.backingFilesystem;
        this.registerOutputs({ devicePath: this.devicePath, uuid: this.uuid, mountPoint: this.mountPoint, storageDriver: this.storageDriver, backingFilesystem: this.backingFilesystem });
    }
}
