/**
 * ZfsVolume and Ext4Filesystem against real test hosts, driven exactly as the engine drives them:
 * check → create → (create/update again: no-op) → drift → read, through the provider implementation.
 */
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { makeProviderImplementation } from "../../provider/adapter";
import { connectionSchema } from "../../provider/connection";
import { hostFor } from "../../provider/host/pool";
import { zfsVolume } from "../../provider/resources/zfsVolume";
import { ext4Filesystem } from "../../provider/resources/ext4Filesystem";
import { ensurePool, sharedHosts, uniqueName } from "../hosts/fleet";
import type { TestHost } from "../hosts/harness";

const volumes = makeProviderImplementation(zfsVolume);
const filesystems = makeProviderImplementation(ext4Filesystem);

async function checked(provider: typeof volumes, inputs: Record<string, unknown>, olds: Record<string, unknown> = {}) {
    const result = await provider.check!(olds, inputs);
    assert.deepEqual(result.failures ?? [], [], "check should accept these inputs");
    return result.inputs as Record<string, unknown>;
}

describe("ZfsVolume and Ext4Filesystem on a real host", function () {
    let host: TestHost;
    before(async () => {
        [host] = await sharedHosts(1);
        await ensurePool(host);
    });

    it("creates, then converges again without writing, grows, sees drift, and deletes", async () => {
        const name = `tank/${uniqueName("vol")}`;
        const stats = hostFor(connectionSchema.parse(host.connection)).stats;
        const volumeInputs = await checked(volumes, { connection: host.connection, name, size: "1G", properties: { compression: "lz4" } });

        const before = { ...stats };
        const created = await volumes.create(volumeInputs);
        assert.equal(created.id, name);
        assert.equal(created.outs.devicePath, `/dev/zvol/${name}`);
        assert.equal(created.outs.sizeBytes, 2 ** 30);
        assert.equal(created.outs.effectiveProperties.compression, "lz4");
        const createTrips = stats.roundTrips - before.roundTrips;
        assert.equal(createTrips, 2, "a create is a read, then the apply with its read back");
        assert.equal((await host.exec(`zfs get -H -o value volsize,refreservation,compression,pulumi-zfs-docker:managed ${name}`)).stdout.trim().split("\n").join(","), "1G,none,lz4,true");
        assert.equal((await host.exec(`test -b /dev/zvol/${name} && echo yes`)).stdout.trim(), "yes");

        const fsInputs = await checked(filesystems, { connection: host.connection, device: created.outs.devicePath, label: "dockerdata", deviceSizeBytes: created.outs.sizeBytes });
        const fsCreated = await filesystems.create(fsInputs);
        assert.match(fsCreated.outs.uuid, /^[0-9a-f-]{36}$/);
        assert.equal(fsCreated.outs.label, "dockerdata");
        assert.equal(fsCreated.outs.sizeBytes, 2 ** 30);

        // Converging again reads the host and changes nothing.
        const idle = { ...stats };
        await volumes.create(volumeInputs);
        await volumes.update!(name, created.outs, volumeInputs);
        await filesystems.update!(fsCreated.id, fsCreated.outs, fsInputs);
        assert.equal(stats.writes, idle.writes, "a second converge must not write");
        assert.equal(stats.roundTrips - idle.roundTrips, 3, "one read per resource and nothing else");

        // Grow the volume 1G → 2G, then the filesystem follows it (the engine calls update on both).
        const grown = await checked(volumes, { ...volumeInputs, size: "2G" }, volumeInputs);
        const diff = await volumes.diff!(name, created.outs, grown);
        assert.equal(diff.changes, true);
        assert.deepEqual(diff.replaces, []);
        const afterGrow = await volumes.update!(name, created.outs, grown);
        assert.equal(afterGrow.outs!.sizeBytes, 2 * 2 ** 30);
        const fsGrown = await checked(filesystems, { ...fsInputs, deviceSizeBytes: afterGrow.outs!.sizeBytes }, fsInputs);
        assert.equal((await filesystems.diff!(fsCreated.id, fsCreated.outs, fsGrown)).changes, true);
        const fsAfter = await filesystems.update!(fsCreated.id, fsCreated.outs, fsGrown);
        assert.equal(fsAfter.outs!.sizeBytes, 2 * 2 ** 30);

        // Drift made by hand shows up on refresh (read), as the inputs that really hold.
        await host.exec(`zfs set compression=off ${name} && e2label /dev/zvol/${name} handmade`);
        const volRead = await volumes.read!(name, afterGrow.outs);
        assert.equal(volRead.props!.size, "2G");
        assert.equal((volRead.props!.properties as Record<string, string>).compression, "off");
        const refreshedDiff = await volumes.diff!(name, volRead.props!, grown);
        assert.equal(refreshedDiff.changes, true, "after refresh, the drift is a pending change");
        const fsRead = await filesystems.read!(fsCreated.id, fsAfter.outs);
        assert.equal(fsRead.props!.label, "handmade");
        // ...and the next converge repairs it.
        await volumes.update!(name, volRead.props!, grown);
        await filesystems.update!(fsCreated.id, fsRead.props!, fsGrown);
        assert.equal((await host.exec(`zfs get -H -o value compression ${name}; e2label /dev/zvol/${name}`)).stdout.trim(), "lz4\ndockerdata");

        // A volume holding a filesystem is not destroyed without forceDestroy.
        await assert.rejects(volumes.delete!(name, afterGrow.outs!), /refusing to destroy .* ext4 signature.*forceDestroy/s);
        assert.equal((await host.exec(`zfs list -H -o name ${name}`)).stdout.trim(), name);
        await filesystems.delete!(fsCreated.id, fsAfter.outs!); // wipeOnDelete false: data stays
        assert.equal((await host.exec(`blkid -p -s TYPE -o value /dev/zvol/${name}`)).stdout.trim(), "ext4");
        await volumes.delete!(name, { ...afterGrow.outs!, forceDestroy: true });
        assert.equal((await host.exec(`zfs list -H ${name}`, { allowFail: true })).exitCode, 1);
        console.log(`      create of a zvol: ${createTrips} round trips, ${stats.connections} connection(s) to this host so far`);
    });

    it("refuses to format a device that holds data, unless force", async () => {
        const name = `tank/${uniqueName("xfs")}`;
        await host.exec(`zfs create -s -V 512M ${name} && udevadm settle && mkfs.xfs -q /dev/zvol/${name}`);
        const inputs = await checked(filesystems, { connection: host.connection, device: `/dev/zvol/${name}` });
        await assert.rejects(filesystems.create(inputs), /already holds xfs; refusing to format it.*force: true/s);
        assert.equal((await host.exec(`blkid -p -s TYPE -o value /dev/zvol/${name}`)).stdout.trim(), "xfs", "the xfs filesystem is untouched");
        const forced = await filesystems.create(await checked(filesystems, { ...inputs, force: true }));
        assert.match(forced.outs.uuid, /^[0-9a-f-]{36}$/);
        assert.equal((await host.exec(`blkid -p -s TYPE -o value /dev/zvol/${name}`)).stdout.trim(), "ext4");
        await host.exec(`zfs destroy ${name}`);
    });

    it("refuses a volume it did not create, and adopts one whose create was interrupted", async () => {
        const stranger = `tank/${uniqueName("stranger")}`;
        await host.exec(`zfs create -s -V 64M ${stranger}`);
        await assert.rejects(volumes.create(await checked(volumes, { connection: host.connection, name: stranger, size: "64M" })), /was not created by pulumi-zfs-docker.*import/s);
        await host.exec(`zfs destroy ${stranger}`);

        // The connection dies after `zfs create` while the script waits for udev: a slow udevadm
        // shim (first on the script's PATH) holds the script there long enough to kill it.
        const name = `tank/${uniqueName("interrupted")}`;
        await host.exec(`printf '#!/bin/sh\\nsleep 30\\nexec /usr/bin/udevadm "$@"\\n' > /usr/local/sbin/udevadm && chmod +x /usr/local/sbin/udevadm`);
        try {
            const inputs = await checked(volumes, { connection: host.connection, name, size: "128M" });
            const killer = host.exec(`for i in $(seq 600); do if zfs list -H ${name} >/dev/null 2>&1; then sleep 1; pkill -KILL -f '^sh -s$'; exit 0; fi; sleep 0.1; done; exit 1`);
            const failure = await volumes.create(inputs).then(
                () => undefined,
                (error) => error,
            );
            await killer;
            assert.ok(failure, "the create must fail when its connection is killed");
            // The engine is told what exists (a partially created resource), not left to forget it.
            assert.equal(failure.id, name);
            assert.equal(failure.properties.devicePath, `/dev/zvol/${name}`);
        } finally {
            await host.exec(`rm -f /usr/local/sbin/udevadm`);
        }
        const guid = (await host.exec(`zfs get -H -o value guid ${name}`)).stdout.trim();
        const resumed = await volumes.create(await checked(volumes, { connection: host.connection, name, size: "128M" }));
        assert.equal(resumed.outs.guid, guid, "the interrupted volume is adopted, not recreated");
        await volumes.delete!(name, resumed.outs);
    });

    it("runs as a non-root user through sudo with a password, and refuses a wrong host key", async () => {
        const connection = { ...host.connection, user: "deployer", sudo: true, sudoPassword: "deployer-pw" };
        const name = `tank/${uniqueName("sudo")}`;
        const created = await volumes.create(await checked(volumes, { connection, name, size: "64M" }));
        assert.equal(created.outs.sizeBytes, 64 * 2 ** 20);
        await volumes.delete!(name, created.outs);

        const wrongKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
        const inputs = await checked(volumes, { connection: { ...host.connection, hostKey: wrongKey }, name, size: "64M" });
        await assert.rejects(volumes.create(inputs), /Host key verification failed[\s\S]*connection.hostKey/);
        assert.equal((await host.exec(`zfs list -H ${name}`, { allowFail: true })).exitCode, 1, "nothing was created");
    });

    it("connects with a password (askpass) and through a jump host (proxy), keys pinned on both hops", async () => {
        const name = `tank/${uniqueName("hops")}`;
        // Debian refuses root passwords over SSH: log in as the sudo user with its password.
        const byPassword = { host: host.host, port: host.port, user: "deployer", password: "deployer-pw", sudo: true, sudoPassword: "deployer-pw", hostKey: host.hostKey };
        const created = await volumes.create(await checked(volumes, { connection: byPassword, name, size: "64M" }));
        assert.equal(created.outs.sizeBytes, 64 * 2 ** 20);

        // The guest is its own jump host: the proxy hop is the forwarded port, the target its loopback sshd.
        const viaProxy = { host: "127.0.0.1", port: 22, user: "root", privateKey: host.privateKey, hostKey: host.hostKey, proxy: { ...host.connection } };
        const read = await volumes.read!(name, { ...created.outs, connection: viaProxy });
        assert.equal(read.props!.size, "64M");
        const proxied = hostFor(connectionSchema.parse(viaProxy));
        assert.equal(proxied.stats.connections, 1);
        await volumes.delete!(name, { ...created.outs, connection: viaProxy });
        assert.equal((await host.exec(`zfs list -H ${name}`, { allowFail: true })).exitCode, 1);
    });

    it("gives the jump host and the target each their own password", async () => {
        const user = `t${crypto.randomBytes(3).toString("hex")}`;
        const targetPassword = `target-${crypto.randomBytes(6).toString("hex")} $(touch /tmp/pwned-${user})`;
        // Passwords travel to chpasswd on stdin, so the shell never sees them.
        await host.exec(`useradd -m -s /bin/sh ${user} && echo '${user} ALL=(ALL:ALL) ALL' > /etc/sudoers.d/${user} && chmod 440 /etc/sudoers.d/${user}`);
        await host.exec(`chpasswd`, { input: `${user}:${targetPassword}\n` });
        try {
            const jump = { host: host.host, port: host.port, user: "deployer", password: "deployer-pw", hostKey: host.hostKey };
            const target = { host: "127.0.0.1", port: 22, user, password: targetPassword, sudo: true, sudoPassword: targetPassword, hostKey: host.hostKey, proxy: jump };
            const name = `tank/${uniqueName("twopw")}`;
            const created = await volumes.create(await checked(volumes, { connection: target, name, size: "64M" }));
            assert.equal(created.outs.sizeBytes, 64 * 2 ** 20);
            await volumes.delete!(name, created.outs);
            assert.equal((await host.exec(`test -e /tmp/pwned-${user}`, { allowFail: true })).exitCode, 1, "the password was never run as a command");

            // One shared secret (the old behaviour) must now fail on the hop that has the other password.
            const swapped = { ...target, dialErrorLimit: 2, proxy: { ...jump, password: targetPassword } };
            await assert.rejects(volumes.read!(name, { ...created.outs, connection: swapped }), (error: Error) => {
                assert.match(error.message, /could not connect/);
                assert.ok(!error.message.includes(targetPassword) && !error.message.includes("deployer-pw"), "no password in the error");
                return true;
            });
        } finally {
            await host.exec(`pkill -u ${user} || true; userdel -r ${user} 2>/dev/null; rm -f /etc/sudoers.d/${user}`);
        }
    });

    it("refuses a wrong pinned key and an unknown host before any command runs", async () => {
        const name = `tank/${uniqueName("hostkey")}`;
        const wrongKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
        const pinnedWrong = { ...host.connection, hostKey: wrongKey, dialErrorLimit: 3 };
        await assert.rejects(volumes.read!(name, { connection: pinnedWrong, name, size: "64M" }), /Host key verification failed/);
        const emptyKnownHosts = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "pzd-kh-")), "known_hosts");
        fs.writeFileSync(emptyKnownHosts, "");
        const { hostKey: _pinned, ...unpinned } = host.connection as typeof host.connection & { hostKey?: string };
        const unknown = { ...unpinned, knownHostsPath: emptyKnownHosts, dialErrorLimit: 3 };
        await assert.rejects(volumes.read!(name, { connection: unknown, name, size: "64M" }), /Host key verification failed|No .* host key is known/);
        assert.equal(fs.readFileSync(emptyKnownHosts, "utf8"), "", "the unknown key was not recorded");
        for (const connection of [pinnedWrong, unknown]) {
            const stats = hostFor(connectionSchema.parse(connection)).stats;
            assert.deepEqual({ connections: stats.connections, roundTrips: stats.roundTrips }, { connections: 0, roundTrips: 0 });
        }
    });
});
