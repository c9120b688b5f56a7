import { strict as assert } from "assert";
import { ParseError } from "../../provider/host/errors";
import { parseKeyValues, requireSection, section, splitSections } from "../../provider/sections";
import { runShell } from "./realShell";

describe("sections", () => {
    it("section() prints a marker line that splitSections recognises", () => {
        const run = runShell(`${section("pool")}; echo yes; ${section("props")}; printf 'type\\tvolume\\t-\\n'`);
        assert.deepEqual([...splitSections(run.stdout)], [
            ["pool", "yes"],
            ["props", "type\tvolume\t-"],
        ]);
    });

    describe("splitSections", () => {
        it("splits a multi-part answer, ignoring anything before the first marker (login banners)", () => {
            const raw = "Welcome to host\n@@pool\nyes\n@@props\nline 1\nline 2\n@@snapshots\n0\n";
            const sections = splitSections(raw);
            assert.deepEqual([...sections.keys()], ["pool", "props", "snapshots"]);
            assert.equal(sections.get("pool"), "yes");
            assert.equal(sections.get("props"), "line 1\nline 2");
            assert.equal(sections.get("snapshots"), "0");
        });

        it("keeps empty sections as empty strings (present but nothing printed)", () => {
            const sections = splitSections("@@blkid\n@@superblock\n@@mounts\n");
            assert.equal(sections.get("blkid"), "");
            assert.equal(sections.get("superblock"), "");
            assert.equal(sections.get("mounts"), "");
        });

        it("treats only a whole line @@name (lowercase, digits, - and _) as a marker", () => {
            const sections = splitSections("@@data\nvalue @@notamarker\n@@NotAMarker\n @@indented\n@@a-b_1\nx");
            assert.equal(sections.get("data"), "value @@notamarker\n@@NotAMarker\n @@indented");
            assert.equal(sections.get("a-b_1"), "x");
            assert.equal(sections.size, 2);
        });

        it("keeps blank lines inside a section", () => {
            assert.equal(splitSections("@@superblock\na: 1\n\nb: 2\n@@mounts\n").get("superblock"), "a: 1\n\nb: 2");
        });

        it("returns nothing for output without any marker", () => {
            assert.equal(splitSections("no markers here\n").size, 0);
            assert.equal(splitSections("").size, 0);
        });
    });

    describe("requireSection", () => {
        it("returns a present section, even an empty one", () => {
            const raw = "@@pool\nyes\n@@props\n";
            assert.equal(requireSection(splitSections(raw), "pool", raw), "yes");
            assert.equal(requireSection(splitSections(raw), "props", raw), "");
        });

        it("throws a ParseError carrying the raw output when a section is missing", () => {
            const raw = "@@pool\nyes\nsh: 3: zfs: not found\n";
            assert.throws(
                () => requireSection(splitSections(raw), "props", raw),
                (error: unknown) => {
                    assert.ok(error instanceof ParseError);
                    assert.equal(error.raw, raw);
                    assert.match(error.message, /the "props" part of a host's answer/);
                    assert.match(error.message, /zfs: not found/);
                    assert.match(error.message, /please report it/);
                    return true;
                },
            );
        });
    });

    describe("parseKeyValues", () => {
        it("reads blkid -o export output", () => {
            const raw = "DEVNAME=/dev/zvol/tank/docker\nUUID=6f0c7a52-3d1e-4c52-9a0e-2b7f1d9c4e11\nVERSION=1.0\nBLOCK_SIZE=4096\nLABEL=docker\nTYPE=ext4\nUSAGE=filesystem";
            assert.deepEqual(parseKeyValues(raw), {
                DEVNAME: "/dev/zvol/tank/docker",
                UUID: "6f0c7a52-3d1e-4c52-9a0e-2b7f1d9c4e11",
                VERSION: "1.0",
                BLOCK_SIZE: "4096",
                LABEL: "docker",
                TYPE: "ext4",
                USAGE: "filesystem",
            });
        });

        it("splits on the first '=' only and keeps spaces in values", () => {
            assert.deepEqual(parseKeyValues("opts=a=b,c=d\nLABEL=my disk \n"), { opts: "a=b,c=d", LABEL: "my disk " });
        });

        it("skips lines without a key (no '=' or '=' first) and empty text", () => {
            assert.deepEqual(parseKeyValues("no equals\n=orphan\n\npresent=0"), { present: "0" });
            assert.deepEqual(parseKeyValues(""), {});
        });

        it("lets a later line win over an earlier one", () => {
            assert.deepEqual(parseKeyValues("present=1\npresent=0"), { present: "0" });
        });
    });
});
