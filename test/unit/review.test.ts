/**
 * The reviewer's summary, on the engine's real `pulumi preview --json` output captured from the golden
 * preview test (test/fixtures/previews: a grow, a volblocksize change, a storage-driver repair), with
 * PZD_CAPTURE_DIR set.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { changesOf, reviewMarkdown } from "../../provider/review/summary";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "..", "fixtures", "previews", `${name}.json`), "utf8");

describe("review summary (pulumi preview --json → Markdown)", () => {
    it("no change → says so", () => {
        assert.match(reviewMarkdown(JSON.stringify({ steps: [{ op: "same", urn: "urn:pulumi:s::p::pulumi:pulumi:Stack::p-s" }] })), /No change: every host stays as it is/);
    });

    it("a grow of the component: two updates in its host's table, nothing destructive", () => {
        const markdown = reviewMarkdown(fixture("grow-fleet"));
        assert.doesNotMatch(markdown, /Destructive/);
        assert.match(markdown, /### Host `docker-storage-0` \(DockerHostStorage\)\n\n\| Resource \| Name \| Change \| Properties \|\n\|---\|---\|---\|---\|\n\| ZfsVolume \| `docker-storage-0-volume` \| update \| size, sizeBytes \|\n\| Ext4Filesystem \| `docker-storage-0-ext4` \| update \| deviceSizeBytes \|\n/);
        assert.deepEqual(changesOf(fixture("grow-fleet")).map((c) => `${c.kind}:${c.action}`).sort(), ["Ext4Filesystem:update", "ZfsVolume:update"]);
    });

    it("a grow of resources wired by hand: their own table", () => {
        const markdown = reviewMarkdown(fixture("grow-single"));
        assert.match(markdown, /### Resources wired by hand\n\n[^#]*\| ZfsVolume \| `vol` \| update \| size, sizeBytes \|\n\| Ext4Filesystem \| `fs` \| update \| deviceSizeBytes \|/);
    });

    it("a volblocksize change: the destroyed zvol, the formatted device and the stopped Docker come first", () => {
        const markdown = reviewMarkdown(fixture("volblocksize-fleet"));
        const alerts = markdown.slice(markdown.indexOf("### ⚠ Destructive or disruptive"), markdown.indexOf("### Host"));
        assert.match(alerts, /\*\*docker-storage-0\*\* · ZfsVolume `docker-storage-0-volume` \(replace\): zvol tank\/gold-\S+ is to be destroyed: refused while it holds a filesystem or snapshots unless forceDestroy is true/);
        assert.match(alerts, /Ext4Filesystem `docker-storage-0-ext4` \(replace\): \/dev\/zvol\/tank\/gold-\S+ is formatted: a new, empty ext4/);
        assert.match(alerts, /FstabEntry `docker-storage-0-mount` \(replace\): docker.socket, docker.service stopped while \/var\/lib\/docker is mounted: running containers stop/);
        assert.match(alerts, /moved aside to \/var\/lib\/docker.pre-pulumi-zfs-docker-\*/);
        assert.match(markdown, /\| ZfsVolume \| `docker-storage-0-volume` \| replace \| [^|]*\(replaced because of volblocksize\) \|/);
        assert.doesNotMatch(markdown, /DockerStorageConfig/, "Docker's settings do not change");
    });

    it("a storage-driver change: Docker restarted, its containers stopped", () => {
        const markdown = reviewMarkdown(fixture("storage-single"));
        assert.match(markdown, /\*\*docker\*\* · DockerStorageConfig `docker` \(update\): Docker is restarted on overlay2 \(unless it already runs overlay2 at its data root\): running containers stop/);
        assert.match(markdown, /\| DockerStorageConfig \| `docker` \| update \| storageDriver \|/);
    });

    it("the bin the pull-request workflow runs is the package's, and turns the engine's JSON into the comment", () => {
        const repo = path.join(__dirname, "..", "..");
        const workflow = fs.readFileSync(path.join(repo, "examples", "pr-review", "preview.yml"), "utf8");
        const bin = /npx (\S+) < preview\.json > comment\.md/.exec(workflow)?.[1];
        const pkg = JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8")) as { bin: Record<string, string> };
        assert.ok(bin && pkg.bin[bin], `the workflow runs ${bin}, which package.json must ship as a bin`);
        assert.match(workflow, /pulumi preview --diff --json > preview\.json/);
        const run = spawnSync(process.execPath, [path.join(repo, pkg.bin[bin])], { input: fixture("grow-fleet"), encoding: "utf8" });
        assert.equal(run.status, 0, run.stderr);
        assert.equal(run.stdout, reviewMarkdown(fixture("grow-fleet")));
        const bad = spawnSync(process.execPath, [path.join(repo, pkg.bin[bin])], { input: "not json", encoding: "utf8" });
        assert.equal(bad.status, 2);
        assert.match(bad.stderr, /is not the output of `pulumi preview --json`/);
    });

    it("refuses what is not preview JSON", () => {
        assert.throws(() => reviewMarkdown("Previewing update (dev):"), SyntaxError);
    });
});
