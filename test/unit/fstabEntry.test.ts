import { strict as assert } from "assert";
import { spawn } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RefusedError } from "../../provider/host/errors";
import { shellQuote as shellWord } from "../../provider/host/quote";
import { frameScript } from "../../provider/host/script";
import { planScript } from "../../provider/plan";
import { markerFor } from "../../provider/resources/fstabEntry/fstab";
import type { FstabEntryDesired, FstabEntryObserved } from "../../provider/resources/fstabEntry";
import {
    effectiveOptions,
    fstabEntry,
    fstabEntrySchema,
    observeScript,
    optionsAsInputs,
    parseFindmnt,
    parseObserved,
    planDeleteFstabEntry,
    planFstabEntry,
    unescapeFindmnt,
    usersScript,
    wantedLine,
} from "../../provider/resources/fstabEntry";
import { moveBackScript } from "../../provider/resources/fstabEntry/scripts";
import { runRecorded, runShell } from "./realShell";

const UUID = "6f0c7a52-3d1e-4c52-9a0e-2b7f1d9c4e11";
const MP = "/var/lib/docker";
const SAFE = "defaults,nofail,x-systemd.requires=zfs-volumes.target,x-systemd.device-timeout=300s";
const LINE = `UUID=${UUID} ${MP} ext4 ${SAFE} 0 2`;
const MARKER = markerFor(MP);

/** Debian 12's fstab on the test image, as the observe script sees it. */
const BASE_FSTAB = "# /etc/fstab: static file system information.\n/dev/vda / ext4 rw,errors=remount-ro 0 1\n";

/** `findmnt -P -o TARGET,SOURCE,FSTYPE,OPTIONS,MAJ:MIN` on the test image (util-linux 2.38.1), abridged. */
const MOUNTS_ROOT = [
    'TARGET="/" SOURCE="/dev/vda" FSTYPE="ext4" OPTIONS="rw,relatime,errors=remount-ro" MAJ:MIN="254:0"',
    'TARGET="/proc" SOURCE="proc" FSTYPE="proc" OPTIONS="rw,nosuid,nodev,noexec,relatime" MAJ:MIN="0:21"',
    'TARGET="/run" SOURCE="tmpfs" FSTYPE="tmpfs" OPTIONS="rw,nosuid,nodev,noexec,relatime,size=201604k,mode=755" MAJ:MIN="0:24"',
].join("\n");
const MOUNT_DOCKER = `TARGET="${MP}" SOURCE="/dev/zd0" FSTYPE="ext4" OPTIONS="rw,relatime" MAJ:MIN="230:0"`;
const MOUNT_OTHER = `TARGET="${MP}" SOURCE="/dev/vdc" FSTYPE="xfs" OPTIONS="rw,relatime" MAJ:MIN="254:32"`;
const ZD0 = "path=/dev/zd0\nmajor=e6\nminor=0";

interface Parts {
    fstab?: string | Buffer | null;
    file?: string;
    mountpoint?: string;
    mounts?: string;
    device?: string;
    systemd?: string;
    users?: string;
}

/** What the observe script prints, section by section (content as `base64` wraps it, at 76 columns). */
function observeOutput(parts: Parts = {}): string {
    const bytes = parts.fstab === null ? undefined : Buffer.from(parts.fstab ?? BASE_FSTAB);
    const file = parts.file ?? (bytes ? `state=present\nmode=644\nuid=0\ngid=0\nsha256=${createHash("sha256").update(bytes).digest("hex")}` : "state=absent");
    const content = bytes ? (bytes.toString("base64").match(/.{1,76}/g) ?? []).join("\n") : "";
    return [
        "@@file", file,
        "@@content", content,
        "@@mountpoint", parts.mountpoint ?? "kind=dir\nempty=1",
        "@@mounts", parts.mounts ?? MOUNTS_ROOT,
        "@@device", parts.device ?? ZD0,
        "@@systemd", parts.systemd ?? "systemd=1\nzfsvolumes=loaded",
        "@@users", parts.users ?? "",
    ].join("\n") + "\n";
}

const observed = (parts: Parts = {}): FstabEntryObserved => parseObserved(observeOutput(parts));
const connection = { host: "192.0.2.10" };
const desired = (overrides: Record<string, unknown> = {}): FstabEntryDesired => fstabEntrySchema.parse({ connection, spec: `UUID=${UUID}`, mountPoint: MP, fsType: "ext4", ...overrides });

/** The state after a successful create: our marked line, mounted. */
const DONE = { fstab: `${BASE_FSTAB}${MARKER}\n${LINE}\n`, mounts: `${MOUNTS_ROOT}\n${MOUNT_DOCKER}`, mountpoint: "kind=dir\nempty=0" };

function refused(fn: () => unknown, message: RegExp): void {
    assert.throws(fn, (error: unknown) => {
        assert.ok(error instanceof RefusedError, `expected a RefusedError, got ${String(error)}`);
        assert.match(error.message, message);
        return true;
    });
}

const descriptions = (plan: { actions: { description: string }[] }) => plan.actions.map((a) => a.description);

/** The file a plan would install (the base64 its prepare step sends). */
function writtenFile(plan: { actions: { script: { text: string } }[] }): string {
    const sent = plan.actions.map((a) => /printf '%s\\n' (\S+) \| base64 -d/.exec(a.script.text)?.[1]).find((b) => b !== undefined);
    assert.ok(sent !== undefined, "the plan writes no file");
    return Buffer.from(sent, "base64").toString();
}

/** BASE_FSTAB with `line` (written by hand, ASCII) adopted: our marker, holding the line's bytes, above it. */
const adoptedFile = (line: string): string => `${BASE_FSTAB}${MARKER} (adopted; delete puts back: ${line.replace(/\t/g, "\\011")})\n${line}\n`;

