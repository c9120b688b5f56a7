/**
 * FstabEntry against a real test host, driven exactly as the engine drives it: check → create →
 * (create/update again: no write) → hand edit → read shows drift → update repairs → reboot keeps it
 * mounted → delete, on the real /etc/fstab with a zvol; plus the injection fixture, the refusals and
 * the lost-update guard on a scratch fstab, so the other lines of /etc/fstab are never at stake there.
 */
import { strict as assert } from "assert";
import { makeProviderImplementation, observe } from "../../provider/adapter";
import { connectionSchema } from "../../provider/connection";
import { hostFor } from "../../provider/host/pool";
import { shellQuote } from "../../provider/host/quote";
import { planScript } from "../../provider/plan";
import { fstabEntry, fstabEntrySchema } from "../../provider/resources/fstabEntry";
import { ensurePool, sharedHosts, uniqueName } from "../hosts/fleet";
import type { TestHost } from "../hosts/harness";

const entries = makeProviderImplementation(fstabEntry);
const SAFE = "nofail,x-systemd.requires=zfs-volumes.target,x-systemd.device-timeout=300s";

async function checked(inputs: Record<string, unknown>, olds: Record<string, unknown> = {}) {
    const result = await entries.check!(olds, inputs);
    assert.deepEqual(result.failures ?? [], [], "check should accept these inputs");
    return result.inputs as Record<string, unknown>;
}

/** A sparse zvol with ext4 on it; returns its filesystem UUID. */
async function zvolWithExt4(host: TestHost, name: string, size = "256M"): Promise<string> {
    await host.exec(
        `zfs create -s -V ${size} ${name} && udevadm settle && i=0; while [ ! -e /dev/zvol/${name} ]; do i=$((i+1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done; ` +
            `mkfs.ext4 -q /dev/zvol/${name} && udevadm settle`,
    );
    return (await host.exec(`blkid -p -s UUID -o value /dev/zvol/${name}`)).stdout.trim();
}

const fileBytes = async (host: TestHost, file: string): Promise<Buffer> => Buffer.from((await host.exec(`base64 -w0 ${shellQuote(file)}`)).stdout.trim(), "base64");
const mountedSource = async (host: TestHost, mp: string): Promise<string> => (await host.exec(`findmnt -n -o SOURCE -M ${shellQuote(mp)}`, { allowFail: true })).stdout.trim();

