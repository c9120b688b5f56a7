/**
 * Writes schema.json: every resource's inputs (from the same zod schemas `check` uses, so the two
 * cannot disagree) and outputs, in Pulumi's package-schema shape. `npm run schema`; a unit test
 * fails when the committed file is stale.
 */
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { definitions } from "../provider/runtime";
import type { JsonSchema } from "./zodShape";
import { describe } from "./zodShape";

export function buildSchema(): JsonSchema {
    const resources: Record<string, JsonSchema> = {};
    for (const [kind, definition] of Object.entries(definitions).sort()) {
        const inputs = describe(definition.schema as z.ZodTypeAny).schema as { properties: Record<string, JsonSchema>; required?: string[] };
        resources[`pulumi-nodejs:dynamic/pulumi-zfs-docker:${kind}`] = {
            inputProperties: inputs.properties,
            requiredInputs: inputs.required ?? [],
            properties: (describe(definition.outputsSchema).schema as { properties: Record<string, JsonSchema> }).properties,
            replaceOnChanges: definition.replaceProperties,
        };
    }
    return { name: "pulumi-zfs-docker", description: "Docker on overlay2 over ext4 on a sparse ZFS zvol, over SSH", resources };
}

export const schemaPath = path.join(__dirname, "..", "schema.json");

if (require.main === module) {
    fs.writeFileSync(schemaPath, JSON.stringify(buildSchema(), null, 2) + "\n");
    console.log(`wrote ${schemaPath}`);
}
