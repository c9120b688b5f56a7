/**
 * The benchmark's pictures and tables without a dependency: a grouped horizontal bar chart written
 * as a PNG (RGB, 8 bits, zlib from Node), with text in a built-in 5x7 bitmap font, and a Markdown
 * table. bench/run.ts writes them next to its results.
 */
import { deflateSync } from "zlib";

type Rgb = readonly [number, number, number];

export interface BarGroup {
    label: string;
    bars: { name: string; value: number }[];
}

const BACKGROUND: Rgb = [255, 255, 255];
const INK: Rgb = [34, 34, 34];
const AXIS: Rgb = [170, 170, 170];
/** Bar colours, given to the tools' names in sorted order: the same tools get the same colours in every chart. */
export const PALETTE: readonly Rgb[] = [
    [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189], [140, 86, 75], [227, 119, 194], [23, 190, 207],
];

// ---- font: each glyph is 7 rows of 5 bits, one base-32 digit a row, top row first, high bit leftmost.
const GLYPH_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz .,:()-/%?";
const GLYPH_ROWS =
    "ehjlphe4c4444eeh1248vv2421he26aiv22vgu11he68guhhev124888ehhehheehhf12c" +
    "ehhhvhhuhhuhhuehggghesihhhisvgguggvvggugggehgnhhfhhhvhhhe44444e72222ic" +
    "hikokihggggggvhrllhhhhhpljhhehhhhheuhhugggehhhliduhhukihfgge11uv444444" +
    "hhhhhhehhhhha4hhhlllahha4ahhhhha444v1248gv00e1fhfggmphhu00egghe11djhhf" +
    "00ehvge698s8880fhhf1eggmphhh40c444e20622icggikokic44444e00qllhh00mphhh" +
    "00ehhhe00uhhug00fhhf100mpggg00ege1u88s889600hhhjd00hhha400hhlla00ha4ah" +
    "00hhf1e00v248v000000000000cc0000c480cc0cc024888428422248000v00001248g0" +
    "op248j3eh12404";
const GLYPH_W = 5;
const GLYPH_H = 7;

/** The rows of a character's glyph; × is drawn as x, and a character the font lacks as ?. */
function glyph(ch: string): number[] {
    let index = GLYPH_CHARS.indexOf(ch === "×" ? "x" : ch);
    if (index < 0) index = GLYPH_CHARS.indexOf("?");
    return Array.from(GLYPH_ROWS.slice(index * GLYPH_H, (index + 1) * GLYPH_H), (digit) => parseInt(digit, 32));
}

// ---- canvas
class Canvas {
    readonly pixels: Uint8Array;
    constructor(readonly width: number, readonly height: number) {
        this.pixels = new Uint8Array(width * height * 3);
        this.fill(0, 0, width, height, BACKGROUND);
    }

    fill(x: number, y: number, w: number, h: number, colour: Rgb): void {
        const x0 = Math.max(0, Math.round(x));
        const y0 = Math.max(0, Math.round(y));
        const x1 = Math.min(this.width, Math.round(x + w));
        const y1 = Math.min(this.height, Math.round(y + h));
        for (let row = y0; row < y1; row++) {
            for (let col = x0; col < x1; col++) this.pixels.set(colour, (row * this.width + col) * 3);
        }
    }

    /** Draws text with its top-left corner at (x, y), each font pixel as a scale×scale square. */
    text(x: number, y: number, text: string, scale: number, colour: Rgb): void {
        let left = x;
        for (const ch of text) {
            glyph(ch).forEach((bits, row) => {
                for (let col = 0; col < GLYPH_W; col++) {
                    if (bits & (1 << (GLYPH_W - 1 - col))) this.fill(left + col * scale, y + row * scale, scale, scale, colour);
                }
            });
            left += (GLYPH_W + 1) * scale;
        }
    }
}

/** How wide text is drawn, without the spacing column after its last character. */
export function textWidth(text: string, scale: number): number {
    const length = Array.from(text).length;
    return length === 0 ? 0 : (length * (GLYPH_W + 1) - 1) * scale;
}

/** A value as the bar's label: three significant digits are plenty for a wall time or a count. */
function formatValue(value: number, unit: string): string {
    const digits = Math.abs(value) >= 100 || Number.isInteger(value) ? 0 : Math.abs(value) >= 10 ? 1 : 2;
    return `${value.toFixed(digits)}${unit ? ` ${unit}` : ""}`;
}

// ---- PNG
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
});

/** CRC-32 as PNG (and zlib, and gzip) define it. */
export function crc32(data: Uint8Array): number {
    let c = 0xffffffff;
    for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
    const typeAndData = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typeAndData));
    return Buffer.concat([length, typeAndData, crc]);
}

