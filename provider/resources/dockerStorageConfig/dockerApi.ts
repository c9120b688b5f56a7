/**
 * Docker's API over its socket without the docker CLI. The CLI's own start costs ~0.8 s under
 * emulation (a `docker info` took 1.0–1.3 s where the same GET /info over the socket took 0.3 s), and
 * a read asks on every refresh. The client is perl with builtins only (no module: `use Socket` alone
 * costs 0.3 s there); perl-base is essential on Debian and present on most other hosts. Whatever
 * this client cannot do (no perl, no socket, another status, a chunked reply) fails with status 1 and
 * the caller asks the CLI, which gives its own words; a daemon that does not answer within
 * DOCKER_API_TIMEOUT_SECONDS ends it with status 142 (SIGALRM), which the caller does not retry.
 */
import { Shell } from "../../host/quote";

/** Docker's default socket: the CLI and docker.socket use it unless told otherwise. */
export const DOCKER_SOCKET = "/var/run/docker.sock";
export const DOCKER_API_TIMEOUT_SECONDS = 30;
/** perl's status when its alarm ended it: the daemon took the connection but did not answer. */
export const DOCKER_API_TIMEOUT_EXIT = 142;

// AF_UNIX = 1 and SOCK_STREAM = 1 (Linux, all but MIPS, where connect fails and the CLI answers);
// sockaddr_un is a native short family and a 108-byte path. HTTP/1.0: the daemon closes the
// connection after one reply and sends no chunks, so reading to the end is the whole body.
const PERL_CLIENT = `alarm $ARGV[2];
socket(S, 1, 1, 0) && connect(S, pack("S Z108", 1, $ARGV[1])) or exit 1;
syswrite(S, "GET $ARGV[0] HTTP/1.0\\r\\nHost: docker\\r\\n\\r\\n") or exit 1;
my $r = ""; while (1) { my $n = sysread(S, $r, 65536, length $r); defined $n or exit 1; last if $n == 0 }
my ($h, $b) = split /\\r\\n\\r\\n/, $r, 2; defined $b or exit 1;
$h =~ m{\\AHTTP/1\\.[01] 200 } or exit 1; $h =~ /^Transfer-Encoding:/mi and exit 1;
print $b`;

/**
 * `pzd_docker_api PATH [SOCKET [SECONDS]]`: prints the body of GET PATH (no newline added) and
 * succeeds only on a 200. Defined as a shell function, so a script that needs it includes this once.
 */
export const DOCKER_API_FUNCTION = new Shell(`pzd_docker_api() {
  pzd_sock=\${2:-${DOCKER_SOCKET}}
  [ -S "$pzd_sock" ] && command -v perl >/dev/null 2>&1 || return 1
  perl -e '${PERL_CLIENT}' "$1" "$pzd_sock" "\${3:-${DOCKER_API_TIMEOUT_SECONDS}}"
}`);
