#!/usr/bin/env python3
"""gcsum.py <dir> [labels...]: per step-metrics run, the latency line, the server's GC over the step (/metrics before and
after: collections by generation, pause ms in all and per 1,000 accepted messages, KB allocated per message) and the
pauses' distribution from the run's GC trace (gc-pauses: count, p50, p90, max ms, MB promoted per pause at most)."""
import glob, os, re, sys
d = sys.argv[1]; labels = sys.argv[2:]
def scrape(p):
    v = {}
    for line in open(p):
        if line.startswith('#'): continue
        m = re.match(r'^(\S+?)(\{[^}]*\})?\s+(\S+)$', line.strip())
        if m: v[m.group(1) + (m.group(2) or '')] = float(m.group(3))
    return v
print('| run | p50 | p99 | p99.9 | max ms | srv CPU | GCs gen0/gen1/gen2 | pause ms (per 1k msgs) | KB/msg | traced pauses: n, p50 / p90 / max ms, max promoted MB |')
print('|---|---:|---:|---:|---:|---:|---|---:|---:|---|')
runs = sorted(glob.glob(os.path.join(d, '*-[0-9].log')) + glob.glob(os.path.join(d, '*-[0-9][0-9].log')), key=os.path.getmtime)
for log in runs:
    run = os.path.basename(log)[:-4]
    if labels and run.rsplit('-', 1)[0] not in labels: continue
    line = open(log).read()
    lat = re.search(r'p50 ([\d.]+) p90 [\d.]+ p99 ([\d.]+) p99.9 ([\d.]+) max ([\d.]+)', line)
    cpu = re.search(r'srv cpu (\d+)%', line)
    m0, m1 = os.path.join(d, run + '.m0'), os.path.join(d, run + '.m1')
    gcs = pause = kb = '-'
    if os.path.exists(m1) and os.path.getsize(m1) > 0:
        a, b = scrape(m0), scrape(m1)
        msgs = b.get('parley_messages_accepted_total{}', 0) - a.get('parley_messages_accepted_total{}', 0)
        g = [b.get(f'dotnet_gc_collections_total{{gc_heap_generation="gen{i}"}}', 0) - a.get(f'dotnet_gc_collections_total{{gc_heap_generation="gen{i}"}}', 0) for i in range(3)]
        p = (b.get('dotnet_gc_pause_time_seconds_total{}', 0) - a.get('dotnet_gc_pause_time_seconds_total{}', 0)) * 1000
        al = b.get('dotnet_gc_heap_total_allocated_bytes_total{}', 0) - a.get('dotnet_gc_heap_total_allocated_bytes_total{}', 0)
        gcs = '/'.join(f'{x:.0f}' for x in g); pause = f'{p:.0f} ({p / msgs * 1000:.2f})' if msgs else '-'; kb = f'{al / msgs / 1024:.2f}' if msgs else '-'
    tr = '-'
    gt = os.path.join(d, run + '.gc.txt')
    if os.path.exists(gt):
        ps = [(float(m.group(1)), float(m.group(2))) for m in re.finditer(r'pause\s+([\d.]+) ms .*?promoted\s+([\d.]+) MB', open(gt).read())]
        ps = [x for x in ps if x[0] > 0.5]
        if ps:
            ms = sorted(x[0] for x in ps)
            q = lambda f: ms[min(len(ms) - 1, int(f * len(ms)))]
            tr = f'{len(ms)}, {q(.5):.1f} / {q(.9):.1f} / {ms[-1]:.1f}, {max(x[1] for x in ps):.1f}'
    print(f"| {run} | {' | '.join(lat.groups()) if lat else '- | - | - | -'} | {cpu.group(1) + ' %' if cpu else '-'} | {gcs} | {pause} | {kb} | {tr} |")
