#!/usr/bin/env node
/** `pulumi preview --json | pulumi-zfs-docker-review > comment.md`: the reviewer's summary of a preview. */
import { reviewMarkdown } from "./summary";

const chunks: Buffer[] = [];
process.stdin.on("data", (chunk: Buffer) => chunks.push(chunk));
process.stdin.on("end", () => {
    try {
        process.stdout.write(reviewMarkdown(Buffer.concat(chunks).toString("utf8")));
    } catch (error) {
        process.stderr.write(`pulumi-zfs-docker-review: the input is not the output of \`pulumi preview --json\`: ${(error as Error).message}\n`);
        process.exit(2);
    }
});
