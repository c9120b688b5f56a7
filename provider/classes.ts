/**
 * The public resource classes: thin typed wrappers that hand plain values to the dynamic provider.
 * Their outputs are not listed here: each resource declares them once, as a zod object in its own
 * folder, and the classes (names and types), schema.json and docs/ derive from it.
 */
import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { ConnectionInput } from "./connection";
import { sizeToBytes, zvolDevicePath } from "./derive";
import { serializableProvider } from "./dynamic";
import type { DockerStorageDesired } from "./resources/dockerStorageConfig";
import { dockerStorageConfigOutputsSchema } from "./resources/dockerStorageConfig/schema";
import type { Ext4Desired } from "./resources/ext4Filesystem";
import { ext4FilesystemOutputsSchema } from "./resources/ext4Filesystem/schema";
import type { FstabEntryDesired } from "./resources/fstabEntry";
import { fstabEntryOutputsSchema } from "./resources/fstabEntry/schema";
import type { ZfsVolumeDesired } from "./resources/zfsVolume";
import { zfsVolumeOutputsSchema } from "./resources/zfsVolume/schema";

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
    /** systemd units that must not start without this mount (e.g. docker.service): written into the line as x-systemd.required-by= and x-systemd.before=. */
    requiredBy?: pulumi.Input<pulumi.Input<string>[]>;
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

/** Each declared output as a Pulumi output of its zod type. */
type OutputsOf<S extends z.AnyZodObject> = { readonly [K in keyof z.infer<S>]: pulumi.Output<z.infer<S>[K]> };
/** Inputs come back as outputs too (the state holds them); the connection stays a secret input only. */
type EchoedInputs<D, S extends z.AnyZodObject> = { readonly [K in Exclude<keyof D, "connection" | keyof z.infer<S>>]: pulumi.Output<D[K]> };
export type ResourceOf<D, S extends z.AnyZodObject> = ZfsDockerResource & OutputsOf<S> & EchoedInputs<D, S>;

/** A class for one resource kind: its outputs' names from the zod object; `known` adds inputs computed for previews. */
function resourceClass<Args extends { connection: unknown }, D, S extends z.AnyZodObject>(kind: string, outputs: S, known?: (args: Args) => Record<string, pulumi.Input<unknown>>) {
    const outputNames = Object.keys(outputs.shape);
    const ResourceClass = class extends ZfsDockerResource {
        constructor(name: string, args: Args, opts?: pulumi.CustomResourceOptions) {
            super(kind, name, { ...args, ...(known?.(args) ?? {}) }, outputNames, opts);
        }
    };
    Object.defineProperty(ResourceClass, "name", { value: kind });
    return ResourceClass as unknown as new (name: string, args: Args, opts?: pulumi.CustomResourceOptions) => ResourceOf<D, S>;
}

/** A sparse zvol. `devicePath` and `sizeBytes` are computed from the inputs here, so previews know them. */
export const ZfsVolume = resourceClass<ZfsVolumeArgs, ZfsVolumeDesired, typeof zfsVolumeOutputsSchema>("ZfsVolume", zfsVolumeOutputsSchema, (args) => ({
    devicePath: pulumi.output(args.name).apply(zvolDevicePath),
    sizeBytes: pulumi.output(args.size).apply(sizeToBytes),
}));
export type ZfsVolume = InstanceType<typeof ZfsVolume>;

/** ext4 on a block device. */
export const Ext4Filesystem = resourceClass<Ext4FilesystemArgs, Ext4Desired, typeof ext4FilesystemOutputsSchema>("Ext4Filesystem", ext4FilesystemOutputsSchema);
export type Ext4Filesystem = InstanceType<typeof Ext4Filesystem>;

/** One /etc/fstab line, mounted now as well. */
export const FstabEntry = resourceClass<FstabEntryArgs, FstabEntryDesired, typeof fstabEntryOutputsSchema>("FstabEntry", fstabEntryOutputsSchema);
export type FstabEntry = InstanceType<typeof FstabEntry>;

/** Docker's storage settings in daemon.json, applied with a verified restart. */
export const DockerStorageConfig = resourceClass<DockerStorageConfigArgs, DockerStorageDesired, typeof dockerStorageConfigOutputsSchema>("DockerStorageConfig", dockerStorageConfigOutputsSchema);
export type DockerStorageConfig = InstanceType<typeof DockerStorageConfig>;
