#!/usr/bin/env python3
# Copied from the team baseline kit (bench/lib/cpuacct.py of the shared baselines) for bench/traffic/datapath.sh.
"""CPU accounting for benchmark runs (no perf counters needed).

  cpuacct.py snap FILE                      # snapshot /proc/stat + every process' utime/stime
  cpuacct.py diff A B label=PID[,PID..] ... # JSON: CPU% (of ONE core) per labelled process tree,
                                            # per-CPU busy%, and 'foreign' = CPU used by processes
                                            # outside the labelled trees (interference indicator)
Process trees: a labelled PID includes all of its descendants (nginx workers, etc.).
Processes born and dead between the snapshots are invisible per-process (but show in per-CPU busy).
"""
import json, os, sys, time

HZ = os.sysconf("SC_CLK_TCK")

def read_procs():
    procs = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        r = s.rfind(")")
        comm = s[s.find("(") + 1:r]
        fields = s[r + 2:].split()
        # fields[0]=state [1]=ppid ... [11]=utime [12]=stime (0-based after comm)
        procs[int(d)] = dict(ppid=int(fields[1]), comm=comm,
                             t=(int(fields[11]) + int(fields[12])) / HZ)
    return procs

def read_stat():
    cpus = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu"):
                p = line.split()
                v = list(map(int, p[1:]))
                idle = v[3] + v[4]
                total = sum(v[:8])
                cpus[p[0]] = dict(idle=idle, total=total, softirq=v[6], steal=v[7])
    return cpus

def snap(path):
    json.dump(dict(ts=time.time(), stat=read_stat(),
                   procs={str(k): v for k, v in read_procs().items()}), open(path, "w"))

def descendants(procs, roots):
    kids = {}
    for pid, p in procs.items():
        kids.setdefault(p["ppid"], []).append(pid)
    out, stack = set(), list(roots)
    while stack:
        x = stack.pop()
        if x in out:
            continue
        out.add(x)
        stack.extend(kids.get(x, []))
    return out

def diff(a, b, groups):
    A, B = json.load(open(a)), json.load(open(b))
    dt = B["ts"] - A["ts"]
    pa = {int(k): v for k, v in A["procs"].items()}
    pb = {int(k): v for k, v in B["procs"].items()}
    res = dict(wall_s=round(dt, 3), groups={}, cpus={})
    mine = set()
    for g in groups:
        label, pids = g.split("=", 1)
        roots = [int(x) for x in pids.split(",") if x.strip().isdigit()]
        tree = descendants(pb, roots) | descendants(pa, roots)
        mine |= tree
        used = sum(pb[p]["t"] - pa.get(p, {"t": 0})["t"] for p in tree if p in pb)
        res["groups"][label] = round(100 * used / dt, 1)
    me = os.getpid()
    foreign = 0.0
    top = []
    for p, v in pb.items():
        if p in mine or p == me:
            continue
        d = v["t"] - pa.get(p, {"t": v["t"]})["t"]
        if d > 0:
            foreign += d
            top.append((d, v["comm"]))
    res["foreign_pct"] = round(100 * foreign / dt, 1)
    res["foreign_top"] = [f"{c}:{round(100*d/dt,1)}" for d, c in sorted(top, reverse=True)[:4]]
    for c in B["stat"]:
        x, y = A["stat"][c], B["stat"][c]
        tot = y["total"] - x["total"]
        if tot <= 0:
            continue
        res["cpus"][c] = dict(busy=round(100 * (1 - (y["idle"] - x["idle"]) / tot), 1),
                              softirq=round(100 * (y["softirq"] - x["softirq"]) / tot, 1),
                              steal=round(100 * (y["steal"] - x["steal"]) / tot, 1))
    return res

if __name__ == "__main__":
    if sys.argv[1] == "snap":
        snap(sys.argv[2])
    elif sys.argv[1] == "diff":
        print(json.dumps(diff(sys.argv[2], sys.argv[3], sys.argv[4:])))
    else:
        sys.exit(__doc__)
