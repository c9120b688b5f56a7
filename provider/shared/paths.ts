/**
 * Absolute paths as inputs. One rule set for every path input; `plain` adds the narrow character set
 * for paths written into daemon.json and systemd units, where spaces, quotes, '%' or '\' would need
 * escaping of their own.
 */
import { z } from "zod";

const PLAIN_CHARACTERS = /^[A-Za-z0-9._@+:=,/-]+$/;

export function absolutePath(what: string, example: string, options: { plain?: boolean } = {}) {
    return z.string().superRefine((p, ctx) => {
        const problem = !p.startsWith("/")
            ? `${what} must be an absolute path such as ${example}, got ${JSON.stringify(p)}`
            : p === "/"
              ? `${what} cannot be /`
              : options.plain && !PLAIN_CHARACTERS.test(p)
                ? `${what} ${JSON.stringify(p)} has characters other than letters, digits and . _ - + @ : = , /; it is written into daemon.json and a systemd unit, where spaces, quotes, ';', '$', '%' or '\\' would need escaping. Choose a plainer path.`
                : p.endsWith("/")
                  ? `write ${what} without the trailing '/': ${p.replace(/\/+$/, "") || "/"}`
                  : p.includes("//")
                    ? `${what} ${JSON.stringify(p)} has an empty component ('//'): write ${p.replace(/\/+/g, "/")}`
                    : p.split("/").some((c) => c === "." || c === "..")
                      ? `${what} ${JSON.stringify(p)} has a '.' or '..' component: write the real path`
                      : p.includes("\0")
                        ? `${what} cannot contain a NUL byte`
                        : Buffer.byteLength(p) > 4095
                          ? `${what} is longer than 4095 bytes (PATH_MAX)`
                          : undefined;
        if (problem) ctx.addIssue({ code: "custom", message: problem });
    });
}
