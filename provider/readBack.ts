/**
 * An apply and the read that verifies it, in one round trip. The apply runs in a subshell, so its EXIT
 * traps (restarting the Docker units it stopped, removing temp files) have run before the read looks;
 * the read runs in another, under `set -eu` as when it is sent alone. Their outputs are
 * split at a marker no command can print by chance. A read that fails here is not an apply failure:
 * `split` then says so and the caller reads again on its own, for the error that read gives.
 */
import { randomBytes } from "crypto";
import { subshell } from "./host/script";
import { Shell, shellQuote } from "./host/quote";

export interface ReadBack {
    script: Shell;
    /** The apply's stdout, and the read's when it succeeded (byte for byte as if run alone). */
    split(stdout: string): { applied: string; read?: string };
}

export function withReadBack(apply: Shell, read: Shell, marker = `pzd-read-back-${randomBytes(8).toString("hex")}`): ReadBack {
    // The read's subshell sets -e itself, outside any `||` (where the shell would ignore -e inside it).
    const script = new Shell(
        [
            subshell(apply),
            `printf '\\n%s\\n' ${shellQuote(marker)}`,
            "set +e",
            subshell(`set -e\n${read.text}`),
            "pzd_read_rc=$?",
            "set -e",
            `printf '\\n%s=%s\\n' ${shellQuote(`${marker}-exit`)} "$pzd_read_rc"`,
        ].join("\n"),
    );
    const split = (stdout: string) => {
        const start = stdout.indexOf(`\n${marker}\n`);
        if (start < 0) return { applied: stdout };
        const applied = stdout.slice(0, start);
        const rest = stdout.slice(start + marker.length + 2);
        const trailer = new RegExp(`\\n${marker}-exit=(\\d+)\\n$`).exec(rest);
        if (!trailer) return { applied };
        return trailer[1] === "0" ? { applied, read: rest.slice(0, trailer.index) } : { applied };
    };
    return { script, split };
}
