import { strict as assert } from "assert";
import { median, resourceSeconds, scaleRatios, turn, type Sample } from "../../bench/compare";

describe("bench: the comparison's pure parts", () => {
    it("reads per-resource times from the CLI's output, keeping the slowest host's", () => {
        const stdout = [
            " +  pulumi-nodejs:dynamic/pulumi-zfs-docker:ZfsVolume docker-storage-0-volume created (4s) ",
            " +  pulumi-nodejs:dynamic/pulumi-zfs-docker:FstabEntry docker-storage-0-mount created (27s) ",
            " +  pulumi-nodejs:dynamic/pulumi-zfs-docker:FstabEntry docker-storage-1-mount created (31s) ",
            " ~  pulumi-nodejs:dynamic/pulumi-zfs-docker:Ext4Filesystem docker-storage-1-ext4 updated (2s) ",
            " +  pulumi-zfs-docker:index:DockerHostStorage docker-storage-0 created (0.5s) ",
        ].join("\n");
        assert.deepEqual(resourceSeconds(stdout), { ZfsVolume: 4, FstabEntry: 31 });
    });

    it("medians of odd and even counts; the tools take turns going first", () => {
        assert.equal(median([3, 1, 2]), 2);
        assert.equal(median([4, 1, 3, 2]), 2.5);
        assert.deepEqual([0, 1, 2, 3].map((s) => turn(["a", "b", "c"], s)[0]), ["a", "b", "c", "a"]);
    });

    it("scale: each tool's first converge on the most hosts over the fewest, medians, only where both were measured", () => {
        const sample = (tool: Sample["tool"], hosts: number, firstSeconds: number): Sample => ({ tool, hosts, firstSeconds, noopSeconds: 1, firstDockerStarts: [], noopDockerStarts: [] });
        const samples = [sample("pulumi", 1, 30), sample("pulumi", 1, 32), sample("pulumi", 3, 93), sample("script", 1, 16), sample("script", 3, 48), sample("ansible", 3, 200)];
        const { lo, hi, byTool } = scaleRatios(samples, [3, 1]);
        assert.deepEqual([lo, hi], [1, 3]);
        assert.equal(byTool.pulumi, 3);
        assert.equal(byTool.script, 3);
        assert.equal(byTool.ansible, undefined);
    });
});
