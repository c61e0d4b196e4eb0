#!/usr/bin/env bash
# HTTP/1.1 through the whole agent (eBPF datapath + transparent L7 proxy), against the datapath alone and against no
# policy, in the same run: a lab with two pods (frontend, users + `membrane workload http`), wrk in the frontend pod,
# three configurations interleaved per round:
#   none  no policy (the datapath forwards, unenforced)
#   l4    frontend -> users:80 allowed by an L3/L4 rule (kernel only)
#   l7    the seed's HTTP rules: every request through the transparent proxy (GET /api/v1/users/... allowed)
# Prints requests/s and latency per configuration and round, then each configuration's mean as a ratio to "none".
#   DURATION=10 REPS=3 bench/traffic/agent.sh      (figures: a quiet machine)
#   DURATION=2 REPS=1 bench/traffic/agent.sh       (smoke)
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)"
: "${DURATION:=10}" "${REPS:=3}" "${CONNECTIONS:=32}" "${THREADS:=1}"
NAME="agb$(printf '%04d' $((RANDOM % 10000)))"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/membrane-agent-bench.XXXXXX")"
M=("$ROOT/membrane")
log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

cleanup() {
    "${M[@]}" lab down "$NAME" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

cat > "$WORK/topology.yaml" <<YAML
name: $NAME
namespaces:
  - name: default
    pods:
      - name: frontend
        labels: {app: frontend}
      - name: users
        labels: {app: users}
        server: http
YAML
cat > "$WORK/l4.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: bench-users, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: users}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: frontend}}]
    toPorts: [{ports: [{port: "80", protocol: TCP}]}]
YAML
cat > "$WORK/l7.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: bench-users, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: users}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: frontend}}]
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules:
        http:
        - method: GET
          path: "/api/v1/users/?.*"
YAML

log "lab $NAME up"
"${M[@]}" lab up -f "$WORK/topology.yaml" >&2
export MEMBRANE_INSTANCE="$NAME"

configure() {
    case "$1" in
        none) "${M[@]}" policy delete --all >/dev/null 2>&1 || true ;;
        l4) "${M[@]}" policy import --replace "$WORK/l4.yaml" >/dev/null ;;
        l7) "${M[@]}" policy import --replace "$WORK/l7.yaml" >/dev/null ;;
    esac
}

run_wrk() {
    timeout $((DURATION + 30)) "${M[@]}" lab exec --lab "$NAME" frontend -- \
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency http://users/api/v1/users/42 2>&1
}

log "warming up (${WARM_SECONDS:=3}s per configuration, not recorded)"
for config in none l4 l7; do
    configure "$config"
    timeout $((WARM_SECONDS + 30)) "${M[@]}" lab exec --lab "$NAME" frontend -- \
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARM_SECONDS}s" http://users/api/v1/users/42 >/dev/null 2>&1
done

printf '%-6s %-5s %12s %10s %10s %8s\n' config round "requests/s" "p50" "p99" "errors" | tee "$WORK/results.txt"
for round in $(seq 1 "$REPS"); do
    for config in none l4 l7; do
        configure "$config"
        out="$(run_wrk)"
        rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
        p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
        p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
        errors="$(awk '/Non-2xx or 3xx responses:/ {print $5} /Socket errors:/ {s=$4+$6+$8+$10} END {print s+0}' <<<"$out" | tail -1)"
        [ -n "$rps" ] || { echo "wrk failed for $config:" >&2; echo "$out" >&2; exit 1; }
        printf '%-6s %-5s %12s %10s %10s %8s\n' "$config" "$round" "$rps" "$p50" "$p99" "$errors" | tee -a "$WORK/results.txt"
    done
done

echo
awk 'NR > 1 { sum[$1] += $3; n[$1]++ } END {
    base = sum["none"] / n["none"];
    for (c in sum) printf "%-6s mean %10.0f requests/s   ratio to none %.2f\n", c, sum[c] / n[c], (sum[c] / n[c]) / base
}' "$WORK/results.txt" | sort
"${M[@]}" status | grep -E '^(Flows|Health):'
