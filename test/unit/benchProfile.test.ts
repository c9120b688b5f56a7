import { strict as assert } from "assert";
import { dockerWaits, splitRun } from "../../bench/profile";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { settle } from "../../provider/host/host";
import { sh } from "../../provider/host/quote";
import { parseTrace, type RoundTripRecord } from "../../provider/host/trace";

describe("bench profile: where a converge's time goes", () => {
    it("reads Docker's stop and start durations from systemd's journal lines", () => {
        const journal = [
            "1764670000.000000 vm systemd[1]: Stopping docker.service - Docker Application Container Engine...",
            "1764670000.100000 vm dockerd[412]: time=... msg=\"Processing signal 'terminated'\"",
            "1764670002.500000 vm systemd[1]: Stopped docker.service - Docker Application Container Engine.",
            "1764670004.000000 vm systemd[1]: Starting docker.service - Docker Application Container Engine...",
            "1764670016.250000 vm systemd[1]: Started docker.service - Docker Application Container Engine.",
            "1764670020.000000 vm systemd[1]: Started docker.socket - Docker Socket for the API.",
        ].join("\n");
        const waits = dockerWaits(journal);
        assert.equal(waits.stopSeconds.toFixed(2), "2.50");
        assert.equal(waits.startSeconds.toFixed(2), "12.25");
        assert.deepEqual(dockerWaits(""), { stopSeconds: 0, startSeconds: 0 });
    });

    it("splits wall time into before, between and after the round trips, counting overlaps once", () => {
        const r = (at: number, ms: number): RoundTripRecord => ({ at, ms, host: "root@h:22", step: "s", mutating: false, exitCode: 0 });
        // Wall 0..10 s; trips 2-4 s and 3-5 s overlap (3 s busy), then 7-8 s (1 s busy).
        const split = splitRun([r(7000, 1000), r(2000, 2000), r(3000, 2000)], 0, 10_000);
        assert.deepEqual(split, { wallSeconds: 10, beforeFirstSeconds: 2, betweenSeconds: 2, afterLastSeconds: 2, roundTrips: 3, remoteSeconds: 4 });
        assert.equal(splitRun([], 0, 5000).beforeFirstSeconds, 5);
    });

    it("parses the trace the provider appends, one JSON line per round trip", () => {
        const records = parseTrace('{"at":1,"ms":2,"host":"root@h:22","step":"read volume tank/docker","mutating":false,"exitCode":0}\n\n');
        assert.equal(records.length, 1);
        assert.equal(records[0].step, "read volume tank/docker");
    });

    it("every settled round trip is appended to PZD_TRACE, failures too, and nothing is written without it", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pzd-trace-test-"));
        const file = path.join(dir, "trace.jsonl");
        const context = { started: Date.now() - 1500, timeoutSeconds: 30, sudo: false };
        try {
            settle("root@h:22", sh`:`, { step: "read volume tank/docker", mutating: false }, { exitCode: 0, stdout: "", stderr: "" }, context);
            assert.ok(!fs.existsSync(file));
            process.env.PZD_TRACE = file;
            settle("root@h:22", sh`:`, { step: "read volume tank/docker", mutating: false }, { exitCode: 0, stdout: "", stderr: "" }, context);
            assert.throws(() => settle("root@h:22", sh`false`, { step: "create zvol tank/docker", mutating: true }, { exitCode: 1, stdout: "", stderr: "boom" }, context));
            const records = parseTrace(fs.readFileSync(file, "utf8"));
            assert.deepEqual(records.map((r) => [r.step, r.mutating, r.exitCode]), [["read volume tank/docker", false, 0], ["create zvol tank/docker", true, 1]]);
            assert.ok(records.every((r) => r.ms >= 1500 && r.host === "root@h:22"));
        } finally {
            delete process.env.PZD_TRACE;
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
