console.log("demo program loaded");
import * as pulumi from "@pulumi/pulumi";
import { Ext4Filesystem } from "pulumi-zfs-docker";

const fs = new Ext4Filesystem("probe", { connection: { type: "local" }, device: "dev/x; reboot" });
export const uuid = fs.uuid;
