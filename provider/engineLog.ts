/**
 * Messages the user must see in `pulumi up`/`preview` output (a restart that stops containers, data
 * left behind). The dynamic-provider process gets the engine's address as its first argument; its
 * stderr is not shown, so we log through the engine's own Log RPC, and fall back to stderr.
 */
type Severity = "info" | "warning";

let client: { log(request: unknown, callback: (error: unknown) => void): void } | undefined;

function engineClient(): typeof client {
    const address = process.argv[2];
    if (client || !address || !/^[\w.[\]-]+:\d+$/.test(address)) {
        return client;
    }
    try {
        const sdk = require.resolve("@pulumi/pulumi");
        const grpc = require(require.resolve("@grpc/grpc-js", { paths: [sdk] }));
        const services = require("@pulumi/pulumi/proto/engine_grpc_pb");
        client = new services.EngineClient(address, grpc.credentials.createInsecure());
    } catch {
        client = undefined;
    }
    return client;
}

export async function engineLog(severity: Severity, message: string): Promise<void> {
    const engine = engineClient();
    if (!engine) {
        process.stderr.write(`${severity}: ${message}\n`);
        return;
    }
    const proto = require("@pulumi/pulumi/proto/engine_pb");
    const request = new proto.LogRequest();
    request.setSeverity(severity === "warning" ? proto.LogSeverity.WARNING : proto.LogSeverity.INFO);
    request.setMessage(message);
    await new Promise<void>((resolve) => engine.log(request, () => resolve()));
}
