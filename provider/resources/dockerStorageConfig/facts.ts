/**
 * What the host says about Docker's storage, in one round trip: daemon.json and its backup, the
 * drop-in, systemd, dockerd, Docker's /info and the filesystem under the data root. Parsers are pure.
 */
import { ParseError, RefusedError } from "../../host/errors";
import { sh, Shell } from "../../host/quote";
import { parseKeyValues, requireSection, section, splitSections } from "../../sections";
import { parseFindmntPairs } from "../../shared/findmnt";
import { DOCKER_API_FUNCTION, DOCKER_API_TIMEOUT_EXIT, DOCKER_API_TIMEOUT_SECONDS, DOCKER_SOCKET } from "./dockerApi";
import { backupPathFor, DROP_IN_PATH, OBSERVE_WAIT_SECONDS, wantedRoot, type DockerStorageDesired } from "./schema";

/** What `docker info` says, when Docker runs. */
export interface DockerInfo {
    driver: string;
    rootDir: string;
    /** Docker's own name for it: "extfs", "xfs", "zfs"... (overlay2 only). */
    backingFilesystem?: string;
    serverVersion: string;
    containersRunning: number;
}

/** The filesystem that holds the data root (or its nearest existing parent). */
export interface BackingFilesystem {
    /** The path that was examined: the data root, or its nearest existing parent. */
    path: string;
    /** The data root with symlinks resolved, as Docker reports its root dir. */
    resolvedRoot: string;
    /** findmnt's FSTYPE (ext4, xfs, zfs, nfs4, fuse.sshfs...), or `stat -f`'s name when findmnt had none. */
    fsType: string;
    source: string;
    mountPoint: string;
    options: string[];
    /** xfs only: 1 when the filesystem records file types (d_type), which overlay2 needs. */
    xfsFtype?: number;
}

export interface DockerStorageObserved {
    /** daemon.json's raw bytes, or undefined when there is no such file. */
    daemonJson?: Buffer;
    daemonJsonMode?: string;
    /** Set when the path exists but is not a regular file. */
    daemonJsonNotAFile: boolean;
    backup?: string;
    dropIn?: string;
    /** mainProcess: docker.service's main process as "<pid>@<start, µs since boot>", "" when it has none. */
    systemd: { present: boolean; unitLoaded: boolean; activeState: string; needDaemonReload: boolean; mainProcess: string };
    /** `version` only when Docker is not running (then docker info has it). */
    dockerd: { installed: boolean; version: string };
    /** Undefined when Docker is not running (or does not answer). */
    info?: DockerInfo;
    backing: BackingFilesystem;
    fuse: { binary: boolean; device: boolean };
}

/**
 * The read of the host. `knownDaemon`: the read before an apply, whose `docker info` still holds when
 * the daemon running now is the same process (same pid, same start): the read after an apply that did
 * not restart Docker then skips docker info (~1 s under emulation) and says "same" instead.
 */
