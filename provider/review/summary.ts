/**
 * Turns `pulumi preview --json` into the Markdown a pull-request reviewer reads: what is destroyed,
 * formatted, restarted or moved aside comes first, then a table per host of every change. Pure: the
 * engine's JSON in, Markdown out (the bin reads stdin and writes stdout).
 */

interface PreviewStep {
    op: string;
    urn: string;
    oldState?: { inputs?: Record<string, unknown>; outputs?: Record<string, unknown> };
    newState?: { inputs?: Record<string, unknown> };
    replaceReasons?: string[];
}

export interface Change {
    /** The DockerHostStorage the resource belongs to, or "" when it is wired by hand. */
    group: string;
    kind: string;
    name: string;
    /** create, update, replace, delete. */
    action: string;
    /** Inputs that differ between the old and the new state. */
    properties: string[];
    replaceReasons: string[];
    /** Destructive or disruptive consequences, each one sentence. */
    alerts: string[];
    inputs: Record<string, unknown>;
    oldInputs: Record<string, unknown>;
}

const KINDS = new Set(["ZfsVolume", "Ext4Filesystem", "FstabEntry", "DockerStorageConfig"]);
const REPLACE = new Set(["replace", "create-replacement", "delete-replaced"]);

/** `urn:pulumi:stack::project::parent$type::name` → the resource kind, its name and its component. */
function parseUrn(urn: string): { kind: string; name: string; group: string } {
    const parts = urn.split("::");
    const name = parts[parts.length - 1] ?? "";
    const types = (parts[2] ?? "").split("$");
    const own = types[types.length - 1] ?? "";
    const kind = own.split(/[:/]/).pop() ?? own;
    const parent = types.find((t) => t.endsWith(":DockerHostStorage"));
    // The component's children are named "<component>-volume" and so on.
    const group = parent ? name.replace(/-(volume|ext4|mount|docker)$/, "") : "";
    return { kind, name, group };
}

function changedKeys(olds: Record<string, unknown>, news: Record<string, unknown>): string[] {
    const keys = new Set([...Object.keys(olds), ...Object.keys(news)]);
    keys.delete("__provider");
    return [...keys].filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k])).sort();
}

