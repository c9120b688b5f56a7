import { strict as assert } from "assert";
import { containsUnknown, isUnknown, pathIsUnknown, UNKNOWN } from "../../provider/unknown";

describe("unknown", () => {
    it("is the engine's sentinel string", () => {
        assert.equal(UNKNOWN, "04da6b54-80e4-46f7-96ec-b56ff0331ba9");
    });

    it("isUnknown matches only the sentinel itself", () => {
        assert.equal(isUnknown(UNKNOWN), true);
        assert.equal(isUnknown(UNKNOWN.toUpperCase()), false);
        assert.equal(isUnknown(` ${UNKNOWN}`), false);
        assert.equal(isUnknown(undefined), false);
        assert.equal(isUnknown([UNKNOWN]), false);
    });

    it("containsUnknown finds the sentinel at any depth of objects and arrays", () => {
        assert.equal(containsUnknown(UNKNOWN), true);
        assert.equal(containsUnknown({ a: { b: [1, { c: UNKNOWN }] } }), true);
        assert.equal(containsUnknown([[[UNKNOWN]]]), true);
        assert.equal(containsUnknown({ a: { b: [1, { c: "known" }] } }), false);
        assert.equal(containsUnknown(null), false);
        assert.equal(containsUnknown(0), false);
        assert.equal(containsUnknown({}), false);
    });

    describe("pathIsUnknown", () => {
        const inputs = { connection: UNKNOWN, name: "tank/x", properties: { compression: UNKNOWN }, extra: [1, UNKNOWN], nested: { deep: { list: [{ x: UNKNOWN }] } } };

        it("is true at an unknown value", () => {
            assert.equal(pathIsUnknown(inputs, ["properties", "compression"]), true);
            assert.equal(pathIsUnknown(inputs, ["extra", 1]), true);
        });

        it("is true below an unknown value (the whole object is not known yet)", () => {
            assert.equal(pathIsUnknown(inputs, ["connection", "host"]), true);
            assert.equal(pathIsUnknown(inputs, ["connection", "proxy", "port"]), true);
        });

        it("is true above an unknown value (an issue about a container holding one)", () => {
            assert.equal(pathIsUnknown(inputs, ["properties"]), true);
            assert.equal(pathIsUnknown(inputs, ["nested"]), true);
            assert.equal(pathIsUnknown(inputs, []), true);
        });

        it("is false for known values, missing values and paths through scalars", () => {
            assert.equal(pathIsUnknown(inputs, ["name"]), false);
            assert.equal(pathIsUnknown(inputs, ["extra", 0]), false);
            assert.equal(pathIsUnknown(inputs, ["size"]), false);
            assert.equal(pathIsUnknown(inputs, ["name", "length"]), false);
            assert.equal(pathIsUnknown({ name: "tank/x" }, []), false);
        });
    });
});
