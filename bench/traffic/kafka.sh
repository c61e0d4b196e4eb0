#!/bin/bash
# Kafka produce/fetch through the Membrane Kafka engine, side by side with the same traffic direct to the broker and
# through HAProxy in TCP mode (the byte-relay reference), all on 127.0.0.1, in one run with interleaved rounds.
#
#   broker A  = `membrane workload kafka` (librdkafka mock cluster behind its relay)  <- direct, and membrane's upstream
#   broker B  = same, advertising HAProxy's port                                       <- haproxy-tcp
#   membrane  = `Membrane.Benchmarks kafka-proxy` (explicit mode, produce+consume rules on its topic) -> broker A
#
# Workloads per target and round (kcat = Debian's librdkafka 2.0.2, pinned on CLIENT_CPUS):
#   produce-batched  MSGS messages of SIZE bytes, default batching (throughput, MB/s)
#   produce-single   SINGLE messages, one Produce request each (linger 0, batch of 1): request-rate bound
#   fetch            the last MSGS messages read back (-o -MSGS -e)
# Reported per measurement: messages/s, ratio to direct in the same round, proxy CPU per message and, for membrane,
# per Kafka request (the engine counts them; HAProxy's per-request figure uses membrane's count for the same workload).
#
# Env knobs (defaults): REPS=3 MSGS=100000 SIZE=100 SINGLE=20000 LAYOUT=pinned CLIENT_CPUS=0 SERVER_CPUS=1
#   NO_BUILD=1 (skip dotnet build)  OUT=dir  SHARED_BENCH=path to shared/bench (found automatically)
# Bounded: every client run has a 60 s timeout; REPS <= 10; MSGS <= 2,000,000.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
if [ -z "${SHARED_BENCH:-}" ]; then
  for d in "$ROOT/../shared/bench" "$ROOT/../../shared/bench" /work/shared/bench; do
    [ -f "$d/lib/common.sh" ] && SHARED_BENCH=$(cd "$d" && pwd) && break; done
fi
[ -f "${SHARED_BENCH:-}/lib/common.sh" ] || { echo "shared/bench not found (set SHARED_BENCH)" >&2; exit 1; }
source "$SHARED_BENCH/lib/common.sh"
: "${REPS:=3}" "${MSGS:=100000}" "${SIZE:=100}" "${SINGLE:=20000}" "${LAYOUT:=pinned}" "${CLIENT_CPUS:=0}" "${SERVER_CPUS:=1}"
[ "$LAYOUT" = unpinned ] && { CLIENT_CPUS=""; SERVER_CPUS=""; }
[ "$REPS" -le 10 ] && [ "$MSGS" -le 2000000 ] && [ "$SINGLE" -le 2000000 ] || die "bounded runs only (REPS<=10, MSGS<=2e6)"
command -v kcat >/dev/null && command -v haproxy >/dev/null || die "needs kcat and haproxy"

if [ "${NO_BUILD:-0}" != 1 ]; then
  log "building membrane CLI and benchmarks (Release)"
  dotnet build "$ROOT/src/Membrane.Cli" -c Release -nologo -v:q -clp:ErrorsOnly >/dev/null
  dotnet build "$ROOT/bench/Membrane.Benchmarks" -c Release -nologo -v:q -clp:ErrorsOnly >/dev/null
fi
MEMBRANE="$ROOT/artifacts/bin/Membrane.Cli/release/membrane"
BENCHBIN="$ROOT/artifacts/bin/Membrane.Benchmarks/release/Membrane.Benchmarks"
export DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 DOTNET_gcServer=0

new_run "kafka-$LAYOUT"
trap stop_all EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PA=$(free_port); PB=$(free_port); PH=$(free_port); PM=$(free_port)
STATS="$RUN/raw/membrane.stats"

start_bg brokerA "$SERVER_CPUS" "$MEMBRANE" workload kafka --listen "127.0.0.1:$PA" --topic t-direct --topic t-membrane
start_bg brokerB "$SERVER_CPUS" "$MEMBRANE" workload kafka --listen "127.0.0.1:$PB" --advertise "127.0.0.1:$PH" --topic t-haproxy
cat > "$RUN/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 2000
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend fe_kafka
    bind 127.0.0.1:$PH
    default_backend be_kafka
backend be_kafka
    server broker 127.0.0.1:$PB
EOF
start_bg haproxy "$SERVER_CPUS" haproxy -db -f "$RUN/haproxy.cfg"
wait_port 127.0.0.1 "$PA" 20 && wait_port 127.0.0.1 "$PB" 20 && wait_port 127.0.0.1 "$PH" 10 || die "brokers did not come up"
start_bg membrane "$SERVER_CPUS" "$BENCHBIN" kafka-proxy --listen "127.0.0.1:$PM" --upstream "127.0.0.1:$PA" --allow t-membrane --stats "$STATS"
wait_port 127.0.0.1 "$PM" 20 || die "membrane kafka-proxy did not come up"
BA=$(pid_of brokerA); BB=$(pid_of brokerB); H=$(pid_of haproxy); M=$(pid_of membrane)

python3 -c "import sys; sys.stdout.write(('x'*($SIZE-1)+'\n')*$MSGS)" > "$RUN/raw/msgs.txt"
python3 -c "import sys; sys.stdout.write(('y'*($SIZE-1)+'\n')*$SINGLE)" > "$RUN/raw/single.txt"