function str(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

function alertsFor(kind: string, action: string, properties: string[], news: Record<string, unknown>, olds: Record<string, unknown>): string[] {
    const alerts: string[] = [];
    const target = str(news.name ?? olds.name ?? news.device ?? olds.device ?? news.mountPoint ?? olds.mountPoint ?? "");
    if (kind === "ZfsVolume" && (action === "delete" || action === "replace")) {
        const force = (action === "delete" ? olds : news).forceDestroy ?? olds.forceDestroy;
        alerts.push(force === true
            ? `zvol ${target} is destroyed with everything on it (forceDestroy is true)`
            : `zvol ${target} is to be destroyed: refused while it holds a filesystem or snapshots unless forceDestroy is true`);
    }
    if (kind === "Ext4Filesystem" && (action === "replace" || (action === "create" && news.force === true))) {
        alerts.push(`${target} is formatted: a new, empty ext4${news.force === true ? " (force: true: whatever it held is lost)" : ""}`);
    }
    if (kind === "Ext4Filesystem" && action === "delete" && olds.wipeOnDelete === true) {
        alerts.push(`the filesystem signature on ${target} is wiped (wipeOnDelete: true)`);
    }
    if (kind === "FstabEntry" && action !== "update") {
        const units = (news.stopUnits ?? olds.stopUnits) as string[] | undefined;
        if (units && units.length > 0) alerts.push(`${units.join(", ")} stopped while ${target} is ${action === "delete" ? "unmounted" : "mounted"}: running containers stop`);
        if ((news.moveAsideExisting ?? olds.moveAsideExisting) === true && action !== "delete") alerts.push(`what is in ${target} now is moved aside to ${target}.pre-pulumi-zfs-docker-* (kept, not deleted)`);
    }
    if (kind === "FstabEntry" && action === "update" && properties.includes("spec")) {
        alerts.push(`${target} is unmounted and ${str(news.spec)} mounted in its place`);
    }
    if (kind === "DockerStorageConfig" && (news.restart ?? olds.restart) !== false) {
        const restartKeys = ["storageDriver", "dataRoot", "storageOpts"];
        if (action !== "update" || properties.some((p) => restartKeys.includes(p))) {
            const driver = news.storageDriver ?? olds.storageDriver ?? "overlay2";
            // The provider skips a restart that would change nothing (Docker already runs that driver and root); only the host knows.
            const unless = action === "delete" ? "" : properties.includes("storageOpts") ? "" : ` (unless it already runs ${str(driver)} at its data root)`;
            alerts.push(`Docker is restarted${action === "delete" ? " with its previous configuration" : ` on ${str(driver)}`}${unless}: running containers stop; images and containers of another driver are not visible to it`);
        }
    }
    return alerts;
}

export function changesOf(previewJson: string): Change[] {
    const parsed = JSON.parse(previewJson) as { steps?: PreviewStep[] };
    const byResource = new Map<string, Change>();
    for (const step of parsed.steps ?? []) {
        const { kind, name, group } = parseUrn(step.urn);
        if (!KINDS.has(kind) || step.op === "same" || step.op === "read" || step.op === "refresh") continue;
        const action = REPLACE.has(step.op) ? "replace" : step.op;
        const olds = step.oldState?.inputs ?? {};
        const news = step.newState?.inputs ?? {};
        const existing = byResource.get(step.urn);
        const properties = action === "update" || action === "replace" ? changedKeys(olds, news) : [];
        const change: Change = existing ?? { group, kind, name, action, properties, replaceReasons: step.replaceReasons ?? [], alerts: [], inputs: news, oldInputs: olds };
        if (existing) {
            change.replaceReasons = [...new Set([...change.replaceReasons, ...(step.replaceReasons ?? [])])];
            if (Object.keys(news).length > 0) change.inputs = news;
            if (Object.keys(olds).length > 0) change.oldInputs = olds;
            change.properties = [...new Set([...change.properties, ...properties])].sort();
        }
        byResource.set(step.urn, change);
    }
    const changes = [...byResource.values()];
    for (const change of changes) {
        change.alerts = alertsFor(change.kind, change.action, change.properties, change.inputs, change.oldInputs);
    }
    return changes;
}

const ORDER = ["ZfsVolume", "Ext4Filesystem", "FstabEntry", "DockerStorageConfig"];

function cell(text: string): string {
    return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

export function reviewMarkdown(previewJson: string): string {
    const changes = changesOf(previewJson).sort((a, b) => a.group.localeCompare(b.group) || ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind));
    const lines = ["## pulumi-zfs-docker: what this change does to the hosts", ""];
    if (changes.length === 0) {
        lines.push("No change: every host stays as it is.");
        return lines.join("\n") + "\n";
    }
    const alerts = changes.flatMap((c) => c.alerts.map((a) => `- **${c.group || c.name}** · ${c.kind} \`${c.name}\` (${c.action}): ${a}`));
    if (alerts.length > 0) {
        lines.push("### ⚠ Destructive or disruptive", "", ...alerts, "");
    }
    const groups = [...new Set(changes.map((c) => c.group))];
    for (const group of groups) {
        lines.push(`### ${group ? `Host \`${group}\` (DockerHostStorage)` : "Resources wired by hand"}`, "", "| Resource | Name | Change | Properties |", "|---|---|---|---|");
        for (const c of changes.filter((x) => x.group === group)) {
            const props = c.action === "replace" && c.replaceReasons.length > 0 ? `${c.properties.join(", ")} (replaced because of ${c.replaceReasons.join(", ")})` : c.properties.join(", ");
            // A replacement with no property of its own follows what it sits on (the engine's delete-before-replace cascade).
            const shown = props || (c.action === "replace" ? "(replaced with what it sits on)" : "-");
            lines.push(`| ${c.kind} | \`${cell(c.name)}\` | ${c.action} | ${cell(shown)} |`);
        }
        lines.push("");
    }
    return lines.join("\n");
}
