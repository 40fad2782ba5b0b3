#!/usr/bin/env bash
# The etcd comparison (../shared/bench/vs-etcd.sh) on a slower disk: every fsync and fdatasync
# of both systems' nodes takes DELAY_US more (strace's syscall injection, filtered by seccomp
# so no other call is stopped). The same delay for etcd and Grey; the machine's own fdatasync
# p50, with and without the delay, is printed above the table.
#
# usage: bench/slow-disk.sh [GREYD_BINARY]   (from the project root; default .build/release/greyd)
# env:   DELAY_US (default 1000), and every setting of vs-etcd.sh (ROUNDS, REQUESTS, LEVELS, API, OP, ...)
set -euo pipefail
GREYD=$(readlink -f "${1:-.build/release/greyd}")
DELAY_US=${DELAY_US:-1000}
VS_ETCD=${VS_ETCD:-../shared/bench/vs-etcd.sh}
command -v strace >/dev/null || { echo "missing strace: apt-get install -y strace" >&2; exit 2; }
[ -x "$GREYD" ] || { echo "no greyd at $GREYD: build with 'swift build -c release'" >&2; exit 2; }
SLOWED="strace -f --seccomp-bpf -qq -o /dev/null -e trace=fsync,fdatasync -e inject=fsync,fdatasync:delay_exit=$DELAY_US"
WRAP=$(mktemp -d -t slow-disk.XXXXXX)
trap 'rm -rf "$WRAP"' EXIT

# A wrapper per program: runs it under strace with the delay injected, and on SIGTERM stops
# the program itself (strace 6.1 would detach and leave it running).
wrap() { # name real-binary
  cat >"$WRAP/$1" <<EOF
#!/usr/bin/env bash
$SLOWED "$2" "\$@" &
tracer=\$!
trap 'pkill -TERM -P \$tracer; wait \$tracer' TERM INT
wait \$tracer
EOF
  chmod +x "$WRAP/$1"
}
wrap etcd "$(command -v etcd)"
wrap greyd "$GREYD"

probe() { # [wrapper...] -> fdatasync p50 of 200 appends of 256 bytes in the scratch directory
  "$@" python3 - "$WRAP/probe" <<'PY'
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
times = []
for _ in range(200):
    os.write(fd, b"x" * 256)
    start = time.perf_counter(); os.fdatasync(fd); times.append(time.perf_counter() - start)
times.sort()
print("%.3f" % (times[len(times) // 2] * 1e3))
PY
}
plain=$(probe)
slowed=$(probe $SLOWED)
echo "fdatasync p50: ${plain} ms on this disk, ${slowed} ms with ${DELAY_US} us added (both systems)"
PATH="$WRAP:$PATH" "$VS_ETCD" "$WRAP/greyd"
