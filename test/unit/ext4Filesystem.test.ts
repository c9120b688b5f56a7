import { strict as assert } from "assert";
import { ParseError, RefusedError } from "../../provider/host/errors";
import { frameScript } from "../../provider/host/script";
import { planScript } from "../../provider/plan";
import type { Ext4Desired, Ext4Observed } from "../../provider/resources/ext4Filesystem";
import { ext4Filesystem, ext4FilesystemSchema, filesystemBytes, observeScript, parseObserved, parseSuperblock, planDeleteExt4, planExt4, reservedPercent } from "../../provider/resources/ext4Filesystem";
import { runRecorded, runShell } from "./realShell";

const G = 2 ** 30;
const DEVICE = "/dev/zvol/tank/docker";
const FS_UUID = "6f0c7a52-3d1e-4c52-9a0e-2b7f1d9c4e11";
const OTHER_UUID = "0a1b2c3d-0000-4000-8000-000000000000";

/**
 * `dumpe2fs -h /dev/zvol/tank/docker` (e2fsprogs 1.47.0, Debian bookworm; the version banner goes to
 * stderr) for `mkfs.ext4 -L docker -m 5` on a 1G volume, mounted at /var/lib/docker. Note the real
 * tab after "Inode size:" and the trailing space after the flags.
 */
const DUMPE2FS_1G = `Filesystem volume name:   docker
Last mounted on:          /var/lib/docker
Filesystem UUID:          ${FS_UUID}
Filesystem magic number:  0xEF53
Filesystem revision #:    1 (dynamic)
Filesystem features:      has_journal ext_attr resize_inode dir_index filetype needs_recovery extent 64bit flex_bg sparse_super large_file huge_file dir_nlink extra_isize metadata_csum
Filesystem flags:         signed_directory_hash 
Default mount options:    user_xattr acl
Filesystem state:         clean
Errors behavior:          Continue
Filesystem OS type:       Linux
Inode count:              65536
Block count:              262144
Reserved block count:     13107
Overhead clusters:        12838
Free blocks:              249030
Free inodes:              65525
First block:              0
Block size:               4096
Fragment size:            4096
Group descriptor size:    64
Reserved GDT blocks:      127
Blocks per group:         32768
Fragments per group:      32768
Inodes per group:         8192
Inode blocks per group:   512
Flex block group size:    16
Filesystem created:       Thu Nov 23 12:05:41 2023
Last mount time:          Thu Nov 23 12:06:02 2023
Last write time:          Thu Nov 23 12:06:02 2023
Mount count:              1
Maximum mount count:      -1
Last checked:             Thu Nov 23 12:05:41 2023
Check interval:           0 (<none>)
Lifetime writes:          4129 kB
Reserved blocks uid:      0 (user root)
Reserved blocks gid:      0 (group root)
First inode:              11
Inode size:\t          256
Required extra isize:     32
Desired extra isize:      32
Journal inode:            8
Default directory hash:   half_md4
Directory Hash Seed:      0d6c0e8e-5f2a-4b8c-9d3e-7a1b2c3d4e5f
Journal backup:           inode blocks
Checksum type:            crc32c
Checksum:                 0x8f3a2b1c

Journal features:         (none)
Total journal size:       32M
Total journal blocks:     8192
Max transaction length:   8192
Fast commit length:       0
Journal sequence:         0x00000001
Journal start:            0
`;

/** The same output with some fields changed. */
function dumpe2fs(changes: Record<string, string> = {}): string {
    return DUMPE2FS_1G.split("\n")
        .map((line) => {
            const key = line.split(":")[0];
            return key in changes ? `${key}:${" ".repeat(Math.max(1, 25 - key.length))}${changes[key]}` : line;
        })
        .join("\n");
}

const BLKID_EXT4 = `DEVNAME=${DEVICE}\nUUID=${FS_UUID}\nVERSION=1.0\nBLOCK_SIZE=4096\nLABEL=docker\nTYPE=ext4\nUSAGE=filesystem`;
const BLKID_XFS = `DEVNAME=${DEVICE}\nUUID=${OTHER_UUID}\nBLOCK_SIZE=512\nTYPE=xfs\nUSAGE=filesystem`;

