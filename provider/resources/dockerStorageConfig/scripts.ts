/**
 * The shell DockerStorageConfig's plans run: daemon.json and drop-in writes that stop when the file
 * changed since it was read, and Docker restarts that check `docker info` and put the old file back.
 */
import { sh, Shell, shellQuote } from "../../host/quote";
import { sha256 } from "../../shared/digest";
import { FILE_FUNCTIONS, unchangedGuard } from "../../shared/files";
import { DOCKER_API_FUNCTION, DOCKER_API_TIMEOUT_EXIT, DOCKER_API_TIMEOUT_SECONDS } from "./dockerApi";
import { backupPathFor, DROP_IN_PATH, START_TIMEOUT_SECONDS, wantedRoot, type DockerStorageDesired } from "./schema";
import type { DockerStorageObserved } from "./facts";

const base64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

// The three fields the restart checks, from /info's JSON without a JSON module; anything unexpected
// (a field missing or twice, a value with an escaped character, which no pattern matches) exits 1 and
// the CLI answers instead.
const STORAGE_FIELDS_PERL = String.raw`my @d = /"Driver":"([^"\\]*)"/g; my @r = /"DockerRootDir":"([^"\\]*)"/g;
my @b = /\["Backing Filesystem","([^"\\]*)"\]/g;
@d == 1 && @r == 1 && @b <= 1 or exit 1; print "$d[0]|$r[0]|", (@b ? $b[0] : ""), "\n"`;

/** Docker stop/start, for the actions that restart it. */
const DOCKER_FUNCTIONS = new Shell(`pzd_stop_docker() {
  # Both units: with the socket left active, the next client would start the daemon again.
  systemctl stop docker.socket docker.service
}
pzd_start_docker() {
  systemctl reset-failed docker.service docker.socket >/dev/null 2>&1 || true
  # --foreground keeps them in the step's process group, so the step's own time limit stops them too.
  timeout --foreground ${START_TIMEOUT_SECONDS} systemctl start docker.socket docker.service || return 1
  i=0
  until pzd_docker_up; do
    i=$((i+1)); [ "$i" -lt 60 ] || return 1; sleep 1
  done
}
# Up means its API answers: a ping over the socket (~0.2 s), else the CLI (~1.1 s) only when that client
# cannot ask. A ping the alarm ended met a daemon that took the connection and kept silent: the CLI
# would wait as long again on the same daemon, so that try ends there.
pzd_docker_up() {
  pzd_rc=0; pzd_docker_api /_ping >/dev/null || pzd_rc=$?
  [ "$pzd_rc" = 0 ] && return 0
  [ "$pzd_rc" = ${DOCKER_API_TIMEOUT_EXIT} ] && return 1
  timeout --foreground ${DOCKER_API_TIMEOUT_SECONDS} docker info >/dev/null 2>&1
}
# "driver|root|backing filesystem" of the running daemon: from GET /info (~0.3 s) when each appears
# once as a plain JSON string (no escapes: Go writes <>& as \\u escapes), else from the CLI (~1.1 s).
# Status 142: the daemon took the connection and did not answer.
pzd_docker_storage() {
  pzd_rc=0; pzd_info=$(pzd_docker_api /info) || pzd_rc=$?
  [ "$pzd_rc" = ${DOCKER_API_TIMEOUT_EXIT} ] && return ${DOCKER_API_TIMEOUT_EXIT}
  if [ "$pzd_rc" = 0 ] && printf '%s' "$pzd_info" | perl -0777 -ne '${STORAGE_FIELDS_PERL}'; then return 0; fi
  timeout --foreground ${DOCKER_API_TIMEOUT_SECONDS} docker info --format '{{.Driver}}|{{.DockerRootDir}}|{{range .DriverStatus}}{{if eq (index . 0) "Backing Filesystem"}}{{index . 1}}{{end}}{{end}}' 2>/dev/null || true
}
pzd_docker_errors() {
  journalctl -u docker.service -n 30 --no-pager -o cat 2>/dev/null | grep -E 'level=(error|fatal)|failed to start|Error' | tail -n 3 || true
}`);

