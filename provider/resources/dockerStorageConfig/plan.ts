/**
 * The pure planners: from the inputs and what the host says, the actions that make daemon.json, the
 * drop-in and the running Docker agree with the inputs (or take our part back out), and the outputs.
 */
import { RefusedError } from "../../host/errors";
import { sh } from "../../host/quote";
import type { Action, Plan } from "../../plan";
import { noop } from "../../plan";
import type { DaemonJsonBackup, ManagedKey, ManagedValues } from "./daemonJson";
import { managedValues, mergeDaemonJson, parseBackup, parseDaemonJson, previousValues, restoreDaemonJson, serializeBackup } from "./daemonJson";
import { daemonJsonText, parseDropIn, type BackingFilesystem, type DockerStorageObserved } from "./facts";
import { backupPathFor, DEFAULT_DATA_ROOT, dockerStorageConfigSchema, DROP_IN_PATH, STORAGE_OPTIONS, wantedRoot, type DockerStorageDesired, type DockerStorageOutputs } from "./schema";
import { daemonJsonCheckFor, FUNCTIONS, removeDropInScript, renderDropIn, restartRestoredScript, restartScript, rollbackScript, writeBackupScript, writeDaemonJsonScript, writeDropInScript } from "./scripts";

const FIX = "put the data root on a zvol with ext4 or xfs (ZfsVolume → Ext4Filesystem → FstabEntry mounted at the data root)";

function where(b: BackingFilesystem): string {
    return `${b.path} is on ${b.fsType || "an unknown filesystem"}${b.source ? ` (${b.source} mounted at ${b.mountPoint})` : ""}`;
}

/**
 * Whether the data root's filesystem suits the driver. Docker checks this too, but only after it was
 * restarted with the new configuration; refusing here leaves the host untouched.
 */
export function backingProblems(desired: DockerStorageDesired, observed: DockerStorageObserved): { problems: string[]; warnings: string[] } {
    const b = observed.backing;
    const fs = b.fsType;
    const problems: string[] = [];
    const warnings: string[] = [];
    switch (desired.storageDriver) {
        case "overlay2":
            if (["ext2", "ext3", "ext4", "ext2/ext3", "f2fs"].includes(fs)) {
                break;
            } else if (fs === "xfs") {
                if (b.xfsFtype === 0) {
                    problems.push(`${where(b)}, made with ftype=0: overlay2 needs file types in directory entries (d_type). Reformat it with mkfs.xfs -n ftype=1, or ${FIX}.`);
                }
            } else if (fs === "tmpfs") {
                warnings.push(`${where(b)}: Docker's images and containers live in memory and are gone after a reboot`);
            } else if (fs === "zfs") {
                problems.push(`${where(b)}: Docker refuses overlay2 on ZFS ("backing file system is unsupported for this graph driver"). To keep overlay2's speed, ${FIX}; or set storageDriver: zfs.`);
            } else if (fs === "btrfs") {
                problems.push(`${where(b)}: Docker refuses overlay2 on btrfs. Set storageDriver: btrfs, or ${FIX}.`);
            } else if (/^(nfs|nfs4|cifs|smb3|smbfs|9p|ceph|glusterfs|virtiofs)$/.test(fs)) {
                problems.push(`${where(b)}, a network filesystem: overlay2's upper layers cannot live there. ${FIX[0].toUpperCase()}${FIX.slice(1)}.`);
            } else if (fs === "overlay" || fs === "overlayfs" || fs === "aufs") {
                problems.push(`${where(b)}: overlay2 cannot be stacked on ${fs}. ${FIX[0].toUpperCase()}${FIX.slice(1)}.`);
            } else if (fs.startsWith("fuse") || fs === "ecryptfs") {
                problems.push(`${where(b)}: overlay2 does not work on ${fs}. ${FIX[0].toUpperCase()}${FIX.slice(1)}, or set storageDriver: fuse-overlayfs.`);
            } else {
                problems.push(`${where(b)}, which overlay2 is not known to work on (it needs a local filesystem with d_type, such as ext4 or xfs). ${FIX[0].toUpperCase()}${FIX.slice(1)}.`);
            }
            break;
        case "zfs":
            if (fs !== "zfs") {
                problems.push(`${where(b)}: the zfs driver keeps layers as datasets below the ZFS dataset that holds the data root. Put the data root on a dataset (zfs create -o mountpoint=${wantedRoot(desired)} tank/docker), or use overlay2 and ${FIX}.`);
            }
            break;
        case "btrfs":
            if (fs !== "btrfs") {
                problems.push(`${where(b)}: the btrfs driver needs the data root on btrfs. Use overlay2 and ${FIX}.`);
            }
            break;
        case "fuse-overlayfs":
            if (!observed.fuse.binary || !observed.fuse.device) {
                problems.push(`fuse-overlayfs needs the fuse-overlayfs program and /dev/fuse; the host lacks ${[!observed.fuse.binary && "the program", !observed.fuse.device && "/dev/fuse"].filter(Boolean).join(" and ")}. Install fuse-overlayfs (apt-get install fuse-overlayfs) or use overlay2.`);
            }
            break;
        case "vfs":
            warnings.push("vfs copies every layer in full: images take much more space and builds are slow; it is meant for testing");
            break;
    }
    for (const option of desired.storageOpts) {
        const key = option.split("=")[0];
        if (STORAGE_OPTIONS[desired.storageDriver]?.[key]?.quota) {
            const pquota = b.options.some((o) => o === "prjquota" || o === "pquota");
            if (fs !== "xfs" || !pquota) {
                problems.push(`${key} needs the data root on xfs mounted with the pquota option; ${where(b)}${fs === "xfs" ? " without pquota" : ""}. Remove ${key}, or mount an xfs data root with -o pquota.`);
            }
        }
    }
    return { problems, warnings };
}

