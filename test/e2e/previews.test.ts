/**
 * Golden previews: what `pulumi preview --json` says must be exactly what `pulumi up` then does.
 * Two stacks on two real hosts, side by side: examples/fleet (the DockerHostStorage component) and
 * examples/single-host (the four resources wired by hand, as the README shows). Steps are read from the
 * engine's JSON, never from its text; the review summary is made from the same JSON.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { DROP_IN_PATH } from "../../provider/resources/dockerStorageConfig";
import { reviewMarkdown } from "../../provider/review/summary";
import { assertDockerMountsItsDataRootFirst, assertDockerRequiresDataRoot, ensurePool, sharedHosts, uniqueName } from "../hosts/fleet";
import type { TestHost } from "../hosts/harness";
import type { PlannedStep } from "./pulumi";
import { changes, exampleProgram, PulumiProject } from "./pulumi";

/** The reviewer's summary of a real preview, shown in the test log (docs/review.md quotes these). */
function review(title: string, json: string): string {
    const markdown = reviewMarkdown(json);
    // PZD_CAPTURE_DIR keeps the engine's JSON, for the summariser's unit fixtures (test/fixtures/previews).
    if (process.env.PZD_CAPTURE_DIR) fs.writeFileSync(path.join(process.env.PZD_CAPTURE_DIR, `${title}.json`), json);
    console.log(`      --- review summary: ${title}\n${markdown.replace(/^/gm, "      > ")}`);
    return markdown;
}

/** "kind name op" per changed resource, sorted: the whole plan in a line a failure message can show. */
function plan(steps: PlannedStep[]): string[] {
    return steps.map((s) => `${s.kind} ${s.name} ${s.op}`).sort();
}

const REPLACE_OPS = new Set(["replace", "create-replacement", "delete-replaced"]);

/** Resource → the set of ops the preview has for it. */
function opsByResource(steps: PlannedStep[]): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const step of steps) out.set(`${step.kind} ${step.name}`, new Set([...(out.get(`${step.kind} ${step.name}`) ?? []), step.op]));
    return out;
}