/** Shell functions the actions share: atomic write, "unchanged since read", Docker stop/start. */
export const FUNCTIONS = sh`${FILE_FUNCTIONS}\n${DOCKER_API_FUNCTION}\n${DOCKER_FUNCTIONS}`;

/** The name Docker prints as "Backing Filesystem" for a findmnt type, where we know it. */
const DOCKER_FS_NAMES: Record<string, string> = { ext2: "extfs", ext3: "extfs", ext4: "extfs", "ext2/ext3": "extfs", xfs: "xfs", tmpfs: "tmpfs", f2fs: "f2fs" };

/** Stops the script when someone changed the file between our read and our write. */
function unchangedSinceRead(path: string, before: Buffer | undefined): Shell {
    return unchangedGuard(path, before === undefined ? undefined : sha256(before));
}

/**
 * How a new daemon.json is judged before it is written: `dockerd --validate` (Docker 23+ has it);
 * "ask" dockerd first whether it has it, when the version read is unknown (asking starts the dockerd
 * binary, ~1.4 s under emulation); or "none" (an older Docker, or a restore of the user's own keys,
 * which is put back as it was, not judged).
 */
export type DaemonJsonCheck = "validate" | "ask" | "none";

/** The check a Docker of this version (docker info's ServerVersion, or `dockerd --version`) allows. */
export function daemonJsonCheckFor(version: string): DaemonJsonCheck {
    const major = /(\d+)\.\d+/.exec(version)?.[1];
    if (major === undefined) return "ask";
    return Number(major) >= 23 ? "validate" : "none";
}

/** Writes daemon.json, refusing if someone changed it since it was read, judged first as `check` says. */
export function writeDaemonJsonScript(path: string, before: Buffer | undefined, next: string | undefined, check: DaemonJsonCheck = "ask"): Shell {
    const guard = unchangedSinceRead(path, before);
    if (next === undefined) {
        return sh`${guard}\nrm -f -- ${path}`;
    }
    if (check === "none") {
        return sh`${guard}\npzd_write ${path} ${base64(next)} 644`;
    }
    const hasValidate = check === "validate" ? sh`command -v dockerd >/dev/null 2>&1` : sh`command -v dockerd >/dev/null 2>&1 && dockerd --help 2>&1 | grep -q -- '--validate'`;
    const validation = sh`if ${hasValidate}; then
  v=$(mktemp)
  printf '%s' ${base64(next)} | base64 -d >"$v"
  if ! out=$(dockerd --validate --config-file "$v" 2>&1); then rm -f -- "$v"; printf '%s\\n' "$out" >&2; echo ${`dockerd --validate rejects the new ${path} (its words are above); nothing was changed. Fix the inputs, then run again.`} >&2; exit 65; fi
  rm -f -- "$v"
fi
`;
    return sh`${guard}\n${validation}pzd_write ${path} ${base64(next)} 644`;
}

