/**
 * The provider object the engine serializes into each resource's state. Its methods only capture the
 * resource kind and `require` the implementation by package name, so the state holds a few lines of
 * code instead of this whole package (and a newer installed version serves old resources).
 */
import type * as pulumi from "@pulumi/pulumi";

export const RUNTIME_MODULE = "pulumi-zfs-docker/dist/provider/runtime";

const byKind = new Map<string, pulumi.dynamic.ResourceProvider>();

/**
 * One object per kind: the SDK caches a provider's serialized code by object identity, and
 * serializing a closure walks it through the V8 inspector, so a fresh object per resource cost the
 * program that work once for every resource of a fleet.
 */
export function serializableProvider(kind: string): pulumi.dynamic.ResourceProvider {
    let provider = byKind.get(kind);
    if (!provider) {
        provider = providerMethods(kind);
        byKind.set(kind, provider);
    }
    return provider;
}

function providerMethods(kind: string): pulumi.dynamic.ResourceProvider {
    return {
        check: (olds, news) => require("pulumi-zfs-docker/dist/provider/runtime").providerFor(kind).check(olds, news),
        diff: (id, olds, news) => require("pulumi-zfs-docker/dist/provider/runtime").providerFor(kind).diff(id, olds, news),
        create: (inputs) => require("pulumi-zfs-docker/dist/provider/runtime").providerFor(kind).create(inputs),
        read: (id, props) => require("pulumi-zfs-docker/dist/provider/runtime").providerFor(kind).read(id, props),
        update: (id, olds, news) => require("pulumi-zfs-docker/dist/provider/runtime").providerFor(kind).update(id, olds, news),
        delete: (id, props) => require("pulumi-zfs-docker/dist/provider/runtime").providerFor(kind).delete(id, props),
    };
}
