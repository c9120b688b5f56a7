export { ZfsVolume, Ext4Filesystem, FstabEntry, DockerStorageConfig } from "./classes";
export type { ZfsVolumeArgs, Ext4FilesystemArgs, FstabEntryArgs, DockerStorageConfigArgs, ConnectionArgs } from "./classes";
export { DockerHostStorage } from "./components/dockerHostStorage";
export type { DockerHostStorageArgs } from "./components/dockerHostStorage";
export type { ConnectionInput } from "./connection";
export { zvolDevicePath, sizeToBytes, stableUuid } from "./derive";
