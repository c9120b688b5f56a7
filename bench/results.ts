/**
 * bench/results/latest.md is built from one section per part ("## ..."). A run of some parts
 * replaces only their sections, so `--parts sim` does not throw away the comparison that took an
 * hour of VM time; each section carries the time it was measured.
 */

export interface Section {
    heading: string;
    body: string;
}

export function parseSections(markdown: string): { preamble: string; sections: Section[] } {
    const chunks = markdown.split(/^(?=## )/m);
    const preamble = chunks[0]?.startsWith("## ") ? "" : (chunks.shift() ?? "");
    const sections = chunks.map((chunk) => {
        const newline = chunk.indexOf("\n");
        const heading = (newline < 0 ? chunk : chunk.slice(0, newline)).slice(3).trim();
        return { heading, body: newline < 0 ? "" : chunk.slice(newline + 1).replace(/\n+$/, "") };
    });
    return { preamble, sections };
}

/** The fresh sections, in the order of the old file, then new ones; old sections without a fresh one are kept. */
export function mergeSections(previous: string, preamble: string, fresh: Section[]): string {
    const old = parseSections(previous).sections;
    const byHeading = new Map(fresh.map((s) => [s.heading, s]));
    const merged = old.map((s) => byHeading.get(s.heading) ?? s);
    for (const s of fresh) {
        if (!old.some((o) => o.heading === s.heading)) merged.push(s);
    }
    return [preamble.replace(/\n+$/, ""), ...merged.map((s) => `## ${s.heading}\n\n${s.body.replace(/^\n+/, "")}`)].join("\n\n") + "\n";
}
