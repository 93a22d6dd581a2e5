#!/usr/bin/env python3
"""cluster-cpu.py: where a cluster run's CPU went, per generator step (used by cluster-nodes.sh).

  cluster-cpu.py sample OUTDIR "NODE_PIDS"   once a second until killed: time, busy % of each CPU, then the CPU ticks
                                            used so far by the nodes (together), PostgreSQL, Redis and the generator
  cluster-cpu.py table DIR...               one markdown row per run folder (saturation, p99 at half, CPU per message
                                            of nodes and PostgreSQL at the fixed-rate steps every run shares)
  cluster-cpu.py steps OUTDIR               per step of OUTDIR/result.json: the window (it ends drain_s before the
                                            step's line appears in OUTDIR/gen.timed), the ticks each side used in it,
                                            divided by the messages delivered in it: CPU ms per message
"""
import glob, json, os, re, sys, time

HZ = os.sysconf("SC_CLK_TCK")


def ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read().rsplit(")", 1)[1].split()
        return int(st[11]) + int(st[12])  # utime + stime
    except OSError:
        return None


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def cpus():
    out = []
    with open("/proc/stat") as f:
        for line in f:
            if re.match(r"cpu\d", line):
                v = list(map(int, line.split()[1:]))
                out.append((v[0] + v[1] + v[2] + v[5] + v[6], sum(v[:7])))
    return out


def sample(outdir, node_pids):
    nodes = [int(p) for p in node_pids.split()]
    seen = {}  # pid -> (group, last ticks): a process that exits keeps what it used
    prev = cpus()
    while True:
        time.sleep(1)
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            pid = int(d)
            group = seen.get(pid, (None, 0))[0]
            if group is None:
                if pid in nodes:
                    group = "nodes"
                else:
                    c = cmdline(pid)
                    group = ("postgres" if "postgres" in c else "redis" if "redis-server" in c
                             else "gen" if "Parley.LoadTest" in c else "")
            if group:
                t = ticks(pid)
                if t is not None:
                    seen[pid] = (group, t)
            elif pid not in seen:
                seen[pid] = ("", 0)
        tot = {"nodes": 0, "postgres": 0, "redis": 0, "gen": 0}
        for group, t in seen.values():
            if group:
                tot[group] += t
        cur = cpus()
        busy = " ".join("%.0f" % (100.0 * (b[0] - a[0]) / max(1, b[1] - a[1])) for a, b in zip(prev, cur))
        prev = cur
        print(f"{time.time():.2f} busy {busy} ticks nodes {tot['nodes']} postgres {tot['postgres']} redis {tot['redis']} gen {tot['gen']}", flush=True)


def step_cpu(outdir):
    """[(scenario, label, metrics, {group: CPU ms per delivered message}, [busy % per CPU])] for each step."""
    rows = []
    with open(os.path.join(outdir, "cpu.txt")) as f:
        for line in f:
            p = line.split()
            if "ticks" not in p:
                continue
            i = p.index("ticks")
            kv = dict(zip(p[i + 1::2], map(int, p[i + 2::2])))
            rows.append((float(p[0]), [int(x) for x in p[2:i]], kv))
    lines = []
    with open(os.path.join(outdir, "gen.timed")) as f:
        for line in f:
            t, _, rest = line.partition(" ")
            m = re.match(r"\[parley (\w+) r\d+ ([^\]]+)\]", rest)
            if m:
                lines.append((float(t), m.group(1), m.group(2)))
    res = json.load(open(os.path.join(outdir, "result.json")))
    args = res.get("args", [])
    window = float(args[args.index("--window") + 1]) if "--window" in args else 4.0
    out = []
    for st, (t, scen, label) in zip(res["steps"], lines):
        m = st["Metrics"]
        end = t - m.get("drain_s", 0)
        inside = [r for r in rows if end - window <= r[0] <= end]
        if len(inside) < 2:
            continue
        a, b = inside[0], inside[-1]
        msgs = m["delivered_msgs_per_s"] * (b[0] - a[0])
        per = {g: (b[2].get(g, 0) - a[2].get(g, 0)) * 1000.0 / HZ / max(1, msgs) for g in ("nodes", "postgres", "redis", "gen")}
        busy = [sum(r[1][c] for r in inside[1:]) / (len(inside) - 1) for c in range(len(a[1]))]
        out.append((scen, label, m, per, busy))
    return out


def steps(outdir):
    print(f"{'step':<22} {'msg/s':>7} {'nodes':>7} {'postgres':>9} {'redis':>7} {'gen':>7}   CPU ms per delivered message; busy % per CPU")
    for scen, label, m, per, busy in step_cpu(outdir):
        print(f"{scen + ' ' + label:<22} {m['delivered_msgs_per_s']:>7.0f} {per['nodes']:>7.3f} {per['postgres']:>9.3f} {per['redis']:>7.3f} {per['gen']:>7.3f}   "
              + " ".join(f"{x:.0f}" for x in busy))


def table(dirs):
    print("| run | saturation msg/s (deliveries/s) | at half: rate, p50, p99 ms | CPU ms/msg nodes + PostgreSQL at fixed rates | lost |")
    print("|---|---:|---|---|---:|")
    for d in dirs:
        res = json.load(open(os.path.join(d, "result.json")))
        s = res["summaries"][0]["Metrics"]
        fixed = []
        for scen, label, m, per, busy in step_cpu(d):
            if label.startswith("ramp") and int(re.search(r"\d+", label).group()) in (600, 1200, 200, 400):
                fixed.append(f"{label.split()[1]}: {per['nodes']:.2f} + {per['postgres']:.2f}")
        print(f"| {os.path.basename(d)} | {s['sat_msgs_per_s']:,.0f} ({s['sat_deliveries_per_s']:,.0f}) | "
              f"{s.get('half_offered_per_s', 0):,.0f}/s, {s.get('half_p50_ms', 0):.1f}, {s.get('half_p99_ms', 0):.1f} | {'; '.join(fixed)} | {s['lost']:.0f} |")


if __name__ == "__main__":
    if sys.argv[1] == "sample":
        sample(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "table":
        table(sys.argv[2:])
    else:
        steps(sys.argv[2])
