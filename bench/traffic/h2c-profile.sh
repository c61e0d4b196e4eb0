#!/usr/bin/env bash
# Where the h2c proxy's CPU and allocations go: variants measured in the same run, interleaved rounds, pinned layout
# (h2load on CLIENT_CPUS, origin and every variant on SERVER_CPUS), against a private nginx h2c origin.
#   REPS=3 DURATION=8 bench/traffic/h2c-profile.sh            (smoke: REPS=1 DURATION=3)
# Targets (each a process of its own, started once and warmed up first):
#   direct            h2load -> origin (baseline for RPS)
#   proxy             the proxy (this tree), allowed unary call           proxy-deny   same process, denied call
#   proxy-gcserver    DOTNET_gcServer=1 (moot when pinned to one CPU: the host prints server_gc=...)
#   proxy-threadpool  no inline completions (socket continuations on the thread pool)
#   kestrel-fixed     Kestrel's HTTP/2 server alone answering 200 itself (the front's floor)
#   base-proxy        BASE_HOST_DLL=<path> (a build of another revision, e.g. main), if given
# plus, once, client-load: SocketsHttpHandler alone driving 50 concurrent calls to the origin (the old upstream
# leg's floor; its own CPU and allocations per request).
# Per target and round: RPS, proxy CPU µs/request (/proc), bytes allocated, gen0 GCs, thread-pool work items and lock
# contentions per request (the host's stats line: the System.Runtime counters' sources), foreign CPU %.
: "${ORIGIN_H2C_PORT:=18191}" "${ORIGIN_HTTP_PORT:=18181}"
source "$(dirname "$(readlink -f "$0")")/http-proxy-lib.sh"
: "${DURATION:=8}" "${REPS:=3}" "${WARM_SECONDS:=6}"
[ "$DURATION" -le 30 ] && [ "$REPS" -le 5 ] || { echo "bounded runs only (DURATION<=30, REPS<=5)" >&2; exit 2; }
build_host
PIN_ORIGIN=1 start_private_origin
GPATH=/helloworld.Greeter/SayHello
DENY=/helloworld.Greeter/Other
declare -A PIDS PORTS
start_variant() { # name port mode env...
    local name=$1 port=$2 mode=$3 dll=${HOST:-$HOST_DLL}; shift 3
    local pin=(); [ "$LAYOUT" = pinned ] && pin=(taskset -c "$SERVER_CPUS")
    mkdir -p "$WORK/cwd"
    (cd "$WORK/cwd" && env DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 DOTNET_gcServer=0 "$@" \
        "${pin[@]}" dotnet "$dll" --listen "127.0.0.1:$port" --upstream "127.0.0.1:$ORIGIN_H2C_PORT" --policy h2c --mode "$mode") > "$WORK/$name.log" 2>&1 &
    PIDS[$name]=$!; PORTS[$name]=$port
    for _ in $(seq 1 150); do grep -q '^ready' "$WORK/$name.log" 2>/dev/null && break; sleep 0.1; done
    grep -q '^ready' "$WORK/$name.log" || { cat "$WORK/$name.log" >&2; exit 1; }
    log "$name pid=${PIDS[$name]}: $(head -1 "$WORK/$name.log")"
}
stop_variants() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap 'stop_variants; cleanup' EXIT

start_variant proxy 18121 proxy
start_variant proxy-gcserver 18122 proxy DOTNET_gcServer=1
start_variant proxy-threadpool 18123 proxy DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0
start_variant kestrel-fixed 18124 kestrel-fixed
[ -n "${BASE_HOST_DLL:-}" ] && HOST=$BASE_HOST_DLL start_variant base-proxy 18125 proxy

# name|port|path|process
TARGETS=("direct|$ORIGIN_H2C_PORT|$GPATH|" "proxy|18121|$GPATH|proxy" "proxy-deny|18121|$DENY|proxy"
         "proxy-gcserver|18122|$GPATH|proxy-gcserver" "proxy-threadpool|18123|$GPATH|proxy-threadpool"
         "kestrel-fixed|18124|$GPATH|kestrel-fixed")
[ -n "${BASE_HOST_DLL:-}" ] && TARGETS+=("base-proxy|18125|$GPATH|base-proxy" "base-proxy-deny|18125|$DENY|base-proxy")

