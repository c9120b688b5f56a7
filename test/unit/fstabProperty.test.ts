/**
 * Properties of the fstab editor over generated files: comments, blank lines, tabs, LF, CRLF and
 * mixed endings, no final newline (or a CR without its LF), `\ooo` escapes, bytes that are not
 * UTF-8, stray markers for other mount points, and at most one line already there for the managed
 * mount point, spelled as systemd would still take it ("//", "/./", a trailing "/", escapes).
 * The seed is fixed, so a failure reproduces; fast-check prints the shrunk file when one does.
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import type { Fstab, FstabFields } from "../../provider/resources/fstabEntry/fstab";
import { findEntries, markEntry, markerFor, parseFstab, removeEntry, serializeFstab, upsertEntry } from "../../provider/resources/fstabEntry/fstab";

const NUM_RUNS = 1000;
const SEED = 0x5eed_f57a;
const settings = { seed: SEED, numRuns: NUM_RUNS };

/** Mount points to manage: plain, one that needs \040, one with UTF-8, one with a backslash. */
const MANAGED = ["/var/lib/docker", "/mnt/my disk", "/srv/données", "/mnt/back\\slash"];

const latin1 = (bytes: Uint8Array | number[]): string => Buffer.from(bytes).toString("latin1");
const octal = (byte: number): string => "\\" + byte.toString(8).padStart(3, "0");

const blanks = (min: number, max: number) => fc.array(fc.constantFrom(" ", "\t"), { minLength: min, maxLength: max }).map((a) => a.join(""));

/** Any bytes but LF (so also CR, NUL and bytes that are not UTF-8). */
const lineBytes = fc.uint8Array({ maxLength: 24 }).map((a) => latin1(a.filter((b) => b !== 0x0a)));

/** One field: bytes without blanks, CR or LF, not starting a comment. */
const word = fc
    .uint8Array({ minLength: 1, maxLength: 8 })
    .map((a) => latin1(a.filter((b) => ![0x09, 0x0a, 0x0d, 0x20].includes(b))))
    .filter((w) => w.length > 0 && !w.startsWith("#"));

/** Mount points that are not the managed one, some close to it ("..", a sibling, a child). */
const otherMountPoint = fc.oneof(
    fc.constantFrom("/", "/home", "none", "/var/lib", "/var/lib/docker2", "/var/lib/x/../docker", "/var/lib/docker/sub", "/mnt/my\\040disk2", "/srv/donn\\303\\251es/x"),
    word,
);

function entryLine(mountPoint: fc.Arbitrary<string>): fc.Arbitrary<string> {
    return fc
        .record({
            lead: blanks(0, 2),
            spec: fc.oneof(fc.constantFrom("UUID=0a3407de", "LABEL=root", "/dev/sda1", "tmpfs", "nas:/vol", "/dev/disk/by-label/A\\040B"), word),
            mountPoint,
            rest: fc.array(fc.oneof(fc.constantFrom("ext4", "nfs", "defaults", "rw,noatime", "0", "2"), word), { maxLength: 4 }),
            separators: fc.array(blanks(1, 3), { minLength: 5, maxLength: 5 }),
            trail: blanks(0, 2),
        })
        .map(({ lead, spec, mountPoint, rest, separators, trail }) => lead + [spec, mountPoint, ...rest].map((f, i) => (i === 0 ? "" : separators[i - 1]) + f).join("") + trail);
}

/**
 * `mountPoint` (UTF-8) as another fstab spelling of the same path for systemd: extra slashes, "."
 * components, a trailing "/" or "/.", and any byte as `\ooo` (those a field cannot hold always).
 */
function spelling(mountPoint: string): fc.Arbitrary<string> {
    const components = Buffer.from(mountPoint, "utf8").toString("latin1").split("/").slice(1);
    return fc
        .record({
            slashes: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: components.length, maxLength: components.length }),
            dots: fc.array(fc.boolean(), { minLength: components.length, maxLength: components.length }),
            escapes: fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }),
            trailing: fc.constantFrom("", "", "/", "//", "/.", "/./"),
        })
        .map(({ slashes, dots, escapes, trailing }) => {
            let out = "";
            components.forEach((component, i) => {
                out += "/".repeat(slashes[i]) + (dots[i] ? "./" : "");
                out += [...component].map((c, j) => (" \t\\".includes(c) || escapes[(i * 16 + j) % 64] ? octal(c.charCodeAt(0)) : c)).join("");
            });
            return out + trailing;
        });
}

const otherLine = fc.oneof(
    { arbitrary: blanks(0, 4), weight: 1 },
    { arbitrary: fc.tuple(blanks(0, 2), lineBytes).map(([lead, rest]) => `${lead}#${rest}`), weight: 2 },
    { arbitrary: fc.constantFrom(markerFor("/srv/a"), markerFor("/var/lib/docker2"), `${markerFor("/home")} (adopted; delete puts back: x)`), weight: 1 },
    { arbitrary: entryLine(otherMountPoint), weight: 4 },
);

