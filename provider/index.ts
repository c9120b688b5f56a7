export { ZfsVolume, Ext4Filesystem } from "./resources";
export type { ZfsVolumeArgs, Ext4FilesystemArgs, ConnectionArgs } from "./resources";
export type { ConnectionInput } from "./connection";
