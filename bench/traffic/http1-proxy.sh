#!/usr/bin/env bash
# HTTP/1.1 benchmark of the Membrane proxy beside HAProxy and nginx, same run, with the shared harness
# (shared/bench/http1.sh; perf-baselines.md §5): targets "membrane" (allow path) and "membrane-deny403" (the proxy
# answers 403, connection kept open), then allocations per request of both paths on the warm process.
#   DURATION=10 REPS=5 LAYOUT=pinned bench/traffic/http1-proxy.sh      (the lead's figures; ~10 min)
#   DURATION=3 REPS=1 bench/traffic/http1-proxy.sh                      (smoke)
# The harness is copied to a scratch folder with one change, as in proxy-design-experiment §1: EXTRA targets named
# *-deny403 are driven with the harness's DENY_PATH instead of ALLOW_PATH.
source "$(dirname "$(readlink -f "$0")")/http-proxy-lib.sh"
: "${DURATION:=10}" "${REPS:=3}"
build_host
cp -r "$SHARED_BENCH" "$WORK/bench"
sed -i 's/  TARGETS+=("$nm|$hp|$ALLOW_PATH|backend=$B${pids:+ proxy=$pids}"); done/  p=$ALLOW_PATH; case $nm in *-deny403) p=$DENY_PATH;; esac; TARGETS+=("$nm|$hp|$p|backend=$B${pids:+ proxy=$pids}"); done/' "$WORK/bench/http1.sh"
grep -q 'DENY_PATH;; esac' "$WORK/bench/http1.sh" || { echo "could not patch the harness copy for *-deny403 targets" >&2; exit 1; }

start_proxy 127.0.0.1:18081 http1
log "warming the proxy up (${WARM_SECONDS:-8}s allow, ${WARM_SECONDS:-8}s deny, private origin)"
warm_up /api/v1/users/42 /api/v1/orders/1
log "running the shared harness (DURATION=$DURATION REPS=$REPS LAYOUT=$LAYOUT)"
OUT="${OUT:-${TMPDIR:-/tmp}/membrane-bench}" DURATION="$DURATION" REPS="$REPS" LAYOUT="$LAYOUT" \
    EXTRA_TARGETS="membrane=127.0.0.1:$PROXY_PORT=$PROXY_PID membrane-deny403=127.0.0.1:$PROXY_PORT=$PROXY_PID" \
    "$WORK/bench/http1.sh"

log "allocations per request on the warm proxy (private origin, ${ALLOC_SECONDS}s each)"
start_private_origin
wrk_pinned=(timeout $((ALLOC_SECONDS + 30)))
[ "$LAYOUT" = pinned ] && wrk_pinned+=(taskset -c "$CLIENT_CPUS")
measure_alloc allow "${wrk_pinned[@]}" wrk -t1 -c50 -d"${ALLOC_SECONDS}s" "http://127.0.0.1:$PROXY_PORT/api/v1/users/42"
measure_alloc deny403 "${wrk_pinned[@]}" wrk -t1 -c50 -d"${ALLOC_SECONDS}s" "http://127.0.0.1:$PROXY_PORT/api/v1/orders/1"
stop_private_origin
grep '^stats' "$WORK/proxy.log" | tail -1
