/**
 * The headline: the same `docker build --no-cache` on one test host, with Docker's zfs driver (data root
 * on a ZFS dataset) and with overlay2 on the ext4-on-zvol this package sets up; classic builder and
 * BuildKit. The base image is made offline (busybox through `docker import`). Per-step times come from
 * the classic builder's "Step n/m" lines, timestamped on the host as they arrive.
 */
import type { TestHost } from "../test/hosts/harness";
import { markdownTable } from "./chart";
import { median } from "./compare";

const ENV_STEPS = 12;
const DOCKERFILE = [
    "FROM bench-base:local",
    ...Array.from({ length: ENV_STEPS }, (_, i) => (i % 2 === 0 ? `ARG A${i}=value${i}` : `ENV E${i}=value${i}`)),
    "RUN echo one > /one",
    "RUN echo two > /two",
    "RUN cat /one /two > /both",
    'CMD ["/bin/busybox", "cat", "/both"]',
].join("\n");

type Driver = "zfs" | "overlay2";
type Builder = "classic" | "buildkit";

interface BuildTime {
    driver: Driver;
    builder: Builder;
    seconds: number;
    /** Median seconds of an ARG/ENV step (classic builder only: BuildKit does not print steps one by one). */
    envStepSeconds?: number;
}

const ZFS_ROOT = "/var/lib/docker-zfs-bench";

/** Docker on the wanted driver: zfs on its own dataset, or overlay2 on /var/lib/docker (the converged ext4). */
async function useDriver(host: TestHost, pool: string, driver: Driver): Promise<void> {
    const daemon = driver === "zfs" ? `{"storage-driver": "zfs", "data-root": "${ZFS_ROOT}"}` : `{"storage-driver": "overlay2"}`;
    await host.exec(`set -e
        zfs list -H ${pool}/bench-zfsdriver >/dev/null 2>&1 || zfs create -o mountpoint=${ZFS_ROOT} ${pool}/bench-zfsdriver
        cp /etc/docker/daemon.json /etc/docker/daemon.json.bench-build 2>/dev/null || true
        printf '%s\\n' '${daemon}' > /etc/docker/daemon.json
        systemctl restart docker
        docker info --format '{{.Driver}}' | grep -qx ${driver}
        docker image inspect bench-base:local >/dev/null 2>&1 || { rm -rf /tmp/bench-rootfs && mkdir -p /tmp/bench-rootfs/bin && cp /bin/busybox /tmp/bench-rootfs/bin/ && tar -C /tmp/bench-rootfs -c . | docker import - bench-base:local >/dev/null; }
        mkdir -p /tmp/bench-build && cat > /tmp/bench-build/Dockerfile <<'EOF'
${DOCKERFILE}
EOF`);
}

async function build(host: TestHost, driver: Driver, builder: Builder): Promise<BuildTime> {
    const env = builder === "buildkit" ? "DOCKER_BUILDKIT=1" : "DOCKER_BUILDKIT=0";
    // Each output line gets the host's clock, so step durations do not include the SSH round trip.
    const result = await host.exec(`cd /tmp/bench-build && docker builder prune -af >/dev/null 2>&1; start=$(date +%s.%N)
        ${env} docker build --no-cache --progress=plain -t bench-build:${driver} . 2>&1 | while IFS= read -r line; do printf '%s %s\\n' "$(date +%s.%N)" "$line"; done
        end=$(date +%s.%N); echo "@@total $start $end"`, { timeoutMs: 1_800_000 });
    const lines = result.stdout.split("\n");
    const total = /^@@total (\S+) (\S+)/m.exec(result.stdout);
    if (!total) throw new Error(`docker build on ${host.name} printed no timing:\n${result.stdout.slice(-2000)}`);
    const seconds = Number(total[2]) - Number(total[1]);
    let envStepSeconds: number | undefined;
    if (builder === "classic") {
        const steps = lines.map((l) => /^(\d+\.\d+) Step \d+\/\d+ : (\w+)/.exec(l)).filter((m): m is RegExpExecArray => m !== null);
        const durations: number[] = [];
        for (let i = 0; i + 1 < steps.length; i++) {
            if (steps[i][2] === "ARG" || steps[i][2] === "ENV") durations.push(Number(steps[i + 1][1]) - Number(steps[i][1]));
        }
        envStepSeconds = durations.length > 0 ? median(durations) : undefined;
    }
    return { driver, builder, seconds: Math.round(seconds * 10) / 10, envStepSeconds: envStepSeconds === undefined ? undefined : Math.round(envStepSeconds * 100) / 100 };
}

/** Needs a host already converged to ext4 on a zvol at /var/lib/docker; puts daemon.json back afterwards. */
export async function dockerBuildHeadline(host: TestHost, pool: string, samples: number): Promise<string> {
    const times: BuildTime[] = [];
    try {
        for (let s = 0; s < samples; s++) {
            for (const driver of (s % 2 === 0 ? ["zfs", "overlay2"] : ["overlay2", "zfs"]) as Driver[]) {
                await useDriver(host, pool, driver);
                for (const builder of ["classic", "buildkit"] as Builder[]) {
                    const t = await build(host, driver, builder);
                    console.log(`bench: docker build, ${driver}, ${builder}: ${t.seconds}s${t.envStepSeconds !== undefined ? ` (ENV/ARG step ${t.envStepSeconds}s)` : ""}`);
                    times.push(t);
                }
            }
        }
    } finally {
        await host.exec(`[ -f /etc/docker/daemon.json.bench-build ] && mv /etc/docker/daemon.json.bench-build /etc/docker/daemon.json; systemctl restart docker; zfs destroy -r ${pool}/bench-zfsdriver 2>/dev/null; true`, { allowFail: true });
    }
    const of = (driver: Driver, builder: Builder) => times.filter((t) => t.driver === driver && t.builder === builder);
    const whole = (driver: Driver, builder: Builder) => median(of(driver, builder).map((t) => t.seconds));
    const step = (driver: Driver) => median(of(driver, "classic").map((t) => t.envStepSeconds ?? 0));
    const rows: (string | number)[][] = [
        ["classic builder, whole build", whole("zfs", "classic").toFixed(1), whole("overlay2", "classic").toFixed(1), `${(whole("zfs", "classic") / whole("overlay2", "classic")).toFixed(2)}×`],
        ["classic builder, one ARG/ENV step", step("zfs").toFixed(2), step("overlay2").toFixed(2), `${(step("zfs") / step("overlay2")).toFixed(2)}×`],
        ["BuildKit, whole build", whole("zfs", "buildkit").toFixed(1), whole("overlay2", "buildkit").toFixed(1), `${(whole("zfs", "buildkit") / whole("overlay2", "buildkit")).toFixed(2)}×`],
    ];
    return `${markdownTable(["docker build --no-cache (12 ARG/ENV, 3 RUN)", "zfs driver s", "overlay2 on ext4-on-zvol s", "speed-up"], rows)}\n${samples} sample(s) each, medians; one guest under emulation, so only the ratios mean anything.\n`;
}
