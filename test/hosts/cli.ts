/** `npm run testhost`: one test guest to poke at by hand, until Ctrl-C. */
import * as path from "path";
import { imageDir, startHosts } from "./harness";

async function main(): Promise<void> {
    const started = Date.now();
    const [host] = await startHosts(1);
    const keyPath = path.join(await imageDir(), "id_ed25519");
    console.log(`
test host ${host.name} is up after ${Math.round((Date.now() - started) / 1000)} s (accel ${host.accel})
  host:      ${host.host}
  port:      ${host.port}
  user:      ${host.user}   (also: deployer, sudo password deployer-pw)
  key:       ${keyPath}
  host key:  ${host.hostKey}
  console:   ${host.consoleLog()}
  pool disk: /dev/vdb (blank)

  ${host.sshCommandLine()}

Ctrl-C powers it off and deletes its disks.`);
    // The harness's SIGINT handler kills qemu and exits; until then, just stay alive.
    setInterval(() => undefined, 1 << 30);
}

main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
});