describe("previews say exactly what up does (examples/fleet and examples/single-host, a host each)", function () {
    let hosts: TestHost[];
    let fleet: PulumiProject;
    let single: PulumiProject;
    const both = <T>(work: (p: PulumiProject) => Promise<T>) => Promise.all([work(fleet), work(single)]);
    const C = "docker-storage-0";

    before(async () => {
        hosts = await sharedHosts(2);
        await Promise.all(hosts.map((h) => ensurePool(h)));
        fleet = new PulumiProject("golden-fleet", exampleProgram("fleet"));
        single = new PulumiProject("golden-single", exampleProgram("single-host"));
        await fleet.init({ volumeName: uniqueName("gold"), size: "2G" }, { privateKey: hosts[0].privateKey });
        // As the example's header says: hosts from stack config, one field at a time.
        await fleet.run(["config", "set", "--path", "hosts[0].host", hosts[0].host]);
        await fleet.run(["config", "set", "--path", "hosts[0].port", String(hosts[0].port)]);
        await fleet.run(["config", "set", "--path", "hosts[0].hostKey", hosts[0].hostKey]);
        await single.init({ volumeName: uniqueName("gold"), size: "2G", host: hosts[1].host, port: String(hosts[1].port), hostKey: hosts[1].hostKey }, { privateKey: hosts[1].privateKey });
        const [first] = await both((p) => p.previewSteps());
        // Even the first preview knows the fstab line: nothing in it waits on a host.
        const mount = first.steps.find((s) => s.kind === "FstabEntry");
        assert.equal(mount?.op, "create");
        await both((p) => p.up());
    });
    after(async () => {
        await Promise.all([fleet, single].filter(Boolean).map(async (p) => {
            await p.run(["config", "set", "forceDestroy", "true"]);
            await p.up().catch(() => undefined);
            await p.destroy().catch(() => undefined);
            p.cleanup();
        }));
    });

    it("(a) no change → only `same` steps", async () => {
        const previews = await both((p) => p.previewSteps());
        assert.deepEqual(previews.map((x) => plan(changes(x))), [[], []]);
        assert.deepEqual(previews.map((x) => x.summary.same), [6, 5], "stack + component + 4 resources; stack + 4 resources");
    });

    it("(a') the hand-wired host: Docker waits for its mount through the fstab line (requiredBy), with no drop-in", async () => {
        const h = hosts[1];
        const line = (await h.exec("grep ' /var/lib/docker ' /etc/fstab")).stdout.trim();
        assert.match(line, /,x-systemd\.before=docker\.service,x-systemd\.required-by=docker\.service,x-systemd\.wanted-by=local-fs\.target 0 2$/);
        assert.equal((await h.exec(`test -e ${DROP_IN_PATH} && echo drop-in || echo none`)).stdout.trim(), "none");
        await assertDockerRequiresDataRoot(h);
        await assertDockerMountsItsDataRootFirst(h);
    });

    it("(b) after a refresh of unchanged hosts → still no change, and nothing was rewritten as drift", async () => {
        await both((p) => p.refresh());
        const previews = await both((p) => p.previewSteps());
        assert.deepEqual(previews.map((x) => plan(changes(x))), [[], []]);
        // The refreshed inputs are the program's own: a diff of old and new inputs shows nothing.
        assert.deepEqual(previews.flatMap((x) => x.steps.filter((s) => s.changedInputs.length > 0).map((s) => [s.name, s.changedInputs])), []);
    });

    it("(c) a size grow → exactly ZfsVolume update (size) and Ext4Filesystem update, and up does just that", async () => {
        await both((p) => p.run(["config", "set", "size", "3G"]));
        const [planned, plannedByHand] = await both((p) => p.previewSteps());
        assert.deepEqual(plan(changes(planned)), [`Ext4Filesystem ${C}-ext4 update`, `ZfsVolume ${C}-volume update`]);
        assert.deepEqual(plan(changes(plannedByHand)), ["Ext4Filesystem fs update", "ZfsVolume vol update"]);
        for (const step of [...changes(planned), ...changes(plannedByHand)]) {
            assert.deepEqual(step.changedInputs, step.kind === "ZfsVolume" ? ["size", "sizeBytes"] : ["deviceSizeBytes"]);
        }
        const summary = review("grow-fleet", planned.json);
        review("grow-single", plannedByHand.json);
        assert.doesNotMatch(summary, /Destructive/, "a grow is neither destructive nor disruptive");
        assert.match(summary, new RegExp(`\\| ZfsVolume \\| \`${C}-volume\` \\| update \\| size, sizeBytes \\|`));
        // What a reviewer reads in the pull request (the README shows a capture of it).
        const text = (await single.preview()).stdout;
        assert.doesNotMatch(text, /replace|\[unknown\]/);
        console.log(text.replace(/^/gm, "      | "));

        await both((p) => p.up());
        assert.deepEqual(await both((p) => p.lastUpdateChanges()), [{ update: 2 }, { update: 2 }], "up did the updates the preview showed, nothing else");
        for (const h of hosts) {
            assert.equal(Number((await h.exec("blockdev --getsize64 $(findmnt -n -o SOURCE /var/lib/docker)")).stdout.trim()), 3 * 2 ** 30);
        }
        // After the grow, refresh finds what was asked (reserved blocks stay 5%, not 4.7%): no change.
        await both((p) => p.refresh());
        assert.deepEqual((await both((p) => p.previewSteps())).map((x) => plan(changes(x))), [[], []]);
    });

    it("(d) a label change → Ext4Filesystem update only", async () => {
        await both((p) => p.run(["config", "set", "label", "dock2"]));
        try {
            const previews = (await both((p) => p.previewSteps())).map(changes);
            assert.deepEqual(previews.map(plan), [[`Ext4Filesystem ${C}-ext4 update`], ["Ext4Filesystem fs update"]]);
            for (const step of previews.flat()) assert.deepEqual(step.changedInputs, ["label"]);
        } finally {
            await both((p) => p.run(["config", "rm", "label"]));
        }
    });

    it("(e) a volblocksize change → the volume is replaced, and what sits on it: the filesystem and its mount; Docker's settings are not", async () => {
        await both((p) => p.run(["config", "set", "volblocksize", "64K"]));
        try {
            const [planned, plannedByHand] = await both((p) => p.previewSteps());
            const expected = [[`Ext4Filesystem ${C}-ext4`, `FstabEntry ${C}-mount`, `ZfsVolume ${C}-volume`], ["Ext4Filesystem fs", "FstabEntry mount", "ZfsVolume vol"]];
            for (const [i, preview] of [planned, plannedByHand].entries()) {
                const byResource = opsByResource(changes(preview));
                assert.deepEqual([...byResource.keys()].sort(), expected[i]);
                for (const [resource, ops] of byResource) assert.ok([...ops].every((op) => REPLACE_OPS.has(op)), `${resource}: ${[...ops].join(", ")}`);
                const volumeSteps = changes(preview).filter((s) => s.kind === "ZfsVolume" && s.replaceReasons.length > 0);
                assert.ok(volumeSteps.length > 0 && volumeSteps.every((s) => s.replaceReasons.includes("volblocksize")), JSON.stringify(volumeSteps));
            }
            const summary = review("volblocksize-fleet", planned.json);
            review("volblocksize-single", plannedByHand.json);
            assert.match(summary, /Destructive or disruptive[\s\S]*zvol tank\/gold-\S+ is to be destroyed/);
            assert.match(summary, /is formatted: a new, empty ext4/);
        } finally {
            await both((p) => p.run(["config", "rm", "volblocksize"]));
        }
        assert.deepEqual((await both((p) => p.previewSteps())).map((x) => plan(changes(x))), [[], []], "back to no change");
    });

    it("(f) a hand-made drift of one daemon.json key → exactly that resource and property after refresh", async () => {
        await hosts[1].exec(`sed -i 's/"overlay2"/"vfs"/' /etc/docker/daemon.json`);
        await single.refresh();
        const planned = await single.previewSteps();
        const preview = changes(planned);
        assert.deepEqual(plan(preview), ["DockerStorageConfig docker update"]);
        assert.deepEqual(preview[0].changedInputs, ["storageDriver"]);
        assert.match(review("storage-single", planned.json), /Docker is restarted on overlay2 \(unless it already runs overlay2 at its data root\): running containers stop/);
        await single.up();
        assert.equal(JSON.parse((await hosts[1].exec("cat /etc/docker/daemon.json")).stdout)["storage-driver"], "overlay2");
        assert.deepEqual(plan(changes(await single.previewSteps())), []);
    });
});
