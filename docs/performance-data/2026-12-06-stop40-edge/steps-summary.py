#!/usr/bin/env python3
"""steps-summary.py <dir>... : one line per step-metrics.sh run (<label>-<N>.json): the generator's send->receive latency
(p50/p90/p99/p99.9/max), the acks' p99, the server's CPU ms per message, its allocation per message, and the GC pause time
and collections over the run (its /metrics before and after, <label>-<N>.m0/.m1); then the median per label."""
import glob, json, os, re, sys, statistics
def gc(path):
    out = {}
    for line in open(path):
        m = re.match(r'dotnet_gc_(pause_time_seconds_total|collections_total)(\{[^}]*\})? (\S+)', line)
        if m:
            key = m.group(1) + (re.sub(r'.*gc_heap_generation="(\w+)".*', r' \1', m.group(2)) if m.group(2) and 'gen' in m.group(2) else '')
            out[key] = out.get(key, 0) + float(m.group(3))
    return out
rows = {}
for d in sys.argv[1:]:
    for j in sorted(glob.glob(os.path.join(d, '*-[0-9]*.json'))):
        base = j[:-5]; label = re.sub(r'-\d+$', '', os.path.basename(base))
        data = json.load(open(j))
        steps = [st['Metrics'] for st in data.get('steps', []) if str(st.get('Step', '')).startswith('ramp')]
        if not steps: continue
        s = steps[0]
        g0, g1 = (gc(base + '.m0'), gc(base + '.m1')) if os.path.exists(base + '.m1') else ({}, {})
        pause = (g1.get('pause_time_seconds_total', 0) - g0.get('pause_time_seconds_total', 0)) * 1000
        n = {k.split()[1]: g1[k] - g0.get(k, 0) for k in g1 if k.startswith('collections_total ')}
        row = (s['offered_per_s'], s['p50_ms'], s['p90_ms'], s['p99_ms'], s['p999_ms'], s['max_ms'], s['ack_p99_ms'], s['server_cpu_ms_per_msg'], s.get('server_alloc_bytes_per_msg', float('nan')) / 1024, pause, n)
        rows.setdefault(label, []).append(row)
        print(f"{os.path.basename(base):>16} {row[0]:>6.0f}/s p50 {row[1]:6.2f} p90 {row[2]:7.2f} p99 {row[3]:7.2f} p99.9 {row[4]:7.2f} max {row[5]:7.1f} ms | ack p99 {row[6]:7.2f} | cpu {row[7]:.3f} ms/msg | {row[8]:.2f} KB/msg | GC pause {pause:6.0f} ms, " + ' '.join(f"{k} {v:.0f}" for k, v in sorted(n.items())))
for label, rs in rows.items():
    med = lambda i: statistics.median(r[i] for r in rs)
    print(f"median {label:>10} ({len(rs)}): p50 {med(1):.2f} p99 {med(3):.2f} p99.9 {med(4):.2f} max {med(5):.1f} ms, cpu {med(7):.3f} ms/msg, GC pause {med(9):.0f} ms")