export function restartScript(desired: DockerStorageDesired, observed: DockerStorageObserved, rollback: Shell | undefined): Shell {
    const wantBacking = desired.storageDriver === "overlay2" ? (DOCKER_FS_NAMES[observed.backing.fsType] ?? "") : "";
    const headline = `Docker did not come up with storage-driver ${desired.storageDriver} at ${wantedRoot(desired)}: `;
    const fail = rollback
        ? sh`echo ${`Restoring the previous ${desired.daemonJsonPath} and restarting Docker with it.`} >&2
pzd_stop_docker || true
${rollback}
if ! pzd_start_docker; then echo ${"Docker did not start with the previous configuration either: see journalctl -u docker.service."} >&2; fi
printf '%s%s%s\\n' ${headline} "$problem" ${". Docker said:"} >&2
printf '%s\\n' "$errors" >&2
echo ${`The previous ${desired.daemonJsonPath} is back in place. Fix the cause (journalctl -u docker.service shows the whole log), then run again.`} >&2
exit 1`
        : sh`printf '%s%s%s\\n' ${headline} "$problem" ${". Docker said:"} >&2
printf '%s\\n' "$errors" >&2
echo ${"Fix the cause (journalctl -u docker.service shows the whole log), then run again."} >&2
exit 1`;
    // Stopped by the step's time limit (a hung systemctl or docker), it still keeps its promise: the
    // previous file goes back before the step ends (the framing's TERM; KILL comes 10 s later).
    const onTimeout = rollback
        ? sh`trap ${`${rollback.text}; echo ${shellQuote(`Stopped by the time limit while restarting Docker: the previous ${desired.daemonJsonPath} is back in place; Docker may be stopped (systemctl status docker).`)} >&2; exit 143`} TERM\n`
        : new Shell("");
    return sh`want_driver=${desired.storageDriver}
want_root=$(readlink -m -- ${wantedRoot(desired)})
want_backing=${wantBacking}
problem=""
${onTimeout}pzd_stop_docker
if pzd_start_docker; then
  rc=0; got=$(pzd_docker_storage) || rc=$?
  driver=\${got%%|*}; rest=\${got#*|}; root=\${rest%%|*}; backing=\${rest#*|}
  # Without an answer there is no driver or root to compare: that is the whole problem.
  if [ "$rc" != 0 ]; then problem="its API did not answer GET /info within ${new Shell(String(DOCKER_API_TIMEOUT_SECONDS))} s"
  else
    if [ "$driver" != "$want_driver" ]; then problem="it runs the '$driver' storage driver"; fi
    if [ "$root" != "$want_root" ]; then problem="\${problem:+$problem, }its root is '$root'"; fi
    if [ -n "$want_backing" ] && [ "$driver" = "$want_driver" ] && [ "$backing" != "$want_backing" ]; then problem="\${problem:+$problem, }its backing filesystem is '$backing', not '$want_backing'"; fi
  fi
else
  problem="it did not start, or did not answer within ${new Shell(String(START_TIMEOUT_SECONDS))} s"
fi
if [ -n "$problem" ]; then
  journalctl -u docker.service -n 30 --no-pager -o cat >&2 2>/dev/null || true
  errors=$(pzd_docker_errors)
${fail}
fi
trap 'exit 143' TERM`;
}

/** Keeps daemon.json as it was before our first change, for delete to restore; stops if it changed since it was read. */
export function writeBackupScript(path: string, before: Buffer | undefined, backup: string): Shell {
    return sh`${unchangedSinceRead(path, before)}\npzd_write ${backupPathFor(path)} ${base64(backup)} 600`;
}

/** What a failed restart runs to put daemon.json back as it was read. */
export function rollbackScript(path: string, before: Buffer | undefined): Shell {
    return before === undefined ? sh`rm -f -- ${path}` : sh`pzd_write ${path} ${before.toString("base64")} 644`;
}

export function renderDropIn(paths: readonly string[]): string {
    return (
        "# Written by pulumi-zfs-docker (DockerStorageConfig): Docker starts only once these are mounted,\n" +
        "# never on the empty directory under a mount point whose filesystem is missing.\n" +
        "[Unit]\n" +
        `RequiresMountsFor=${paths.join(" ")}\n`
    );
}

export function writeDropInScript(dropIn: string): Shell {
    return sh`pzd_write ${DROP_IN_PATH} ${base64(dropIn)} 644\nsystemctl daemon-reload`;
}

export function removeDropInScript(): Shell {
    return sh`rm -f -- ${DROP_IN_PATH}\nsystemctl daemon-reload`;
}

/**
 * Restarts Docker after delete restored daemon.json. A Docker that does not come up is left stopped
 * with a warning rather than failing the delete.
 */
export function restartRestoredScript(path: string): Shell {
    return sh`pzd_stop_docker
if ! pzd_start_docker; then
  journalctl -u docker.service -n 30 --no-pager -o cat >&2 2>/dev/null || true
  pzd_docker_errors >&2
  # The delete itself is done (the file is restored); failing it would block every destroy. The usual
  # cause is a data root that is still mounted or not moved back yet (FstabEntry's delete comes next).
  pzd_stop_docker || true
  echo ${`pzd-warning: Docker did not start with the restored ${path} and is left stopped (journal: journalctl -u docker). The file is as it was before pulumi-zfs-docker changed it; if its data root was moved aside, move it back, then start Docker (systemctl start docker).`}
fi`;
}
