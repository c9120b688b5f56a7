import { strict as assert } from "assert";
import {
    dotDotEntries,
    escapeField,
    findEntries,
    formatEntry,
    markEntry,
    markerFor,
    mayReachThroughDotDot,
    normalizeMountPoint,
    parseFstab,
    parseMarker,
    removeEntry,
    sameMountPoint,
    serializeFstab,
    unescapeField,
    upsertEntry,
} from "../../provider/resources/fstabEntry/fstab";
import type { FstabFields } from "../../provider/resources/fstabEntry/fstab";

/** What the Debian 12 installer writes (columns aligned with runs of spaces, a CD-ROM line). */
const DEBIAN_INSTALLER = `# /etc/fstab: static file system information.
#
# Use 'blkid' to print the universally unique identifier for a
# device; this may be used with UUID= as a more robust way to name devices
# that works even if disks are added and removed. See fstab(5).
#
# systemd generates mount units based on this file, see systemd.mount(5).
# Please run 'systemctl daemon-reload' after you make changes here.
#
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
# / was on /dev/sda1 during installation
UUID=0a3407de-014b-458b-b5c1-848e92a327a3 /               ext4    errors=remount-ro 0       1
# swap was on /dev/sda5 during installation
UUID=f9fe0b69-a280-415d-a03a-a32752370dee none            swap    sw              0       0
/dev/sr0        /media/cdrom0   udf,iso9660 user,noauto     0       0
`;

/**
 * A hand-kept server fstab: tabs and spaces mixed, trailing whitespace, indented and blank-with-spaces
 * lines, LABEL/PARTUUID, bind, nfs, tmpfs, an escaped space, a line without dump/pass, a broken line,
 * and no final newline.
 */
const HAND_KEPT = [
    "# <fs>\t\t\t<mountpoint>\t<type>\t<opts>\t\t<dump/pass>",
    "LABEL=root\t\t/\t\text4\tnoatime,errors=remount-ro\t0 1   ",
    "PARTUUID=5e2a4c1b-02\t/boot/efi\tvfat\tumask=0077\t0\t1",
    "   ",
    "\t# an indented comment",
    "/srv/export\t/home/export\tnone\tbind\t0\t0",
    "nas.example.com:/volume1/media  /mnt/media  nfs  rw,hard,timeo=600,_netdev,x-systemd.automount  0  0",
    "tmpfs /tmp tmpfs rw,nosuid,nodev,size=2G",
    "/dev/disk/by-label/Photo\\040Disk /mnt/photo\\040disk ext4 defaults 0 2",
    "/dev/sdq1 /mnt/broken",
    "/dev/sdq2 /mnt/badpass ext4 defaults 0 x",
    "",
    "/swapfile none swap sw 0 0",
].join("\n");

const CRLF = "# edited on Windows\r\nUUID=0a3407de-014b-458b-b5c1-848e92a327a3 / ext4 defaults 0 1\r\n\r\nproc /proc proc defaults 0 0\r\n";

/** A comment with a Latin-1 byte (0xE9, not UTF-8): it must survive untouched. */
const NOT_UTF8 = Buffer.concat([Buffer.from("# caf"), Buffer.from([0xe9]), Buffer.from(" server\nUUID=0a3407de-014b-458b-b5c1-848e92a327a3 / ext4 defaults 0 1\n")]);

const FIXTURES: Record<string, Buffer> = {
    "Debian installer": Buffer.from(DEBIAN_INSTALLER),
    "hand kept, no final newline": Buffer.from(HAND_KEPT),
    CRLF: Buffer.from(CRLF),
    "not UTF-8": NOT_UTF8,
    empty: Buffer.alloc(0),
    "only a newline": Buffer.from("\n"),
};

const DOCKER: FstabFields = {
    spec: "UUID=6f0c7a52-3d1e-4c52-9a0e-2b7f1d9c4e11",
    mountPoint: "/var/lib/docker",
    fsType: "ext4",
    options: ["defaults", "nofail", "x-systemd.requires=zfs-volumes.target", "x-systemd.device-timeout=300s"],
    dump: 0,
    pass: 2,
};
const DOCKER_LINE = "UUID=6f0c7a52-3d1e-4c52-9a0e-2b7f1d9c4e11 /var/lib/docker ext4 defaults,nofail,x-systemd.requires=zfs-volumes.target,x-systemd.device-timeout=300s 0 2";

