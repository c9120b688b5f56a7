import { strict as assert } from "assert";
import { escapeField, findEntries, formatEntry, markEntry, markerFor, parseFstab, removeEntry, serializeFstab, unescapeField, upsertEntry } from "../../provider/resources/fstabEntry/fstab";
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

        it("adds the missing final newline and nothing else to the old last line", () => {
            const out = edit(HAND_KEPT, (f) => upsertEntry(f, DOCKER));
            assert.equal(out, `${HAND_KEPT}\n# managed by pulumi-zfs-docker: /var/lib/docker\n${DOCKER_LINE}\n`);
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

        it("rewrites an existing line in place, marks it, and changes nothing else", () => {
            const before = DEBIAN_INSTALLER + "/dev/zd0\t/var/lib/docker\text4\tdefaults\t0\t2\n# after\n";
            const out = edit(before, (f) => upsertEntry(f, DOCKER));
            assert.equal(out, DEBIAN_INSTALLER + `# managed by pulumi-zfs-docker: /var/lib/docker\n${DOCKER_LINE}\n# after\n`);
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
        });
    });

    describe("markEntry", () => {
        it("puts the marker above an adopted line and leaves the line exactly as written", () => {
            const byHand = "# x\nUUID=abc\t/var/lib/docker\t ext4  defaults\t0 2   \r\n";
            assert.equal(edit(byHand, (f) => markEntry(f, "/var/lib/docker")), `# x\n${markerFor("/var/lib/docker")}\r\nUUID=abc\t/var/lib/docker\t ext4  defaults\t0 2   \r\n`);
        });

        it("does nothing to a line that is marked already", () => {
            const marked = `${markerFor("/srv")}\n/dev/a /srv ext4 defaults 0 2\n`;
            assert.equal(edit(marked, (f) => markEntry(f, "/srv")), marked);
        });
    });

    describe("removeEntry", () => {
        for (const [name, bytes] of Object.entries(FIXTURES)) {
            it(`add then remove gives back the original (newline-terminated): ${name}`, () => {
                const out = serializeFstab(removeEntry(upsertEntry(parseFstab(bytes), DOCKER), DOCKER.mountPoint));
                const expected = bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a ? Buffer.concat([bytes, Buffer.from("\n")]) : bytes;
                assert.ok(out.equals(expected), JSON.stringify(out.toString("latin1")));
            });
        }

        it("removes an unmarked line alone and leaves comments around it", () => {
            assert.equal(edit("# keep\n/dev/zd0 /var/lib/docker ext4 defaults 0 2\n# keep too\n", (f) => removeEntry(f, "/var/lib/docker")), "# keep\n# keep too\n");
        });

        it("does not remove a marker that names another mount point", () => {
            const before = `${markerFor("/srv/a")}\n/dev/zd0 /var/lib/docker ext4 defaults 0 2\n`;
            assert.equal(edit(before, (f) => removeEntry(f, "/var/lib/docker")), `${markerFor("/srv/a")}\n`);
        });

        it("leaves the file alone when there is no line", () => {
            assert.equal(edit(HAND_KEPT, (f) => removeEntry(f, "/var/lib/docker")), HAND_KEPT);
        });
    });
});
