/**
 * Replacing a file on a host without ever losing a concurrent edit or leaving half a file: the
 * script stops unless the file is still what the plan was computed from, and the new content goes to
 * a temporary file in the same directory, flushed, then renamed over the old one.
 */
import { sh, Shell } from "../host/quote";

/** Shell functions: `pzd_write path base64 mode-if-new` and `pzd_unchanged path sha256|absent`. */
export const FILE_FUNCTIONS = new Shell(`pzd_write() {
  # $1 path, $2 content as base64, $3 mode when the file is new: temp file in the same directory,
  # flushed, then renamed over the old one, so a crash leaves the old file or the new one, never half.
  mkdir -p -- "$(dirname -- "$1")"
  t=$(mktemp -- "$1.pzd-XXXXXX")
  if ! { printf '%s' "$2" | base64 -d >"$t" &&
         if [ -e "$1" ]; then chmod --reference="$1" -- "$t" && chown --reference="$1" -- "$t"; else chmod "$3" -- "$t"; fi &&
         sync -- "$t" && mv -f -- "$t" "$1" && sync -- "$(dirname -- "$1")"; }; then
    rm -f -- "$t"; return 1
  fi
}
pzd_unchanged() {
  # $1 path, $2 its sha256 when it was read, or "absent".
  if [ "$2" = absent ]; then [ ! -e "$1" ]; else [ -f "$1" ] && [ "$(sha256sum <"$1" | cut -d ' ' -f 1)" = "$2" ]; fi
}`);

/** Stops the script (exit 75) when the file changed since it was read; `sha` undefined = it was absent. Needs FILE_FUNCTIONS. */
export function unchangedGuard(path: string, sha: string | undefined, message = `${path} changed on the host since it was read; nothing was written. Run again.`): Shell {
    return sh`if ! pzd_unchanged ${path} ${sha ?? "absent"}; then printf '%s\\n' ${message} >&2; exit 75; fi`;
}