function describeValues(values: ManagedValues): string {
    const keys = Object.keys(values) as ManagedKey[];
    return keys.length === 0 ? "none of the storage keys set" : keys.map((k) => `${k} ${JSON.stringify(values[k])}`).join(", ");
}

function wantedValues(desired: DockerStorageDesired): Record<ManagedKey, unknown> {
    return {
        "storage-driver": desired.storageDriver,
        "storage-opts": desired.storageOpts.length > 0 ? desired.storageOpts : undefined,
        "data-root": desired.dataRoot,
    };
}

/** Warnings for what a restart into this configuration does to what Docker holds now. */
function changeWarnings(desired: DockerStorageDesired, observed: DockerStorageObserved, current: ManagedValues): string[] {
    const warnings: string[] = [];
    const oldDriver = observed.info?.driver ?? (typeof current["storage-driver"] === "string" ? current["storage-driver"] : undefined);
    const oldRoot = observed.info?.rootDir ?? (typeof current["data-root"] === "string" ? current["data-root"] : DEFAULT_DATA_ROOT);
    if (oldRoot !== observed.backing.resolvedRoot && oldRoot !== wantedRoot(desired)) {
        warnings.push(`the data root changes from ${oldRoot} to ${wantedRoot(desired)}: Docker will not see the images, containers and volumes under ${oldRoot}. They stay on disk (nothing is deleted) and come back if you switch back.`);
    } else if (oldDriver !== undefined && oldDriver !== desired.storageDriver) {
        warnings.push(`the storage driver changes from ${oldDriver} to ${desired.storageDriver}: Docker will not see the images and containers it made with ${oldDriver}. They stay on disk under ${oldRoot}/${oldDriver} (nothing is deleted) and come back if you switch back.`);
    }
    return warnings;
}

