#!/bin/bash
# Membrane's eBPF datapath between two pods, side by side with no enforcement and with iptables chains, in one run.
#
# Topology (built fresh for every measurement by the harness, removed after it): node namespace PREFIX-node (no
# uplink, ip_forward only inside it), pods PREFIX-cli 10.250.1.11 and PREFIX-srv 10.250.1.12 joined to it by veths,
# exactly the lab topology. Nothing leaves these namespaces.
#
# Variants (VARIANTS env to choose a subset):
#   none                 nothing attached, plain forwarding through the node namespace (the baseline)
#   membrane-N           Membrane's programs on both pods' host veths, policy enforced in both directions of both
#                        pods (default deny; the client may reach the benchmark ports only), plus N extra identities
#                        in the ipcache and N extra entries in each endpoint's policy map (N = 10, 1k, 10k)
#   ipt-{legacy,nft}-N   N non-matching FORWARD rules in the node namespace (-s 10.251.x.y -p tcp --dport 80 -j DROP),
#                        then ACCEPT: the cost of a rule chain in the same place (N = 10, 1k, 10k)
# Tests per variant (T seconds each): iperf3 TCP stream (client cpu0, server cpu1), iperf3 UDP 64-byte packets at
# max rate (received pps), sockperf TCP ping-pong 64 B (RTT), crr TCP connect/request/response/close rate.
# Rounds interleave the variants in a rotated order; ratios are taken against "none" of the same round.
#
# Usage (root): bench/traffic/datapath.sh            full run (~25 min with the defaults; for a quiet machine)
#               T=1 REPS=1 VARIANTS="none membrane-10k ipt-legacy-1k" bench/traffic/datapath.sh   smoke run
# Output: $OUT/datapath-<time>/ (results.jsonl, summary.md, datapath-ratios.png, raw/).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
: "${REPS:=3}" "${T:=5}" "${OUT:=${TMPDIR:-/tmp}/membrane-bench}"
: "${VARIANTS:=none membrane-10 membrane-1k membrane-10k ipt-legacy-10 ipt-legacy-1k ipt-legacy-10k ipt-nft-10 ipt-nft-1k ipt-nft-10k}"

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { log "FATAL: $*"; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (namespaces, BPF, iptables)"
[ "$T" -le 30 ] && [ "$REPS" -le 10 ] || die "bounded runs only (T <= 30, REPS <= 10)"
for tool in iperf3 sockperf gcc python3 iptables-legacy-restore iptables-nft-restore; do
    command -v "$tool" >/dev/null || die "$tool is missing: apt-get install -y iperf3 sockperf gcc python3 iptables"
done

RUN=$OUT/datapath-$(date +%Y%m%d-%H%M%S)
W=$RUN/work
mkdir -p "$RUN/raw" "$RUN/pids" "$W"
log "results -> $RUN"
{
    echo "date: $(date -Is)"; echo "host: $(uname -a)"; lscpu | grep -E 'Model name|^CPU\(s\)|Hypervisor'
    echo "loadavg_at_start: $(cat /proc/loadavg)"; echo "variants: $VARIANTS"; echo "T=$T REPS=$REPS"
    git -C "$ROOT" rev-parse HEAD 2>/dev/null | sed 's/^/commit: /'
} > "$RUN/env.txt"

log "building the harness"
dotnet build "$HERE/datapath-harness" -c Release -nologo -v:q -clp:ErrorsOnly >/dev/null || die "harness build failed"
HARNESS=$ROOT/artifacts/bin/DatapathHarness/release/Membrane.DatapathHarness
[ -x "$HARNESS" ] || die "harness not found at $HARNESS"
gcc -O2 -o "$W/crr" "$HERE/datapath_crr.c"
CPUACCT="python3 $HERE/datapath_cpuacct.py"

PREFIX=mbtr$(head -c 16 /dev/urandom | tr -dc 'a-z0-9' | head -c 3)
NODE=$PREFIX-node CLI=$PREFIX-cli SRV=$PREFIX-srv IPB=10.250.1.12
P_IPERF=5201 P_RR=11111 P_CRR=11112
inCli() { ip netns exec "$CLI" "$@"; }
inSrv() { ip netns exec "$SRV" "$@"; }
inNode() { ip netns exec "$NODE" "$@"; }

# ---- iptables rule files (generated once) ----
python3 - "$W" <<'PY'
import sys
W = sys.argv[1]
filler = lambda i: f"10.251.{i // 250}.{i % 250 + 1}"
for n in (10, 1000, 10000):
    lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
    lines += [f"-A FORWARD -s {filler(i)}/32 -p tcp -m tcp --dport 80 -j DROP" for i in range(n)]
    lines += ["-A FORWARD -j ACCEPT", "COMMIT"]
    open(f"{W}/ipt-{n}.rules", "w").write("\n".join(lines) + "\n")
PY

start_bg() { # name cpus cmd...
    local name=$1 cpus=$2; shift 2
    taskset -c "$cpus" "$@" > "$RUN/raw/$name.log" 2>&1 &
    echo $! > "$RUN/pids/$name"
}
stop_all() { # by PID only
    local f p
    for f in "$RUN"/pids/*; do [ -f "$f" ] || continue; p=$(cat "$f"); kill "$p" 2>/dev/null || true; done
    sleep 0.3
    for f in "$RUN"/pids/*; do [ -f "$f" ] || continue; p=$(cat "$f"); kill -9 "$p" 2>/dev/null || true; rm -f "$f"; done
}
pid_of() { cat "$RUN/pids/$1" 2>/dev/null; }
teardown() { stop_all; "$HARNESS" teardown --prefix "$PREFIX" >/dev/null 2>&1 || true; }
trap teardown EXIT

count_of() { case $1 in *-10) echo 10;; *-1k) echo 1000;; *-10k) echo 10000;; *) echo 0;; esac; }

setup_variant() { # variant
    local v=$1 n
    n=$(count_of "$v")
    case $v in
        none) "$HARNESS" setup --prefix "$PREFIX" --variant none ;;
        membrane-*) "$HARNESS" setup --prefix "$PREFIX" --variant membrane --entries "$n" >> "$RUN/raw/verify.txt" ;;
        ipt-legacy-*) "$HARNESS" setup --prefix "$PREFIX" --variant none; inNode iptables-legacy-restore < "$W/ipt-$n.rules" ;;
        ipt-nft-*) "$HARNESS" setup --prefix "$PREFIX" --variant none; inNode iptables-nft-restore < "$W/ipt-$n.rules" ;;
        *) die "unknown variant $v" ;;
    esac
    inCli sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65000"
}

verify_variant() { # variant: prove the mechanism was in the path
    case $1 in
        membrane-*)
            # Enforced: a port the policy does not name is dropped.
            if inCli timeout 1 bash -c "exec 3<>/dev/tcp/$IPB/22" 2>/dev/null; then die "$1: port 22 was not blocked"; fi
            echo "$1: port 22 blocked (default deny active)" >> "$RUN/raw/verify.txt" ;;
        ipt-legacy-*) echo "$1: $(inNode iptables-legacy -L FORWARD -v -n -x | tail -1 | tr -s ' ')" >> "$RUN/raw/verify.txt" ;;
        ipt-nft-*) echo "$1: $(inNode iptables-nft -L FORWARD -v -n -x | tail -1 | tr -s ' ')" >> "$RUN/raw/verify.txt" ;;
    esac
}

measure() { # variant round
    local v=$1 r=$2 f="$RUN/raw/$1.r$2"
    setup_variant "$v"
    start_bg iperf3s 1 ip netns exec "$SRV" iperf3 -s -B "$IPB" -p $P_IPERF
    start_bg sockperfs 1 ip netns exec "$SRV" sockperf server --tcp -i "$IPB" -p $P_RR
    start_bg crrs 1 ip netns exec "$SRV" "$W/crr" server "$IPB" $P_CRR
    sleep 0.5
    inCli timeout 2 bash -c "exec 3<>/dev/tcp/$IPB/$P_CRR" || die "$v: no connectivity to the crr server"
    $CPUACCT snap "$f.a"
    inCli timeout $(( T + 20 )) taskset -c 0 iperf3 -c "$IPB" -p $P_IPERF -t "$T" -O 1 -J > "$f.tcp.json" || true
    inCli timeout $(( T + 20 )) taskset -c 0 iperf3 -c "$IPB" -p $P_IPERF -u -b 0 -l 64 -t "$T" -J > "$f.udp.json" || true
    inCli timeout $(( T + 20 )) taskset -c 1 sockperf ping-pong --tcp -i "$IPB" -p $P_RR -t "$T" -m 64 --full-rtt > "$f.rr.txt" 2>&1 || true
    inCli timeout $(( T + 20 )) taskset -c 1 "$W/crr" crr "$IPB" $P_CRR "$T" 64 > "$f.crr.json" || true
    $CPUACCT snap "$f.b"
    $CPUACCT diff "$f.a" "$f.b" "servers=$(pid_of iperf3s),$(pid_of sockperfs),$(pid_of crrs)" > "$f.cpu"
    rm -f "$f.a" "$f.b"
    verify_variant "$v"
    stop_all
    "$HARNESS" teardown --prefix "$PREFIX"
    python3 - "$f" "$v" "$r" "$T" "$(count_of "$v")" "$RUN/results.jsonl" <<'PY'
import json, re, sys
f, v, r, t, n, out = sys.argv[1:7]
m = dict(suite="datapath", layout="node-netns-veth", target=v, round=int(r), T=int(t), rules=int(n),
         mechanism=v.rsplit("-", 1)[0] if v != "none" else "none")
try:
    j = json.load(open(f + ".tcp.json")); m["tcp_gbps"] = round(j["end"]["sum_received"]["bits_per_second"] / 1e9, 3)
except Exception as e: m["tcp_err"] = str(e)[:80]
try:
    s = json.load(open(f + ".udp.json"))["end"]["sum"]
    m["udp64_kpps"] = round((s["packets"] - s["lost_packets"]) / s["seconds"] / 1e3, 1)
except Exception as e: m["udp_err"] = str(e)[:80]
txt = open(f + ".rr.txt").read()
try:
    g = lambda p: float(re.search(r"percentile %s = +([\d.]+)" % p, txt).group(1))
    m.update(rr_p50_us=g("50.000"), rr_p99_us=g("99.000"))
    vd = re.search(r"\[Valid Duration\] RunTime=([\d.]+) sec; SentMessages=(\d+); ReceivedMessages=(\d+)", txt)
    m["rr_tps"] = round(int(vd.group(3)) / float(vd.group(1)))
except Exception: m["rr_err"] = "parse"
try:
    c = json.load(open(f + ".crr.json")); m.update(crr_cps=c["rate"], crr_p50_us=c["p50_us"], crr_fails=c["fails"])
except Exception: m["crr_err"] = "parse"
try:
    c = json.load(open(f + ".cpu")); m["foreign_pct"] = c["foreign_pct"]; m["cpu_servers_pct"] = c["groups"]["servers"]
except Exception: pass
open(out, "a").write(json.dumps(m) + "\n")
print(json.dumps(m))
PY
}

read -r -a VS <<<"$VARIANTS"; n=${#VS[@]}
for round in $(seq 1 "$REPS"); do
    for i in $(seq 0 $(( n - 1 ))); do
        v=${VS[$(( (i + round) % n ))]}
        log "round $round: $v"
        measure "$v" "$round" | tail -1 >&2
    done
done
python3 "$HERE/datapath_summarize.py" "$RUN/results.jsonl" | tee "$RUN/summary.md"
python3 "$HERE/datapath_chart.py" "$RUN/results.jsonl" "$RUN/datapath-ratios.png" && log "chart -> $RUN/datapath-ratios.png"
