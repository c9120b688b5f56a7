// Makes `require("pulumi-zfs-docker/...")` resolve inside this repo as it does for users who install
// the package: the engine runs our serialized provider methods, which load the implementation by name.
const fs = require("fs");
const path = require("path");
const link = path.join(__dirname, "..", "node_modules", "pulumi-zfs-docker");
try {
    if (fs.readlinkSync(link) === "..") process.exit(0);
    fs.rmSync(link, { recursive: true, force: true });
} catch {
    // not there yet
}
fs.mkdirSync(path.dirname(link), { recursive: true });
fs.symlinkSync("..", link, "dir");