export function planDockerStorage(desired: DockerStorageDesired, observed: DockerStorageObserved): Plan {
    const path = desired.daemonJsonPath;
    const current = daemonJsonText(observed, path);
    const currentValues = managedValues(parseDaemonJson(current ?? "", path));
    const next = mergeDaemonJson(current, wantedValues(desired), path);
    const fileChanges = next !== current;
    const dropIn = desired.requiresMountsFor.length > 0 ? renderDropIn(desired.requiresMountsFor) : undefined;
    const dropInChanges = dropIn !== observed.dropIn;
    const info = observed.info;
    const runningDiffers = info !== undefined && (info.driver !== desired.storageDriver || info.rootDir !== observed.backing.resolvedRoot);

    if (!observed.systemd.present && (desired.restart || dropIn !== undefined)) {
        throw new RefusedError(`the host has no systemd (systemctl not found): the RequiresMountsFor drop-in and the restart need it. Set requiresMountsFor: [] and restart: false to only write ${path}.`);
    }
    if (desired.restart && !observed.systemd.unitLoaded) {
        throw new RefusedError(`docker.service is not installed on the host, so Docker cannot be restarted into this configuration. Install Docker first (apt-get install docker.io), or set restart: false to only write the configuration.`);
    }
    // A restart that would change nothing is not made: after FstabEntry's mount Docker already runs the
    // wanted driver and root, and only keys it already obeys are written. That keeps a first converge
    // at one Docker start per host. storage-opts cannot be read back from docker info, so a change there restarts.
    const nextValues = managedValues(parseDaemonJson(next ?? "", path));
    const optsChange = JSON.stringify(currentValues["storage-opts"] ?? []) !== JSON.stringify(nextValues["storage-opts"] ?? []);
    const alreadyEffective = info !== undefined && !runningDiffers && !optsChange;
    const restarting = desired.restart && (info === undefined || runningDiffers || (fileChanges && !alreadyEffective));
    if (!fileChanges && !dropInChanges && !observed.systemd.needDaemonReload && !restarting) {
        return noop(`Docker already uses ${desired.storageDriver} at ${wantedRoot(desired)}${info ? ` (docker info: ${info.driver}, ${info.rootDir}${info.backingFilesystem ? ` on ${info.backingFilesystem}` : ""})` : ""}`);
    }

    const { problems, warnings } = backingProblems(desired, observed);
    if (problems.length > 0 && (fileChanges || restarting)) {
        throw new RefusedError(`refusing to configure Docker's ${desired.storageDriver} storage driver at ${wantedRoot(desired)}: ${problems.join(" ")} Nothing was changed.`);
    }

    const actions: Action[] = [];
    const backupPath = backupPathFor(path);
    if (fileChanges && observed.backup === undefined) {
        const backup: DaemonJsonBackup = { existed: current !== undefined, content: current ?? "", mode: observed.daemonJsonMode };
        actions.push({
            description: `keep the current storage keys of ${path} in ${backupPath} (${describeValues(currentValues)}), for delete to restore`,
            script: sh`${FUNCTIONS}\n${writeBackupScript(path, observed.daemonJson, serializeBackup(path, backup))}`,
        });
    }
    if (fileChanges) {
        const others = parseDaemonJson(current ?? "", path).members.filter((m) => !(m.key in wantedValues(desired))).length;
        const noRestart = desired.restart && !restarting && info !== undefined ? `; no restart: Docker already runs ${info.driver} at ${info.rootDir}` : "";
        actions.push({
            description: `set ${describeValues(nextValues)} in ${path}${others > 0 ? ` (keeping its ${others} other key(s))` : ""}${noRestart}`,
            script: sh`${FUNCTIONS}\n${writeDaemonJsonScript(path, observed.daemonJson, next, daemonJsonCheckFor(observed.info?.serverVersion || observed.dockerd.version))}`,
        });
    }
    if (dropInChanges) {
        actions.push(
            dropIn === undefined
                ? { description: `remove ${DROP_IN_PATH} (requiresMountsFor is empty)`, script: removeDropInScript() }
                : {
                      description: `make docker.service wait for ${desired.requiresMountsFor.join(", ")} (RequiresMountsFor in ${DROP_IN_PATH})`,
                      script: sh`${FUNCTIONS}\n${writeDropInScript(dropIn)}`,
                  },
        );
    } else if (observed.systemd.needDaemonReload) {
        actions.push({ description: "reload systemd (docker.service changed on disk)", script: sh`systemctl daemon-reload` });
    }
    const allWarnings = [...warnings];
    if (restarting) {
        allWarnings.push(...changeWarnings(desired, observed, currentValues));
        if (info !== undefined) {
            allWarnings.push(`restarting Docker stops its ${info.containersRunning} running container(s); those with a restart policy start again`);
        }
        const rollback = fileChanges ? rollbackScript(path, observed.daemonJson) : undefined;
        const what = info === undefined ? "start Docker" : "restart Docker (stops running containers; images and containers of another driver or data root stay on disk, unseen)";
        actions.push({
            description: `${what} and check that docker info shows ${desired.storageDriver} at ${wantedRoot(desired)}; on failure put the previous ${path} back`,
            script: sh`${FUNCTIONS}\n${restartScript(desired, observed, rollback)}`,
        });
    } else if (fileChanges && !desired.restart && info !== undefined) {
        allWarnings.push(`restart is false: Docker keeps running ${info.driver} at ${info.rootDir} until it is restarted`);
    }
    return { actions, warnings: allWarnings.length > 0 ? allWarnings : undefined };
}

