import { strict as assert } from "assert";
import * as fs from "fs";
import { buildSchema, schemaPath } from "../../scripts/schema";

describe("schema.json", () => {
    it("is generated from the same zod schemas that check inputs (run `npm run schema` after changing one)", () => {
        assert.deepEqual(JSON.parse(fs.readFileSync(schemaPath, "utf8")), JSON.parse(JSON.stringify(buildSchema())));
    });

    it("lists the four resources with their replacement properties", () => {
        const resources = buildSchema().resources as Record<string, { replaceOnChanges: string[]; requiredInputs: string[] }>;
        assert.deepEqual(Object.keys(resources).map((k) => k.split(":").pop()), ["DockerStorageConfig", "Ext4Filesystem", "FstabEntry", "ZfsVolume"]);
        assert.deepEqual(resources["pulumi-nodejs:dynamic/pulumi-zfs-docker:ZfsVolume"].replaceOnChanges, ["name", "volblocksize", "sparse"]);
        assert.deepEqual(resources["pulumi-nodejs:dynamic/pulumi-zfs-docker:ZfsVolume"].requiredInputs, ["connection", "name", "size"]);
    });
});
