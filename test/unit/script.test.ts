import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { frameScript, remoteCommand, SCRIPT_PREAMBLE } from "../../provider/host/script";
import { runShell } from "./realShell";

/** Debian's sh is dash; RHEL-likes run bash as sh. Both must behave the same for our framing. */
const SHELLS = ["dash", "bash"].filter((s) => fs.existsSync(`/bin/${s}`) || fs.existsSync(`/usr/bin/${s}`));

/** What a host does with a script: `sh -s` reading it from stdin. */
function runScript(shell: string, script: string, env: NodeJS.ProcessEnv = process.env) {
    return runShell(`exec ${shell} -s`, { input: script, env });
}

describe("host/script", () => {
    it("has both shells to run the framing against", () => {
        assert.deepEqual(SHELLS, ["dash", "bash"]);
    });

    describe("frameScript", () => {
        it("puts the preamble first and the body in one brace group reading /dev/null", () => {
            const framed = frameScript("echo hi");
            assert.ok(framed.startsWith(SCRIPT_PREAMBLE));
            assert.ok(SCRIPT_PREAMBLE.startsWith("set -eu\n"));
            assert.ok(framed.endsWith("{\n:\necho hi\n} </dev/null\n"));
        });

        it("control: without the framing, bash lets a `cat` in the script eat the rest of the script", () => {
            // Proves the next test can fail: this is the hazard the framing exists for.
            const run = runScript("bash", "cat\necho after\n");
            assert.equal(run.stdout, "echo after\n");
        });

        for (const shell of SHELLS) {
            describe(`under ${shell} -s`, () => {
                it("a command reading stdin inside the script cannot read the rest of the script", () => {
                    const run = runScript(shell, frameScript("cat\necho after"));
                    assert.equal(run.status, 0, run.stderr);
                    assert.equal(run.stdout, "after\n");
                });

                it("holds for a script far larger than the shell's read buffer", () => {
                    const filler = ": filler line to push the script past any read buffer\n".repeat(1500);
                    const run = runScript(shell, frameScript(`cat\n${filler}echo after`));
                    assert.equal(run.status, 0, run.stderr);
                    assert.equal(run.stdout, "after\n");
                });

                it("stops at the first failing command (set -e) and reports its status", () => {
                    const run = runScript(shell, frameScript("echo one\nfalse\necho two"));
                    assert.equal(run.stdout, "one\n");
                    assert.notEqual(run.status, 0);
                });

                it("refuses unset variables (set -u)", () => {
                    const run = runScript(shell, frameScript('echo "$pzd_never_set"\necho reached'));
                    assert.notEqual(run.status, 0);
                    assert.equal(run.stdout, "");
                });

                it("runs with the C locale and sbin on PATH, whatever the login shell had", () => {
                    const run = runScript(shell, frameScript('printf "%s|%s|%s\\n" "$LC_ALL" "$LANG" "$PATH"'), { PATH: "/usr/bin:/bin", LANG: "de_DE.UTF-8", LC_ALL: "de_DE.UTF-8" });
                    const [lcAll, lang, pathVar] = run.stdout.trim().split("|");
                    assert.equal(lcAll, "C");
                    assert.equal(lang, "C");
                    assert.ok(pathVar.split(":").includes("/usr/sbin") && pathVar.split(":").includes("/sbin"), pathVar);
                });

                it("frames an empty body and a body ending in a comment without a newline", () => {
                    assert.equal(runScript(shell, frameScript("")).status, 0);
                    const run = runScript(shell, frameScript("echo hi # the closing brace must not end up in this comment"));
                    assert.equal(run.status, 0, run.stderr);
                    assert.equal(run.stdout, "hi\n");
                });
            });
        }
    });

    describe("remoteCommand", () => {
        it("without sudo: plain sh -s, nothing before the script", () => {
            assert.deepEqual(remoteCommand({ sudo: false }), { command: "sh -s", stdinPrefix: "" });
        });

        it("sudo without a password: sudo -n, so a password prompt fails fast instead of hanging", () => {
            assert.deepEqual(remoteCommand({ sudo: true }), { command: "sudo -n -- sh -s", stdinPrefix: "" });
        });

        it("ignores sudoPassword when sudo is false (the schema refuses that combination)", () => {
            assert.deepEqual(remoteCommand({ sudo: false, sudoPassword: "secret" }), { command: "sh -s", stdinPrefix: "" });
        });

        it("with a password: the password is only the first line of stdin, never in the command", () => {
            const password = `p4'ss"w$(rd)\`x\``;
            const { command, stdinPrefix } = remoteCommand({ sudo: true, sudoPassword: password });
            assert.equal(stdinPrefix, password + "\n");
            assert.ok(!command.includes(password));
            assert.ok(!command.includes("p4"));
            assert.match(command, /^sh -c '/);
            assert.match(command, /sudo -A -p "" -- sh -s/);
        });

        it("refuses a password with a newline: it would end the first stdin line early", () => {
            assert.throws(() => remoteCommand({ sudo: true, sudoPassword: "a\nb" }), /sudoPassword cannot contain a newline/);
        });

        describe("the askpass wrapper, run by a real shell with a recording sudo", () => {
            let dir: string;
            let log: string;
            const FAKE_SUDO = `#!/bin/sh
# Records argv and what the askpass helper prints (as sudo -A would ask it), then runs the command.
{ printf 'argv:'; printf ' [%s]' "$@"; printf '\\n'; } >>"$PZD_SUDO_LOG"
if [ "$1" = -A ]; then
  printf 'askpass-file:%s\\n' "$SUDO_ASKPASS" >>"$PZD_SUDO_LOG"
  pw=$("$SUDO_ASKPASS") || exit 1
  printf '%s' "$pw" >"$PZD_SUDO_LOG.pw"
fi
while [ "$1" != -- ]; do shift; done; shift
exec "$@"
`;
            before(() => {
                dir = fs.mkdtempSync(path.join(os.tmpdir(), "pzd-sudo-"));
                fs.mkdirSync(path.join(dir, "bin"));
                fs.writeFileSync(path.join(dir, "bin", "sudo"), FAKE_SUDO, { mode: 0o755 });
                log = path.join(dir, "log");
            });
            beforeEach(() => {
                fs.writeFileSync(log, "");
                fs.rmSync(log + ".pw", { force: true });
            });
            after(() => fs.rmSync(dir, { recursive: true, force: true }));

            /** Exactly what LocalHost does: sh -c <command>, stdin = prefix + framed script. */
            function runAsHost(password: string | undefined, body: string) {
                const { command, stdinPrefix } = remoteCommand({ sudo: true, sudoPassword: password });
                return runShell(command, {
                    input: stdinPrefix + frameScript(body),
                    env: { PATH: `${path.join(dir, "bin")}:/usr/bin:/bin`, PZD_SUDO_LOG: log, TMPDIR: dir },
                });
            }

            const passwords: Array<[string, string]> = [
                ["quotes and $", `a'b"c$(id)$HOME\`x\``],
                ["backslashes (read -r)", "a\\nb\\c\\"],
                ["leading and trailing spaces (IFS=)", "  spaced out  "],
                ["only a dash", "-"],
                ["a percent sign (printf format)", "100%s%d%%"],
            ];
            for (const [what, password] of passwords) {
                it(`hands a password with ${what} to sudo's askpass byte-identical`, () => {
                    const run = runAsHost(password, "echo ran");
                    assert.equal(run.status, 0, run.stderr);
                    assert.equal(fs.readFileSync(log + ".pw", "utf8"), password);
                    assert.equal(run.stdout, "ran\n");
                });
            }

            it("never puts the password in sudo's argv, and removes the askpass helper afterwards", () => {
                const password = "hunter2-secret";
                const run = runAsHost(password, "echo ran");
                assert.equal(run.status, 0, run.stderr);
                const recorded = fs.readFileSync(log, "utf8");
                assert.match(recorded, /^argv: \[-A\] \[-p\] \[\] \[--\] \[sh\] \[-s\]$/m);
                assert.ok(!recorded.includes(password));
                const helper = /^askpass-file:(.*)$/m.exec(recorded)?.[1];
                assert.ok(helper && helper.startsWith(dir), `askpass helper ${helper} should be made under TMPDIR`);
                assert.equal(fs.existsSync(helper), false, "the askpass helper must be gone after the run");
                assert.ok(!fs.readdirSync(dir).some((f) => f.startsWith("tmp.")), "no temporary file left behind");
            });

            it("consumes only the password line: the script after it runs whole, and its cat reads nothing", () => {
                const run = runAsHost("pw", "cat\necho after");
                assert.equal(run.status, 0, run.stderr);
                assert.equal(run.stdout, "after\n");
            });

            it("without a password runs `sudo -n -- sh -s` with the framed script on stdin", () => {
                const run = runAsHost(undefined, "echo ran");
                assert.equal(run.status, 0, run.stderr);
                assert.equal(run.stdout, "ran\n");
                assert.equal(fs.readFileSync(log, "utf8"), "argv: [-n] [--] [sh] [-s]\n");
            });
        });
    });
});
