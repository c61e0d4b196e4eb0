#!/usr/bin/env python3
"""datapath_summarize.py results.jsonl -> markdown table for bench/traffic/datapath.sh.

Per variant: median [min-max] over rounds of each metric, and the ratio to "none" computed within each round
(both measured minutes apart under the same conditions), reported as median [min-max] of the per-round ratios.
For latency the ratio is none/variant, so that for every ratio 1.0 means "as fast as no enforcement" and lower
is worse.
"""
import json, statistics, sys
from collections import defaultdict

METRICS = [("tcp_gbps", "TCP Gbit/s", 2), ("udp64_kpps", "UDP 64B kpps", 0), ("rr_p50_us", "RR p50 µs", 1),
           ("rr_p99_us", "RR p99 µs", 1), ("crr_cps", "CRR conn/s", 0), ("foreign_pct", "foreign %CPU", 0)]
RATIOS = [("tcp_gbps", "TCP thr", False), ("udp64_kpps", "UDP pps", False), ("rr_p50_us", "RR p50", True),
          ("crr_cps", "CRR", False)]


def fmt(v, d):
    return "–" if v is None else (f"{v:,.{d}f}" if d else f"{v:,.0f}")


def ratios(rows, key, inverse):
    base = {r["round"]: r for r in rows if r["target"] == "none"}
    out = defaultdict(list)
    for r in rows:
        b = base.get(r["round"])
        if b and r.get(key) and b.get(key):
            out[r["target"]].append(b[key] / r[key] if inverse else r[key] / b[key])
    return out


def main():
    rows = [json.loads(l) for p in sys.argv[1:] for l in open(p) if l.strip()]
    order = list(dict.fromkeys(r["target"] for r in sorted(rows, key=lambda r: (r["target"] != "none", r.get("mechanism", ""), r.get("rules", 0)))))
    rat = {key: ratios(rows, key, inv) for key, _, inv in RATIOS}
    hdr = ["target", "n"] + [m[1] for m in METRICS] + [f"ratio {name}" for _, name, _ in RATIOS]
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for t in order:
        rs = [r for r in rows if r["target"] == t]
        cells = [t, str(len(rs))]
        for key, _, d in METRICS:
            vals = [r[key] for r in rs if r.get(key) is not None]
            cells.append("–" if not vals else f"{fmt(statistics.median(vals), d)} [{fmt(min(vals), d)}–{fmt(max(vals), d)}]" if len(vals) > 1 else fmt(vals[0], d))
        for key, _, _ in RATIOS:
            v = rat[key].get(t, [])
            cells.append(f"{statistics.median(v):.2f} [{min(v):.2f}–{max(v):.2f}]" if v else "–")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
