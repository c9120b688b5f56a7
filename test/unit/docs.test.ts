import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { definitions } from "../../provider/runtime";
import { objectOf } from "../../provider/inputs";
import { descriptionOf, docsDir, pages } from "../../scripts/docs";

describe("docs/ (generated from the zod schemas)", () => {
    for (const [file, text] of Object.entries(pages())) {
        it(`docs/${file} is current (run \`npm run docs\` after changing a schema)`, () => {
            assert.equal(fs.readFileSync(path.join(docsDir, file), "utf8"), text);
        });
    }

    it("every input and output of every resource has a description", () => {
        const missing: string[] = [];
        for (const [kind, definition] of Object.entries(definitions)) {
            const inputs = objectOf(definition.schema as z.ZodTypeAny)?.shape ?? {};
            for (const [objectName, shape] of [["input", inputs], ["output", definition.outputsSchema.shape]] as const) {
                for (const [key, field] of Object.entries(shape as Record<string, z.ZodTypeAny>)) {
                    if (!descriptionOf(field)) missing.push(`${kind} ${objectName} ${key}`);
                }
            }
        }
        assert.deepEqual(missing, []);
    });
});