# name|bootstrap|topic|cpu groups
TARGETS=("direct|127.0.0.1:$PA|t-direct|broker=$BA"
         "haproxy-tcp|127.0.0.1:$PH|t-haproxy|broker=$BB proxy=$H"
         "membrane|127.0.0.1:$PM|t-membrane|broker=$BA proxy=$M")

# functional gate: membrane must deny a topic outside its rules before any number counts
if printf 'leak\n' | timeout 30 kcat -P -b "127.0.0.1:$PM" -t t-direct -X message.timeout.ms=5000 2>"$RUN/raw/gate.txt"; [ -n "$(grep -l 'Topic authorization failed' "$RUN/raw/gate.txt")" ]; then
  log "policy gate ok: produce to a topic outside the rules is denied"
else
  die "policy gate failed: $(cat "$RUN/raw/gate.txt")"
fi

requests() { [ -f "$STATS" ] && awk '{print $2}' "$STATS" || echo 0; }
kcat_argv() { # workload bootstrap topic -> KC array
  KC=(timeout 60); [ -n "$CLIENT_CPUS" ] && KC+=(taskset -c "$CLIENT_CPUS")
  case $1 in
    produce-batched) KC+=(kcat -P -b "$2" -t "$3" -p 0 -X acks=all -X linger.ms=5 -l "$RUN/raw/msgs.txt");;
    produce-single)  KC+=(kcat -P -b "$2" -t "$3" -p 0 -X acks=1 -X linger.ms=0 -X batch.num.messages=1 -l "$RUN/raw/single.txt");;
    fetch)           KC+=(kcat -C -b "$2" -t "$3" -p 0 -o "-$MSGS" -c "$MSGS" -e -q -X fetch.wait.max.ms=5);;
  esac
}

n=${#TARGETS[@]}
for round in $(seq 0 "$REPS"); do
  for workload in produce-batched produce-single fetch; do
    for i in $(seq 0 $(( n - 1 ))); do
      t=${TARGETS[$(( (i + round) % n ))]}; IFS='|' read -r nm bs topic groups <<<"$t"
      kcat_argv "$workload" "$bs" "$topic"
      if [ "$round" = 0 ]; then "${KC[@]}" >/dev/null 2>&1 || true; continue; fi   # warm-up (and data for fetch)
      f="$RUN/raw/$nm.$workload.r$round"
      r0=$(requests); $CPUACCT snap "$f.a"; t0=$(date +%s.%N)
      $RUNCPU "$f.client" "${KC[@]}" > "$f.out" 2> "$f.err" || true
      t1=$(date +%s.%N); $CPUACCT snap "$f.b"; r1=$(requests)
      # shellcheck disable=SC2086
      $CPUACCT diff "$f.a" "$f.b" $groups > "$f.cpu"
      rm -f "$f.a" "$f.b"
      case $workload in produce-single) count=$SINGLE;; *) count=$MSGS;; esac
      reqs=0; [ "$nm" = membrane ] && reqs=$(( r1 - r0 ))
      python3 "$SHARED_BENCH/lib/record.py" "$RUN/results.jsonl" suite=kafka layout="$LAYOUT" round="$round" target="$nm" \
        workload="$workload" messages="$count" size="$SIZE" seconds="$(echo "$t1 - $t0" | bc)" kafka_requests="$reqs" \
        loadavg="$(cut -d' ' -f1 /proc/loadavg)" --client "$f.client" --cpu "$f.cpu" >/dev/null
      sleep 1
    done
  done
done

python3 - "$RUN/results.jsonl" <<'EOF' | tee "$RUN/summary.md"
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
for r in rows:
    r["rate"] = r["messages"] / r["seconds"]
    r["proxy_cpu_s"] = r.get("cpu_proxy_pct", 0) / 100 * r["seconds"]
base = {(r["round"], r["workload"]): r for r in rows if r["target"] == "direct"}
reqs = {(r["round"], r["workload"]): r["kafka_requests"] for r in rows if r["target"] == "membrane"}
def med(xs): return statistics.median(xs) if xs else float("nan")
print("| workload | target | msgs/s (median) | ratio vs direct [min-max] | proxy CPU µs/msg | Kafka requests | proxy CPU µs/request | foreign %CPU |")
print("|---|---|---|---|---|---|---|---|")
for w in ("produce-batched", "produce-single", "fetch"):
    for t in ("direct", "haproxy-tcp", "membrane"):
        rs = [r for r in rows if r["workload"] == w and r["target"] == t]
        if not rs: continue
        ratios = [r["rate"] / base[(r["round"], w)]["rate"] for r in rs if (r["round"], w) in base]
        per_msg = [1e6 * r["proxy_cpu_s"] / r["messages"] for r in rs] if t != "direct" else []
        nreq = [reqs.get((r["round"], w), 0) for r in rs]
        per_req = [1e6 * r["proxy_cpu_s"] / q for r, q in zip(rs, nreq) if q] if t != "direct" else []
        print(f"| {w} | {t} | {med([r['rate'] for r in rs]):,.0f} | {med(ratios):.2f} [{min(ratios):.2f}-{max(ratios):.2f}] | "
              f"{med(per_msg):.2f} | {med(nreq):,.0f} | {med(per_req):.1f} | {med([r.get('foreign_pct', 0) for r in rs]):.1f} |")
EOF
