/**
 * The dial budget of a run: a real ssh client against a loopback port nothing listens on (refused at
 * once), so the count of attempts is what is checked, never a time.
 */
import { strict as assert } from "assert";
import * as net from "net";
import { connectionSchema } from "../../provider/connection";
import { ConnectionError } from "../../provider/host/errors";
import { sh } from "../../provider/host/quote";
import { SshHost } from "../../provider/host/ssh";

/** A loopback port that was free a moment ago: connecting to it is refused. */
async function closedPort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
}

async function attemptsOf(run: Promise<unknown>): Promise<number> {
    const error = await run.then(
        () => assert.fail("the run reached a host nobody listens on"),
        (e: Error) => e,
    );
    assert.ok(error instanceof ConnectionError, `a ConnectionError, got ${error.name}: ${error.message}`);
    assert.match(error.message, /could not connect to .* after \d+ attempt\(s\)/);
    return error.attempts;
}

describe("dialing a host that is gone", function () {
    this.timeout(60_000);

    it("a run dials up to the connection's dialErrorLimit; a best-effort run (dialAttempts) gives up sooner, never later", async () => {
        const port = await closedPort();
        const connection = connectionSchema.parse({ host: "127.0.0.1", port, user: "root", password: "x", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPNnokoVIOLW5mFQu5gChp4zdhM3xiA0c2TqORlSh1N4", dialErrorLimit: 4 });
        assert.equal(connection.type, "ssh");
        const host = new SshHost(connection as Extract<typeof connection, { type: "ssh" }>);
        const script = sh`true`;
        assert.equal(await attemptsOf(host.run(script, { step: "read", mutating: false })), 4);
        assert.equal(await attemptsOf(host.run(script, { step: "read after a failed apply", mutating: false, dialAttempts: 2 })), 2);
        assert.equal(await attemptsOf(host.run(script, { step: "read", mutating: false, dialAttempts: 9 })), 4, "capped by dialErrorLimit");
        assert.equal(host.stats.connections, 0);
        await host.close();
    });
});
