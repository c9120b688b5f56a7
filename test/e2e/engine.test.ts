/**
 * The real Pulumi engine on this machine: CLI built from Go modules, nodejs language host, the
 * dynamic-provider plugin from @pulumi/pulumi, and a local file backend.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { PulumiProject } from "./pulumi";

const program = `import * as pulumi from "@pulumi/pulumi";
const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: any) {
        return { id: "greeting-" + inputs.content.length, outs: { content: inputs.content, shout: inputs.content.toUpperCase() } };
    },
    async diff(_id: string, olds: any, news: any) {
        return { changes: olds.content !== news.content };
    },
    async update(_id: string, _olds: any, news: any) {
        return { outs: { content: news.content, shout: news.content.toUpperCase() } };
    },
};
class Greeting extends pulumi.dynamic.Resource {
    declare readonly shout: pulumi.Output<string>;
    constructor(name: string, content: pulumi.Input<string>) {
        super(provider, name, { content, shout: undefined }, undefined, "test", "Greeting");
    }
}
const config = new pulumi.Config();
export const shout = new Greeting("hello", config.require("content")).shout;
`;

describe("the real Pulumi engine (local file backend)", function () {
    const project = new PulumiProject("engine", program);
    after(() => project.cleanup());

    it("runs up, preview --diff, up and destroy of a dynamic resource", async () => {
        await project.init({ content: "a" });
        const first = await project.up();
        assert.match(first.stdout, /\+ 2 created|2 created/);
        assert.deepEqual(await project.outputs(), { shout: "A" });

        await project.run(["config", "set", "content", "b"]);
        const preview = await project.preview();
        assert.match(preview.stdout, /~ pulumi-nodejs:dynamic\/test:Greeting: \(update\)/);
        assert.match(preview.stdout, /content\s*:\s*"a" => "b"/);

        await project.up();
        assert.deepEqual(await project.outputs(), { shout: "B" });

        const again = await project.up();
        assert.match(again.stdout, /2 unchanged/);

        const destroyed = await project.destroy();
        assert.match(destroyed.stdout, /2 deleted/);
        console.log(`      up/destroy took ${first.seconds}s/${destroyed.seconds}s`);
    });

    it("recovers, as README says, a stack whose checkpoint sidecar a killed CLI left empty", async () => {
        await project.up();
        // What a SIGKILL between the sidecar's truncate and its write leaves (seen in CI after a killed destroy).
        const sidecar = findFile(project.stateDir, `${project.stack}.json.attrs`);
        assert.ok(sidecar, `no ${project.stack}.json.attrs under ${project.stateDir}: the backend no longer writes sidecars`);
        fs.truncateSync(sidecar, 0);
        const broken = await project.run(["stack", "output", "--json"], { allowFail: true });
        assert.notEqual(broken.exitCode, 0);
        assert.match(broken.stderr + broken.stdout, /failed to load checkpoint: EOF/);

        await project.recoverFromKilledRun();
        assert.equal(fs.existsSync(sidecar), true, "the backend wrote the sidecar again");
        assert.notEqual(fs.statSync(sidecar).size, 0);
        assert.deepEqual(await project.outputs(), { shout: "B" });
        assert.match((await project.up()).stdout, /2 unchanged/);
    });
});

function findFile(dir: string, name: string): string {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
            const found = findFile(full, name);
            if (found) return found;
        } else if (entry.name === name) return full;
    }
    return "";
}
