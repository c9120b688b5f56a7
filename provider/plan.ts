/** What a planner returns: the commands to run, or nothing with the reason why. */
import { Shell } from "./host/quote";

export interface Action {
    /** One line for humans: "grow tank/docker from 1G to 2G". */
    description: string;
    script: Shell;
}

export interface Plan {
    actions: Action[];
    /** Why nothing needs doing, when `actions` is empty. */
    noop?: string;
    /** Things the user must hear before the actions run (data left behind, restarts). */
    warnings?: string[];
}

export function noop(reason: string): Plan {
    return { actions: [], noop: reason };
}

/** All actions as one script: one round trip to apply a plan. */
export function planScript(plan: Plan): Shell {
    return new Shell(plan.actions.map((a) => `# ${a.description.replace(/\n/g, " ")}\n${a.script.text}`).join("\n"));
}
