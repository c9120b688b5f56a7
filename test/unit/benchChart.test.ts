import { strict as assert } from "assert";
import { crc32 as zlibCrc32, inflateSync } from "zlib";
import { barChartPng, crc32, markdownTable, PALETTE } from "../../bench/chart";

interface Chunk {
    type: string;
    data: Buffer;
    crc: number;
    /** The type and data bytes, which the CRC covers. */
    covered: Buffer;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunksOf(png: Buffer): Chunk[] {
    const chunks: Chunk[] = [];
    let at = SIGNATURE.length;
    while (at < png.length) {
        const length = png.readUInt32BE(at);
        const covered = png.subarray(at + 4, at + 8 + length);
        chunks.push({ type: covered.subarray(0, 4).toString("latin1"), data: covered.subarray(4), crc: png.readUInt32BE(at + 8 + length), covered });
        at += 12 + length;
    }
    assert.equal(at, png.length, "the last chunk ends where the file does");
    return chunks;
}

/** The image's pixels as rows of [r, g, b], from a PNG whose rows all use filter 0 (as ours do). */
function decode(png: Buffer): { width: number; height: number; pixel: (x: number, y: number) => number[] } {
    const chunks = chunksOf(png);
    const header = chunks[0].data;
    const width = header.readUInt32BE(0);
    const height = header.readUInt32BE(4);
    const raw = inflateSync(Buffer.concat(chunks.filter((c) => c.type === "IDAT").map((c) => c.data)));
    const stride = 1 + 3 * width;
    for (let y = 0; y < height; y++) assert.equal(raw[y * stride], 0, `row ${y} uses filter 0`);
    return { width, height, pixel: (x, y) => [...raw.subarray(y * stride + 1 + x * 3, y * stride + 4 + x * 3)] };
}

/** The longest horizontal run of one colour, anywhere in the image. */
function longestRun(png: Buffer, colour: readonly number[]): number {
    const image = decode(png);
    let longest = 0;
    for (let y = 0; y < image.height; y++) {
        let run = 0;
        for (let x = 0; x < image.width; x++) {
            run = image.pixel(x, y).every((v, i) => v === colour[i]) ? run + 1 : 0;
            longest = Math.max(longest, run);
        }
    }
    return longest;
}

const GROUPS = [
    { label: "first converge", bars: [{ name: "ansible", value: 10 }, { name: "pulumi", value: 20 }] },
    { label: "no-op (x2)", bars: [{ name: "ansible", value: 2.5 }, { name: "pulumi", value: 1.25 }] },
];

describe("bench/chart", () => {
    describe("barChartPng", () => {
        const png = barChartPng("Wall time (s) × tool", GROUPS, "s");

        it("starts with the PNG signature and an IHDR for an 8-bit RGB image", () => {
            assert.deepEqual(png.subarray(0, 8), SIGNATURE);
            const [header] = chunksOf(png);
            assert.equal(header.type, "IHDR");
            assert.equal(header.data.length, 13);
            const width = header.data.readUInt32BE(0);
            const height = header.data.readUInt32BE(4);
            assert.ok(width >= 960 && width < 4000, `width ${width}`);
            assert.ok(height > 100 && height < 1000, `height ${height}`);
            assert.deepEqual([...header.data.subarray(8)], [8, 2, 0, 0, 0]);
        });

        it("has IHDR first, IEND last and a correct CRC on every chunk", () => {
            const chunks = chunksOf(png);
            assert.equal(chunks[0].type, "IHDR");
            assert.equal(chunks[chunks.length - 1].type, "IEND");
            assert.ok(chunks.some((c) => c.type === "IDAT"));
            for (const c of chunks) assert.equal(c.crc, zlibCrc32(c.covered), `CRC of ${c.type}`);
        });

        it("inflates IDAT to one filter byte plus three bytes a pixel for every row", () => {
            const chunks = chunksOf(png);
            const width = chunks[0].data.readUInt32BE(0);
            const height = chunks[0].data.readUInt32BE(4);
            const raw = inflateSync(Buffer.concat(chunks.filter((c) => c.type === "IDAT").map((c) => c.data)));
            assert.equal(raw.length, height * (1 + 3 * width));
        });

        it("draws a bar of twice the value exactly twice as long", () => {
            // Names take colours in sorted order: ansible the first, pulumi the second.
            const ansible = longestRun(png, PALETTE[0]);
            const pulumi = longestRun(png, PALETTE[1]);
            assert.ok(ansible > 100, `ansible's 10 s bar is ${ansible} px`);
            assert.equal(pulumi, 2 * ansible);
        });

        it("draws the same tool in the same colour whatever the order of the bars", () => {
            const swapped = barChartPng("t", [{ label: "g", bars: [{ name: "pulumi", value: 20 }, { name: "ansible", value: 10 }] }], "s");
            assert.equal(longestRun(swapped, PALETTE[1]), 2 * longestRun(swapped, PALETTE[0]));
        });

        it("draws a chart of zeros, of no groups and of unknown characters without failing", () => {
            for (const chart of [
                barChartPng("zeros", [{ label: "g", bars: [{ name: "a", value: 0 }] }], ""),
                barChartPng("empty", [], "s"),
                barChartPng("odd ✓ [chars] — é", [{ label: "g_1", bars: [{ name: "n@me", value: Number.NaN }] }], "ms"),
            ]) {
                assert.deepEqual(chart.subarray(0, 8), SIGNATURE);
                for (const c of chunksOf(chart)) assert.equal(c.crc, zlibCrc32(c.covered));
            }
        });
    });

    describe("crc32", () => {
        it("is the standard CRC-32 (check value of '123456789')", () => {
            assert.equal(crc32(Buffer.from("123456789")), 0xcbf43926);
            assert.equal(crc32(new Uint8Array(0)), 0);
        });
    });

    describe("markdownTable", () => {
        it("pads the columns, aligns all-number columns right and escapes pipes", () => {
            const table = markdownTable(["tool", "wall s", "round trips"], [
                ["pulumi", 12.5, 7],
                ["shell | ssh", 3, 1],
            ]);
            assert.equal(
                table,
                "| tool         | wall s | round trips |\n" +
                    "| ------------ | -----: | ----------: |\n" +
                    "| pulumi       |   12.5 |           7 |\n" +
                    "| shell \\| ssh |      3 |           1 |\n",
            );
        });

        it("keeps a column with any text in it left-aligned, and fills missing cells", () => {
            assert.equal(markdownTable(["a", "b"], [[1, "x"], [2]]), "|   a | b   |\n| --: | --- |\n|   1 | x   |\n|   2 |     |\n");
        });
    });
});
