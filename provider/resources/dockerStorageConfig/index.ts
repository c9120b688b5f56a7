/**
 * DockerStorageConfig: Docker's storage driver, storage options and data root in daemon.json, a systemd
 * drop-in so Docker never starts before its storage is mounted, and a verified restart.
 * Only the three storage keys of daemon.json are ours; every other key is kept where it is. What the
 * file said before we first changed it is kept in a backup next to it, and delete puts it back.
 */
import type { z } from "zod";
import type { Observation, ResourceDefinition } from "../../adapter";
import { READ_TIMEOUT_SECONDS } from "../../host/script";
import { observeScript, parseObserved, type DockerStorageObserved } from "./facts";
import { outputsOf, planDeleteDockerStorage, planDockerStorage, reflectDockerStorage } from "./plan";
import { dockerStorageConfigOutputsSchema, dockerStorageConfigSchema, OBSERVE_WAIT_SECONDS, type DockerStorageDesired, type DockerStorageOutputs } from "./schema";

export {
    backupPathFor,
    DEFAULT_DATA_ROOT,
    dockerStorageConfigOutputsSchema,
    dockerStorageConfigSchema,
    DROP_IN_PATH,
    STORAGE_OPTIONS,
    storageOptionProblem,
    SUPPORTED_DRIVERS,
    wantedRoot,
} from "./schema";
export type { DockerStorageDesired, DockerStorageOutputs } from "./schema";
export { observeScript, parseDockerInfo, parseDropIn, parseObserved } from "./facts";
export type { BackingFilesystem, DockerInfo, DockerStorageObserved } from "./facts";
export { backingProblems, outputsOf, planDeleteDockerStorage, planDockerStorage, reflectDockerStorage } from "./plan";
export { daemonJsonCheckFor, renderDropIn } from "./scripts";
export { parseFindmntPairs } from "../../shared/findmnt";
export {
    entries,
    MANAGED_KEYS,
    managedValues,
    mergeDaemonJson,
    parseBackup,
    parseDaemonJson,
    previousValues,
    restoreDaemonJson,
    sameJson,
    serializeBackup,
} from "./daemonJson";
export type { DaemonJson, DaemonJsonBackup, ManagedKey, ManagedValues } from "./daemonJson";

/** The read of the host; given the read before an apply, it reuses that read's docker info for the same daemon. */
function observationOf(desired: DockerStorageDesired, before?: DockerStorageObserved): Observation<DockerStorageObserved> {
    return {
        script: observeScript(desired, before),
        step: "read Docker's storage configuration",
        // It waits for a Docker still starting (OBSERVE_WAIT_SECONDS) and gives `docker info` 30 s.
        timeoutSeconds: READ_TIMEOUT_SECONDS + OBSERVE_WAIT_SECONDS + 30,
        parse: (stdout) => parseObserved(stdout, before),
    };
}

export const dockerStorageConfig: ResourceDefinition<DockerStorageDesired, DockerStorageObserved, DockerStorageOutputs> = {
    kind: "DockerStorageConfig",
    outputsSchema: dockerStorageConfigOutputsSchema,
    documentation: {
        summary:
            "Docker's storage driver, storage options and data root in daemon.json (only those three keys; every other key is kept as it is), a systemd drop-in so docker.service waits for its storage to be mounted, and a restart checked with `docker info` that puts the previous daemon.json back when Docker does not come up as asked. A data root whose filesystem the driver cannot use is refused before anything changes; delete puts the three keys back as they were.",
        guardedBy: {},
    },
    schema: dockerStorageConfigSchema as unknown as z.ZodType<DockerStorageDesired, z.ZodTypeDef, unknown>,
    // Another path is another file; the drop-in has one fixed name, so the old one must go first.
    replaceProperties: ["daemonJsonPath"],
    deleteBeforeReplace: true,
    id: (d) => d.daemonJsonPath,
    observation: (desired) => observationOf(desired),
    // After an apply that left the same Docker running, its docker info from before still holds.
    readBack: observationOf,
    plan: planDockerStorage,
    planDelete: planDeleteDockerStorage,
    outputs: outputsOf,
    reflect: reflectDockerStorage,
};
