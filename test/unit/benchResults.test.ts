import { strict as assert } from "assert";
import { mergeSections, parseSections } from "../../bench/results";

describe("bench results file", () => {
    const previous = "# Benchmark results\n\nold machine line\n\n## Compare\n\ncompare table\n\n## Fleet\n\nold fleet table\n";

    it("splits a file into its preamble and sections", () => {
        const { preamble, sections } = parseSections(previous);
        assert.equal(preamble, "# Benchmark results\n\nold machine line\n\n");
        assert.deepEqual(sections, [
            { heading: "Compare", body: "\ncompare table" },
            { heading: "Fleet", body: "\nold fleet table" },
        ]);
    });

    it("replaces only the sections a run produced and keeps the others in place", () => {
        const text = mergeSections(previous, "# Benchmark results\n\nnew machine line\n", [{ heading: "Fleet", body: "new fleet table" }]);
        assert.equal(text, "# Benchmark results\n\nnew machine line\n\n## Compare\n\ncompare table\n\n## Fleet\n\nnew fleet table\n");
    });

    it("appends a section the file did not have, and starts from nothing when there is no file", () => {
        assert.equal(mergeSections(previous, "# B\n", [{ heading: "Build", body: "x" }]), "# B\n\n## Compare\n\ncompare table\n\n## Fleet\n\nold fleet table\n\n## Build\n\nx\n");
        assert.equal(mergeSections("", "# B\n", [{ heading: "Build", body: "x" }]), "# B\n\n## Build\n\nx\n");
    });
});
