import { startHosts } from "./harness";
(async () => {
  const t = Date.now();
  const [h] = await startHosts(1);
  console.log("up", (Date.now()-t)/1000, h.accel, h.boots, h.qemuPid());
  let t2 = Date.now();
  console.log((await h.exec("uname -a; systemctl is-system-running --wait; lsblk; lsmod | grep zfs; systemctl --failed")).stdout);
  console.log("exec1", (Date.now()-t2)/1000); t2 = Date.now();
  await h.exec("true"); console.log("exec2", (Date.now()-t2)/1000);
  console.log((await h.exec("id; sudo -S -p '' id", {user: "deployer", input: "deployer-pw\n"})).stdout);
  console.log(require("fs").readFileSync(`/proc/${h.qemuPid()}/status`, "utf8").match(/VmRSS.*/)[0]);
  t2 = Date.now(); await h.reboot(); console.log("reboot", (Date.now()-t2)/1000, h.boots);
  await h.stop();
})().catch(e => { console.error("FAIL", e); process.exit(1); });
