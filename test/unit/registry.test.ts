/**
 * A resource is one folder under provider/resources plus one line in provider/runtime.ts; a folder
 * without its registration (or a class without a definition) fails here, not at run time with
 * "upgrade the package".
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as api from "../../provider";
import { definitions, providerFor } from "../../provider/runtime";

const resourcesDir = path.join(__dirname, "..", "..", "provider", "resources");
const kindOf = (folder: string) => folder[0].toUpperCase() + folder.slice(1);

describe("registration", () => {
    const folders = fs.readdirSync(resourcesDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);

    it("every resource folder is registered under its name", () => {
        assert.deepEqual(folders.map(kindOf).sort(), Object.keys(definitions).sort());
        for (const folder of folders) assert.equal(definitions[kindOf(folder)].kind, kindOf(folder));
    });

    it("every registered resource has a public class of that name, and a provider", () => {
        for (const kind of Object.keys(definitions)) {
            const exported = (api as Record<string, unknown>)[kind] as { name?: string } | undefined;
            assert.equal(typeof exported, "function", `pulumi-zfs-docker exports no class ${kind}`);
            assert.equal(exported?.name, kind);
            assert.equal(typeof providerFor(kind).check, "function");
        }
    });

    it("an unregistered kind is refused with a message that names it", () => {
        assert.throws(() => providerFor("NoSuchResource"), /no resource named NoSuchResource/);
    });
});
