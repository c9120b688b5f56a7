/**
 * What the serialized provider methods load by package name at run time. Keeping the implementation
 * here (not in the closure) keeps each resource's state small and lets a fixed version of this
 * package serve delete and refresh of resources created by an older one (pulumi/pulumi#6490).
 */
import type * as pulumi from "@pulumi/pulumi";
import type { ResourceDefinition } from "./adapter";
import { makeProviderImplementation } from "./adapter";
import { dockerStorageConfig } from "./resources/dockerStorageConfig";
import { ext4Filesystem } from "./resources/ext4Filesystem";
import { fstabEntry } from "./resources/fstabEntry";
import { zfsVolume } from "./resources/zfsVolume";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const definitions: Record<string, ResourceDefinition<any, any, any>> = {
    [zfsVolume.kind]: zfsVolume,
    [ext4Filesystem.kind]: ext4Filesystem,
    [fstabEntry.kind]: fstabEntry,
    [dockerStorageConfig.kind]: dockerStorageConfig,
};

const providers = new Map<string, pulumi.dynamic.ResourceProvider>();

export function providerFor(kind: string): pulumi.dynamic.ResourceProvider {
    let provider = providers.get(kind);
    if (!provider) {
        const definition = definitions[kind];
        if (!definition) {
            throw new Error(`pulumi-zfs-docker has no resource named ${kind}: upgrade the pulumi-zfs-docker package`);
        }
        provider = makeProviderImplementation(definition);
        providers.set(kind, provider);
    }
    return provider;
}
