/**
 * Golden previews: what `pulumi preview --json` says must be exactly what `pulumi up` then does.
 * One stack, two real hosts: the DockerHostStorage component on one, the four resources wired by hand
 * (as the README shows) on the other. Steps are read from the engine's JSON, never from its text.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { ensurePool, sharedHosts, uniqueName } from "../hosts/fleet";
import type { TestHost } from "../hosts/harness";
import type { PlannedStep } from "./pulumi";
import { reviewMarkdown } from "../../provider/review/summary";
import { changes, header, PulumiProject } from "./pulumi";

/** The reviewer's summary of a real preview, shown in the test log (docs/review.md quotes these). */
function review(title: string, json: string): string {
    const markdown = reviewMarkdown(json);
    // PZD_CAPTURE_DIR keeps the engine's JSON, for the summariser's unit fixtures (test/fixtures/previews).
    if (process.env.PZD_CAPTURE_DIR) fs.writeFileSync(path.join(process.env.PZD_CAPTURE_DIR, `${title.split(" ")[0]}.json`), json);
    console.log(`      --- review summary: ${title}\n${markdown.replace(/^/gm, "      > ")}`);
    return markdown;
}

const program = `${header}
const cfg = new pulumi.Config();
const hosts = cfg.requireObject<{ host: string; port: number; hostKey: string }[]>("hosts");
const privateKey = cfg.requireSecret("privateKey");
const size = cfg.require("size");
const label = cfg.get("label") ?? "docker";
const volblocksize = cfg.get("volblocksize");
const forceDestroy = cfg.getBoolean("forceDestroy") ?? false;
const volumeName = cfg.require("volumeName");

// Host 0: the component.
const component = new zd.DockerHostStorage("comp", {
    connection: { host: hosts[0].host, port: hosts[0].port, hostKey: hosts[0].hostKey, privateKey },
    pool: "tank", volumeName, size, label, volblocksize, forceDestroy,
});

// Host 1: the same layout wired by hand, as the README shows.
const connection = { host: hosts[1].host, port: hosts[1].port, hostKey: hosts[1].hostKey, privateKey };
const volume = new zd.ZfsVolume("vol", { connection, name: "tank/" + volumeName, size, volblocksize, forceDestroy });
const filesystem = new zd.Ext4Filesystem("fs", {
    connection,
    device: volume.devicePath,          // known at preview: computed from the name
    deviceSizeBytes: volume.sizeBytes,  // known at preview: computed from size
    uuid: zd.stableUuid(pulumi.getProject(), pulumi.getStack(), "fs"),
    label,
});
const mount = new zd.FstabEntry("mount", {
    connection,
    spec: pulumi.interpolate\`UUID=\${filesystem.uuid}\`,
    mountPoint: "/var/lib/docker", fsType: "ext4",
    moveAsideExisting: true, stopUnits: ["docker.socket", "docker.service"],
});
const docker = new zd.DockerStorageConfig("docker", { connection, storageDriver: "overlay2", requiresMountsFor: ["/var/lib/docker"] }, { dependsOn: [mount] });

export const drivers = [component.storageDriver, docker.activeDriver];
export const uuids = [component.uuid, filesystem.uuid];
`;

/** "kind name op" per changed resource, sorted: the whole plan in a line a failure message can show. */
function plan(steps: PlannedStep[]): string[] {
    return steps.map((s) => `${s.kind} ${s.name} ${s.op}`).sort();
}

const REPLACE_OPS = new Set(["replace", "create-replacement", "delete-replaced"]);

