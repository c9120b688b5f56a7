/** The public resource classes: thin typed wrappers that hand plain values to the dynamic provider. */
import * as pulumi from "@pulumi/pulumi";
import type { ConnectionInput } from "./connection";
import { sizeToBytes, zvolDevicePath } from "./derive";
import { serializableProvider } from "./dynamic";

/** Pulumi inputs for the connection (same shape as @pulumi/command's remote.ConnectionArgs, plus extras). */
export type ConnectionArgs = pulumi.Input<{ [K in keyof ConnectionInput]: ConnectionInput[K] }> | pulumi.Input<Record<string, pulumi.Input<unknown>>>;

/** The module part of each type token: `pulumi-nodejs:dynamic/pulumi-zfs-docker:<Kind>`. */
export const MODULE = "pulumi-zfs-docker";

/**
 * Builds the props for a dynamic resource: the connection is always a secret (it can hold keys and
 * passwords), and every output starts undefined so the engine knows its name.
 */
export function dynamicProps(args: { connection: unknown }, outputNames: string[]): pulumi.Inputs {
    const props: pulumi.Inputs = {};
    for (const name of outputNames) {
        props[name] = undefined;
    }
    return { ...props, ...(args as pulumi.Inputs), connection: pulumi.secret(args.connection as pulumi.Input<unknown>) };
}

export function dynamicOptions(opts: pulumi.CustomResourceOptions | undefined): pulumi.CustomResourceOptions {
    // The connection comes back in the outputs too (delete and refresh need it): keep it secret there.
    return { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "connection"] };
}

export abstract class ZfsDockerResource extends pulumi.dynamic.Resource {
    protected constructor(kind: string, name: string, args: { connection: unknown }, outputNames: string[], opts?: pulumi.CustomResourceOptions) {
        super(serializableProvider(kind), name, dynamicProps(args, outputNames), dynamicOptions(opts), MODULE, kind);
    }
}

export interface ZfsVolumeArgs {
    connection: ConnectionArgs;
    /** pool/path, e.g. tank/docker. Changing it replaces the volume. */
    name: pulumi.Input<string>;
    /** "64G", "512M" or bytes. Growing is in place; shrinking is refused. */
    size: pulumi.Input<string | number>;
    /** Thin provisioning (`zfs create -s`). Default true. Changing it replaces the volume. */
    sparse?: pulumi.Input<boolean>;
    /** Fixed at creation; changing it replaces the volume. */
    volblocksize?: pulumi.Input<string | number>;
    /** Other ZFS properties, e.g. { compression: "lz4" }. Removed ones are inherited again. */
    properties?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Destroy even when the volume holds a filesystem or snapshots. Default false. */
    forceDestroy?: pulumi.Input<boolean>;
}

export class ZfsVolume extends ZfsDockerResource {
    declare readonly name: pulumi.Output<string>;
    declare readonly size: pulumi.Output<string | number>;
    declare readonly devicePath: pulumi.Output<string>;
    declare readonly sizeBytes: pulumi.Output<number>;
    declare readonly guid: pulumi.Output<string>;
    declare readonly volblocksizeBytes: pulumi.Output<number>;
    declare readonly effectiveProperties: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: ZfsVolumeArgs, opts?: pulumi.CustomResourceOptions) {
        // Known from the inputs, so a preview of an update shows them (the engine hands inputs back as outputs).
        const known = { devicePath: pulumi.output(args.name).apply(zvolDevicePath), sizeBytes: pulumi.output(args.size).apply(sizeToBytes) };
        super("ZfsVolume", name, { ...args, ...known }, ["devicePath", "sizeBytes", "guid", "volblocksizeBytes", "effectiveProperties"], opts);
    }
}

export interface Ext4FilesystemArgs {
    connection: ConnectionArgs;
    /** Block device, e.g. a ZfsVolume's devicePath. Changing it replaces the filesystem. */
    device: pulumi.Input<string>;
    label?: pulumi.Input<string>;
    /** Fixed UUID; changing it replaces the filesystem. */
    uuid?: pulumi.Input<string>;
    /** Default 5. Changed in place with tune2fs. */
    reservedBlocksPercent?: pulumi.Input<number>;
    /** Extra mkfs.ext4 options, one per entry: "-E lazy_itable_init=0", "-i 16384". */
    extraOptions?: pulumi.Input<pulumi.Input<string>[]>;
    /** Pass the ZfsVolume's sizeBytes: when the volume grows, the filesystem grows with it. */
    deviceSizeBytes?: pulumi.Input<number>;
    /** Format even if the device holds another filesystem (its data is lost). Default false. */
    force?: pulumi.Input<boolean>;
    /** Wipe the filesystem signature on delete. Default false: data is left in place. */
    wipeOnDelete?: pulumi.Input<boolean>;
}

export class Ext4Filesystem extends ZfsDockerResource {
    declare readonly device: pulumi.Output<string>;
    declare readonly uuid: pulumi.Output<string>;
    declare readonly label: pulumi.Output<string>;
    declare readonly sizeBytes: pulumi.Output<number>;
    declare readonly blockSize: pulumi.Output<number>;
    declare readonly deviceBytes: pulumi.Output<number>;

    constructor(name: string, args: Ext4FilesystemArgs, opts?: pulumi.CustomResourceOptions) {
        super("Ext4Filesystem", name, args, ["uuid", "label", "sizeBytes", "blockSize", "deviceBytes"], opts);
    }
}

