import { strict as assert } from "assert";
import execa from "execa";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { DOCKER_API_FUNCTION, DOCKER_API_TIMEOUT_EXIT } from "../../provider/resources/dockerStorageConfig/dockerApi";

/**
 * The perl client of dockerApi.ts against a real unix socket, answered byte for byte by a server here:
 * what it prints and its status for each kind of reply. (The real daemon answers it in the VM suites.)
 */
describe("pzd_docker_api: Docker's API over its socket, without the CLI", function () {
    this.timeout(20_000);
    let dir: string;
    let socket: string;
    let server: net.Server;
    let reply: (request: string, connection: net.Socket) => void;
    const requests: string[] = [];

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "pzd-api-"));
        socket = path.join(dir, "docker.sock");
        server = net.createServer((connection) => {
            let request = "";
            connection.on("data", (chunk) => {
                request += chunk.toString("latin1");
                if (request.includes("\r\n\r\n")) {
                    requests.push(request);
                    reply(request, connection);
                }
            });
        });
        await new Promise<void>((resolve) => server.listen(socket, resolve));
    });
    after(() => {
        server.close();
        fs.rmSync(dir, { recursive: true, force: true });
    });
    beforeEach(() => (requests.length = 0));

    const ask = (apiPath: string, sock = socket, seconds = "5") =>
        execa("sh", ["-c", `${DOCKER_API_FUNCTION.text}\npzd_docker_api "$@"`, "sh", apiPath, sock, seconds], { reject: false });
    const answer = (head: string, body: string) => (_request: string, connection: net.Socket) => connection.end(`${head}\r\n\r\n${body}`);

    it("a 200: prints the body exactly (no newline added) and succeeds; one HTTP/1.0 GET of the path", async () => {
        const body = JSON.stringify({ Driver: "overlay2", DockerRootDir: "/var/lib/docker", DriverStatus: [["Backing Filesystem", "extfs"]] });
        reply = answer("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + body.length, body);
        const run = await ask("/info");
        assert.equal(run.exitCode, 0, run.stderr);
        assert.equal(run.stdout, body);
        assert.equal(requests.length, 1);
        assert.match(requests[0], /^GET \/info HTTP\/1\.0\r\nHost: docker\r\n\r\n$/);
    });

    it("a body larger than one read arrives whole", async () => {
        const body = JSON.stringify({ Driver: "overlay2", Padding: "x".repeat(300_000) });
        reply = answer("HTTP/1.0 200 OK", body);
        const run = await ask("/info");
        assert.equal(run.exitCode, 0, run.stderr);
        assert.equal(run.stdout, body);
    });

    for (const [what, head] of [
        ["another status (404)", "HTTP/1.1 404 Not Found"],
        ["a server error (500)", "HTTP/1.1 500 Internal Server Error"],
        ["a chunked reply, which this client does not decode", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"],
    ] as const) {
        it(`${what}: status 1 and nothing printed, so the caller asks the CLI`, async () => {
            reply = answer(head, "5\r\nhello\r\n0\r\n\r\n");
            const run = await ask("/info");
            assert.equal(run.exitCode, 1);
            assert.equal(run.stdout, "");
        });
    }

    it("a reply cut before its headers end: status 1", async () => {
        reply = (_request, connection) => connection.end("HTTP/1.1 200 OK\r\nContent-Le");
        const run = await ask("/info");
        assert.equal(run.exitCode, 1);
        assert.equal(run.stdout, "");
    });

    it("no socket at the path: status 1 without starting perl's connect", async () => {
        const run = await ask("/info", path.join(dir, "absent.sock"));
        assert.equal(run.exitCode, 1);
        assert.equal(requests.length, 0);
    });

    it(`a daemon that takes the connection and never answers: ended by the alarm, status ${DOCKER_API_TIMEOUT_EXIT}, nothing printed`, async () => {
        reply = () => undefined;
        const run = await ask("/info", socket, "1");
        assert.equal(run.exitCode, DOCKER_API_TIMEOUT_EXIT);
        assert.equal(run.stdout, "");
    });
});
