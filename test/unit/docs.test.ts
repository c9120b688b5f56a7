import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { definitions } from "../../provider/runtime";
import { docsDir, pages } from "../../scripts/docs";

describe("docs/ (generated from the zod schemas)", () => {
    for (const [file, text] of Object.entries(pages())) {
        it(`docs/${file} is current (run \`npm run docs\` after changing a schema)`, () => {
            assert.equal(fs.readFileSync(path.join(docsDir, file), "utf8"), text);
        });
    }

    it("every input and output of every resource has a description", () => {
        const missing: string[] = [];
        for (const [kind, definition] of Object.entries(definitions)) {
            let inputs = definition.schema as z.ZodTypeAny;
            while (inputs instanceof z.ZodEffects) inputs = inputs.innerType();
            for (const [objectName, shape] of [["input", (inputs as z.AnyZodObject).shape], ["output", definition.outputsSchema.shape]] as const) {
                for (const [key, field] of Object.entries(shape as Record<string, z.ZodTypeAny>)) {
                    let current: z.ZodTypeAny | undefined = field;
                    let found = false;
                    for (let i = 0; current && i < 10 && !found; i++) {
                        found = Boolean(current.description);
                        const def = current._def as { innerType?: z.ZodTypeAny; schema?: z.ZodTypeAny };
                        current = def.innerType ?? def.schema;
                    }
                    if (!found) missing.push(`${kind} ${objectName} ${key}`);
                }
            }
        }
        assert.deepEqual(missing, []);
    });
});
