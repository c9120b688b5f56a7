/**
 * A zvol + ext4 program under the real Pulumi CLI against a real test host: up, idempotent second up,
 * previews that name the change and its kind, secrets kept out of the state, destroy leaves it clean.
 */
import { strict as assert } from "assert";
import { ensurePool, sharedHosts, uniqueName } from "../hosts/fleet";
import type { TestHost } from "../hosts/harness";
import { header, PulumiProject } from "./pulumi";

const program = `${header}
const cfg = new pulumi.Config();
const connection = { host: cfg.require("host"), port: cfg.requireNumber("port"), privateKey: cfg.requireSecret("privateKey"), hostKey: cfg.require("hostKey") };
const volume = new zd.ZfsVolume("docker-volume", {
    connection, name: cfg.require("volume"), size: cfg.require("size"), volblocksize: cfg.get("volblocksize"), forceDestroy: true,
});
const filesystem = new zd.Ext4Filesystem("docker-fs", {
    connection, device: volume.devicePath, label: "docker", deviceSizeBytes: volume.sizeBytes, wipeOnDelete: true,
});
export const devicePath = volume.devicePath;
export const uuid = filesystem.uuid;
export const filesystemBytes = filesystem.sizeBytes;
`;

describe("a zvol + ext4 program under the real Pulumi CLI", function () {
    let host: TestHost;
    let project: PulumiProject;
    const volume = `tank/${uniqueName("e2e")}`;

    before(async () => {
        [host] = await sharedHosts(1);
        await ensurePool(host);
        project = new PulumiProject("volume-program", program);
        await project.init({ host: host.host, port: String(host.port), hostKey: host.hostKey, volume, size: "1G", volblocksize: "16K" }, { privateKey: host.privateKey });
    });
    after(() => project?.cleanup());

    it("creates, then a second up changes nothing", async () => {
        const up = await project.up();
        assert.match(up.stdout, /3 created/);
        const outputs = await project.outputs();
        assert.equal(outputs.devicePath, `/dev/zvol/${volume}`);
        assert.equal(outputs.filesystemBytes, 2 ** 30);
        assert.equal((await host.exec(`blkid -p -s UUID -o value /dev/zvol/${volume}`)).stdout.trim(), outputs.uuid);

        const again = await project.up();
        assert.match(again.stdout, /3 unchanged/);
        assert.doesNotMatch(again.stdout, /updated|created|replaced/);
        console.log(`      first up ${up.seconds}s, second up ${again.seconds}s`);
    });

    it("keeps key material out of the state and stays small", () => {
        const state = project.stateText();
        const keyBody = host.privateKey.split("\n").filter((l) => l && !l.startsWith("-----"))[0];
        assert.ok(!state.includes("PRIVATE KEY"), "no private key header in the state");
        assert.ok(!state.includes(keyBody), "no private key body in the state");
        const resources = JSON.parse(state).checkpoint.latest.resources as Array<{ type: string; outputs: Record<string, unknown> }>;
        const ours = resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/pulumi-zfs-docker:"));
        assert.equal(ours.length, 2);
        for (const r of ours) {
            assert.equal((r.outputs.connection as Record<string, unknown>)["4dabf18193072939515e22adb298388d"], "1b47061264138c4ac30d75fd1eb44270", "connection is stored as a secret");
            const provider = String(r.outputs.__provider ?? "");
            console.log(`      ${r.type.split(":").pop()}: ${JSON.stringify(r).length} bytes of state, serialized provider ${provider.length} bytes`);
            assert.ok(provider.length < 4000, "the serialized provider loads the implementation by package name");
        }
    });

    it("previews a size change as an update and a volblocksize change as a replacement", async () => {
        await project.run(["config", "set", "size", "2G"]);
        const grow = await project.preview();
        assert.match(grow.stdout, /~ pulumi-nodejs:dynamic\/pulumi-zfs-docker:ZfsVolume: \(update\)/);
        assert.match(grow.stdout, /~ size\s*: "1G" => "2G"/);
        assert.doesNotMatch(grow.stdout, /ZfsVolume: \(replace\)/);

        await project.run(["config", "set", "volblocksize", "32K"]);
        const replace = await project.preview();
        assert.match(replace.stdout, /ZfsVolume: \(replace\)/);
        assert.match(replace.stdout, /~ volblocksize\s*: "16K" => "32K"/);
        await project.run(["config", "set", "volblocksize", "16K"]);

        const grown = await project.up();
        assert.match(grown.stdout, /2 updated/);
        assert.equal((await project.outputs()).filesystemBytes, 2 * 2 ** 30);
    });

    it("shows drift on refresh and destroys cleanly", async () => {
        await host.exec(`e2label /dev/zvol/${volume} handmade`);
        const refresh = await project.refresh();
        assert.match(refresh.stdout, /1 updated|~ 1 updated|updated/);
        const repaired = await project.up();
        assert.match(repaired.stdout, /1 updated/);
        assert.equal((await host.exec(`e2label /dev/zvol/${volume}`)).stdout.trim(), "docker");

        const destroyed = await project.destroy();
        assert.match(destroyed.stdout, /3 deleted/);
        assert.equal((await host.exec(`zfs list -H ${volume}`, { allowFail: true })).exitCode, 1, "the volume is gone");
    });
});
