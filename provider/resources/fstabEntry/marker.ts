/**
 * Our marker: the comment right above a line we manage. It names the mount point, and says what
 * removing the line must undo, so that destroy gives back the file byte for byte. It lives in the
 * file rather than in Pulumi state: delete is planned from the inputs alone, the host is the one
 * place that knows what the line was, and a plain marker (the only kind earlier versions wrote) means ours.
 */
import { escapeBytes, escapeField, toBytes, trimBlanksEnd, unescapeField, unmangle, withoutCr } from "./bytes";
import type { FstabLine } from "./fstab";

/** What our marker comment says about the line below it. */
export interface Marker {
    mountPoint: string;
    /** "ours": we wrote the line, removal deletes it; "adopted": someone else did, removal puts `original` back. */
    kind: "ours" | "adopted";
    /** Adopted lines: the line's bytes (latin1, without a CR) as they were when adopted. */
    original?: string;
    /** Lines we appended to a file without a final newline: what we added to the line before (removed again). */
    addedEol?: "\n" | "\r\n";
}

/** The comment we put right above our line: it names the mount point, so it cannot mark a neighbour. */
export const MARKER_PREFIX = "# managed by pulumi-zfs-docker: ";
const NO_FINAL_LF = " (the file had no final newline; delete takes the added one away)";
const NO_FINAL_CRLF = " (the file had no final CRLF; delete takes the added one away)";
const ADOPTED = " (adopted; delete puts back: ";

/** The marker of a line we wrote into a file that ended with a newline (as a JS string). */
export const markerFor = (mountPoint: string): string => MARKER_PREFIX + escapeField(mountPoint);

/** The marker line's bytes (latin1). */
export function markerText(marker: Marker): string {
    const head = toBytes(markerFor(marker.mountPoint));
    if (marker.kind === "adopted") return head + ADOPTED + escapeBytes(marker.original ?? "") + ")";
    return head + (marker.addedEol === "\r\n" ? NO_FINAL_CRLF : marker.addedEol === "\n" ? NO_FINAL_LF : "");
}

/** The marker a line carries, if it is one of ours (a marker we cannot read is not one: the line below is then not ours). */
export function parseMarker(line: FstabLine | undefined): Marker | undefined {
    if (line === undefined || line.kind !== "comment") return undefined;
    const text = trimBlanksEnd(withoutCr(line.text));
    if (!text.startsWith(MARKER_PREFIX)) return undefined;
    const rest = text.slice(MARKER_PREFIX.length);
    // escapeField turns spaces into \040, so the mount point ends at the first space.
    const space = rest.indexOf(" ");
    const mountPoint = unescapeField(space < 0 ? rest : rest.slice(0, space));
    const tail = space < 0 ? "" : rest.slice(space);
    if (tail === "") return { mountPoint, kind: "ours" };
    if (tail === NO_FINAL_LF) return { mountPoint, kind: "ours", addedEol: "\n" };
    if (tail === NO_FINAL_CRLF) return { mountPoint, kind: "ours", addedEol: "\r\n" };
    if (tail.startsWith(ADOPTED) && tail.endsWith(")")) return { mountPoint, kind: "adopted", original: unmangle(tail.slice(ADOPTED.length, -1)) };
    return undefined;
}