describe("resources/fstabEntry", () => {
    describe("inputs", () => {
        it("fills the defaults: defaults options, dump 0, pass 2, mounted, /etc/fstab, boot-safe with 300 s", () => {
            const d = desired();
            assert.deepEqual(
                { options: d.options, dump: d.dump, pass: d.pass, mount: d.mount, fstabPath: d.fstabPath, bootSafety: d.bootSafety, deviceTimeoutSeconds: d.deviceTimeoutSeconds, allowNonEmptyMountPoint: d.allowNonEmptyMountPoint },
                { options: ["defaults"], dump: 0, pass: 2, mount: true, fstabPath: "/etc/fstab", bootSafety: true, deviceTimeoutSeconds: 300, allowNonEmptyMountPoint: false },
            );
        });

        it("accepts UUID, LABEL, PARTUUID and device paths, and mount points with spaces and shell syntax", () => {
            for (const spec of [`UUID=${UUID}`, "UUID=1234-ABCD", "LABEL=docker data", "PARTUUID=5e2a4c1b-02", "/dev/zvol/tank/docker"]) {
                assert.ok(fstabEntrySchema.safeParse({ connection, spec, mountPoint: MP, fsType: "ext4" }).success, spec);
            }
            for (const mountPoint of ["/mnt/a b", "/mnt/x; reboot", "/mnt/$(touch /tmp/pwned)", "/srv/daten für alle"]) {
                assert.ok(fstabEntrySchema.safeParse({ connection, spec: `UUID=${UUID}`, mountPoint, fsType: "ext4" }).success, mountPoint);
            }
        });

        const rejects: [string, Record<string, unknown>, RegExp][] = [
            ["a relative mount point", { mountPoint: "var/lib/docker" }, /absolute path/],
            ["the root", { mountPoint: "/" }, /cannot be \//],
            ["a trailing slash", { mountPoint: "/var/lib/docker/" }, /without the trailing '\/': \/var\/lib\/docker/],
            ["'..'", { mountPoint: "/var/lib/../docker" }, /'\.' or '\.\.'/],
            ["'//'", { mountPoint: "/var//docker" }, /empty component/],
            ["a bare device name", { spec: "sdb1" }, /UUID=\.\.\., LABEL=\.\.\., PARTUUID=\.\.\. or an absolute device path/],
            ["a UUID with junk", { spec: "UUID=abc;reboot" }, /absolute device path/],
            ["two options in one entry", { options: ["defaults,noatime"] }, /own list entry/],
            ["an option with a space", { options: ["a b"] }, /one word/],
            ["no options", { options: [] }, /at least one/],
            ["dump 2", { dump: 2 }, /./],
            ["pass 3", { pass: 3 }, /pass is 0, 1 or 2/],
            ["swap", { fsType: "swap" }, /swapon/],
            ["a stopUnits entry that is not a unit name", { stopUnits: ["docker"] }, /full systemd unit name/],
            ["a timeout in options that contradicts deviceTimeoutSeconds", { options: ["defaults", "x-systemd.device-timeout=60s"] }, /deviceTimeoutSeconds/],
        ];
        for (const [what, overrides, message] of rejects) {
            it(`rejects ${what}`, () => {
                const parsed = fstabEntrySchema.safeParse({ connection, spec: `UUID=${UUID}`, mountPoint: MP, fsType: "ext4", ...overrides });
                assert.equal(parsed.success, false);
                assert.match(parsed.error!.issues.map((i) => i.message).join("\n"), message);
            });
        }
    });

    describe("the line", () => {
        it("is boot-safe for a zvol by default: never a bare defaults line", () => {
            assert.equal(wantedLine(desired()), LINE);
        });

        it("adds only the boot-safety options that are missing, in a fixed order", () => {
            assert.deepEqual(effectiveOptions(desired({ options: ["noatime", "nofail"], deviceTimeoutSeconds: 600 })), ["noatime", "nofail", "x-systemd.requires=zfs-volumes.target", "x-systemd.device-timeout=600s"]);
            assert.deepEqual(effectiveOptions(desired({ options: ["defaults", "x-systemd.device-timeout=300s"] })), ["defaults", "x-systemd.device-timeout=300s", "nofail", "x-systemd.requires=zfs-volumes.target"]);
            assert.deepEqual(effectiveOptions(desired({ bootSafety: false })), ["defaults"]);
        });

        it("writes requiredBy as x-systemd.before= and x-systemd.required-by= per unit, keeping local-fs.target's hold on the mount", () => {
            assert.deepEqual(effectiveOptions(desired({ requiredBy: ["docker.service", "containerd.service"] })), [
                "defaults", "nofail", "x-systemd.requires=zfs-volumes.target", "x-systemd.device-timeout=300s",
                "x-systemd.before=docker.service", "x-systemd.required-by=docker.service",
                "x-systemd.before=containerd.service", "x-systemd.required-by=containerd.service",
                "x-systemd.wanted-by=local-fs.target",
            ]);
            assert.equal(wantedLine(desired({ requiredBy: ["docker.service"] })), `UUID=${UUID} ${MP} ext4 ${SAFE},x-systemd.before=docker.service,x-systemd.required-by=docker.service,x-systemd.wanted-by=local-fs.target 0 2`);
        });

        it("folds requiredBy's options back into requiredBy for refresh, and leaves other uses of them in options", () => {
            const d = desired({ requiredBy: ["docker.service"] });
            assert.deepEqual(optionsAsInputs(effectiveOptions(d), d), { options: ["defaults"], bootSafety: true, deviceTimeoutSeconds: 300, requiredBy: ["docker.service"] });
            const two = effectiveOptions(desired({ requiredBy: ["a.service", "b.socket"], deviceTimeoutSeconds: 60 }));
            assert.deepEqual(optionsAsInputs(two, d), { options: ["defaults"], bootSafety: true, deviceTimeoutSeconds: 60, requiredBy: ["a.service", "b.socket"] });
            // The line without them (a hand edit): refresh shows requiredBy as [].
            assert.deepEqual(optionsAsInputs(effectiveOptions(desired()), d).requiredBy, []);
            // A user's own required-by, not in requiredBy's shape, stays in options as written.
            const own = ["defaults", "x-systemd.required-by=docker.service", "nofail", "x-systemd.requires=zfs-volumes.target", "x-systemd.device-timeout=300s"];
            assert.deepEqual(optionsAsInputs(own, d), { options: ["defaults", "x-systemd.required-by=docker.service"], bootSafety: true, deviceTimeoutSeconds: 300, requiredBy: [] });
            for (const inputs of [desired({ requiredBy: ["docker.service"] }), desired({ requiredBy: ["a.service", "b.socket"], options: ["noatime"] }), desired({ bootSafety: false, options: ["nofail"], requiredBy: ["docker.service"] })]) {
                const back = optionsAsInputs(effectiveOptions(inputs), desired());
                assert.deepEqual(effectiveOptions(back), effectiveOptions(inputs), "refresh reads back inputs that write the same line");
            }
        });

        it("escapes the mount point", () => {
            assert.equal(wantedLine(desired({ mountPoint: "/mnt/x; reboot $(touch /tmp/pwned)", bootSafety: false, options: ["nofail"] })), `UUID=${UUID} /mnt/x;\\040reboot\\040$(touch\\040/tmp/pwned) ext4 nofail 0 2`);
        });

        it("folds written options back into inputs for refresh", () => {
            const d = desired({ options: ["noatime"] });
            assert.deepEqual(optionsAsInputs(effectiveOptions(d), d), { options: ["noatime"], bootSafety: true, deviceTimeoutSeconds: 300, requiredBy: [] });
            assert.deepEqual(optionsAsInputs(["noatime", "nofail", "x-systemd.requires=zfs-volumes.target", "x-systemd.device-timeout=90s"], d), { options: ["noatime"], bootSafety: true, deviceTimeoutSeconds: 90, requiredBy: [] });
            // Hand edit that dropped nofail: no longer boot-safe, shown as such.
            assert.deepEqual(optionsAsInputs(["noatime", "x-systemd.requires=zfs-volumes.target", "x-systemd.device-timeout=300s"], d), { options: ["noatime", "x-systemd.requires=zfs-volumes.target", "x-systemd.device-timeout=300s"], bootSafety: false, deviceTimeoutSeconds: 300, requiredBy: [] });
            // nofail the user listed themselves stays in options.
            const own = desired({ options: ["nofail", "noatime"] });
            assert.deepEqual(optionsAsInputs(["nofail", "noatime", "x-systemd.requires=zfs-volumes.target", "x-systemd.device-timeout=120s"], own).options, ["nofail", "noatime"]);
        });
    });

    describe("facts", () => {
        it("unescapes findmnt's \\xHH, including multi-byte UTF-8", () => {
            assert.equal(unescapeFindmnt("/mnt/a\\x20b\\x5cc\\x0ad\\x22"), '/mnt/a b\\c\nd"');
            assert.equal(unescapeFindmnt("/srv/f\\xc3\\xbcr"), "/srv/für");
            assert.equal(unescapeFindmnt("/srv/für"), "/srv/für");
        });

        it("parses findmnt -P lines, also with the MAJ_MIN spelling", () => {
            assert.deepEqual(parseFindmnt(`${MOUNT_DOCKER}\nTARGET="/mnt/x;\\x20reboot" SOURCE="/dev/zd16" FSTYPE="ext4" OPTIONS="rw" MAJ_MIN="230:16"`), [
                { target: MP, source: "/dev/zd0", fsType: "ext4", options: "rw,relatime", majMin: "230:0" },
                { target: "/mnt/x; reboot", source: "/dev/zd16", fsType: "ext4", options: "rw", majMin: "230:16" },
            ]);
        });

        it("parses a whole answer: file bytes, mode, mounts, the zvol behind the UUID, systemd, users", () => {
            const o = observed({ ...DONE, users: "812 docker.service dockerd\n901 containerd.service containerd" });
            assert.equal(o.file.state, "present");
            assert.ok(o.file.state === "present" && o.file.bytes.toString() === DONE.fstab && o.file.mode === "644" && o.file.uid === 0);
            assert.deepEqual(o.mountPoint, { kind: "dir", empty: false });
            assert.equal(o.mounts.length, 4);
            assert.deepEqual(o.device, { path: "/dev/zd0", majMin: "230:0", zvol: true });
            assert.equal(o.systemd, true);
            assert.equal(o.zfsVolumesTarget, "loaded");
            assert.deepEqual(o.users, [{ pid: 812, unit: "docker.service", command: "dockerd" }, { pid: 901, unit: "containerd.service", command: "containerd" }]);
        });

        it("keeps every byte of the file through base64, CRLF and non-UTF-8 included", () => {
            const bytes = Buffer.concat([Buffer.from("# caf"), Buffer.from([0xe9]), Buffer.from("\r\n/dev/vda / ext4 defaults 0 1")]);
            const o = observed({ fstab: bytes });
            assert.ok(o.file.state === "present" && o.file.bytes.equals(bytes));
        });

        it("refuses when the file changed between the checksum and the read", () => {
            refused(() => observed({ file: `state=present\nmode=644\nuid=0\ngid=0\nsha256=${"0".repeat(64)}` }), /changed while it was being read/);
        });

        it("the observe script runs under a real shell against a real file and is read back exactly", () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pzd-fstab-"));
            try {
                const bytes = Buffer.from("# x\t \n/dev/vda / ext4 defaults 0 1");
                fs.writeFileSync(path.join(dir, "fstab"), bytes, { mode: 0o640 });
                fs.chmodSync(path.join(dir, "fstab"), 0o640);
                const d = desired({ fstabPath: path.join(dir, "fstab"), mountPoint: path.join(dir, "m x; reboot"), spec: "/dev/pzd-unit-none" });
                const run = runShell("exec sh -s", { input: frameScript(observeScript(d)) });
                assert.equal(run.status, 0, run.stderr);
                const o = parseObserved(run.stdout);
                assert.ok(o.file.state === "present" && o.file.bytes.equals(bytes) && o.file.mode === "640");
                assert.deepEqual(o.mountPoint, { kind: "absent", empty: true });
                assert.equal(o.device, undefined);
                assert.deepEqual(o.users, []);
                assert.ok(o.mounts.some((m) => m.target === "/"));
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });

        it("the users scan names a process whose working directory is under the path", async () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pzd-users [x]*"));
            fs.mkdirSync(path.join(dir, "sub"));
            const child = spawn("sleep", ["30"], { cwd: path.join(dir, "sub"), stdio: "ignore" });
            try {
                await new Promise((resolve) => setTimeout(resolve, 200));
                const run = runShell(usersScript(dir).text);
                assert.equal(run.status, 0, run.stderr);
                assert.match(run.stdout, new RegExp(`^${child.pid} \\S+ sleep$`, "m"));
                // A sibling whose name only starts the same is not a user.
                assert.doesNotMatch(runShell(usersScript(dir.slice(0, -1)).text).stdout, new RegExp(`^${child.pid} `, "m"));
            } finally {
                child.kill();
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });

    describe("operations: planFstabEntry", () => {
        it("fresh host: prepare the file, mount with it, then install it", () => {
            const plan = planFstabEntry(desired(), observed());
            assert.deepEqual(descriptions(plan), [
                "prepare /etc/fstab (add the line for /var/lib/docker)",
                `mount UUID=${UUID} at /var/lib/docker`,
                "install the new /etc/fstab (backup: /etc/fstab.pulumi-zfs-docker.bak)",
            ]);
            assert.match(planScript(plan).text, /mount --fstab "\$pzd_tmp" -- \/var\/lib\/docker/);
            assert.match(planScript(plan).text, /systemctl daemon-reload/);
        });

        it("done already: nothing to do, with the reason", () => {
            const plan = planFstabEntry(desired(), observed(DONE));
            assert.deepEqual(plan.actions, []);
            assert.equal(plan.noop, `/etc/fstab already has the line for /var/lib/docker and UUID=${UUID} is mounted there`);
        });

        it("line there, not mounted (e.g. after a boot without the pool): mount only, no write", () => {
            const plan = planFstabEntry(desired(), observed({ ...DONE, mounts: MOUNTS_ROOT, mountpoint: "kind=dir\nempty=1" }));
            assert.deepEqual(descriptions(plan), [`mount UUID=${UUID} at /var/lib/docker`]);
            assert.match(planScript(plan).text, /mount --fstab \/etc\/fstab -- \/var\/lib\/docker/);
        });

        it("mount: false writes the line only", () => {
            assert.deepEqual(descriptions(planFstabEntry(desired({ mount: false }), observed())), ["prepare /etc/fstab (add the line for /var/lib/docker)", "install the new /etc/fstab (backup: /etc/fstab.pulumi-zfs-docker.bak)"]);
        });

        it("adopts an identical line written by hand (tabs are fine) by marking it, the marker keeping its bytes", () => {
            const byHand = `${BASE_FSTAB}UUID=${UUID}\t${MP}\text4\t${SAFE}\t0\t2\n`;
            const plan = planFstabEntry(desired(), observed({ ...DONE, fstab: byHand }));
            assert.deepEqual(descriptions(plan), ["prepare /etc/fstab (adopt (mark as managed) the line for /var/lib/docker)", "install the new /etc/fstab (backup: /etc/fstab.pulumi-zfs-docker.bak)"]);
            assert.equal(writtenFile(plan), adoptedFile(`UUID=${UUID}\t${MP}\text4\t${SAFE}\t0\t2`));
        });

        it("adopts an identical line that spells the mount point another way systemd accepts, instead of adding a duplicate", () => {
            for (const spelling of [`${MP}/`, "/var/lib//docker", "/var/lib/./docker"]) {
                const byHand = `${BASE_FSTAB}UUID=${UUID} ${spelling} ext4 ${SAFE} 0 2\n`;
                const plan = planFstabEntry(desired(), observed({ ...DONE, fstab: byHand }));
                assert.deepEqual(descriptions(plan), ["prepare /etc/fstab (adopt (mark as managed) the line for /var/lib/docker)", "install the new /etc/fstab (backup: /etc/fstab.pulumi-zfs-docker.bak)"], spelling);
                refused(() => planFstabEntry(desired({ options: ["noatime"] }), observed({ ...DONE, fstab: byHand })), /did not write \(line 3\)/);
            }
        });

        it("refuses a line that reaches the mount point through '..', which only the host's symlinks can resolve", () => {
            const dotDot = `${BASE_FSTAB}UUID=${UUID} /var/lib/x/../docker ext4 ${SAFE} 0 2\n`;
            refused(() => planFstabEntry(desired(), observed({ fstab: dotDot })), /reaches \/var\/lib\/docker through '\.\.':\n {2}line 3: UUID=\S+ \/var\/lib\/x\/\.\.\/docker .*\nWhether it is the same mount point depends on symlinks/);
        });

        it("claims a line without the marker on update as ours (it lost its marker), as before", () => {
            const lost = `${BASE_FSTAB}UUID=${UUID} ${MP} ext4 ${SAFE} 0 2\n`;
            assert.equal(writtenFile(planFstabEntry(desired(), observed({ ...DONE, fstab: lost }), desired())), DONE.fstab);
        });

        it("refuses a different line it did not write, quoting it and saying how to proceed", () => {
            const foreign = `${BASE_FSTAB}/dev/zd0 ${MP} ext4 defaults 0 2\n`;
            refused(() => planFstabEntry(desired(), observed({ ...DONE, fstab: foreign })), /did not write \(line 3\):\n {2}\/dev\/zd0 \/var\/lib\/docker ext4 defaults 0 2\n.*\n {2}UUID=.*\nTo manage it, either make spec, fsType, options, dump and pass match it exactly/);
        });

        it("rewrites a line it manages that was edited by hand, on update, even without the marker", () => {
            const edited = `${BASE_FSTAB}UUID=${UUID} ${MP} ext4 defaults 0 2\n`;
            const plan = planFstabEntry(desired(), observed({ ...DONE, fstab: edited }), desired());
            assert.deepEqual(descriptions(plan), ["prepare /etc/fstab (rewrite the line for /var/lib/docker)", "install the new /etc/fstab (backup: /etc/fstab.pulumi-zfs-docker.bak)"]);
        });

        it("refuses two lines for the mount point, also when spelled differently", () => {
            refused(
                () => planFstabEntry(desired(), observed({ fstab: `${BASE_FSTAB}/dev/a ${MP} ext4 defaults\n/dev/b /var/lib//docker/ ext4 defaults\n` })),
                /2 lines for \/var\/lib\/docker \(systemd ignores .*\):\n {2}line 3: \/dev\/a.*\n {2}line 4: \/dev\/b.*\nsystemd reports a duplicate entry and mounts only the first/,
            );
        });

        it("remounts when mount options change, not when only userspace options change", () => {
            const previous = desired();
            const remount = planFstabEntry(desired({ options: ["noatime"] }), observed(DONE), previous);
            assert.deepEqual(descriptions(remount), [
                "prepare /etc/fstab (rewrite the line for /var/lib/docker)",
                `remount /var/lib/docker with options noatime,nofail,x-systemd.requires=zfs-volumes.target,x-systemd.device-timeout=300s`,
                "install the new /etc/fstab (backup: /etc/fstab.pulumi-zfs-docker.bak)",
            ]);
            assert.match(planScript(remount).text, /mount --fstab "\$pzd_tmp" -o remount -- \/var\/lib\/docker/);
            const timeoutOnly = planFstabEntry(desired({ deviceTimeoutSeconds: 600 }), observed(DONE), previous);
            assert.equal(descriptions(timeoutOnly).length, 2);
        });

        it("a new source on update: unmount the old one, mount the new one with the planned file", () => {
            const plan = planFstabEntry(desired(), observed({ ...DONE, mounts: `${MOUNTS_ROOT}\n${MOUNT_OTHER}` }), desired({ spec: "/dev/vdc" }));
            assert.deepEqual(descriptions(plan)[0], "unmount /dev/vdc from /var/lib/docker and mount UUID=6f0c7a52-3d1e-4c52-9a0e-2b7f1d9c4e11 there");
            assert.match(planScript(plan).text, /umount -- \/var\/lib\/docker[^]*mount --fstab \/etc\/fstab -- \/var\/lib\/docker/);
        });

        it("refuses to unmount a busy mount, naming the processes and nested mounts", () => {
            const busy = { ...DONE, mounts: `${MOUNTS_ROOT}\n${MOUNT_OTHER}\nTARGET="${MP}/overlay2/abc/merged" SOURCE="overlay" FSTYPE="overlay" OPTIONS="rw" MAJ:MIN="0:50"`, users: "812 docker.service dockerd" };
            refused(() => planFstabEntry(desired(), observed(busy), desired({ spec: "/dev/vdc" })), /busy \(processes use it: dockerd \(pid 812, docker\.service\); filesystems are mounted inside it: \/var\/lib\/docker\/overlay2\/abc\/merged\)\. Stop them \(for Docker: systemctl stop docker.socket docker.service, or list those units in stopUnits\)/);
        });

        it("with stopUnits: users in those units do not block; Docker is stopped, its files moved aside, then it is mounted", () => {
            const docker = desired({ stopUnits: ["docker.socket", "docker.service"], moveAsideExisting: true });
            const fresh = { mountpoint: "kind=dir\nempty=0", users: "812 docker.service dockerd" };
            const plan = planFstabEntry(docker, observed(fresh));
            assert.deepEqual(descriptions(plan), [
                "prepare /etc/fstab (add the line for /var/lib/docker)",
                "stop docker.socket, docker.service (started again afterwards if they were running)",
                "move the files in /var/lib/docker aside, if there are any",
                `mount UUID=${UUID} at /var/lib/docker`,
                "install the new /etc/fstab (backup: /etc/fstab.pulumi-zfs-docker.bak)",
            ]);
            assert.match(plan.warnings?.[0] ?? "", /moved to \/var\/lib\/docker\.pre-pulumi-zfs-docker-<date-time> before mounting/);
            // A process outside those units still blocks, named with its unit.
            refused(() => planFstabEntry(docker, observed({ ...fresh, users: "812 docker.service dockerd\n77 cron.service backup" })), /in use by backup \(pid 77, cron\.service\)/);
            // Delete stops them too, before unmounting; the overlays inside are left for the script to judge.
            const busy = { ...DONE, mounts: `${MOUNTS_ROOT}\n${MOUNT_DOCKER}\nTARGET="${MP}/overlay2/abc/merged" SOURCE="overlay" FSTYPE="overlay" OPTIONS="rw" MAJ:MIN="0:50"`, users: "812 docker.service dockerd" };
            assert.deepEqual(descriptions(planDeleteFstabEntry(docker, observed(busy))).slice(0, 2), ["stop docker.socket, docker.service (started again afterwards if they were running)", "unmount /var/lib/docker"]);
            refused(() => planFstabEntry(docker, observed({ ...fresh, systemd: "systemd=0" })), /stopUnits \(docker\.socket, docker\.service\) needs systemd/);
        });

        it("moveAsideExisting with a ZFS dataset mounted there (Docker's zfs driver): give it another mountpoint, then mount", () => {
            const dataset = `TARGET="${MP}" SOURCE="tank/docker-old" FSTYPE="zfs" OPTIONS="rw,relatime,xattr,noacl" MAJ:MIN="0:52"`;
            const docker = desired({ stopUnits: ["docker.socket", "docker.service"], moveAsideExisting: true });
            const plan = planFstabEntry(docker, observed({ mounts: `${MOUNTS_ROOT}\n${dataset}`, mountpoint: "kind=dir\nempty=0", users: "812 docker.service dockerd" }));
            assert.deepEqual(descriptions(plan), [
                "prepare /etc/fstab (add the line for /var/lib/docker)",
                "stop docker.socket, docker.service (started again afterwards if they were running)",
                "move the ZFS dataset tank/docker-old away from /var/lib/docker",
                "move the files in /var/lib/docker aside, if there are any",
                `mount UUID=${UUID} at /var/lib/docker`,
                "install the new /etc/fstab (backup: /etc/fstab.pulumi-zfs-docker.bak)",
            ]);
            assert.match(plan.warnings?.[0] ?? "", /tank\/docker-old .* gets mountpoint=\/var\/lib\/docker\.pre-pulumi-zfs-docker-<date-time>\.zfs .*its data stays on the pool/);
            refused(() => planFstabEntry(desired(), observed({ mounts: `${MOUNTS_ROOT}\n${dataset}` })), /tank\/docker-old \(zfs\) is already mounted .*moveAsideExisting: true moves it/);
        });

        it("refuses on create when something else is mounted there", () => {
            refused(() => planFstabEntry(desired(), observed({ mounts: `${MOUNTS_ROOT}\n${MOUNT_OTHER}` })), /\/dev\/vdc \(xfs\) is already mounted at \/var\/lib\/docker, not UUID=.*: unmount it, or choose another mountPoint/);
        });

        it("refuses a non-empty mount point unless allowed, and always when processes use it", () => {
            refused(() => planFstabEntry(desired(), observed({ mountpoint: "kind=dir\nempty=0" })), /not empty: mounting over it would hide its files.*allowNonEmptyMountPoint: true/);
            refused(() => planFstabEntry(desired({ allowNonEmptyMountPoint: true }), observed({ mountpoint: "kind=dir\nempty=0", users: "812 docker.service dockerd" })), /in use by dockerd \(pid 812, docker\.service\)/);
            const allowed = planFstabEntry(desired({ allowNonEmptyMountPoint: true }), observed({ mountpoint: "kind=dir\nempty=0" }));
            assert.equal(allowed.actions.length, 3);
            assert.match(allowed.warnings?.[0] ?? "", /hidden while mounted/);
        });

        it("refuses a mount point that is a file or a symlink, and a spec that names no device", () => {
            refused(() => planFstabEntry(desired(), observed({ mountpoint: "kind=other" })), /not a directory/);
            refused(() => planFstabEntry(desired(), observed({ mountpoint: "kind=symlink" })), /symlink/);
            refused(() => planFstabEntry(desired(), observed({ device: "" })), /does not name a block device on the host: create the filesystem first/);
        });

        it("refuses boot safety that cannot work, and a zvol line that would break boot", () => {
            refused(() => planFstabEntry(desired(), observed({ systemd: "systemd=1\nzfsvolumes=not-found" })), /does not know that unit \(LoadState not-found\).*bootSafety: false/);
            refused(() => planFstabEntry(desired({ bootSafety: false }), observed()), /is a zvol \(\/dev\/zd0\).*emergency mode/);
            assert.equal(planFstabEntry(desired({ bootSafety: false, options: ["nofail"] }), observed()).actions.length, 3);
            // No systemd: the x-systemd options are inert, nothing to check.
            assert.equal(planFstabEntry(desired(), observed({ systemd: "systemd=0" })).actions.length, 3);
        });

        it("refuses an fstab that is a symlink, naming its target", () => {
            refused(() => planFstabEntry(desired(), observed({ fstab: null, file: "state=symlink\ntarget=/data/etc/fstab" })), /symlink to \/data\/etc\/fstab.*Set fstabPath to \/data\/etc\/fstab/);
        });
    });

    describe("operations: planDeleteFstabEntry", () => {
        it("unmounts, then removes only our line", () => {
            const plan = planDeleteFstabEntry(desired(), observed(DONE));
            assert.deepEqual(descriptions(plan), ["unmount /var/lib/docker", "prepare /etc/fstab without the line for /var/lib/docker", "install the new /etc/fstab (backup: /etc/fstab.pulumi-zfs-docker.bak)"]);
        });

        it("refuses while busy, naming the users", () => {
            refused(() => planDeleteFstabEntry(desired(), observed({ ...DONE, users: "812 docker.service dockerd" })), /cannot unmount \/var\/lib\/docker: .*dockerd \(pid 812, docker\.service\)/);
        });

        it("leaves someone else's mount there alone", () => {
            assert.deepEqual(descriptions(planDeleteFstabEntry(desired(), observed({ ...DONE, mounts: `${MOUNTS_ROOT}\n${MOUNT_OTHER}` }))), ["prepare /etc/fstab without the line for /var/lib/docker", "install the new /etc/fstab (backup: /etc/fstab.pulumi-zfs-docker.bak)"]);
        });

        it("leaves a line without the marker alone (not ours), but unmounts what it does not mount", () => {
            const foreign = `${BASE_FSTAB}/dev/sdz ${MP} xfs defaults 0 0\n`;
            assert.deepEqual(descriptions(planDeleteFstabEntry(desired(), observed({ ...DONE, fstab: foreign }))), ["unmount /var/lib/docker"]);
            const plan = planDeleteFstabEntry(desired(), observed({ ...DONE, fstab: `${BASE_FSTAB}${LINE}\n` }));
            assert.deepEqual(plan.actions, []);
            assert.match(plan.noop ?? "", /line 3\) has no "# managed by pulumi-zfs-docker" comment, so it is not ours: it stays/);
        });

        it("gives an adopted line back as it was and leaves its mount, so a second delete has nothing to do", () => {
            const byHand = `UUID=${UUID}\t${MP}\text4\t${SAFE}\t0\t2`;
            const plan = planDeleteFstabEntry(desired(), observed({ ...DONE, fstab: adoptedFile(byHand) }));
            assert.deepEqual(descriptions(plan), ["prepare /etc/fstab with the adopted line for /var/lib/docker as it was before", "install the new /etc/fstab (backup: /etc/fstab.pulumi-zfs-docker.bak)"]);
            assert.equal(writtenFile(plan), `${BASE_FSTAB}${byHand}\n`);
            assert.deepEqual(planDeleteFstabEntry(desired(), observed({ ...DONE, fstab: writtenFile(plan) })).actions, []);
        });

        it("undoes an update of an adopted line: its old bytes come back; a changed spec is unmounted", () => {
            const byHand = `UUID=${UUID} ${MP} ext4 noatime,nofail,x-systemd.requires=zfs-volumes.target,x-systemd.device-timeout=300s 0 2`;
            const adopted = planFstabEntry(desired({ options: ["noatime"] }), observed({ ...DONE, fstab: `${BASE_FSTAB}${byHand}\n` }));
            const updated = writtenFile(planFstabEntry(desired(), observed({ ...DONE, fstab: writtenFile(adopted) }), desired({ options: ["noatime"] })));
            assert.ok(updated.endsWith(`\n${LINE}\n`), updated);
            const plan = planDeleteFstabEntry(desired(), observed({ ...DONE, fstab: updated }));
            assert.equal(descriptions(plan).length, 2, "same spec: it stays mounted");
            assert.equal(writtenFile(plan), `${BASE_FSTAB}${byHand}\n`);

            const otherSpec = adoptedFile(`/dev/vdc ${MP} xfs defaults 0 2`).replace(/\n\/dev\/vdc .*\n$/, `\n${LINE}\n`);
            const replaced = planDeleteFstabEntry(desired(), observed({ ...DONE, fstab: otherSpec }));
            assert.deepEqual(descriptions(replaced)[0], "unmount /var/lib/docker");
            assert.equal(writtenFile(replaced), `${BASE_FSTAB}/dev/vdc ${MP} xfs defaults 0 2\n`);
        });

        it("nothing there: nothing to do", () => {
            assert.deepEqual(planDeleteFstabEntry(desired(), observed()).actions, []);
            assert.deepEqual(planDeleteFstabEntry(desired(), observed({ fstab: null })).actions, []);
        });
    });

    describe("preview warnings", () => {
        it("says when a new source means an unmount and which units stop", () => {
            assert.deepEqual(fstabEntry.diffWarnings!(desired({ spec: "/dev/vdc" }), desired({ stopUnits: ["docker.socket", "docker.service"] })), [`/var/lib/docker will be unmounted and UUID=${UUID} mounted in its place; docker.socket, docker.service are stopped meanwhile`]);
            assert.deepEqual(fstabEntry.diffWarnings!(desired(), desired({ options: ["noatime"] })), []);
            assert.deepEqual(fstabEntry.diffWarnings!(desired({ spec: "/dev/vdc" }), desired({ mount: false })), []);
        });
    });

    describe("outputs and reflect", () => {
        it("reports the line as it is in the file, and the mount", () => {
            const none = { adopted: false, originalLine: "" };
            assert.deepEqual(fstabEntry.outputs(desired(), observed(DONE)), { line: LINE, mounted: true, mountedSource: "/dev/zd0", backupPath: "/etc/fstab.pulumi-zfs-docker.bak", ...none });
            assert.deepEqual(fstabEntry.outputs(desired(), observed()), { line: "", mounted: false, mountedSource: "", backupPath: "/etc/fstab.pulumi-zfs-docker.bak", ...none });
        });

        it("reports an adopted line and the line delete puts back, read from the marker", () => {
            const byHand = `UUID=${UUID}\t${MP}\text4\t${SAFE}\t0\t2`;
            const outputs = fstabEntry.outputs(desired(), observed({ ...DONE, fstab: adoptedFile(byHand) }));
            assert.deepEqual({ adopted: outputs.adopted, originalLine: outputs.originalLine, line: outputs.line }, { adopted: true, originalLine: byHand, line: byHand });
        });

        it("reflects the inputs unchanged when all is as wanted", () => {
            assert.deepEqual(fstabEntry.reflect(desired(), observed(DONE)), desired());
        });

        it("shows a hand-edited line and a lost mount as drift", () => {
            const edited = `${BASE_FSTAB}${MARKER}\nUUID=${UUID} ${MP} ext4 noatime 0 1\n`;
            const actual = fstabEntry.reflect(desired(), observed({ ...DONE, fstab: edited, mounts: MOUNTS_ROOT }));
            assert.deepEqual({ options: actual?.options, bootSafety: actual?.bootSafety, pass: actual?.pass, mount: actual?.mount }, { options: ["noatime"], bootSafety: false, pass: 1, mount: false });
        });

        it("is gone when the line is gone; mount: false promises nothing about the mount", () => {
            assert.equal(fstabEntry.reflect(desired(), observed({ ...DONE, fstab: BASE_FSTAB })), undefined);
            assert.equal(fstabEntry.reflect(desired({ mount: false }), observed({ ...DONE, mounts: MOUNTS_ROOT }))?.mount, false);
        });
    });

    describe("scripts under a real shell", () => {
        let dir: string;
        let fstabPath: string;
        beforeEach(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "pzd-fstab-"));
            fstabPath = path.join(dir, "fstab");
            fs.writeFileSync(fstabPath, BASE_FSTAB);
            fs.chmodSync(fstabPath, 0o640);
        });
        afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

        const observedFile = (extra: Parts = {}) => observed({ fstab: fs.readFileSync(fstabPath), ...extra });
        const TOOLS = ["mount", "umount", "findmnt", "mkdir", "systemctl", "reboot", "touch"];

        it("injection fixture: a mount point with '; reboot' and $(touch ...) stays one literal path", () => {
            const mountPoint = `/mnt/pzd-unit x; reboot $(touch ${dir}/pwned)`;
            const d = desired({ fstabPath, mountPoint });
            const run = runRecorded("set -eu\n" + planScript(planFstabEntry(d, observedFile({ mountpoint: "kind=absent" }))).text, TOOLS);
            assert.equal(run.status, 0, run.stderr);
            const calls = run.calls.map((c) => [c.tool, ...c.args]);
            assert.deepEqual(calls[0], ["mkdir", "-p", "--", mountPoint]);
            assert.equal(calls[1][0], "mount");
            assert.deepEqual([calls[1][1], calls[1][3], calls[1][4]], ["--fstab", "--", mountPoint]);
            assert.match(calls[1][2], /\/fstab\.pzd-[A-Za-z0-9]{6}$/);
            assert.deepEqual(calls[2], ["findmnt", "-M", mountPoint]);
            assert.equal(calls.length, 3, "no reboot, no touch, no daemon-reload for a file other than /etc/fstab");
            assert.equal(fs.existsSync(path.join(dir, "pwned")), false);
            const escaped = `/mnt/pzd-unit\\040x;\\040reboot\\040$(touch\\040${dir}/pwned)`;
            assert.equal(fs.readFileSync(fstabPath, "utf8"), `${BASE_FSTAB}# managed by pulumi-zfs-docker: ${escaped}\nUUID=${UUID} ${escaped} ext4 ${SAFE} 0 2\n`);
        });

        it("delete moves the aside copy back into an empty mount point, and says so when the mount point is not empty", () => {
            // Stand-ins: nothing is mounted there, no ZFS, no units to start.
            const stubs = "findmnt() { return 1; }\nzfs() { return 1; }\nsystemctl() { :; }\n";
            const mountPoint = path.join(dir, "docker");
            const aside = `${mountPoint}.pre-pulumi-zfs-docker-20260101-000000`;
            fs.mkdirSync(mountPoint);
            fs.mkdirSync(aside);
            fs.writeFileSync(path.join(aside, "original"), "x");
            // A process wrote under the mount point while nothing was mounted there (seen at shutdown under load).
            fs.writeFileSync(path.join(mountPoint, "stray"), "y");
            const script = stubs + moveBackScript(desired({ mountPoint, stopUnits: [] })).text;
            const refused = runShell(script);
            assert.equal(refused.status, 0, refused.stderr);
            assert.match(refused.stdout, new RegExp(`^pzd-warning: ${aside.replace(/[.]/g, "[.]")} was not moved back: ${mountPoint.replace(/[.]/g, "[.]")} is not empty \\(something wrote there while nothing was mounted on it: stray \\)\\. Both are kept`));
            assert.deepEqual([fs.readdirSync(mountPoint), fs.readdirSync(aside)], [["stray"], ["original"]], "nothing merged, nothing lost");
            fs.rmSync(path.join(mountPoint, "stray"));
            const moved = runShell(script);
            assert.equal(moved.status, 0, moved.stderr);
            assert.match(moved.stdout, /^pzd-warning: moved .* back to .*, as it was before pulumi-zfs-docker$/m);
            assert.deepEqual([fs.readdirSync(mountPoint), fs.existsSync(aside)], [["original"], false]);
        });

        it("keeps mode, leaves a backup of the old file and no temporary file", () => {
            const run = runRecorded("set -eu\n" + planScript(planFstabEntry(desired({ fstabPath }), observedFile())).text, TOOLS);
            assert.equal(run.status, 0, run.stderr);
            assert.equal(fs.statSync(fstabPath).mode & 0o777, 0o640);
            assert.equal(fs.readFileSync(fstabPath + ".pulumi-zfs-docker.bak", "utf8"), BASE_FSTAB);
            assert.deepEqual(fs.readdirSync(dir).sort(), ["fstab", "fstab.pulumi-zfs-docker.bak"]);
        });

        it("writes nothing and mounts nothing when the file changed after it was read", () => {
            const plan = planFstabEntry(desired({ fstabPath }), observedFile());
            fs.appendFileSync(fstabPath, "/dev/vdc /srv xfs defaults 0 0\n");
            const run = runRecorded("set -eu\n" + planScript(plan).text, TOOLS);
            assert.equal(run.status, 75);
            assert.match(run.stderr, /changed on the host after it was read.*nothing was written; run the update again/);
            assert.deepEqual(run.calls, []);
            assert.equal(fs.readFileSync(fstabPath, "utf8"), `${BASE_FSTAB}/dev/vdc /srv xfs defaults 0 0\n`);
            assert.deepEqual(fs.readdirSync(dir), ["fstab"]);
        });

        it("a failed mount leaves the old file in place", () => {
            const script = planScript(planFstabEntry(desired({ fstabPath }), observedFile())).text;
            const run = runShell(`set -eu\nmount() { echo "mount: wrong fs type" >&2; return 32; }\nmkdir() { :; }\n${script}`);
            assert.equal(run.status, 32);
            assert.equal(fs.readFileSync(fstabPath, "utf8"), BASE_FSTAB);
            assert.deepEqual(fs.readdirSync(dir), ["fstab"]);
        });

        it("stopUnits: stops only what ran, moves the old files aside keeping mode, mounts, and starts them again", () => {
            const mp = path.join(dir, "data root");
            fs.mkdirSync(mp, { mode: 0o710 });
            fs.chmodSync(mp, 0o710);
            fs.writeFileSync(path.join(mp, "old"), "x");
            const d = desired({ fstabPath, mountPoint: mp, stopUnits: ["docker.socket", "docker.service"], moveAsideExisting: true });
            const plan = planFstabEntry(d, observedFile({ mountpoint: "kind=dir\nempty=0" }));
            // systemctl: `is-active` succeeds for docker.service only (recorders exit 0, so a shell function stands in).
            const script = `set -eu\nsystemctl() { printf '%s ' systemctl "$@" >>${shellWord(path.join(dir, "calls"))}; echo >>${shellWord(path.join(dir, "calls"))}; [ "$1" != is-active ] || [ "$3" = docker.service ]; }\n${planScript(plan).text}`;
            const run = runRecorded(script, ["mount", "findmnt"]);
            assert.equal(run.status, 0, run.stderr);
            assert.equal(fs.readFileSync(path.join(dir, "calls"), "utf8"), "systemctl is-active --quiet docker.socket \nsystemctl is-active --quiet docker.service \nsystemctl stop docker.socket docker.service \nsystemctl start docker.service \n");
            const aside = fs.readdirSync(dir).filter((n) => n.startsWith("data root.pre-pulumi-zfs-docker-"));
            assert.equal(aside.length, 1);
            assert.deepEqual(fs.readdirSync(path.join(dir, aside[0])), ["old"]);
            assert.deepEqual(fs.readdirSync(mp), []);
            assert.equal(fs.statSync(mp).mode & 0o777, 0o710);
            assert.deepEqual(run.calls.map((c) => c.tool), ["mount", "findmnt"]);
        });

        it("moves a ZFS dataset aside by its mountpoint property, then mounts", () => {
            // Under the scratch directory: the script really looks at (and would move) what is there.
            const mp = path.join(dir, "docker");
            const dataset = `TARGET="${mp}" SOURCE="tank/docker old" FSTYPE="zfs" OPTIONS="rw" MAJ:MIN="0:52"`;
            const plan = planFstabEntry(desired({ fstabPath, mountPoint: mp, moveAsideExisting: true }), observedFile({ mounts: dataset }));
            const calls = path.join(dir, "calls");
            const script = `set -eu\nm=1\nzfs() { echo "zfs $*" >>${shellWord(calls)}; m=; }\nmount() { echo "mount $*" >>${shellWord(calls)}; m=1; }\nfindmnt() { [ -n "$m" ]; }\nmkdir() { :; }\n${planScript(plan).text}`;
            const run = runShell(script);
            assert.equal(run.status, 0, run.stderr);
            const lines = fs.readFileSync(calls, "utf8").trim().split("\n");
            assert.match(lines[0], /^zfs set mountpoint=(.*)\.pre-pulumi-zfs-docker-\d{8}-\d{6}\.zfs tank\/docker old$/);
            assert.ok(lines[0].startsWith(`zfs set mountpoint=${mp}.pre-`));
            assert.equal(lines[1].replace(/fstab\.pzd-\w+/, "fstab.pzd-X"), `mount --fstab ${fstabPath}.pzd-X -- ${mp}`);
            assert.equal(lines.length, 2);
        });

        it("stopUnits: starts the units again when the mount fails, and leaves the file alone", () => {
            const d = desired({ fstabPath, mountPoint: path.join(dir, "m"), stopUnits: ["docker.service"] });
            const plan = planFstabEntry(d, observedFile({ mountpoint: "kind=absent" }));
            const calls = path.join(dir, "calls");
            const script = `set -eu\nsystemctl() { echo "$*" >>${shellWord(calls)}; }\nmount() { return 32; }\n${planScript(plan).text}`;
            const run = runShell(script);
            assert.equal(run.status, 32);
            assert.equal(fs.readFileSync(calls, "utf8"), "is-active --quiet docker.service\nstop docker.service\nstart docker.service\n");
            assert.equal(fs.readFileSync(fstabPath, "utf8"), BASE_FSTAB);
        });

        it("create and delete give back a file without a final newline byte for byte", () => {
            const noNewline = Buffer.from("# no final newline\r\n/dev/vda / ext4 defaults 0 1");
            fs.writeFileSync(fstabPath, noNewline);
            const created = runRecorded("set -eu\n" + planScript(planFstabEntry(desired({ fstabPath }), observedFile())).text, TOOLS);
            assert.equal(created.status, 0, created.stderr);
            assert.ok(fs.readFileSync(fstabPath).toString().endsWith(`defaults 0 1\r\n${MARKER} (the file had no final CRLF; delete takes the added one away)\r\n${LINE}\r\n`));
            const deleted = runRecorded("set -eu\n" + planScript(planDeleteFstabEntry(desired({ fstabPath }), observedFile())).text, TOOLS);
            assert.equal(deleted.status, 0, deleted.stderr);
            assert.ok(fs.readFileSync(fstabPath).equals(noNewline));
        });

        it("delete unmounts, then removes our line and its marker", () => {
            fs.writeFileSync(fstabPath, `${BASE_FSTAB}${MARKER}\n${LINE}\n# after\n`);
            const mp = `${MOUNT_DOCKER}`;
            const run = runRecorded("set -eu\n" + planScript(planDeleteFstabEntry(desired({ fstabPath }), observedFile({ mounts: mp }))).text, TOOLS);
            assert.equal(run.status, 0, run.stderr);
            assert.deepEqual(run.calls.map((c) => [c.tool, ...c.args]), [["umount", "--", MP]]);
            assert.equal(fs.readFileSync(fstabPath, "utf8"), `${BASE_FSTAB}# after\n`);
        });
    });
});