h2() { # port path seconds [cpu-file]
    local c=(); [ -n "${4:-}" ] && c=(python3 "$SHARED_BENCH/lib/runcpu.py" "$4")
    c+=(timeout $(( $3 + 30 ))); [ "$LAYOUT" = pinned ] && c+=(taskset -c "$CLIENT_CPUS")
    "${c[@]}" h2load -t1 -c10 -m5 -D "$3" -d "$SHARED_BENCH/conf/grpc-hello.bin" -H 'content-type: application/grpc' \
        -H 'te: trailers' "http://127.0.0.1:$1$2"
}
stat_of() { # process -> stats line fields
    local log=$WORK/$1.log before; before=$(grep -c '^stats' "$log" || true)
    kill -USR1 "${PIDS[$1]}"
    for _ in $(seq 1 50); do [ "$(grep -c '^stats' "$log" || true)" -gt "$before" ] && break; sleep 0.1; done
    grep '^stats' "$log" | tail -1
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
total_ticks() { awk '/^cpu /{print $2+$3+$4+$6+$7+$8}' /proc/stat; }

# gate: the allowed call passes, the denied one is answered by the proxy
for t in "${TARGETS[@]}"; do IFS='|' read -r nm port path proc <<<"$t"
    [ -z "$proc" ] && continue
    out=$(h2load -n1 -c1 -d "$SHARED_BENCH/conf/grpc-hello.bin" -H 'content-type: application/grpc' "http://127.0.0.1:$port$path" | grep -o '[0-9]* succeeded')
    log "gate $nm: $out (a denied gRPC call is a 200 trailers-only response)"
done
log "warming up every target (${WARM_SECONDS}s each)"
for t in "${TARGETS[@]}"; do IFS='|' read -r nm port path _ <<<"$t"; h2 "$port" "$path" "$WARM_SECONDS" > /dev/null 2>&1 || true; done

RESULTS=$WORK/results.tsv
n=${#TARGETS[@]}
for round in $(seq 1 "$REPS"); do
    for i in $(seq 0 $(( n - 1 ))); do
        t=${TARGETS[$(( (i + round) % n ))]}; IFS='|' read -r nm port path proc <<<"$t"
        s0=""; p0=0; [ -n "$proc" ] && { s0=$(stat_of "$proc"); p0=$(ticks "${PIDS[$proc]}"); }
        o0=$(ticks "$ORIGIN_PID"); T0=$(total_ticks)
        h2 "$port" "$path" "$DURATION" "$WORK/client.json" > "$WORK/h2.out" 2>&1 || true
        T1=$(total_ticks); o1=$(ticks "$ORIGIN_PID")
        s1=""; p1=0; [ -n "$proc" ] && { p1=$(ticks "${PIDS[$proc]}"); s1=$(stat_of "$proc"); }
        client=$(python3 -c "import json;print(json.load(open('$WORK/client.json'))['cpu_s'])")
        # foreign = all CPU time of the machine minus h2load, the origin and the measured process (seconds)
        foreign=$(python3 -c "print(round(($T1-$T0-($o1-$o0)-($p1-$p0))/$(getconf CLK_TCK)-$client, 2))")
        rps=$(grep -o 'finished in [^,]*, [0-9.]* req/s' "$WORK/h2.out" | grep -o '[0-9.]* req/s' | cut -d' ' -f1)
        done_n=$(grep -o 'requests: [0-9]* total, [0-9]* started, [0-9]* done, [0-9]* succeeded' "$WORK/h2.out" | awk '{print $8}')
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$nm" "${rps:-0}" "${done_n:-0}" "$p0" "$p1" "$foreign" "$DURATION" "$s0" "$s1" >> "$RESULTS"
        sleep 1
    done
done

log "client-load: SocketsHttpHandler alone (${DURATION}s after warm-up), pinned with the origin's CPU free"
cl=(); [ "$LAYOUT" = pinned ] && cl=(taskset -c "$CLIENT_CPUS")
(cd "$WORK/cwd" && DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 timeout $((DURATION * 3 + 60)) "${cl[@]}" dotnet "$HOST_DLL" --mode client-load \
    --upstream "127.0.0.1:$ORIGIN_H2C_PORT" --seconds "$DURATION") | tee "$WORK/client-load.txt"

python3 - "$RESULTS" "$(getconf CLK_TCK)" <<'PY'
import sys, re, statistics as st
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[1])]
hz = int(sys.argv[2])
def kv(s):
    return {k: v for k, v in re.findall(r'(\w+)=([0-9.]+)', s)}
by = {}
for r in rows:
    rnd, nm, rps, done, p0, p1, foreign, secs, s0, s1 = (r + [''] * 10)[:10]
    d = {'rps': float(rps or 0), 'done': int(done or 0), 'foreign': 100 * float(foreign) / float(secs)}
    a, b = kv(s0), kv(s1)
    n = int(b.get('requests', 0)) - int(a.get('requests', 0)) if a else 0
    if n > 0:
        d['cpu_us'] = (int(p1) - int(p0)) / hz * 1e6 / n
        d['bytes'] = (int(b['allocated_bytes']) - int(a['allocated_bytes'])) / n
        d['gen0_per_10k'] = (int(b['gen0']) - int(a['gen0'])) * 1e4 / n
        d['tp_items'] = (int(b['threadpool_items']) - int(a['threadpool_items'])) / n
        d['contentions'] = (int(b['lock_contentions']) - int(a['lock_contentions'])) / n
        d['gc_pause_us'] = (float(b['gc_pause_ms']) - float(a['gc_pause_ms'])) * 1e3 / n
    by.setdefault(nm, {}).setdefault(int(rnd), d)
base = by.get('direct', {})
def cell(vals, fmt):
    vals = [v for v in vals if v is not None]
    if not vals: return '–'
    return (fmt % st.median(vals)) + ('' if len(vals) == 1 else ' [' + fmt % min(vals) + '–' + fmt % max(vals) + ']')
print('| target | RPS | ratio vs direct | proxy CPU µs/req | B/req | gen0 per 10k req | GC pause µs/req | thread-pool items/req | lock contentions/req | foreign %CPU |')
print('|---|---|---|---|---|---|---|---|---|---|')
for nm, rounds in by.items():
    rs = sorted(rounds)
    g = lambda k: [rounds[r].get(k) for r in rs]
    ratio = [rounds[r]['rps'] / base[r]['rps'] if r in base and base[r]['rps'] else None for r in rs]
    print(f"| {nm} | {cell(g('rps'), '%.0f')} | {cell(ratio, '%.2f')} | {cell(g('cpu_us'), '%.1f')} | {cell(g('bytes'), '%.0f')} | {cell(g('gen0_per_10k'), '%.2f')} | {cell(g('gc_pause_us'), '%.2f')} | {cell(g('tp_items'), '%.2f')} | {cell(g('contentions'), '%.3f')} | {cell(g('foreign'), '%.0f')} |")
PY
log "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