function encodePng(canvas: Canvas): Buffer {
    const header = Buffer.alloc(13);
    header.writeUInt32BE(canvas.width, 0);
    header.writeUInt32BE(canvas.height, 4);
    header.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, adaptive filtering, no interlace
    const stride = canvas.width * 3;
    const scanlines = Buffer.alloc(canvas.height * (stride + 1));
    for (let row = 0; row < canvas.height; row++) {
        // Filter byte 0 (none) on every row: the image is flat colour and deflates well as it is.
        scanlines.set(canvas.pixels.subarray(row * stride, (row + 1) * stride), row * (stride + 1) + 1);
    }
    return Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        chunk("IHDR", header),
        chunk("IDAT", deflateSync(scanlines)),
        chunk("IEND", new Uint8Array(0)),
    ]);
}

// ---- the chart
const SCALE = 2;
const TITLE_SCALE = 3;
const PAD = 16;
const BAR_H = 20;
const BAR_GAP = 4;
const GROUP_GAP = 18;
const MIN_WIDTH = 960;
const MIN_PLOT = 400;

/**
 * A grouped horizontal bar chart: one block of bars a group (e.g. an operation), one bar a tool,
 * the same colour for a tool everywhere, its value at the bar's end, and a legend below.
 * Bars are drawn to one scale from zero to the largest value, so lengths compare directly.
 */
export function barChartPng(title: string, groups: BarGroup[], unit: string): Buffer {
    const names = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.name)))].sort();
    const colourOf = (name: string): Rgb => PALETTE[names.indexOf(name) % PALETTE.length];
    const safe = (value: number): number => (Number.isFinite(value) && value > 0 ? value : 0);
    const largest = Math.max(0, ...groups.flatMap((g) => g.bars.map((b) => safe(b.value))));
    const lineH = GLYPH_H * SCALE;

    const labelW = Math.max(0, ...groups.map((g) => textWidth(g.label, SCALE))) + PAD;
    const valueW = Math.max(0, ...groups.flatMap((g) => g.bars.map((b) => textWidth(formatValue(b.value, unit), SCALE)))) + PAD;
    const legendW = names.reduce((sum, name) => sum + lineH + 6 + textWidth(name, SCALE) + PAD * 2, 0);
    const width = Math.max(MIN_WIDTH, PAD * 2 + labelW + MIN_PLOT + valueW, PAD * 2 + legendW, PAD * 2 + textWidth(title, TITLE_SCALE));
    // Even, so a bar of half the largest value is exactly half as long.
    const plotW = (width - PAD * 2 - labelW - valueW) & ~1;
    const plotX = PAD + labelW;
    const barsH = groups.reduce((sum, g) => sum + Math.max(1, g.bars.length) * (BAR_H + BAR_GAP) - BAR_GAP, 0) + GROUP_GAP * Math.max(0, groups.length - 1);
    const plotY = PAD * 2 + GLYPH_H * TITLE_SCALE;
    const legendY = plotY + barsH + PAD * 2;
    const canvas = new Canvas(width, legendY + lineH + PAD);

    canvas.text(PAD, PAD, title, TITLE_SCALE, INK);
    canvas.fill(plotX - 1, plotY - BAR_GAP, 1, barsH + BAR_GAP * 2, AXIS);
    let y = plotY;
    for (const group of groups) {
        const groupH = Math.max(1, group.bars.length) * (BAR_H + BAR_GAP) - BAR_GAP;
        canvas.text(PAD, y + Math.round((groupH - lineH) / 2), group.label, SCALE, INK);
        for (const bar of group.bars) {
            const length = largest === 0 ? 0 : Math.round((safe(bar.value) / largest) * plotW);
            canvas.fill(plotX, y, length, BAR_H, colourOf(bar.name));
            canvas.text(plotX + length + 6, y + Math.round((BAR_H - lineH) / 2), formatValue(bar.value, unit), SCALE, INK);
            y += BAR_H + BAR_GAP;
        }
        if (group.bars.length === 0) y += BAR_H + BAR_GAP;
        y += GROUP_GAP - BAR_GAP;
    }

    let x = PAD;
    for (const name of names) {
        canvas.fill(x, legendY, lineH, lineH, colourOf(name));
        canvas.text(x + lineH + 6, legendY, name, SCALE, INK);
        x += lineH + 6 + textWidth(name, SCALE) + PAD * 2;
    }
    return encodePng(canvas);
}

/** A Markdown table, columns padded to line up in plain text too; all-number columns align right. */
export function markdownTable(header: string[], rows: (string | number)[][]): string {
    const cell = (value: string | number | undefined): string => String(value ?? "").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
    const cells = [header.map(cell), ...rows.map((row) => header.map((_, i) => cell(row[i])))];
    const numeric = header.map((_, i) => rows.length > 0 && rows.every((row) => typeof row[i] === "number"));
    const widths = header.map((_, i) => Math.max(3, ...cells.map((line) => line[i].length)));
    const pad = (text: string, i: number): string => (numeric[i] ? text.padStart(widths[i]) : text.padEnd(widths[i]));
    const line = (parts: string[]): string => `| ${parts.join(" | ")} |`;
    const rule = widths.map((w, i) => (numeric[i] ? `${"-".repeat(w - 1)}:` : "-".repeat(w)));
    return [line(cells[0].map(pad)), line(rule), ...cells.slice(1).map((row) => line(row.map(pad)))].join("\n") + "\n";
}