/** What the observe script prints. */
function observeOutput(parts: { device?: string; blkid?: string; superblock?: string; mounts?: string }): string {
    return `@@device\n${parts.device ?? `present=1\nbytes=${G}`}\n@@blkid\n${parts.blkid ?? BLKID_EXT4}\n@@superblock\n${parts.superblock ?? DUMPE2FS_1G}\n@@mounts\n${parts.mounts ?? ""}\n`;
}

const observed = (parts: Parameters<typeof observeOutput>[0] = {}): Ext4Observed => parseObserved(observeOutput(parts));
const BLANK: Ext4Observed = { devicePresent: true, deviceBytes: G, signature: {}, superblock: {}, mountpoints: [] };
const connection = { host: "192.0.2.10" };
const desired = (overrides: Record<string, unknown> = {}): Ext4Desired => ext4FilesystemSchema.parse({ connection, device: DEVICE, label: "docker", ...overrides });

function refused(fn: () => unknown, message: RegExp): void {
    assert.throws(fn, (error: unknown) => {
        assert.ok(error instanceof RefusedError, `expected a RefusedError, got ${String(error)}`);
        assert.match(error.message, message);
        return true;
    });
}

const TOOLS = ["mkfs.ext4", "e2label", "tune2fs", "resize2fs", "wipefs", "reboot"];
const callsOf = (script: string) => runRecorded(script, TOOLS).calls.map((c) => [c.tool, ...c.args]);