export function observeScript(desired: DockerStorageDesired, knownDaemon?: DockerStorageObserved): Shell {
    const known = knownDaemon?.info !== undefined && knownDaemon.systemd.mainProcess !== "" ? knownDaemon.systemd.mainProcess : "";
    return sh`${DOCKER_API_FUNCTION}
f=${desired.daemonJsonPath}
b=${backupPathFor(desired.daemonJsonPath)}
d=${DROP_IN_PATH}
root=${wantedRoot(desired)}
${new Shell(section("daemon"))}
if [ -f "$f" ]; then echo present; stat -c %a -- "$f"; base64 -w0 -- "$f"; echo; elif [ -e "$f" ]; then echo notfile; else echo absent; fi
${new Shell(section("backup"))}
if [ -f "$b" ]; then echo present; base64 -w0 -- "$b"; echo; else echo absent; fi
${new Shell(section("dropin"))}
if [ -f "$d" ]; then echo present; base64 -w0 -- "$d"; echo; else echo absent; fi
${new Shell(section("systemd"))}
pzd_main=""; pzd_state=""
# systemctl without a running systemd (a container) is no systemd; any other failure fails the read with its words.
if command -v systemctl >/dev/null 2>&1; then
  echo systemctl=1
  # A Docker still starting (at boot, ~15 s under emulation) would read as stopped and be restarted for
  # nothing: asked again each second while it is activating. State and main process are parsed with
  # builtins only (systemctl's own order of properties may vary).
  i=0
  while :; do
    rc=0; out=$(systemctl show -p LoadState,ActiveState,NeedDaemonReload,MainPID,ExecMainStartTimestampMonotonic docker.service 2>&1) || rc=$?
    pzd_state=""; pzd_pid=""; pzd_start=""
    if [ "$rc" = 0 ]; then
      while IFS='=' read -r pzd_k pzd_v; do case $pzd_k in ActiveState) pzd_state=$pzd_v ;; MainPID) pzd_pid=$pzd_v ;; ExecMainStartTimestampMonotonic) pzd_start=$pzd_v ;; esac; done <<PZD_SYSTEMD
$out
PZD_SYSTEMD
    fi
    if [ "$pzd_state" != activating ] || [ "$i" -ge ${new Shell(String(OBSERVE_WAIT_SECONDS))} ]; then break; fi
    i=$((i+1)); sleep 1
  done
  if [ "$rc" = 0 ]; then [ -z "$out" ] || printf '%s\n' "$out"
    if [ -n "$pzd_pid" ] && [ "$pzd_pid" != 0 ]; then pzd_main="$pzd_pid@$pzd_start"; fi
  else case "$out" in *"not been booted with systemd"*|*"Failed to connect to bus: No such file"*|*"Failed to connect to bus: Host is down"*) echo running=0 ;;
    *) echo "systemctl exited $rc: reading docker.service failed; the tool said:" >&2; printf '%s\n' "$out" >&2; exit 69 ;; esac
  fi
else echo systemctl=0; fi
${new Shell(section("dockerd"))}
# The same answer as the systemd part's, so the main process and the state are of one moment.
pzd_active=0
if [ "$pzd_state" = active ]; then pzd_active=1; fi
# A running daemon tells its version in docker info; starting the dockerd binary costs ~1 s under emulation.
if command -v dockerd >/dev/null 2>&1; then echo installed=1; [ "$pzd_active" = 1 ] || echo "version=$(dockerd --version 2>/dev/null | head -n 1)"; else echo installed=0; fi
${new Shell(section("info"))}
# Only ask a running daemon: docker.socket would start a stopped one just to answer. Its API over the
# socket first (dockerApi.ts: ~0.3 s), the CLI (~1.1 s) when that client cannot ask. An active daemon
# that does not answer fails the read: read as "not running", it would be restarted on no facts.
# (--foreground: the step's own limit must reach docker too; its stdout goes out, its stderr is kept.)
if [ "$pzd_active" = 1 ] && [ -n ${known} ] && [ "$pzd_main" = ${known} ]; then
  echo ${SAME_DAEMON}
elif [ "$pzd_active" = 1 ]; then
  rc=0; pzd_docker_api /info || rc=$?
  if [ "$rc" = 0 ]; then echo
  elif [ "$rc" = ${new Shell(String(DOCKER_API_TIMEOUT_EXIT))} ]; then echo "Docker's API (${new Shell(DOCKER_SOCKET)}) did not answer GET /info within ${new Shell(String(DOCKER_API_TIMEOUT_SECONDS))} s, although docker.service is active" >&2; exit 69
  else
    rc=0; { err=$(timeout --foreground ${new Shell(String(DOCKER_API_TIMEOUT_SECONDS))} docker info --format '{{json .}}' 2>&1 >&3 3>&-) || rc=$?; } 3>&1
    if [ "$rc" = 124 ]; then echo "docker info did not answer within ${new Shell(String(DOCKER_API_TIMEOUT_SECONDS))} s, although docker.service is active" >&2; exit 69; fi
    if [ "$rc" != 0 ]; then echo "docker exited $rc: docker info failed, although docker.service is active; it said:" >&2; printf '%s\n' "$err" >&2; exit 69; fi
  fi
fi
${new Shell(section("backing"))}
p=$root; while [ ! -e "$p" ]; do p=$(dirname -- "$p"); done
echo "path=$p"
echo "resolved=$(readlink -m -- "$root")"
echo "stat=$(stat -f -c %T -- "$p" 2>/dev/null || true)"
${new Shell(section("mount"))}
findmnt -n -P -T "$p" -o FSTYPE,SOURCE,TARGET,OPTIONS 2>/dev/null | head -n 1 || true
${new Shell(section("xfs"))}
if [ "$(findmnt -n -o FSTYPE -T "$p" 2>/dev/null | head -n 1 || true)" = xfs ]; then xfs_info "$(findmnt -n -o TARGET -T "$p" | head -n 1)" 2>/dev/null | grep -o 'ftype=[01]' | head -n 1 || true; fi
${new Shell(section("fuse"))}
if command -v fuse-overlayfs >/dev/null 2>&1; then echo binary=1; else echo binary=0; fi
if [ -e /dev/fuse ]; then echo device=1; else echo device=0; fi`;
}