export function planDeleteDockerStorage(desired: DockerStorageDesired, observed: DockerStorageObserved): Plan {
    const path = desired.daemonJsonPath;
    const backupPath = backupPathFor(path);
    const actions: Action[] = [];
    let fileChanges = false;
    if (observed.backup !== undefined) {
        const backup = parseBackup(observed.backup, backupPath);
        const current = daemonJsonText(observed, path);
        const restored = restoreDaemonJson(current, backup, path);
        fileChanges = restored !== current;
        if (fileChanges) {
            actions.push({
                description: `put back the storage keys of ${path} as they were (${describeValues(previousValues(backup, path))})${restored === undefined ? `; remove the file, which did not exist before` : ""}`,
                script: sh`${FUNCTIONS}\n${writeDaemonJsonScript(path, observed.daemonJson, restored, "none")}`,
            });
        }
        actions.push({ description: `remove ${backupPath}`, script: sh`rm -f -- ${backupPath}` });
    }
    if (observed.dropIn !== undefined) {
        actions.push({ description: `remove ${DROP_IN_PATH}`, script: removeDropInScript() });
    }
    if (fileChanges && desired.restart && observed.info !== undefined) {
        actions.push({
            description: "restart Docker with the restored configuration (stops running containers; nothing under any data root is deleted)",
            script: sh`${FUNCTIONS}\n${restartRestoredScript(path)}`,
        });
    }
    return actions.length === 0 ? noop(`nothing of pulumi-zfs-docker is left in ${path} or docker.service`) : { actions };
}

function driverStatus(observed: DockerStorageObserved): string {
    return observed.info?.backingFilesystem ?? observed.backing.fsType;
}

export function outputsOf(desired: DockerStorageDesired, observed: DockerStorageObserved): DockerStorageOutputs {
    const path = desired.daemonJsonPath;
    const backup = observed.backup === undefined ? undefined : parseBackup(observed.backup, backupPathFor(path));
    let current: ManagedValues = {};
    try {
        current = managedValues(parseDaemonJson(daemonJsonText(observed, path) ?? "", path));
    } catch {
        // Outputs describe; a broken file is reported by the next plan, not here.
    }
    return {
        activeDriver: observed.info?.driver ?? "",
        dockerRootDir: observed.info?.rootDir ?? "",
        backingFilesystem: driverStatus(observed),
        dockerRunning: observed.info !== undefined,
        dockerVersion: observed.info?.serverVersion || observed.dockerd.version,
        previousValues: backup ? previousValues(backup, path) : current,
        previousFileExisted: backup ? backup.existed : observed.daemonJson !== undefined,
        backupPath: backup ? backupPathFor(path) : "",
        dropInPath: observed.dropIn !== undefined ? DROP_IN_PATH : "",
    };
}

/**
 * The inputs that describe the host now, for refresh. What daemon.json says wins (a hand edit shows as
 * drift); when the file agrees with the inputs but the running Docker does not (a restart is pending),
 * the running value shows. Values the schema would reject fall back to the inputs, so the state stays
 * readable and deletable.
 */
export function reflectDockerStorage(desired: DockerStorageDesired, observed: DockerStorageObserved): DockerStorageDesired | undefined {
    if (observed.daemonJson === undefined && observed.dropIn === undefined && observed.backup === undefined) {
        return undefined;
    }
    let file: ManagedValues = {};
    try {
        file = managedValues(parseDaemonJson(daemonJsonText(observed, desired.daemonJsonPath) ?? "", desired.daemonJsonPath));
    } catch {
        return desired;
    }
    const running = desired.restart ? observed.info : undefined;
    const fileDriver = file["storage-driver"];
    const storageDriver = typeof fileDriver === "string" && fileDriver !== desired.storageDriver ? fileDriver : running && running.driver !== desired.storageDriver ? running.driver : desired.storageDriver;
    const fileRoot = file["data-root"];
    let dataRoot: unknown = fileRoot;
    if (fileRoot === desired.dataRoot && running && running.rootDir !== observed.backing.resolvedRoot) {
        dataRoot = running.rootDir === DEFAULT_DATA_ROOT ? undefined : running.rootDir;
    }
    const candidate: Record<string, unknown> = {
        ...desired,
        storageDriver,
        dataRoot,
        storageOpts: file["storage-opts"] ?? [],
        requiresMountsFor: observed.dropIn === undefined ? [] : parseDropIn(observed.dropIn),
    };
    for (let attempt = 0; attempt < 6; attempt++) {
        const parsed = dockerStorageConfigSchema.safeParse(candidate);
        if (parsed.success) return parsed.data;
        for (const issue of parsed.error.issues) {
            const key = String(issue.path[0]);
            candidate[key] = (desired as Record<string, unknown>)[key];
        }
    }
    return desired;
}
