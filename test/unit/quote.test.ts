import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { commandLine, sh, Shell, shellQuote } from "../../provider/host/quote";
import { runShell, wordsOf } from "./realShell";

/** Words that would end a command, start another, expand or glob if they were not quoted. */
const HOSTILE: Array<[string, string]> = [
    ["a semicolon", "tank/x; reboot"],
    ["a command substitution", "$(reboot)"],
    ["backticks", "`reboot`"],
    ["spaces, leading and trailing", "  tank/a b  "],
    ["a single quote", "it's"],
    ["only single quotes", "'''"],
    ["double quotes", 'say "hi"'],
    ["a newline", "line1\nline2"],
    ["a trailing newline", "value\n"],
    ["a tab", "a\tb"],
    ["a glob star", "*"],
    ["a bracket glob", "[a-z]*"],
    ["a leading dash", "-rf"],
    ["a variable", "$HOME"],
    ["a braced variable with default", "${PZD_X:-boom}"],
    ["a backslash", "a\\b\\"],
    ["a tilde", "~root"],
    ["a comment sign", "#not a comment"],
    ["pipes and redirections", "a|b>c<d&&e||f&"],
    ["an empty word", ""],
    ["non-ASCII text", "zvol-é-雪"],
    ["an equals sign", "compression=lz4"],
];

describe("host/quote", () => {
    // A directory with files in it, so an unquoted glob would visibly expand.
    let globDir: string;
    before(() => {
        globDir = fs.mkdtempSync(path.join(os.tmpdir(), "pzd-quote-"));
        fs.writeFileSync(path.join(globDir, "a-file"), "");
        fs.writeFileSync(path.join(globDir, "b-file"), "");
    });
    after(() => fs.rmSync(globDir, { recursive: true, force: true }));

    describe("shellQuote", () => {
        for (const [what, word] of HOSTILE) {
            it(`keeps a word with ${what} byte-identical through /bin/sh`, () => {
                assert.deepEqual(wordsOf(shellQuote(word), globDir), [word]);
            });
        }

        it("leaves plain words readable (names, options, key=value)", () => {
            assert.equal(shellQuote("tank/docker"), "tank/docker");
            assert.equal(shellQuote("pulumi-zfs-docker:managed=true"), "pulumi-zfs-docker:managed=true");
            assert.equal(shellQuote("-V"), "-V");
            assert.equal(shellQuote(4096), "4096");
        });

        it("quotes the empty string as '' so it stays one (empty) argument", () => {
            assert.equal(shellQuote(""), "''");
            assert.deepEqual(wordsOf(`a ${shellQuote("")} b`), ["a", "", "b"]);
        });

        it("refuses a NUL byte instead of letting the kernel truncate the word", () => {
            assert.throws(() => shellQuote("tank/x\0; reboot"), /NUL/);
        });

        it("leaves a leading dash as data: commands must still be given `--` (quoting cannot stop option parsing)", () => {
            // Documented limit: shellQuote("-rf") is "-rf". The resources rely on validation
            // (names start with a letter, devices with /dev/) for this, not on quoting.
            assert.equal(shellQuote("-rf"), "-rf");
        });
    });

    describe("commandLine", () => {
        it("turns argv into one line that a shell splits back into the same argv", () => {
            const argv = ["zfs", "set", "compression=lz4; reboot", "tank/a b", "", "$(id)", "it's", "x\ny", "*"];
            assert.deepEqual(wordsOf(commandLine(argv), globDir), argv);
        });

        it("accepts numbers as words", () => {
            assert.equal(commandLine(["zfs", "create", "-V", 1073741824, "tank/x"]), "zfs create -V 1073741824 tank/x");
        });

        it("refuses an empty argv (there is no command to run)", () => {
            assert.throws(() => commandLine([]), /at least one word/);
        });

        it("refuses a NUL in any word", () => {
            assert.throws(() => commandLine(["echo", "ok", "bad\0"]), /NUL/);
        });
    });

    describe("sh template", () => {
        it("quotes interpolated strings and numbers exactly once", () => {
            const name = "tank/x; reboot";
            const script = sh`printf '%s\\0' ${name} ${4096}`;
            assert.ok(script instanceof Shell);
            const run = runShell(script.text);
            assert.equal(run.status, 0, run.stderr);
            assert.deepEqual(run.stdout.split("\0").slice(0, -1), [name, "4096"]);
        });

        it("inserts arrays as quoted argv", () => {
            const script = sh`${["printf", "%s\\0", "a b", "$(reboot)"]}`;
            assert.equal(script.text, "printf '%s\\0' 'a b' '$(reboot)'");
            assert.deepEqual(runShell(script.text).stdout.split("\0").slice(0, -1), ["a b", "$(reboot)"]);
        });

        it("inserts Shell fragments as they are, so scripts compose", () => {
            const inner = sh`echo ${"a b"}`;
            const outer = sh`${inner} && echo ${"c;d"}`;
            assert.equal(outer.text, "echo 'a b' && echo 'c;d'");
            assert.equal(runShell(outer.text).stdout, "a b\nc;d\n");
        });

        it("keeps a value inside a shell assignment intact (observe scripts do n=${name})", () => {
            const run = runShell(sh`n=${"tank/a b'c"}\nprintf '%s' "$n"`.text);
            assert.equal(run.stdout, "tank/a b'c");
        });

        it("refuses a NUL in a string, and an empty array", () => {
            assert.throws(() => sh`echo ${"a\0b"}`, /NUL/);
            assert.throws(() => sh`${[]}`, /at least one word/);
        });
    });
});