/** A file read as `present` + base64, or `absent`. */
function fileSection(text: string, raw: string, what: string): { present: boolean; lines: string[] } {
    const lines = text.split("\n");
    if (lines[0] === "absent" || lines[0] === "notfile") return { present: false, lines };
    if (lines[0] !== "present") throw new ParseError(what, raw);
    return { present: true, lines };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function parseDockerInfo(text: string): DockerInfo | undefined {
    const json = text.trim();
    if (!json) return undefined;
    let info: { Driver?: string; DockerRootDir?: string; DriverStatus?: [string, string][] | null; ServerVersion?: string; ContainersRunning?: number; ServerErrors?: string[] };
    try {
        info = JSON.parse(json);
    } catch {
        throw new ParseError("`docker info --format '{{json .}}'`", json);
    }
    if (!info.Driver || (info.ServerErrors?.length ?? 0) > 0) return undefined;
    return {
        driver: info.Driver,
        rootDir: info.DockerRootDir ?? "",
        backingFilesystem: (info.DriverStatus ?? []).find((s) => s[0] === "Backing Filesystem")?.[1],
        serverVersion: info.ServerVersion ?? "",
        containersRunning: info.ContainersRunning ?? 0,
    };
}

/** What the read prints instead of docker info when the daemon is the one `knownDaemon` read. */
const SAME_DAEMON = "pzd-same-daemon";

function sameDaemonInfo(knownDaemon: DockerStorageObserved | undefined, raw: string): DockerInfo {
    if (knownDaemon?.info === undefined) throw new ParseError("docker info (the host says the daemon is unchanged, but no earlier read of it was given)", raw);
    return knownDaemon.info;
}

/** `knownDaemon`: the read the script was made with (observeScript's), whose docker info a "same daemon" answer reuses. */
export function parseObserved(raw: string, knownDaemon?: DockerStorageObserved): DockerStorageObserved {
    const sections = splitSections(raw);
    const infoText = requireSection(sections, "info", raw);
    const daemon = fileSection(requireSection(sections, "daemon", raw), raw, "the daemon.json part of a host's answer");
    const backup = fileSection(requireSection(sections, "backup", raw), raw, "the backup part of a host's answer");
    const dropIn = fileSection(requireSection(sections, "dropin", raw), raw, "the drop-in part of a host's answer");
    const systemdText = requireSection(sections, "systemd", raw);
    const systemd = parseKeyValues(systemdText);
    const systemdRuns = systemd.systemctl === "1" && systemd.running !== "0";
    if (systemdRuns && (systemd.LoadState === undefined || systemd.ActiveState === undefined)) {
        throw new ParseError("`systemctl show -p LoadState,ActiveState,NeedDaemonReload docker.service` output (no LoadState or ActiveState)", systemdText);
    }
    const dockerd = parseKeyValues(requireSection(sections, "dockerd", raw));
    const backing = parseKeyValues(requireSection(sections, "backing", raw));
    const mount = parseFindmntPairs(requireSection(sections, "mount", raw));
    const ftype = /ftype=([01])/.exec(requireSection(sections, "xfs", raw));
    const fuse = parseKeyValues(requireSection(sections, "fuse", raw));
    if (!backing.path) throw new ParseError("the data root's filesystem", raw);
    return {
        daemonJson: daemon.present ? Buffer.from(daemon.lines[2] ?? "", "base64") : undefined,
        daemonJsonMode: daemon.present ? daemon.lines[1] : undefined,
        daemonJsonNotAFile: daemon.lines[0] === "notfile",
        backup: backup.present ? Buffer.from(backup.lines[1] ?? "", "base64").toString("utf8") : undefined,
        dropIn: dropIn.present ? Buffer.from(dropIn.lines[1] ?? "", "base64").toString("utf8") : undefined,
        systemd: {
            present: systemdRuns,
            unitLoaded: systemd.LoadState === "loaded",
            activeState: systemd.ActiveState ?? "",
            needDaemonReload: systemd.NeedDaemonReload === "yes",
            mainProcess: systemd.MainPID !== undefined && systemd.MainPID !== "0" ? `${systemd.MainPID}@${systemd.ExecMainStartTimestampMonotonic ?? ""}` : "",
        },
        dockerd: { installed: dockerd.installed === "1", version: dockerd.version ?? "" },
        info: infoText.trim() === SAME_DAEMON ? sameDaemonInfo(knownDaemon, raw) : parseDockerInfo(infoText),
        backing: {
            path: backing.path,
            resolvedRoot: backing.resolved || backing.path,
            fsType: mount.FSTYPE || backing.stat || "",
            source: mount.SOURCE ?? "",
            mountPoint: mount.TARGET ?? "",
            options: (mount.OPTIONS ?? "").split(",").filter(Boolean),
            xfsFtype: ftype ? Number(ftype[1]) : undefined,
        },
        fuse: { binary: fuse.binary === "1", device: fuse.device === "1" },
    };
}

/** daemon.json as text; refused when it is not UTF-8, since rewriting it would corrupt it. */
export function daemonJsonText(observed: DockerStorageObserved, path: string): string | undefined {
    if (observed.daemonJsonNotAFile) {
        throw new RefusedError(`${path} on the host exists but is not a regular file; refusing to replace it. Remove it or set daemonJsonPath, then run again.`);
    }
    if (observed.daemonJson === undefined) return undefined;
    try {
        return utf8.decode(observed.daemonJson);
    } catch {
        throw new RefusedError(`${path} on the host is not valid UTF-8, so it is not valid JSON either; refusing to overwrite it. Fix the file by hand, then run again.`);
    }
}

export function parseDropIn(text: string): string[] {
    return text
        .split("\n")
        .filter((l) => l.startsWith("RequiresMountsFor="))
        .flatMap((l) => l.slice("RequiresMountsFor=".length).trim().split(/\s+/))
        .filter(Boolean);
}
