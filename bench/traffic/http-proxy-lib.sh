# shellcheck shell=bash
# Shared by http1-proxy.sh and h2c-proxy.sh: build and run the Membrane proxy host beside the shared harness.
# Sourced, not executed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shared/ sits beside the clone (CI) or two levels up (a worktree under wt/); SHARED_BENCH overrides.
if [ -z "${SHARED_BENCH:-}" ]; then
    for d in "$ROOT/../shared/bench" "$ROOT/../../shared/bench" /work/shared/bench; do
        [ -x "$d/http1.sh" ] && { SHARED_BENCH=$(cd "$d" && pwd); break; }
    done
fi
[ -x "${SHARED_BENCH:-}/http1.sh" ] || { echo "shared bench harness not found (set SHARED_BENCH)" >&2; exit 2; }
: "${LAYOUT:=pinned}" "${SERVER_CPUS:=1}" "${CLIENT_CPUS:=0}" "${PROXY_PORT:=18111}" "${ALLOC_SECONDS:=5}"
# The private origin's ports (allocation runs, warm-up, h2c-profile.sh); the shared harness uses 18081/18091 itself
# but only while the private origin is stopped.
: "${ORIGIN_HTTP_PORT:=18081}" "${ORIGIN_H2C_PORT:=18091}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/membrane-proxy-bench.XXXXXX")
HOST_DLL="$ROOT/artifacts/bin/Membrane.Bench.ProxyHost/release/Membrane.Bench.ProxyHost.dll"
PROXY_PID=""; ORIGIN_PID=""

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

cleanup() {
    for p in $PROXY_PID $ORIGIN_PID; do kill "$p" 2>/dev/null || true; done
    sleep 0.5
    for p in $PROXY_PID $ORIGIN_PID; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

build_host() {
    log "building the proxy host (Release)"
    dotnet build "$ROOT/bench/traffic/http-proxy-host/Membrane.Bench.ProxyHost.csproj" -c Release -nologo -v:q -clp:ErrorsOnly >&2
}

# start_proxy UPSTREAM POLICY: the process model of the agent (inline completions, no config reload), pinned like
# the references, with an empty working directory nobody writes to (proxy-design-experiment §5).
start_proxy() {
    local pin=()
    [ "$LAYOUT" = pinned ] && pin=(taskset -c "$SERVER_CPUS")
    mkdir -p "$WORK/cwd"
    (cd "$WORK/cwd" && DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 DOTNET_hostBuilder__reloadConfigOnChange=false DOTNET_gcServer=0 \
        exec "${pin[@]}" dotnet "$HOST_DLL" --listen "127.0.0.1:$PROXY_PORT" --upstream "$1" --policy "$2") > "$WORK/proxy.log" 2>&1 &
    PROXY_PID=$!
    for _ in $(seq 1 100); do grep -q '^ready' "$WORK/proxy.log" 2>/dev/null && break; sleep 0.1; done
    grep -q '^ready' "$WORK/proxy.log" || { cat "$WORK/proxy.log" >&2; exit 1; }
    log "proxy pid=$PROXY_PID: $(head -1 "$WORK/proxy.log")"
}

# stats -> "requests allocated_bytes" from the host (SIGUSR1 makes it print a stats line)
stats() {
    local before; before=$(grep -c '^stats' "$WORK/proxy.log" || true)
    kill -USR1 "$PROXY_PID"
    for _ in $(seq 1 50); do [ "$(grep -c '^stats' "$WORK/proxy.log" || true)" -gt "$before" ] && break; sleep 0.1; done
    grep '^stats' "$WORK/proxy.log" | tail -1 | sed -E 's/.*requests=([0-9]+).*allocated_bytes=([0-9]+).*/\1 \2/'
}

# A private origin like the harness's (nginx, 19-byte body, HTTP/1.1 and h2c) for the allocation runs.
start_private_origin() {
    mkdir -p "$WORK/origin/tmp"
    cat > "$WORK/origin/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/origin/nginx.pid;
error_log $WORK/origin/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 100000000; keepalive_timeout 120s; client_body_temp_path $WORK/origin/tmp;
  server {
    listen 127.0.0.1:$ORIGIN_HTTP_PORT reuseport; listen 127.0.0.1:$ORIGIN_H2C_PORT http2; http2_max_concurrent_streams 1024;
    default_type text/plain; location / { return 200 "hello from backend\n"; }
  }
}
CONF
    local pin=()
    [ "$LAYOUT" = pinned ] && [ "${PIN_ORIGIN:-0}" = 1 ] && pin=(taskset -c "$SERVER_CPUS")
    "${pin[@]}" nginx -p "$WORK/origin" -c "$WORK/origin/nginx.conf" > "$WORK/origin/log" 2>&1 &
    ORIGIN_PID=$!
    for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$ORIGIN_HTTP_PORT") 2>/dev/null && break; sleep 0.1; done
}

# warm_up PATH...: JIT-warm the proxy (tiered compilation, PGO) against the private origin before the harness
# starts, as the design experiment did: a cold .NET proxy costs several times its steady state in its first seconds.
warm_up() {
    start_private_origin
    local p
    for p in "$@"; do timeout 60 wrk -t1 -c50 -d"${WARM_SECONDS:-8}s" "http://127.0.0.1:$PROXY_PORT$p" > /dev/null 2>&1 || true; done
    stop_private_origin
}

stop_private_origin() { kill "$ORIGIN_PID" 2>/dev/null || true; wait "$ORIGIN_PID" 2>/dev/null || true; ORIGIN_PID=""; }

# cpu_ticks: user+system clock ticks of the proxy process so far
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PROXY_PID/stat"; }

# measure_alloc LABEL CMD...: bytes allocated and CPU time used by the proxy per request while CMD runs (the load is
# bounded by CMD). The CPU figure is the proxy's own (from /proc), so it is less sensitive to other processes than
# RPS, but on a busy machine it still includes cache and scheduling interference: the harness's figure is the one
# to quote.
measure_alloc() {
    local label=$1; shift
    read -r r0 a0 < <(stats)
    local c0; c0=$(cpu_ticks)
    "$@" > "$WORK/alloc-$label.out" 2>&1 || true
    local c1; c1=$(cpu_ticks)
    read -r r1 a1 < <(stats)
    local n=$((r1 - r0)) hz; hz=$(getconf CLK_TCK)
    if [ "$n" -gt 0 ]; then
        echo "$label: requests=$n allocated_bytes=$((a1 - a0)) bytes_per_request=$(python3 -c "print(round(($a1-$a0)/$n,1))") proxy_cpu_us_per_request=$(python3 -c "print(round(($c1-$c0)/$hz*1e6/$n,1))")"
    else
        echo "$label: no request reached the proxy"; cat "$WORK/alloc-$label.out" >&2
    fi
}