describe("resources/ext4Filesystem", () => {
    describe("facts: parseSuperblock", () => {
        const sb = parseSuperblock(DUMPE2FS_1G);

        it("reads the fields the plan uses", () => {
            assert.equal(sb["Filesystem volume name"], "docker");
            assert.equal(sb["Filesystem UUID"], FS_UUID);
            assert.equal(sb["Block count"], "262144");
            assert.equal(sb["Reserved block count"], "13107");
            assert.equal(sb["Block size"], "4096");
        });

        it("keeps colons inside values (times) and trims padding, tabs included", () => {
            assert.equal(sb["Filesystem created"], "Thu Nov 23 12:05:41 2023");
            assert.equal(sb["Inode size"], "256");
            assert.equal(sb["Filesystem flags"], "signed_directory_hash");
            assert.equal(sb["Filesystem revision #"], "1 (dynamic)");
            assert.equal(sb["Journal features"], "(none)");
        });

        it("reads a label that contains a colon", () => {
            assert.equal(parseSuperblock("Filesystem volume name:   data: old\n")["Filesystem volume name"], "data: old");
        });

        it("gives the size and the reserved percentage the plan compares", () => {
            const o = observed();
            assert.equal(filesystemBytes(o), G);
            assert.equal(reservedPercent(o), 5);
            assert.equal(reservedPercent(observed({ superblock: dumpe2fs({ "Reserved block count": "2621" }) })), 1);
            assert.equal(reservedPercent(observed({ superblock: dumpe2fs({ "Reserved block count": "0" }) })), 0);
        });
    });

    describe("facts: parseObserved", () => {
        it("reads a mounted ext4 volume", () => {
            const o = observed({ mounts: "/var/lib/docker" });
            assert.equal(o.devicePresent, true);
            assert.equal(o.deviceBytes, G);
            assert.equal(o.signature.TYPE, "ext4");
            assert.equal(o.signature.UUID, FS_UUID);
            assert.equal(o.superblock["Block count"], "262144");
            assert.deepEqual(o.mountpoints, ["/var/lib/docker"]);
        });

        it("unescapes findmnt -r mount points (\\x20 is a space) and keeps several", () => {
            assert.deepEqual(observed({ mounts: "/mnt/my\\x20disk\n/srv/b\n" }).mountpoints, ["/mnt/my disk", "/srv/b"]);
        });

        it("decodes a UTF-8 mount point findmnt -r sends as several \\xHH bytes, beside one with a space", () => {
            assert.deepEqual(observed({ mounts: "/mnt/my\\x20disk\n/srv/f\\xc3\\xbcr\n" }).mountpoints, ["/mnt/my disk", "/srv/für"]);
        });

        it("reads a blank device and an absent one", () => {
            assert.deepEqual(observed({ blkid: "", superblock: "" }), { ...BLANK });
            assert.deepEqual(observed({ device: "present=0", blkid: "", superblock: "" }), { devicePresent: false, deviceBytes: 0, signature: {}, superblock: {}, mountpoints: [] });
        });

        it("throws a ParseError when the device size is garbage", () => {
            assert.throws(() => observed({ device: "present=1\nbytes=blockdev: cannot open" }), ParseError);
        });

        it("throws a ParseError, not a plan on missing facts, when blkid says ext4 but no superblock was read", () => {
            // Without Block count the filesystem looks 0 bytes: the plan would resize2fs and tune2fs blindly.
            assert.throws(() => observed({ superblock: "" }), ParseError);
        });

        it("the observe script runs under a real shell and prints every section (absent device)", () => {
            const run = runShell("exec sh -s", { input: frameScript(observeScript("/dev/zvol/tank/pzd-unit-none")) });
            assert.equal(run.status, 0, run.stderr);
            assert.deepEqual(parseObserved(run.stdout), { devicePresent: false, deviceBytes: 0, signature: {}, superblock: {}, mountpoints: [] });
        });
    });

    describe("operations: planExt4", () => {
        it("blank device → mkfs.ext4 with -L, -U and -m, no -F, no warning", () => {
            const plan = planExt4(desired({ uuid: FS_UUID, reservedBlocksPercent: 1 }), BLANK);
            assert.equal(plan.actions.length, 1);
            assert.equal(plan.actions[0].description, `format ${DEVICE} as ext4`);
            assert.equal(plan.actions[0].script.text, `mkfs.ext4 -q -L docker -U ${FS_UUID} -m 1 ${DEVICE}`);
            assert.equal(plan.warnings, undefined);
        });

        it("extraOptions become separate argv words", () => {
            const plan = planExt4(desired({ label: undefined, extraOptions: ["-E lazy_itable_init=0,lazy_journal_init=0", "-O ^has_journal", "-j"] }), BLANK);
            assert.deepEqual(callsOf(plan.actions[0].script.text), [["mkfs.ext4", "-q", "-m", "5", "-E", "lazy_itable_init=0,lazy_journal_init=0", "-O", "^has_journal", "-j", DEVICE]]);
        });

        it("device missing → RefusedError", () => {
            refused(() => planExt4(desired(), { ...BLANK, devicePresent: false }), /is not a block device on the host: create it first/);
        });

        it("xfs present → RefusedError naming xfs and force", () => {
            refused(() => planExt4(desired(), observed({ blkid: BLKID_XFS, superblock: "" })), /already holds xfs; refusing to format it\. If its data may be destroyed, set force: true\./);
        });

        it("a partition table counts as data too", () => {
            refused(() => planExt4(desired(), observed({ blkid: "PTUUID=0a1b\nPTTYPE=gpt", superblock: "" })), /already holds a gpt partition table/);
        });

        it("xfs present with force → mkfs.ext4 -F, with a warning that the data is destroyed", () => {
            const plan = planExt4(desired({ force: true }), observed({ blkid: BLKID_XFS, superblock: "" }));
            assert.equal(plan.actions.length, 1);
            assert.equal(plan.actions[0].description, `format ${DEVICE} as ext4 (replacing xfs, force: true)`);
            assert.equal(plan.actions[0].script.text, `mkfs.ext4 -q -F -L docker -m 5 ${DEVICE}`);
            assert.deepEqual(plan.warnings, [`force: true: formatting ${DEVICE}, which held xfs; its data is destroyed`]);
        });

        it("force never formats a mounted device", () => {
            refused(() => planExt4(desired({ force: true }), observed({ blkid: BLKID_XFS, superblock: "", mounts: "/srv" })), /is mounted at \/srv: refusing to format a mounted device/);
        });

        it("force on update does not reformat: a foreign filesystem is still refused", () => {
            refused(() => planExt4(desired({ force: true }), observed({ blkid: BLKID_XFS, superblock: "" }), desired()), /already holds xfs/);
        });

        it("matching ext4 (label and uuid) → no-op with a reason: adopted, not formatted", () => {
            const plan = planExt4(desired({ uuid: FS_UUID }), observed());
            assert.deepEqual(plan.actions, []);
            assert.equal(plan.noop, `${DEVICE} already holds the wanted ext4 (1G)`);
        });

        it("force does not reformat an ext4 that already matches", () => {
            assert.deepEqual(planExt4(desired({ force: true }), observed()).actions, []);
        });

        it("ext4 with another uuid → RefusedError with both uuids and both ways out", () => {
            refused(() => planExt4(desired({ uuid: OTHER_UUID }), observed()), new RegExp(`ext4 filesystem with UUID ${FS_UUID} \\(wanted ${OTHER_UUID}\\); refusing to format it\\. If its data may be destroyed, set force: true; to keep it, make the inputs match\\.`));
        });

        it("ext4 with another label on create → RefusedError", () => {
            refused(() => planExt4(desired({ label: "other" }), observed()), /with label "docker" \(wanted "other"\)/);
        });

        it("label change on update → e2label only", () => {
            const plan = planExt4(desired({ label: "docker2" }), observed(), desired());
            assert.deepEqual(plan.actions.map((a) => [a.description, a.script.text]), [[`set label of ${DEVICE} to "docker2"`, `e2label ${DEVICE} docker2`]]);
        });

        it("no label wanted → the existing label is left alone", () => {
            assert.deepEqual(planExt4(desired({ label: undefined }), observed(), desired({ label: undefined })).actions, []);
        });

        it("reserved blocks change → tune2fs -m", () => {
            const plan = planExt4(desired({ reservedBlocksPercent: 1 }), observed(), desired());
            assert.deepEqual(plan.actions.map((a) => [a.description, a.script.text]), [[`set reserved blocks of ${DEVICE} to 1%`, `tune2fs -m 1 ${DEVICE} >/dev/null`]]);
        });

        it("reserved blocks as mkfs rounded them (13107 of 262144 for 5%) → no change", () => {
            assert.deepEqual(planExt4(desired({ reservedBlocksPercent: 5 }), observed(), desired()).actions, []);
        });

        it("device grown by 1G while mounted → resize2fs, online", () => {
            const plan = planExt4(desired(), observed({ device: `present=1\nbytes=${2 * G}`, mounts: "/var/lib/docker" }), desired());
            assert.deepEqual(plan.actions.map((a) => [a.description, a.script.text]), [
                [`grow ext4 on ${DEVICE} from 1G to 2G (online at /var/lib/docker)`, `resize2fs ${DEVICE} 2>&1`],
                // The kernel gives new block groups a whole-percent share: the wanted one is set again.
                [`set reserved blocks of ${DEVICE} to 5%`, `tune2fs -m 5 ${DEVICE} >/dev/null`],
            ]);
        });

        it("device grown while not mounted → resize2fs, offline", () => {
            const plan = planExt4(desired(), observed({ device: `present=1\nbytes=${2 * G}` }), desired());
            assert.match(plan.actions[0].description, /\(offline\)$/);
        });

        it("device larger by less than 1M (rounding) → no resize", () => {
            assert.deepEqual(planExt4(desired(), observed({ device: `present=1\nbytes=${G + 512 * 1024}` }), desired()).actions, []);
        });

        it("several changes → one action each, in a fixed order", () => {
            const plan = planExt4(desired({ label: "d2", reservedBlocksPercent: 0 }), observed({ device: `present=1\nbytes=${2 * G}` }), desired());
            assert.deepEqual(callsOf(planScript(plan).text), [["e2label", DEVICE, "d2"], ["resize2fs", DEVICE], ["tune2fs", "-m", "0", DEVICE]]);
        });
    });

    describe("operations: planDeleteExt4", () => {
        it("without wipeOnDelete → no-op that says the data stays", () => {
            const plan = planDeleteExt4(desired(), observed({ mounts: "/var/lib/docker" }));
            assert.deepEqual(plan.actions, []);
            assert.match(plan.noop!, /wipeOnDelete is false: the filesystem on \/dev\/zvol\/tank\/docker and its data are left in place/);
        });

        it("with wipeOnDelete and mounted → RefusedError that says to unmount first", () => {
            refused(() => planDeleteExt4(desired({ wipeOnDelete: true }), observed({ mounts: "/var/lib/docker" })), /is mounted at \/var\/lib\/docker: unmount it \(delete the FstabEntry first\) before wiping/);
        });

        it("with wipeOnDelete, not mounted → wipefs -a", () => {
            const plan = planDeleteExt4(desired({ wipeOnDelete: true }), observed());
            assert.deepEqual(callsOf(plan.actions[0].script.text), [["wipefs", "-a", "-q", DEVICE]]);
        });

        it("with wipeOnDelete, a filesystem other than the one in the state (uuid) is left alone", () => {
            const plan = planDeleteExt4(desired({ wipeOnDelete: true, uuid: OTHER_UUID }), observed());
            assert.deepEqual(plan.actions, []);
            assert.match(plan.noop!, new RegExp(`now holds filesystem ${FS_UUID}, not ours \\(${OTHER_UUID}\\): left alone`));
            assert.equal(planDeleteExt4(desired({ wipeOnDelete: true, uuid: FS_UUID }), observed()).actions.length, 1);
        });

        it("with wipeOnDelete on a blank or absent device → no-op", () => {
            assert.equal(planDeleteExt4(desired({ wipeOnDelete: true }), BLANK).noop, `${DEVICE} holds no filesystem`);
            assert.deepEqual(planDeleteExt4(desired({ wipeOnDelete: true }), { ...BLANK, devicePresent: false }).actions, []);
        });
    });

    describe("injection fixture", () => {
        it("the schema refuses a hostile label, device or extra option", () => {
            for (const bad of [{ label: "x'; reboot #" }, { device: "/dev/sdb; reboot" }, { device: "/dev/$(reboot)" }, { device: "/dev/../etc/passwd" }, { extraOptions: ["-E x; reboot"] }, { extraOptions: ["-F"] }]) {
                assert.equal(ext4FilesystemSchema.safeParse({ connection, device: DEVICE, ...bad }).success, false, JSON.stringify(bad));
            }
        });

        it("a hostile label and device that got past the schema still arrive as single words", () => {
            const label = "x'; reboot #";
            const device = "/dev/sdb $(reboot)";
            const bypass = { ...desired(), label, device };
            const format = planExt4(bypass, BLANK);
            assert.deepEqual(callsOf(format.actions[0].script.text), [["mkfs.ext4", "-q", "-L", label, "-m", "5", device]]);
            const relabel = planExt4(bypass, observed(), desired());
            assert.deepEqual(callsOf(planScript(relabel).text), [["e2label", device, label]]);
            const wipe = planDeleteExt4({ ...bypass, wipeOnDelete: true }, observed());
            assert.deepEqual(callsOf(wipe.actions[0].script.text), [["wipefs", "-a", "-q", device]]);
        });

        it("the observe script quotes the device", () => {
            const run = runRecorded(observeScript("/dev/x; reboot").text, ["reboot", "blkid", "blockdev", "dumpe2fs", "findmnt"]);
            assert.equal(run.calls.length, 0, JSON.stringify(run.calls));
        });
    });

    describe("outputs", () => {
        it("reports uuid, label, sizes and block size from what is on the device", () => {
            assert.deepEqual(ext4Filesystem.outputs(desired(), observed()), { uuid: FS_UUID, label: "docker", sizeBytes: G, blockSize: 4096, deviceBytes: G });
            assert.equal(ext4Filesystem.outputs(desired(), observed({ superblock: dumpe2fs({ "Filesystem volume name": "<none>" }) })).label, "");
        });
    });
});