export interface FstabEntryArgs {
    connection: ConnectionArgs;
    /** What to mount: "UUID=…", "LABEL=…", "PARTUUID=…" or a device path. */
    spec: pulumi.Input<string>;
    /** Absolute; spaces are written as \040. Changing it replaces the entry. */
    mountPoint: pulumi.Input<string>;
    fsType: pulumi.Input<string>;
    /** Default ["defaults"]. With bootSafety, nofail and the systemd options a zvol needs are added. */
    options?: pulumi.Input<pulumi.Input<string>[]>;
    dump?: pulumi.Input<0 | 1>;
    pass?: pulumi.Input<number>;
    /** Mount it now as well (default true). */
    mount?: pulumi.Input<boolean>;
    fstabPath?: pulumi.Input<string>;
    /** Add nofail, x-systemd.requires=zfs-volumes.target and a device timeout (default true). */
    bootSafety?: pulumi.Input<boolean>;
    /** How long boot waits for the device (default 300). */
    deviceTimeoutSeconds?: pulumi.Input<number>;
    /** Mount over a non-empty directory, hiding its files (default false). */
    allowNonEmptyMountPoint?: pulumi.Input<boolean>;
    /** Move a non-empty mount point (or a ZFS dataset mounted there) aside before mounting; nothing is deleted. */
    moveAsideExisting?: pulumi.Input<boolean>;
    /** systemd units stopped while the mount changes (e.g. docker.socket, docker.service). */
    stopUnits?: pulumi.Input<pulumi.Input<string>[]>;
}

export class FstabEntry extends ZfsDockerResource {
    declare readonly spec: pulumi.Output<string>;
    declare readonly mountPoint: pulumi.Output<string>;
    /** The line as it is in the file. */
    declare readonly line: pulumi.Output<string>;
    declare readonly mounted: pulumi.Output<boolean>;
    declare readonly mountedSource: pulumi.Output<string>;
    declare readonly backupPath: pulumi.Output<string>;

    constructor(name: string, args: FstabEntryArgs, opts?: pulumi.CustomResourceOptions) {
        super("FstabEntry", name, args, ["line", "mounted", "mountedSource", "backupPath"], opts);
    }
}

export interface DockerStorageConfigArgs {
    connection: ConnectionArgs;
    /** Default overlay2; also zfs, btrfs, vfs, fuse-overlayfs. */
    storageDriver?: pulumi.Input<string>;
    /** daemon.json "data-root"; Docker's default (/var/lib/docker) when unset. */
    dataRoot?: pulumi.Input<string>;
    /** Validated per driver, e.g. overlay2.size needs xfs with pquota. */
    storageOpts?: pulumi.Input<pulumi.Input<string>[]>;
    daemonJsonPath?: pulumi.Input<string>;
    /** Restart Docker to apply (default true). A restart stops running containers. */
    restart?: pulumi.Input<boolean>;
    /** Mount points Docker must wait for at boot (systemd RequiresMountsFor=). Default: the data root. */
    requiresMountsFor?: pulumi.Input<pulumi.Input<string>[]>;
}

export class DockerStorageConfig extends ZfsDockerResource {
    /** The driver `docker info` reports. */
    declare readonly activeDriver: pulumi.Output<string>;
    declare readonly dockerRootDir: pulumi.Output<string>;
    /** Docker's name for the filesystem under its layers ("extfs", "xfs"). */
    declare readonly backingFilesystem: pulumi.Output<string>;
    declare readonly dockerRunning: pulumi.Output<boolean>;
    declare readonly dockerVersion: pulumi.Output<string>;
    /** What delete restores in daemon.json. */
    declare readonly previousValues: pulumi.Output<Record<string, unknown>>;
    declare readonly previousFileExisted: pulumi.Output<boolean>;
    declare readonly backupPath: pulumi.Output<string>;
    declare readonly dropInPath: pulumi.Output<string>;

    constructor(name: string, args: DockerStorageConfigArgs, opts?: pulumi.CustomResourceOptions) {
        super("DockerStorageConfig", name, args, ["activeDriver", "dockerRootDir", "backingFilesystem", "dockerRunning", "dockerVersion", "previousValues", "previousFileExisted", "backupPath", "dropInPath"], opts);
    }
}

/** Output names and types per resource, for schema.json. */
export const outputDescriptions: Record<string, Record<string, { type: string }>> = {
    ZfsVolume: { devicePath: { type: "string" }, sizeBytes: { type: "number" }, guid: { type: "string" }, volblocksizeBytes: { type: "number" }, effectiveProperties: { type: "object" } },
    Ext4Filesystem: { uuid: { type: "string" }, label: { type: "string" }, sizeBytes: { type: "number" }, blockSize: { type: "number" }, deviceBytes: { type: "number" } },
    FstabEntry: { line: { type: "string" }, mounted: { type: "boolean" }, mountedSource: { type: "string" }, backupPath: { type: "string" } },
    DockerStorageConfig: {
        activeDriver: { type: "string" }, dockerRootDir: { type: "string" }, backingFilesystem: { type: "string" }, dockerRunning: { type: "boolean" },
        dockerVersion: { type: "string" }, previousValues: { type: "object" }, previousFileExisted: { type: "boolean" }, backupPath: { type: "string" }, dropInPath: { type: "string" },
    },
};
