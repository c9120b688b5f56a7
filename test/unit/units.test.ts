import { strict as assert } from "assert";
import { formatSize, parseSize } from "../../provider/units";

const G = 2 ** 30;

describe("units", () => {
    describe("parseSize", () => {
        const fixtures: Array<[string | number, number]> = [
            ["64G", 64 * G],
            ["512M", 512 * 2 ** 20],
            ["1.5T", 1.5 * 2 ** 40],
            ["1G", 1073741824],
            ["4096", 4096],
            [4096, 4096],
            ["8K", 8192],
            ["1P", 2 ** 50],
            ["64g", 64 * G],
            [" 64 G ", 64 * G],
            ["64GiB", 64 * G],
            ["64GB", 64 * G],
            ["100B", 100],
            ["0.5K", 512],
        ];
        for (const [input, bytes] of fixtures) {
            it(`${JSON.stringify(input)} is ${bytes} bytes (binary units, as zfs counts)`, () => {
                assert.equal(parseSize(input), bytes);
            });
        }

        it("compares sizes as bytes: 1G and 1073741824 are the same size", () => {
            assert.equal(parseSize("1G"), parseSize(1073741824));
            assert.equal(parseSize("1024M"), parseSize("1G"));
        });

        const bad: Array<[string | number, RegExp]> = [
            ["", /is not a size: write bytes \(4096\) or a number with K, M, G, T or P \(64G\)/],
            ["lots", /is not a size/],
            ["-1G", /is not a size/],
            ["1X", /is not a size/],
            ["1e9", /is not a size/],
            ["0x100", /is not a size/],
            ["1 G B", /is not a size/],
            ["0", /"0" is not a whole, positive number of bytes/],
            ["0G", /not a whole, positive number of bytes/],
            ["1.5", /"1.5" is not a whole, positive number of bytes/],
            ["0.3K", /not a whole, positive number of bytes/],
            ["99999999P", /not a whole, positive number of bytes/],
            [0, /0 is not a positive whole number of bytes/],
            [-4096, /is not a positive whole number of bytes/],
            [1.5, /1.5 is not a positive whole number of bytes/],
            [Number.NaN, /NaN is not a positive whole number of bytes/],
            [2 ** 60, /is not a positive whole number of bytes/],
        ];
        for (const [input, message] of bad) {
            it(`refuses ${typeof input === "string" ? JSON.stringify(input) : String(input)} and says how to write a size`, () => {
                assert.throws(() => parseSize(input), message);
            });
        }
    });

    describe("formatSize", () => {
        const fixtures: Array<[number, string]> = [
            [2147483648, "2G"],
            [1073741824, "1G"],
            [64 * G, "64G"],
            [1.5 * G, "1536M"],
            [1.5 * 2 ** 40, "1536G"],
            [8192, "8K"],
            [2 ** 50, "1P"],
            [3 * 2 ** 50, "3P"],
            [1000, "1000"],
            [1, "1"],
        ];
        for (const [bytes, text] of fixtures) {
            it(`${bytes} is written "${text}", the shortest exact form`, () => {
                assert.equal(formatSize(bytes), text);
            });
        }

        it("round-trips through parseSize", () => {
            for (const bytes of [4096, 1.5 * G, 64 * G, 12345, 2 ** 50 + 2 ** 40]) {
                assert.equal(parseSize(formatSize(bytes)), bytes);
            }
        });

        it("writes zero as 0, not 0P (messages show it for an empty filesystem)", () => {
            assert.equal(formatSize(0), "0");
        });
    });
});
