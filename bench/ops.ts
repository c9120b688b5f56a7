/**
 * What one resource operation costs against a real test host: SSH connections, round trips, writes
 * and wall time. Under emulation a round trip is ~1 s, so round trips, not seconds, are the figure to watch.
 */
import { makeProviderImplementation } from "../provider/adapter";
import { connectionSchema } from "../provider/connection";
import { hostFor } from "../provider/host/pool";
import { ext4Filesystem } from "../provider/resources/ext4Filesystem";
import { zfsVolume } from "../provider/resources/zfsVolume";
import type { TestHost } from "../test/hosts/harness";
import { uniqueName } from "../test/hosts/fleet";
import { markdownTable } from "./chart";

export async function operationCosts(host: TestHost): Promise<string> {
    const stats = hostFor(connectionSchema.parse(host.connection)).stats;
    const rows: (string | number)[][] = [];
    const measure = async (operation: string, work: () => Promise<unknown>) => {
        const before = { ...stats };
        const started = Date.now();
        await work();
        rows.push([operation, stats.connections - before.connections, stats.roundTrips - before.roundTrips, stats.writes - before.writes, Date.now() - started]);
    };
    const volumes = makeProviderImplementation(zfsVolume);
    const filesystems = makeProviderImplementation(ext4Filesystem);
    const name = `tank/${uniqueName("bench")}`;
    const vol = { connection: host.connection, name, size: "1G" };
    let volOut: Record<string, unknown> = {};
    let fsOut: Record<string, unknown> = {};
    await measure("ZfsVolume create (first contact: dial)", async () => (volOut = (await volumes.create(vol)).outs));
    await measure("ZfsVolume converge, nothing to do", () => volumes.update!(name, volOut, vol));
    await measure("ZfsVolume grow 1G -> 2G", async () => (volOut = (await volumes.update!(name, volOut, { ...vol, size: "2G" })).outs!));
    await measure("ZfsVolume read (refresh)", () => volumes.read!(name, volOut));
    const fs = { connection: host.connection, device: `/dev/zvol/${name}`, wipeOnDelete: true };
    await measure("Ext4Filesystem create (mkfs)", async () => (fsOut = (await filesystems.create(fs)).outs));
    await measure("Ext4Filesystem converge, nothing to do", () => filesystems.update!(fs.device, fsOut, fs));
    await measure("Ext4Filesystem delete (wipe)", () => filesystems.delete!(fs.device, fsOut));
    await measure("ZfsVolume delete", () => volumes.delete!(name, volOut));
    return `${markdownTable(["operation", "SSH connections", "round trips", "writes", "wall ms"], rows)}\nprovider process RSS: ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB; guest accel: ${host.accel}\n`;
}
