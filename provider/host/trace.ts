/**
 * PZD_TRACE=<file>: one JSON line per remote round trip (when it started, how long it took, host,
 * step, exit code), appended by every provider process of a run. For finding where a run's time
 * goes (`npm run bench -- --parts profile` reads it). Steps and host names hold no secrets.
 */
import * as fs from "fs";

export interface RoundTripRecord {
    /** Epoch milliseconds when the step started. */
    at: number;
    ms: number;
    host: string;
    step: string;
    mutating: boolean;
    exitCode: number;
}

export function traceRoundTrip(record: RoundTripRecord): void {
    const file = process.env.PZD_TRACE;
    if (!file) return;
    try {
        // One short line per append: appends of concurrent providers do not interleave.
        fs.appendFileSync(file, JSON.stringify(record) + "\n", { mode: 0o600 });
    } catch {
        // A trace never fails a run.
    }
}

export function parseTrace(text: string): RoundTripRecord[] {
    return text
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line) as RoundTripRecord);
}