describe("FstabEntry on a real host", function () {
    let host: TestHost;
    const volumes: string[] = [];
    before(async () => {
        [host] = await sharedHosts(1);
        await ensurePool(host);
    });
    after(async () => {
        for (const name of volumes) {
            await host.exec(`zfs destroy ${name}`, { allowFail: true });
        }
    });

    it("writes a boot-safe line to /etc/fstab, mounts, idles, repairs drift, survives a reboot, deletes only its line", async () => {
        const name = `tank/${uniqueName("fstab")}`;
        volumes.push(name);
        const uuid = await zvolWithExt4(host, name);
        const mp = `/mnt/${uniqueName("docker")}`;
        const line = `UUID=${uuid} ${mp} ext4 defaults,${SAFE} 0 2`;
        const before = await fileBytes(host, "/etc/fstab");
        const beforeStat = (await host.exec("stat -c %a:%u:%g /etc/fstab")).stdout.trim();
        const stats = () => hostFor(connectionSchema.parse(host.connection)).stats;

        let inputs = await checked({ connection: host.connection, spec: `UUID=${uuid}`, mountPoint: mp, fsType: "ext4" });
        const created = await entries.create(inputs);
        assert.equal(created.id, mp);
        assert.equal(created.outs.line, line);
        assert.equal(created.outs.mounted, true);
        assert.match(created.outs.mountedSource, /^\/dev\/zd\d+$/);
        assert.equal(await mountedSource(host, mp), created.outs.mountedSource);

        // Every other byte of /etc/fstab is as it was; ours is marked; mode, owner and a backup are kept.
        const after = await fileBytes(host, "/etc/fstab");
        const prefix = before.length > 0 && before[before.length - 1] !== 0x0a ? Buffer.concat([before, Buffer.from("\n")]) : before;
        assert.ok(after.subarray(0, prefix.length).equals(prefix), "the lines before ours are unchanged");
        assert.equal(after.subarray(prefix.length).toString(), `# managed by pulumi-zfs-docker: ${mp}\n${line}\n`);
        assert.equal((await host.exec("stat -c %a:%u:%g /etc/fstab")).stdout.trim(), beforeStat);
        assert.ok((await fileBytes(host, "/etc/fstab.pulumi-zfs-docker.bak")).equals(before));
        assert.equal((await host.exec("ls /etc | grep -c '^fstab.pzd-' || true")).stdout.trim(), "0", "no temporary file is left");
        // systemd was reloaded: the mount unit now comes from /etc/fstab with our options.
        const unit = (await host.exec(`systemd-escape -p --suffix=mount ${shellQuote(mp)}`)).stdout.trim();
        assert.equal((await host.exec(`systemctl show -p SourcePath --value ${shellQuote(unit)}`)).stdout.trim(), "/etc/fstab");

        // Converging again reads the host once per call and writes nothing.
        const idle = { ...stats() };
        await entries.create(inputs);
        await entries.update!(created.id, created.outs, inputs);
        assert.equal((await entries.diff!(created.id, created.outs, inputs)).changes, false);
        assert.equal(stats().writes, idle.writes, "a second converge must not write");
        assert.equal(stats().roundTrips - idle.roundTrips, 2, "one read per converge and nothing else");

        // By hand: drop nofail from our line and unmount. Refresh sees both; update repairs both.
        await host.exec(`sed -i 's#^\\(UUID=${uuid} .*\\),nofail,#\\1,#' /etc/fstab && umount ${shellQuote(mp)}`);
        const refreshed = await entries.read!(created.id, created.outs);
        assert.equal(refreshed.props!.line, `UUID=${uuid} ${mp} ext4 defaults,x-systemd.requires=zfs-volumes.target,x-systemd.device-timeout=300s 0 2`);
        assert.equal(refreshed.inputs!.bootSafety, false);
        assert.equal(refreshed.inputs!.mount, false);
        assert.equal(refreshed.props!.mounted, false);
        assert.equal((await entries.diff!(created.id, refreshed.props!, inputs)).changes, true, "after refresh, the drift is a pending change");
        const writes = stats().writes;
        const repaired = await entries.update!(created.id, refreshed.props!, inputs);
        assert.equal(stats().writes, writes + 1, "one script repairs it");
        assert.equal(repaired.outs!.line, line);
        assert.equal(repaired.outs!.mounted, true);
        assert.equal((await fileBytes(host, "/etc/fstab")).toString(), after.toString());

        // A cold restart: systemd mounts it from our line once the pool's volumes are there.
        await host.reboot();
        inputs = { ...inputs, connection: host.connection };
        assert.match(await mountedSource(host, mp), /^\/dev\/zd\d+$/, "mounted at boot from the fstab line");
        const afterBoot = await entries.read!(created.id, { ...repaired.outs!, connection: host.connection });
        assert.equal(afterBoot.props!.mounted, true);
        assert.equal((await entries.diff!(created.id, afterBoot.props!, inputs)).changes, false, "no drift after a reboot");

        // Delete refuses while a process works inside the mount, and names it.
        const pid = (await host.exec(`cd ${shellQuote(mp)} && (setsid sleep 600 </dev/null >/dev/null 2>&1 & echo $!)`)).stdout.trim();
        try {
            await assert.rejects(entries.delete!(created.id, afterBoot.props!), /cannot unmount .* is busy \(processes use it: sleep \(pid \d+(, [^)]+)?\)\)/);
            assert.notEqual(await mountedSource(host, mp), "");
        } finally {
            await host.exec(`kill ${pid}`, { allowFail: true });
        }
        await entries.delete!(created.id, afterBoot.props!);
        assert.equal(await mountedSource(host, mp), "", "unmounted");
        assert.ok((await fileBytes(host, "/etc/fstab")).equals(prefix), "only our marker and line are gone");
        await entries.delete!(created.id, afterBoot.props!); // already gone: nothing to do, no error
        await host.exec(`rmdir ${shellQuote(mp)} && systemctl daemon-reload`);
    });

    it("with stopUnits and moveAsideExisting: stops the service using the directory, moves its files aside, mounts, starts it again; delete moves them back", async () => {
        const name = `tank/${uniqueName("fstab-units")}`;
        volumes.push(name);
        const uuid = await zvolWithExt4(host, name, "128M");
        const mp = `/srv/${uniqueName("data")}`;
        const unit = `${uniqueName("pzd-holder")}.service`;
        const fstabPath = `/root/${uniqueName("fstab-units")}`;
        // A service that works inside the directory, as dockerd does in /var/lib/docker.
        await host.exec(
            `mkdir -p ${mp} && chmod 710 ${mp} && echo old > ${mp}/state && : > ${fstabPath} && ` +
                `printf '[Service]\\nWorkingDirectory=${mp}\\nExecStart=/bin/sleep infinity\\n' > /etc/systemd/system/${unit} && systemctl daemon-reload && systemctl start ${unit}`,
        );
        try {
            const base = { connection: host.connection, spec: `UUID=${uuid}`, mountPoint: mp, fsType: "ext4", fstabPath };
            await assert.rejects(entries.create(await checked(base)), new RegExp(`not empty and in use by sleep \\(pid \\d+, ${unit.replace(/\./g, "\\.")}\\)`));
            const inputs = await checked({ ...base, stopUnits: [unit], moveAsideExisting: true });
            const created = await entries.create(inputs);
            assert.equal(created.outs.mounted, true);
            assert.equal((await host.exec(`systemctl is-active ${unit}`)).stdout.trim(), "active", "started again");
            const pid = (await host.exec(`systemctl show -p MainPID --value ${unit}`)).stdout.trim();
            assert.equal((await host.exec(`findmnt -n -o TARGET -T /proc/${pid}/cwd/.`)).stdout.trim(), mp, "it now works on the mounted filesystem");
            const aside = (await host.exec(`ls -d ${mp}.pre-pulumi-zfs-docker-*`)).stdout.trim().split("\n");
            assert.equal(aside.length, 1);
            assert.equal((await host.exec(`cat ${aside[0]}/state`)).stdout.trim(), "old", "nothing lost");

            // Delete stops it too (it holds the mount), unmounts, and starts it again.
            await entries.delete!(created.id, created.outs);
            assert.equal(await mountedSource(host, mp), "");
            assert.equal((await host.exec(`systemctl is-active ${unit}`)).stdout.trim(), "active");
            assert.equal((await fileBytes(host, fstabPath)).toString(), "");
            // Delete is the inverse: the files moved aside are back in place, with their mode.
            assert.equal((await host.exec(`cat ${mp}/state`)).stdout.trim(), "old", "the old files are back");
            assert.equal((await host.exec(`ls -d ${mp}.pre-pulumi-zfs-docker-* 2>/dev/null | wc -l`)).stdout.trim(), "0");
            assert.equal((await host.exec(`stat -c %a ${mp}`)).stdout.trim(), "710", "the directory has its old mode");
        } finally {
            await host.exec(`systemctl stop ${unit}; rm -f /etc/systemd/system/${unit} ${fstabPath} ${fstabPath}.pulumi-zfs-docker.bak; systemctl daemon-reload; umount ${mp} 2>/dev/null; true`, { allowFail: true });
        }
    });

    it("with moveAsideExisting: a ZFS dataset mounted there gets another mountpoint, keeps its data, and gets it back on delete", async () => {
        const name = `tank/${uniqueName("fstab-ds")}`;
        const dataset = `tank/${uniqueName("olddata")}`;
        volumes.push(name, dataset);
        const uuid = await zvolWithExt4(host, name, "128M");
        const mp = `/srv/${uniqueName("dsroot")}`;
        const fstabPath = `/root/${uniqueName("fstab-ds")}`;
        await host.exec(`zfs create -o mountpoint=${mp} ${dataset} && echo kept > ${mp}/data && : > ${fstabPath}`);
        try {
            const base = { connection: host.connection, spec: `UUID=${uuid}`, mountPoint: mp, fsType: "ext4", fstabPath };
            await assert.rejects(entries.create(await checked(base)), new RegExp(`${dataset} \\(zfs\\) is already mounted at ${mp}.*moveAsideExisting: true`));
            const created = await entries.create(await checked({ ...base, moveAsideExisting: true }));
            assert.equal(created.outs.mounted, true);
            assert.match(await mountedSource(host, mp), /^\/dev\/zd\d+$/);
            const moved = (await host.exec(`zfs get -H -o value mountpoint ${dataset}`)).stdout.trim();
            assert.match(moved, new RegExp(`^${mp}\\.pre-pulumi-zfs-docker-\\d{8}-\\d{6}\\.zfs$`));
            assert.equal((await host.exec(`cat ${moved}/data`)).stdout.trim(), "kept");
            await entries.delete!(created.id, created.outs);
            // Delete is the inverse: the dataset gets its old mountpoint back, data and all.
            assert.equal((await host.exec(`zfs get -H -o value mountpoint ${dataset}`)).stdout.trim(), mp);
            assert.equal((await host.exec(`cat ${mp}/data`)).stdout.trim(), "kept");
        } finally {
            await host.exec(`umount ${mp} 2>/dev/null; rm -f ${fstabPath} ${fstabPath}.pulumi-zfs-docker.bak; true`, { allowFail: true });
        }
    });

    describe("on a scratch fstab", () => {
        let dir: string;
        let fstabPath: string;
        let uuid: string;
        // Tabs, trailing blanks, an escaped space, comments, CRLF on one line, and no final newline.
        const AWKWARD = "# scratch fstab\t \n\n/dev/vda\t/\text4\terrors=remount-ro 0 1   \nLABEL=x\\040y /mnt/x\\040y ext4 noauto 0 0\r\n  # indented\ntmpfs /run/pzd tmpfs size=1M";

        before(async () => {
            const name = `tank/${uniqueName("fstab-scratch")}`;
            volumes.push(name);
            uuid = await zvolWithExt4(host, name, "128M");
            dir = `/root/${uniqueName("fstab")}`;
            fstabPath = `${dir}/fstab`;
            await host.exec(`mkdir -p ${dir} && printf '%s' ${shellQuote(AWKWARD)} > ${fstabPath} && chmod 600 ${fstabPath}`);
        });
        after(async () => {
            await host.exec(`rm -rf ${shellQuote(dir)}`, { allowFail: true });
        });

        it("injection fixture: a mount point with '; reboot' and $(touch ...) is one literal path, and the file keeps its bytes", async () => {
            const pwned = `/tmp/${uniqueName("pwned")}`;
            const mp = `/mnt/${uniqueName("inj")} x; reboot $(touch ${pwned})`;
            const inputs = await checked({ connection: host.connection, spec: `UUID=${uuid}`, mountPoint: mp, fsType: "ext4", fstabPath });

            // Not over files that are already there, unless told so.
            await host.exec(`mkdir -p ${shellQuote(mp)} && touch ${shellQuote(mp + "/old")}`);
            await assert.rejects(entries.create(inputs), /is not empty: mounting over it would hide its files.*allowNonEmptyMountPoint: true/s);
            assert.equal((await fileBytes(host, fstabPath)).toString(), AWKWARD, "a refusal writes nothing");
            await host.exec(`rm ${shellQuote(mp + "/old")}`);

            const created = await entries.create(inputs);
            assert.equal(created.id, `${fstabPath}:${mp}`);
            assert.match(await mountedSource(host, mp), /^\/dev\/zd\d+$/);
            assert.equal((await host.exec(`test -e ${pwned} && echo yes || echo no`)).stdout.trim(), "no");
            const escaped = mp.replace(/ /g, "\\040");
            // The fixture has no final newline: the marker says so, and delete takes the added one away.
            assert.equal((await fileBytes(host, fstabPath)).toString(), `${AWKWARD}\n# managed by pulumi-zfs-docker: ${escaped} (the file had no final newline; delete takes the added one away)\nUUID=${uuid} ${escaped} ext4 defaults,${SAFE} 0 2\n`);
            assert.equal((await host.exec(`stat -c %a ${fstabPath}`)).stdout.trim(), "600");

            await entries.delete!(created.id, created.outs);
            assert.equal(await mountedSource(host, mp), "");
            assert.equal((await fileBytes(host, fstabPath)).toString(), AWKWARD, "destroy gives the file back byte for byte");
            assert.equal((await host.exec(`test -e ${pwned} && echo yes || echo no`)).stdout.trim(), "no");
        });

        it("refuses a different line it did not write, adopts an identical one", async () => {
            const mp = `/mnt/${uniqueName("foreign")}`;
            const inputs = await checked({ connection: host.connection, spec: `UUID=${uuid}`, mountPoint: mp, fsType: "ext4", fstabPath, options: ["noatime"] });
            const foreign = `UUID=${uuid} ${mp} ext4 defaults 0 2`;
            await host.exec(`printf '%s\\n' ${shellQuote(AWKWARD)} ${shellQuote(foreign)} > ${fstabPath}`);
            await assert.rejects(entries.create(inputs), new RegExp(`did not write \\(line 7\\):\\n  ${foreign}\\n[^]*make spec, fsType, options, dump and pass match it exactly`));
            assert.equal(await mountedSource(host, mp), "", "a refusal mounts nothing");

            const identical = `UUID=${uuid}\t${mp}\text4\tnoatime,${SAFE}\t0\t2`;
            await host.exec(`printf '%s\\n' ${shellQuote(AWKWARD)} ${shellQuote(identical)} > ${fstabPath}`);
            const adopted = await entries.create(inputs);
            assert.equal(adopted.outs.line, identical, "adopted as it is, tabs and all");
            assert.equal(adopted.outs.mounted, true);
            assert.match((await host.exec(`findmnt -n -o OPTIONS -M ${mp}`)).stdout, /noatime/, "mounted with the line's options");
            assert.equal(adopted.outs.adopted, true);
            assert.equal((await fileBytes(host, fstabPath)).toString(), `${AWKWARD}\n# managed by pulumi-zfs-docker: ${mp} (adopted; delete puts back: ${identical.replace(/\t/g, "\\011")})\n${identical}\n`);

            // Adopted is not ours to remove: delete gives the user's line back as it was, still mounted.
            await entries.delete!(adopted.id, adopted.outs);
            assert.equal((await fileBytes(host, fstabPath)).toString(), `${AWKWARD}\n${identical}\n`);
            assert.match(await mountedSource(host, mp), /^\/dev\/zd\d+$/);
            await host.exec(`umount ${shellQuote(mp)}`);
            await host.exec(`printf '%s' ${shellQuote(AWKWARD)} > ${fstabPath}`);
        });

        it("never loses an edit made between reading and writing", async () => {
            const mp = `/mnt/${uniqueName("race")}`;
            const desired = fstabEntrySchema.parse({ connection: host.connection, spec: `UUID=${uuid}`, mountPoint: mp, fsType: "ext4", fstabPath });
            const remote = hostFor(desired.connection);
            const plan = fstabEntry.plan(desired, await observe(fstabEntry, remote, desired));
            const edited = `${AWKWARD}\n/dev/vdz /srv/elsewhere xfs defaults 0 0\n`;
            await host.exec(`printf '%s' ${shellQuote(edited)} > ${fstabPath}`);
            await assert.rejects(remote.run(planScript(plan), { step: "apply a stale plan", mutating: true }), /exit 75[^]*changed on the host after it was read[^]*run the update again/);
            assert.equal((await fileBytes(host, fstabPath)).toString(), edited, "the other edit is kept");
            assert.equal(await mountedSource(host, mp), "", "nothing was mounted");
            assert.equal((await host.exec(`ls ${dir} | grep -c '^fstab\\.pzd-' || true`)).stdout.trim(), "0", "no temporary file is left");
            // The next converge plans from the new content and keeps the other edit.
            const created = await entries.create(await checked({ ...desired }));
            assert.equal((await fileBytes(host, fstabPath)).toString(), `${edited}# managed by pulumi-zfs-docker: ${mp}\nUUID=${uuid} ${mp} ext4 defaults,${SAFE} 0 2\n`);
            await entries.delete!(created.id, created.outs);
            assert.equal((await fileBytes(host, fstabPath)).toString(), edited);
        });
    });
});
