import { strict as assert } from "assert";
import { frameScript } from "../../provider/host/script";
import { Shell } from "../../provider/host/quote";
import { withReadBack } from "../../provider/readBack";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runShell } from "./realShell";

const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "pzd-readback-")), "state");

/** Runs the combined script as a host would: framed, through `sh -s`. */
function run(apply: string, read: string) {
    const readBack = withReadBack(new Shell(apply), new Shell(read));
    const result = runShell("sh -s", { input: frameScript(readBack.script, 30), env: { ...process.env, T: tmp } });
    return { ...result, ...readBack.split(result.stdout) };
}

describe("apply and read back in one round trip", () => {
    after(() => fs.rmSync(path.dirname(tmp), { recursive: true, force: true }));

    it("gives each part its own output, byte for byte, without final newlines added", () => {
        const result = run("printf 'pzd-warning: kept\\nno newline'", "printf 'state=1\\n\\n'; printf 'last'");
        assert.equal(result.status, 0);
        assert.equal(result.applied, "pzd-warning: kept\nno newline");
        assert.equal(result.read, "state=1\n\nlast");
    });

    it("runs the apply's EXIT traps before the read looks", () => {
        const result = run("trap 'echo restarted > \"$T\"' EXIT; echo stopped > \"$T\"", "cat \"$T\"");
        assert.equal(result.read?.trim(), "restarted");
    });

    it("stops at a failing apply with its exit status, and never reads", () => {
        const result = run("echo partial; false; echo never", "echo read");
        assert.equal(result.status, 1);
        assert.equal(result.applied, "partial\n");
        assert.equal(result.read, undefined);
        assert.doesNotMatch(result.stdout, /never|read/);
    });

    it("keeps set -eu in the read: a failing read gives no read-back, and the run still succeeds", () => {
        const result = run("echo applied", "echo half; false; echo never");
        assert.equal(result.status, 0, "the apply worked; the caller reads again for the read's own error");
        assert.equal(result.applied, "applied\n");
        assert.equal(result.read, undefined);
    });

    it("is not fooled by output that looks like its marker", () => {
        const readBack = withReadBack(new Shell("echo x"), new Shell("echo y"), "m");
        assert.deepEqual(readBack.split("x\nm\ny\nm-exit=0\n"), { applied: "x", read: "y" });
        assert.deepEqual(readBack.split("x\nm\ny\nm-exit=0\nafter"), { applied: "x" }, "the trailer must end the output");
        assert.deepEqual(readBack.split("no marker"), { applied: "no marker" });
    });
});
