#!/usr/bin/env bash
# h2c (gRPC-shaped unary POST) benchmark of the Membrane proxy beside HAProxy and nginx grpc_pass, same run, with the
# shared harness (shared/bench/h2c.sh): target "membrane-h2c", then allocations per request on the warm process.
#   DURATION=10 REPS=5 LAYOUT=pinned bench/traffic/h2c-proxy.sh      (the lead's figures)
#   DURATION=3 REPS=1 bench/traffic/h2c-proxy.sh                      (smoke)
source "$(dirname "$(readlink -f "$0")")/http-proxy-lib.sh"
: "${DURATION:=10}" "${REPS:=3}"
build_host
start_proxy 127.0.0.1:18091 h2c
log "warming the proxy up (${WARM_SECONDS:-8}s, private origin)"
start_private_origin
timeout 60 h2load -t1 -c10 -m5 -D "${WARM_SECONDS:-8}" -d "$SHARED_BENCH/conf/grpc-hello.bin" -H 'content-type: application/grpc' \
    -H 'te: trailers' "http://127.0.0.1:$PROXY_PORT/helloworld.Greeter/SayHello" > /dev/null 2>&1 || true
stop_private_origin
log "running the shared harness (DURATION=$DURATION REPS=$REPS LAYOUT=$LAYOUT)"
OUT="${OUT:-${TMPDIR:-/tmp}/membrane-bench}" DURATION="$DURATION" REPS="$REPS" LAYOUT="$LAYOUT" \
    EXTRA_TARGETS="membrane-h2c=127.0.0.1:$PROXY_PORT=$PROXY_PID" "$SHARED_BENCH/h2c.sh"

log "allocations per request on the warm proxy (private origin, ${ALLOC_SECONDS}s)"
start_private_origin
h2=(timeout $((ALLOC_SECONDS + 30)))
[ "$LAYOUT" = pinned ] && h2+=(taskset -c "$CLIENT_CPUS")
measure_alloc h2c-allow "${h2[@]}" h2load -t1 -c10 -m5 -D "$ALLOC_SECONDS" -d "$SHARED_BENCH/conf/grpc-hello.bin" \
    -H 'content-type: application/grpc' -H 'te: trailers' "http://127.0.0.1:$PROXY_PORT/helloworld.Greeter/SayHello"
stop_private_origin
grep '^stats' "$WORK/proxy.log" | tail -1