/** A whole file (latin1 bytes) with at most one line for `mountPoint`. */
function fstabFile(mountPoint: string): fc.Arbitrary<string> {
    return fc
        .record({
            lines: fc.array(otherLine, { maxLength: 10 }),
            managed: fc.option(fc.tuple(entryLine(spelling(mountPoint)), fc.nat())),
            style: fc.constantFrom("lf", "crlf", "mixed"),
            mixed: fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
            end: fc.constantFrom("newline", "none", "cr only"),
        })
        .map(({ lines, managed, style, mixed, end }) => {
            const all = lines.slice();
            if (managed !== null) all.splice(managed[1] % (all.length + 1), 0, managed[0]);
            return all
                .map((line, i) => {
                    const eol = style === "lf" ? "\n" : style === "crlf" ? "\r\n" : mixed[i % 16] ? "\r\n" : "\n";
                    if (i < all.length - 1 || end === "newline") return line + eol;
                    return end === "cr only" && eol === "\r\n" ? line + "\r" : line;
                })
                .join("");
        });
}

const wanted = (mountPoint: string): fc.Arbitrary<FstabFields> =>
    fc.record({
        spec: fc.constantFrom("UUID=6f0c7a52-3d1e-4c52-9a0e-2b7f1d9c4e11", "/dev/zvol/tank/docker", "LABEL=a b"),
        mountPoint: fc.constant(mountPoint),
        fsType: fc.constantFrom("ext4", "xfs"),
        options: fc.constantFrom(["defaults"], ["noatime", "nofail", "x-systemd.requires=zfs-volumes.target", "x-systemd.device-timeout=300s"]),
        dump: fc.constantFrom(0, 1),
        pass: fc.constantFrom(0, 1, 2),
    });

const cases = fc.constantFrom(...MANAGED).chain((mountPoint) => fc.tuple(fstabFile(mountPoint), wanted(mountPoint)));

/**
 * The oracle for "one line for the mount point", written apart from the editor (regexes are fine on
 * these short lines): the mount point field of every entry line, unescaped, as systemd's
 * path_simplify leaves it (repeated and trailing "/" and "." components gone, ".." kept).
 */
function simplifiedMountPoints(file: string): string[] {
    return file.split("\n").flatMap((line) => {
        const fields = line.replace(/\r$/, "").trim().split(/[ \t]+/);
        if (fields[0] === "" || fields[0].startsWith("#") || fields[1] === undefined) return [];
        let p = Buffer.from(fields[1].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8) & 0xff)), "latin1").toString("utf8");
        if (!p.startsWith("/")) return [p];
        for (let before = ""; before !== p; ) {
            before = p;
            p = p.replace(/\/\.(\/|$)/g, "/").replace(/\/\/+/g, "/");
        }
        return [p.length > 1 ? p.replace(/\/$/, "") : p];
    });
}

/** The line breaks of a file: true for CRLF, false for LF. */
const breaks = (file: string): boolean[] => file.split("\n").slice(0, -1).map((l) => l.endsWith("\r"));

const bytes = (fstab: Fstab): string => serializeFstab(fstab).toString("latin1");
const reparse = (fstab: Fstab): Fstab => parseFstab(serializeFstab(fstab));

describe("resources/fstab (properties)", function () {
    // A ceiling for slow CI machines, not a measurement: the five properties take about 2 s here.
    this.timeout(30_000);

    it(`add then remove gives back the file byte for byte (${NUM_RUNS} cases)`, () => {
        fc.assert(
            fc.property(cases, ([file, fields]) => {
                const added = reparse(upsertEntry(parseFstab(file), fields));
                assert.equal(bytes(removeEntry(added, fields.mountPoint)), file);
            }),
            settings,
        );
    });

    it(`adopting a line as it is, then removing, gives back the file byte for byte (${NUM_RUNS} cases)`, () => {
        fc.assert(
            fc.property(cases, ([file, fields]) => {
                const fstab = parseFstab(file);
                if (findEntries(fstab, fields.mountPoint).length !== 1) return;
                const marked = reparse(markEntry(fstab, fields.mountPoint));
                assert.equal(bytes(removeEntry(marked, fields.mountPoint)), file);
            }),
            settings,
        );
    });

    it(`adding twice is adding once (${NUM_RUNS} cases)`, () => {
        fc.assert(
            fc.property(cases, ([file, fields]) => {
                const once = reparse(upsertEntry(parseFstab(file), fields));
                assert.equal(bytes(upsertEntry(once, fields)), bytes(once));
            }),
            settings,
        );
    });

    it(`after add, the file has exactly one line for the mount point: ours, marked, with the wanted fields (${NUM_RUNS} cases)`, () => {
        fc.assert(
            fc.property(cases, ([file, fields]) => {
                const added = reparse(upsertEntry(parseFstab(file), fields));
                assert.equal(simplifiedMountPoints(bytes(added)).filter((p) => p === fields.mountPoint).length, 1);
                const found = findEntries(added, fields.mountPoint);
                assert.equal(found.length, 1);
                assert.equal(found[0].marked, true);
                assert.deepEqual(found[0].fields, { ...fields, valid: true });
            }),
            settings,
        );
    });

    it(`a CRLF file stays CRLF and an LF file stays LF (${NUM_RUNS} cases)`, () => {
        fc.assert(
            fc.property(cases, ([file, fields]) => {
                const before = breaks(file);
                const after = breaks(bytes(upsertEntry(parseFstab(file), fields)));
                if (before.length > 0 && before.every((crlf) => crlf)) assert.ok(after.every((crlf) => crlf));
                if (before.every((crlf) => !crlf) && !file.endsWith("\r")) assert.ok(after.every((crlf) => !crlf));
            }),
            settings,
        );
    });
});
