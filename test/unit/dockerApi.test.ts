import { strict as assert } from "assert";
import execa from "execa";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { DOCKER_API_FUNCTION, DOCKER_API_TIMEOUT_EXIT } from "../../provider/resources/dockerStorageConfig/dockerApi";
import { FUNCTIONS } from "../../provider/resources/dockerStorageConfig/scripts";

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

/**
 * The wait after a Docker start asks the API first and the CLI only when the client cannot ask; a ping
 * the alarm ended does not also wait on the CLI. The client's status is given, docker is a recorder.
 */
describe("pzd_docker_up: is Docker up after a start", function () {
    this.timeout(20_000);
    const up = (apiStatus: number, dockerStatus = 0) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pzd-up-"));
        const calls = path.join(dir, "calls");
        fs.writeFileSync(calls, "");
        const script = `${FUNCTIONS.text}
pzd_docker_api() { echo "api $*" >>"$PZD_CALLS"; return ${apiStatus}; }
timeout() { shift 2; "$@"; }
docker() { echo "docker $*" >>"$PZD_CALLS"; return ${dockerStatus}; }
pzd_docker_up`;
        const run = execa.sync("sh", ["-c", script], { reject: false, env: { ...process.env, PZD_CALLS: calls } });
        const asked = fs.readFileSync(calls, "utf8").trim().split("\n");
        fs.rmSync(dir, { recursive: true, force: true });
        return { status: run.exitCode, asked };
    };

    it("a ping answered: up, and the CLI is not started", () => {
        assert.deepEqual(up(0), { status: 0, asked: ["api /_ping"] });
    });

    it("a client that cannot ask (status 1): the CLI answers, up or not as it says", () => {
        assert.deepEqual(up(1, 0), { status: 0, asked: ["api /_ping", "docker info"] });
        assert.deepEqual(up(1, 1), { status: 1, asked: ["api /_ping", "docker info"] });
    });

    it("a ping the alarm ended: not up, and the CLI is not also waited on", () => {
        assert.deepEqual(up(DOCKER_API_TIMEOUT_EXIT), { status: 1, asked: ["api /_ping"] });
    });
});

/**
 * The restart's check of what Docker came up with: driver, root and backing filesystem from GET /info's
 * JSON when it is plain, from the CLI otherwise. The API's reply is given, docker is a recorder.
 */
describe("pzd_docker_storage: what the daemon runs on, after a restart", function () {
    this.timeout(20_000);
    const storage = (api: { status: number; body?: string }) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pzd-storage-"));
        const calls = path.join(dir, "calls");
        fs.writeFileSync(calls, "");
        fs.writeFileSync(path.join(dir, "body"), api.body ?? "");
        const script = `${FUNCTIONS.text}
pzd_docker_api() { echo "api $*" >>"$PZD_CALLS"; cat "$PZD_BODY"; return ${api.status}; }
timeout() { shift 2; "$@"; }
docker() { echo "docker $1" >>"$PZD_CALLS"; echo 'cli|/from/the/cli|extfs'; }
pzd_docker_storage`;
        const run = execa.sync("sh", ["-c", script], { reject: false, env: { ...process.env, PZD_CALLS: calls, PZD_BODY: path.join(dir, "body") } });
        const asked = fs.readFileSync(calls, "utf8").trim().split("\n");
        fs.rmSync(dir, { recursive: true, force: true });
        return { status: run.exitCode, stdout: run.stdout, asked };
    };
    // Fields as Docker 20.10 orders them, with the other keys that end in "Driver" around them.
    const info = (fields: Record<string, unknown>) => `${JSON.stringify({ ID: "x", Containers: 0, Driver: "overlay2", DriverStatus: [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]], LoggingDriver: "json-file", CgroupDriver: "systemd", DockerRootDir: "/var/lib/docker", ...fields })}\n`;

    it("a plain /info: the three fields from the API, and the CLI is not started", () => {
        assert.deepEqual(storage({ status: 0, body: info({}) }), { status: 0, stdout: "overlay2|/var/lib/docker|extfs", asked: ["api /info"] });
    });

    it("a driver without a backing filesystem (vfs): that field is empty", () => {
        assert.deepEqual(storage({ status: 0, body: info({ Driver: "vfs", DriverStatus: [], DockerRootDir: "/srv/docker" }) }), { status: 0, stdout: "vfs|/srv/docker|", asked: ["api /info"] });
    });

    it("a root Go wrote with an escape (\\u003c for '<'), a field missing, or a client that cannot ask: the CLI answers", () => {
        const escaped = info({ DockerRootDir: "/srv/a<b" }).replace("<", "\\u003c");
        const cli = { status: 0, stdout: "cli|/from/the/cli|extfs" };
        assert.deepEqual(storage({ status: 0, body: escaped }), { ...cli, asked: ["api /info", "docker info"] });
        assert.deepEqual(storage({ status: 0, body: JSON.stringify({ Driver: "overlay2" }) }), { ...cli, asked: ["api /info", "docker info"] });
        assert.deepEqual(storage({ status: 1 }), { ...cli, asked: ["api /info", "docker info"] });
    });

    it("a daemon the alarm gave up on: status 142, and the CLI is not also waited on", () => {
        assert.deepEqual(storage({ status: DOCKER_API_TIMEOUT_EXIT }), { status: DOCKER_API_TIMEOUT_EXIT, stdout: "", asked: ["api /info"] });
    });
});