describe("previews say exactly what up does (component and hand-wired, two hosts)", function () {
    let hosts: TestHost[];
    let project: PulumiProject;

    before(async () => {
        hosts = await sharedHosts(2);
        await Promise.all(hosts.map((h) => ensurePool(h)));
        project = new PulumiProject("golden-previews", program);
        await project.init({ volumeName: uniqueName("gold"), size: "2G" }, { privateKey: hosts[0].privateKey });
        await project.run(["config", "set", "hosts", JSON.stringify(hosts.map((h) => ({ host: h.host, port: h.port, hostKey: h.hostKey })))]);
        const preview = await project.previewSteps();
        // Even the first preview knows the fstab line: nothing in it waits on a host.
        assert.ok(preview.steps.filter((s) => s.op === "create").length >= 9, JSON.stringify(plan(preview.steps)));
        await project.up();
    });
    after(async () => {
        if (!project) return;
        await project.run(["config", "set", "forceDestroy", "true"]);
        await project.up().catch(() => undefined);
        await project.destroy().catch(() => undefined);
        project.cleanup();
    });

    it("(a) no change → only `same` steps", async () => {
        const preview = await project.previewSteps();
        assert.deepEqual(plan(changes(preview)), []);
        assert.ok((preview.summary.same ?? 0) >= 10, JSON.stringify(preview.summary));
    });

    it("(b) after a refresh of unchanged hosts → still no change, and nothing was rewritten as drift", async () => {
        await project.refresh();
        const preview = await project.previewSteps();
        assert.deepEqual(plan(changes(preview)), []);
        // The refreshed inputs are the program's own: a diff of old and new inputs shows nothing.
        assert.deepEqual(preview.steps.filter((s) => s.changedInputs.length > 0).map((s) => [s.name, s.changedInputs]), []);
    });

    it("(c) a size grow → exactly ZfsVolume update (size) and Ext4Filesystem update per host, and up does just that", async () => {
        await project.run(["config", "set", "size", "3G"]);
        const planned = await project.previewSteps();
        const preview = changes(planned);
        const summary = review("grow", planned.json);
        assert.doesNotMatch(summary, /Destructive/, "a grow is neither destructive nor disruptive");
        assert.match(summary, /\| ZfsVolume \| `comp-volume` \| update \| size, sizeBytes \|/);
        assert.deepEqual(plan(preview), ["Ext4Filesystem comp-ext4 update", "Ext4Filesystem fs update", "ZfsVolume comp-volume update", "ZfsVolume vol update"]);
        for (const step of preview.filter((s) => s.kind === "ZfsVolume")) assert.deepEqual(step.changedInputs, ["size", "sizeBytes"]);
        for (const step of preview.filter((s) => s.kind === "Ext4Filesystem")) assert.deepEqual(step.changedInputs, ["deviceSizeBytes"]);
        // What a reviewer reads in the pull request (the README shows a capture of it).
        const text = (await project.preview()).stdout;
        assert.doesNotMatch(text, /replace|\[unknown\]/);
        console.log(text.replace(/^/gm, "      | "));

        await project.up();
        assert.deepEqual(await project.lastUpdateChanges(), { update: 4 }, "up did the four updates the preview showed, nothing else");
        for (const h of hosts) {
            const bytes = Number((await h.exec("blockdev --getsize64 $(readlink -f /dev/zvol/tank/$(zfs list -H -o name | grep -m1 '/gold-' | cut -d/ -f2))")).stdout.trim());
            assert.equal(bytes, 3 * 2 ** 30);
        }
        // After the grow, refresh finds what was asked (reserved blocks stay 5%, not 4.7%): no change.
        await project.refresh();
        assert.deepEqual(plan(changes(await project.previewSteps())), []);
    });

    it("(d) a label change → Ext4Filesystem update only", async () => {
        await project.run(["config", "set", "label", "dock2"]);
        try {
            const preview = changes(await project.previewSteps());
            assert.deepEqual(plan(preview), ["Ext4Filesystem comp-ext4 update", "Ext4Filesystem fs update"]);
            for (const step of preview) assert.deepEqual(step.changedInputs, ["label"]);
        } finally {
            await project.run(["config", "rm", "label"]);
        }
    });

    it("(e) a volblocksize change → the volume is replaced, and what sits on it: the filesystem and its mount; Docker's settings are not", async () => {
        await project.run(["config", "set", "volblocksize", "64K"]);
        try {
            const planned = await project.previewSteps();
            const preview = changes(planned);
            const summary = review("volblocksize change (replace)", planned.json);
            assert.match(summary, /Destructive or disruptive[\s\S]*zvol tank\/gold-\S+ is to be destroyed/);
            assert.match(summary, /is formatted: a new, empty ext4/);
            const byResource = new Map<string, Set<string>>();
            for (const step of preview) byResource.set(`${step.kind} ${step.name}`, new Set([...(byResource.get(`${step.kind} ${step.name}`) ?? []), step.op]));
            assert.deepEqual([...byResource.keys()].sort(), [
                "Ext4Filesystem comp-ext4", "Ext4Filesystem fs", "FstabEntry comp-mount", "FstabEntry mount", "ZfsVolume comp-volume", "ZfsVolume vol",
            ]);
            for (const [resource, ops] of byResource) {
                assert.ok([...ops].every((op) => REPLACE_OPS.has(op)), `${resource}: ${[...ops].join(", ")}`);
            }
            const volumeSteps = preview.filter((s) => s.kind === "ZfsVolume" && s.replaceReasons.length > 0);
            assert.ok(volumeSteps.every((s) => s.replaceReasons.includes("volblocksize")), JSON.stringify(volumeSteps));
        } finally {
            await project.run(["config", "rm", "volblocksize"]);
        }
        assert.deepEqual(plan(changes(await project.previewSteps())), [], "back to no change");
    });

    it("(f) a hand-made drift of one daemon.json key → exactly that resource and property after refresh", async () => {
        await hosts[1].exec(`sed -i 's/"overlay2"/"vfs"/' /etc/docker/daemon.json`);
        await project.refresh();
        const planned = await project.previewSteps();
        const preview = changes(planned);
        assert.deepEqual(plan(preview), ["DockerStorageConfig docker update"]);
        assert.match(review("storage driver drift repaired (driver change)", planned.json), /Docker is restarted on overlay2: running containers stop/);
        assert.deepEqual(preview[0].changedInputs, ["storageDriver"]);
        await project.up();
        assert.equal(JSON.parse((await hosts[1].exec("cat /etc/docker/daemon.json")).stdout)["storage-driver"], "overlay2");
        assert.deepEqual(plan(changes(await project.previewSteps())), []);
    });
});