const edit = (bytes: Buffer | string, fn: (f: ReturnType<typeof parseFstab>) => ReturnType<typeof parseFstab>): string => serializeFstab(fn(parseFstab(bytes))).toString("latin1");

describe("resources/fstab", () => {
    describe("escapes", () => {
        it("escapes space, tab, newline and backslash as fstab(5) octal", () => {
            assert.equal(escapeField("/mnt/a b\tc\nd\\e"), "/mnt/a\\040b\\011c\\012d\\134e");
        });

        it("round-trips any text, including UTF-8 and shell syntax", () => {
            for (const value of ["/mnt/x; reboot", "/mnt/$(touch /tmp/pwned)", "/mnt/daten für alle", "/mnt/\\040 literal", "/mnt/'q\""]) {
                assert.equal(unescapeField(Buffer.from(escapeField(value), "utf8").toString("latin1")), value);
            }
        });

        it("decodes only a backslash followed by three octal digits, like libmount", () => {
            assert.equal(unescapeField("/mnt/a\\040b"), "/mnt/a b");
            assert.equal(unescapeField("/mnt/a\\08b\\x"), "/mnt/a\\08b\\x");
        });
    });

    describe("parse and serialize", () => {
        for (const [name, bytes] of Object.entries(FIXTURES)) {
            it(`gives back the same bytes: ${name}`, () => {
                assert.ok(serializeFstab(parseFstab(bytes)).equals(bytes));
            });
        }

        it("reads the fields of aligned, tabbed and escaped lines", () => {
            const lines = parseFstab(HAND_KEPT).lines;
            assert.deepEqual(
                lines.map((l) => l.kind),
                ["comment", "entry", "entry", "blank", "comment", "entry", "entry", "entry", "entry", "entry", "entry", "blank", "entry"],
            );
            assert.deepEqual(lines[1].entry, { spec: "LABEL=root", mountPoint: "/", fsType: "ext4", options: ["noatime", "errors=remount-ro"], dump: 0, pass: 1, valid: true });
            assert.deepEqual(lines[6].entry, { spec: "nas.example.com:/volume1/media", mountPoint: "/mnt/media", fsType: "nfs", options: ["rw", "hard", "timeo=600", "_netdev", "x-systemd.automount"], dump: 0, pass: 0, valid: true });
            // dump and pass are optional (0), as in libmount.
            assert.deepEqual(lines[7].entry, { spec: "tmpfs", mountPoint: "/tmp", fsType: "tmpfs", options: ["rw", "nosuid", "nodev", "size=2G"], dump: 0, pass: 0, valid: true });
            assert.equal(lines[8].entry?.spec, "/dev/disk/by-label/Photo Disk");
            assert.equal(lines[8].entry?.mountPoint, "/mnt/photo disk");
            assert.equal(lines[9].entry?.valid, false, "no type: libmount skips it");
            assert.equal(lines[10].entry?.valid, false, "pass is not a number");
            assert.equal(lines[12].eol, "", "no final newline");
        });

        it("ignores the CR of CRLF lines in fields and the Debian swap/cdrom lines parse", () => {
            const crlf = parseFstab(CRLF).lines;
            assert.deepEqual(crlf[3].entry?.options, ["defaults"]);
            assert.equal(crlf[3].entry?.pass, 0);
            assert.equal(crlf[2].kind, "blank");
            const debian = parseFstab(DEBIAN_INSTALLER).lines.filter((l) => l.kind === "entry").map((l) => [l.entry?.mountPoint, l.entry?.fsType]);
            assert.deepEqual(debian, [["/", "ext4"], ["none", "swap"], ["/media/cdrom0", "udf,iso9660"]]);
        });
    });

    describe("mount points", () => {
        it("compare as systemd's path_simplify: repeated and trailing '/' and '.' components do not count", () => {
            assert.equal(normalizeMountPoint("//var//lib/./docker/."), "/var/lib/docker");
            assert.equal(normalizeMountPoint("/"), "/");
            assert.equal(normalizeMountPoint("/./"), "/");
            assert.equal(normalizeMountPoint("none"), "none");
            assert.ok(sameMountPoint("/var/lib/docker/", "/var/lib/docker"));
            assert.ok(!sameMountPoint("/var/lib/docker2", "/var/lib/docker"));
        });

        it("keep '..' as a component, and name the lines it may make our mount point", () => {
            assert.equal(normalizeMountPoint("/var/lib/x/../docker"), "/var/lib/x/../docker");
            assert.ok(!sameMountPoint("/var/lib/x/../docker", "/var/lib/docker"));
            assert.ok(mayReachThroughDotDot("/var/lib/x/../docker", "/var/lib/docker"));
            assert.ok(mayReachThroughDotDot("/var/lib/docker/..//./docker/", "/var/lib/docker"));
            assert.ok(!mayReachThroughDotDot("/var/lib/x/../other", "/var/lib/docker"));
            assert.ok(!mayReachThroughDotDot("/var/lib/docker", "/var/lib/docker"));
            const fstab = parseFstab("/dev/a /var/lib/x/../docker ext4 defaults 0 2\n/dev/b /srv ext4 defaults 0 2\n");
            assert.deepEqual(dotDotEntries(fstab, "/var/lib/docker"), [{ lineNumber: 1, text: "/dev/a /var/lib/x/../docker ext4 defaults 0 2" }]);
            assert.deepEqual(findEntries(fstab, "/var/lib/docker"), []);
        });
    });

    describe("long runs of whitespace", () => {
        // Before, /[ \t]+$/ on such a line retried from each blank: 200k blanks took 33 s. 1 MB now takes milliseconds.
        const RUN = " \t".repeat(512 * 1024);

        it("parse and edit a line with 1 MB of blanks between its fields, and give it back", () => {
            const before = `# c${RUN}x\n${RUN}\n/dev/zd0${RUN}/var/lib/docker ext4 defaults 0 2 \t\n`;
            const parsed = parseFstab(before);
            assert.deepEqual(parsed.lines.map((l) => l.kind), ["comment", "blank", "entry"]);
            assert.deepEqual(parsed.lines[2].entry, { spec: "/dev/zd0", mountPoint: "/var/lib/docker", fsType: "ext4", options: ["defaults"], dump: 0, pass: 2, valid: true });
            const added = edit(before, (f) => upsertEntry(f, DOCKER));
            assert.ok(added.endsWith(`\n${DOCKER_LINE}\n`));
            assert.equal(findEntries(parseFstab(added), DOCKER.mountPoint).length, 1);
            assert.equal(edit(added, (f) => removeEntry(f, DOCKER.mountPoint)), before);
        });

        it("read a marker followed by 1 MB of blanks", () => {
            const text = `${markerFor("/srv")}${RUN}\r\n/dev/a /srv ext4 defaults 0 2\n`;
            assert.equal(findEntries(parseFstab(text), "/srv")[0].marked, true);
        });
    });

    describe("findEntries", () => {
        it("finds a line by its mount point, also written with a trailing slash", () => {
            const found = findEntries(parseFstab("/dev/sdb1 /var/lib/docker/ ext4 defaults 0 2\n"), "/var/lib/docker");
            assert.equal(found.length, 1);
            assert.equal(found[0].lineNumber, 1);
            assert.equal(found[0].marked, false);
        });

        it("matches escaped mount points by their decoded path", () => {
            assert.equal(findEntries(parseFstab(HAND_KEPT), "/mnt/photo disk")[0].lineNumber, 9);
        });

        it("counts a line as ours only under a marker naming the same mount point", () => {
            const text = `${markerFor("/srv/a")}\n/dev/sdb1 /srv/b ext4 defaults 0 2\n${markerFor("/srv/c")}\n/dev/sdc1 /srv/c ext4 defaults 0 2\n`;
            assert.equal(findEntries(parseFstab(text), "/srv/b")[0].marked, false, "a stray marker for another mount point must not mark it");
            assert.equal(findEntries(parseFstab(text), "/srv/c")[0].marked, true);
        });

        it("finds broken lines too, so they are never silently duplicated", () => {
            assert.equal(findEntries(parseFstab(HAND_KEPT), "/mnt/broken").length, 1);
        });
    });

    describe("upsertEntry", () => {
        it("appends the marker and the line, keeping the file as a byte-exact prefix", () => {
            const out = edit(DEBIAN_INSTALLER, (f) => upsertEntry(f, DOCKER));
            assert.equal(out, `${DEBIAN_INSTALLER}# managed by pulumi-zfs-docker: /var/lib/docker\n${DOCKER_LINE}\n`);
            assert.equal(formatEntry(DOCKER), DOCKER_LINE);
        });

        it("adds the missing final newline and nothing else to the old last line, and says so in the marker", () => {
            const out = edit(HAND_KEPT, (f) => upsertEntry(f, DOCKER));
            assert.equal(out, `${HAND_KEPT}\n# managed by pulumi-zfs-docker: /var/lib/docker (the file had no final newline; delete takes the added one away)\n${DOCKER_LINE}\n`);
            assert.deepEqual(parseMarker(parseFstab(out).lines[13]), { mountPoint: "/var/lib/docker", kind: "ours", addedEol: "\n" });
        });

        it("ends a CRLF file without a final newline with CRLF, not LF", () => {
            const out = edit("a b c\r\nd e f", (f) => upsertEntry(f, DOCKER));
            assert.equal(out, `a b c\r\nd e f\r\n# managed by pulumi-zfs-docker: /var/lib/docker (the file had no final CRLF; delete takes the added one away)\r\n${DOCKER_LINE}\r\n`);
            assert.equal(edit(out, (f) => removeEntry(f, DOCKER.mountPoint)), "a b c\r\nd e f");
        });

        it("adds only the LF to a last line that has its CR already", () => {
            const out = edit("a b c\nd e f\r", (f) => upsertEntry(f, DOCKER));
            assert.ok(out.startsWith("a b c\nd e f\r\n# managed by pulumi-zfs-docker: /var/lib/docker (the file had no final newline;"), JSON.stringify(out));
            assert.equal(edit(out, (f) => removeEntry(f, DOCKER.mountPoint)), "a b c\nd e f\r");
        });

        it("uses the ending most lines have, and on a tie the last line's", () => {
            assert.ok(edit("a b c\r\nd e f\ng h i\n", (f) => upsertEntry(f, DOCKER)).endsWith(`${DOCKER_LINE}\n`));
            assert.ok(edit("a b c\nd e f\r\n", (f) => upsertEntry(f, DOCKER)).endsWith(`${DOCKER_LINE}\r\n`));
            assert.ok(edit("a b c\r\nd e f\n", (f) => upsertEntry(f, DOCKER)).endsWith(`a b c\r\nd e f\n${markerFor(DOCKER.mountPoint)}\n${DOCKER_LINE}\n`));
        });

        it("writes CRLF lines into a CRLF file", () => {
            const out = edit(CRLF, (f) => upsertEntry(f, DOCKER));
            assert.equal(out, `${CRLF}# managed by pulumi-zfs-docker: /var/lib/docker\r\n${DOCKER_LINE}\r\n`);
        });

        it("keeps bytes that are not UTF-8 and writes UTF-8 mount points as UTF-8", () => {
            const out = serializeFstab(upsertEntry(parseFstab(NOT_UTF8), { ...DOCKER, mountPoint: "/srv/daten für alle" }));
            assert.ok(out.subarray(0, NOT_UTF8.length).equals(NOT_UTF8));
            assert.ok(out.toString("utf8").endsWith(" /srv/daten\\040für\\040alle ext4 defaults,nofail,x-systemd.requires=zfs-volumes.target,x-systemd.device-timeout=300s 0 2\n"));
        });

        it("creates a file from nothing", () => {
            assert.equal(edit(Buffer.alloc(0), (f) => upsertEntry(f, DOCKER)), `# managed by pulumi-zfs-docker: /var/lib/docker\n${DOCKER_LINE}\n`);
        });

        it("rewrites an existing line in place, marks it as adopted with its old bytes, and changes nothing else", () => {
            const before = DEBIAN_INSTALLER + "/dev/zd0\t/var/lib/docker\text4\tdefaults\t0\t2\n# after\n";
            const out = edit(before, (f) => upsertEntry(f, DOCKER));
            assert.equal(out, DEBIAN_INSTALLER + `# managed by pulumi-zfs-docker: /var/lib/docker (adopted; delete puts back: /dev/zd0\\011/var/lib/docker\\011ext4\\011defaults\\0110\\0112)\n${DOCKER_LINE}\n# after\n`);
            assert.equal(findEntries(parseFstab(out), DOCKER.mountPoint)[0].originalText, "/dev/zd0\t/var/lib/docker\text4\tdefaults\t0\t2");
            assert.equal(edit(out, (f) => removeEntry(f, DOCKER.mountPoint)), before, "removal undoes the rewrite");
        });

        it("claims an unmarked line as ours when told to (a managed line that lost its marker)", () => {
            const before = "/dev/zd0 /var/lib/docker ext4 defaults 0 2\n";
            const out = edit(before, (f) => upsertEntry(f, DOCKER, "claim"));
            assert.equal(out, `${markerFor(DOCKER.mountPoint)}\n${DOCKER_LINE}\n`);
            assert.equal(edit(out, (f) => removeEntry(f, DOCKER.mountPoint)), "");
        });

        it("rewrites an adopted line again without touching its marker, so removal still gives back the first bytes", () => {
            const before = "UUID=abc  /var/lib/docker  ext4  noatime  0  2   \r\n# after";
            const twice = edit(edit(before, (f) => upsertEntry(f, DOCKER)), (f) => upsertEntry(f, { ...DOCKER, options: ["defaults"] }));
            assert.match(twice, /^# managed by pulumi-zfs-docker: \/var\/lib\/docker \(adopted; delete puts back: UUID=abc {2}\/var\/lib\/docker {2}ext4 {2}noatime {2}0 {2}2\\040\\040\\040\)\r\n/);
            assert.equal(edit(twice, (f) => removeEntry(f, DOCKER.mountPoint)), before);
        });

        it("finds the line under any spelling systemd treats as the same mount point, and rewrites it instead of adding one", () => {
            for (const spelling of ["/var/lib//docker", "/var/lib/./docker", "/var/lib/docker/", "//var/lib/docker//", "/var/lib\\057docker", "/var/lib/\\144ocker"]) {
                const before = `/dev/zd0 ${spelling} ext4 defaults 0 2\n`;
                assert.equal(findEntries(parseFstab(before), DOCKER.mountPoint).length, 1, spelling);
                const out = parseFstab(serializeFstab(upsertEntry(parseFstab(before), DOCKER)));
                assert.deepEqual(out.lines.filter((l) => l.kind === "entry").map((l) => l.entry?.mountPoint), ["/var/lib/docker"], spelling);
            }
        });

        it("rewrites a marked line without adding a second marker, keeping its CR and missing newline", () => {
            const before = `a b c\r\n${markerFor("/var/lib/docker")}\r\n/dev/zd0 /var/lib/docker ext4 defaults 0 2\r`;
            assert.equal(edit(before, (f) => upsertEntry(f, DOCKER)), `a b c\r\n${markerFor("/var/lib/docker")}\r\n${DOCKER_LINE}\r`);
        });

        it("escapes the mount point in the line and in the marker", () => {
            const out = edit("", (f) => upsertEntry(f, { ...DOCKER, mountPoint: "/mnt/x; reboot $(touch /tmp/pwned)" }));
            assert.equal(out.split("\n")[0], "# managed by pulumi-zfs-docker: /mnt/x;\\040reboot\\040$(touch\\040/tmp/pwned)");
            assert.equal(findEntries(parseFstab(out), "/mnt/x; reboot $(touch /tmp/pwned)")[0].marked, true);
        });

        it("refuses to choose between two lines for the same mount point", () => {
            assert.throws(() => upsertEntry(parseFstab("/dev/a /srv ext4 defaults\n/dev/b /srv/ ext4 defaults\n"), { ...DOCKER, mountPoint: "/srv" }), /2 lines for \/srv/);
            assert.throws(() => upsertEntry(parseFstab("/dev/a /srv//x ext4 defaults\n/dev/b /srv/./x ext4 defaults\n"), { ...DOCKER, mountPoint: "/srv/x" }), /2 lines for \/srv\/x/);
        });
    });

    describe("markEntry", () => {
        it("puts the marker above an adopted line, with the line's bytes, and leaves the line exactly as written", () => {
            const byHand = "# x\nUUID=abc\t/var/lib/docker\t ext4  defaults\t0 2   \r\n";
            const marked = edit(byHand, (f) => markEntry(f, "/var/lib/docker"));
            assert.equal(marked, `# x\n${markerFor("/var/lib/docker")} (adopted; delete puts back: UUID=abc\\011/var/lib/docker\\011 ext4  defaults\\0110 2\\040\\040\\040)\r\nUUID=abc\t/var/lib/docker\t ext4  defaults\t0 2   \r\n`);
            assert.equal(edit(marked, (f) => removeEntry(f, "/var/lib/docker")), byHand, "removal takes only the marker away");
        });

        it("keeps bytes that are not UTF-8, backslashes and a missing newline of an adopted line", () => {
            const byHand = Buffer.concat([Buffer.from("# x\n/dev/disk/by-label/caf"), Buffer.from([0xe9]), Buffer.from("\\134x /var/lib/docker ext4 defaults 0 2")]);
            const marked = serializeFstab(markEntry(parseFstab(byHand), "/var/lib/docker"));
            assert.match(marked.toString("latin1"), /delete puts back: \/dev\/disk\/by-label\/caf\\351\\134134x /);
            assert.ok(serializeFstab(removeEntry(parseFstab(marked), "/var/lib/docker")).equals(byHand));
        });

        it("can claim the line instead (the planner does so on update)", () => {
            assert.equal(edit("/dev/a /srv ext4 defaults 0 2\n", (f) => markEntry(f, "/srv", "claim")), `${markerFor("/srv")}\n/dev/a /srv ext4 defaults 0 2\n`);
        });

        it("does nothing to a line that is marked already", () => {
            const marked = `${markerFor("/srv")}\n/dev/a /srv ext4 defaults 0 2\n`;
            assert.equal(edit(marked, (f) => markEntry(f, "/srv")), marked);
        });
    });

    describe("removeEntry", () => {
        for (const [name, bytes] of Object.entries(FIXTURES)) {
            it(`add then remove gives back the original byte for byte: ${name}`, () => {
                const out = serializeFstab(removeEntry(upsertEntry(parseFstab(bytes), DOCKER), DOCKER.mountPoint));
                assert.ok(out.equals(bytes), JSON.stringify(out.toString("latin1")));
            });
        }

        it("removes an unmarked line alone and leaves comments around it", () => {
            assert.equal(edit("# keep\n/dev/zd0 /var/lib/docker ext4 defaults 0 2\n# keep too\n", (f) => removeEntry(f, "/var/lib/docker")), "# keep\n# keep too\n");
        });

        it("does not remove a marker that names another mount point", () => {
            const before = `${markerFor("/srv/a")}\n/dev/zd0 /var/lib/docker ext4 defaults 0 2\n`;
            assert.equal(edit(before, (f) => removeEntry(f, "/var/lib/docker")), `${markerFor("/srv/a")}\n`);
        });

        it("keeps the newline it added when lines were appended after ours since", () => {
            const added = edit("a b c", (f) => upsertEntry(f, DOCKER)) + "/dev/x /srv ext4 defaults 0 2\n";
            assert.equal(edit(added, (f) => removeEntry(f, DOCKER.mountPoint)), "a b c\n/dev/x /srv ext4 defaults 0 2\n");
        });

        it("does not count a marker it cannot read as ours", () => {
            const text = `${markerFor("/srv")} (something else)\n/dev/a /srv ext4 defaults 0 2\n`;
            assert.equal(findEntries(parseFstab(text), "/srv")[0].marked, false);
        });

        it("leaves the file alone when there is no line", () => {
            assert.equal(edit(HAND_KEPT, (f) => removeEntry(f, "/var/lib/docker")), HAND_KEPT);
        });
    });
});
