#!/usr/bin/env python3
"""ab-counts.py <outdir>: per run of ab.sh (<label>-r<N>.counts.txt, the server's counters at the run's end), the messages
accepted, conversation activations created and per accepted message, the 1:1 grains registered, shed past
Parley:Orleans:DirectMaxActive and kept because a commit was running (stop 46's builds only), conversation grains still live,
and the GC heap (all generations, MB, at the last collection); from <label>-r<N>.json the delivered msg/s of each chat ramp
step; then the medians per label (stop 46, grain)."""
import glob, json, os, re, statistics, sys

def read(path):
    v = {}
    for line in open(path):
        m = re.match(r'^([a-z_]+)(\{[^}]*\})?\s+([0-9.eE+-]+)', line)
        if not m:
            continue
        name, labels, value = m.group(1), m.group(2) or '', float(m.group(3))
        if name.startswith('orleans_catalog_activation') and 'grain_type="conversation"' not in labels:
            continue
        v[name] = v.get(name, 0.0) + value
    return v

out = sys.argv[1]
rows = {}
def delivered(path):
    try:
        d = json.load(open(path))
    except (OSError, ValueError):
        return {}
    return {s['Step']: s['Metrics'].get('delivered_msgs_per_s', float('nan')) for s in d.get('steps', [])
            if s['Scenario'] == 'chat' and s['Step'].startswith('ramp')}

print('| run | delivered msg/s by step | accepted | conversation activations created | per accepted message | 1:1 registered | shed | kept busy | live at end | GC heap MB |')
print('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|')
for path in sorted(glob.glob(os.path.join(out, '*.counts.txt'))):
    run = os.path.basename(path)[:-len('.counts.txt')]
    v = read(path)
    acc = v.get('parley_messages_accepted_total', 0)
    created = v.get('orleans_catalog_activation_created_total', 0)
    per = created / acc if acc else float('nan')
    heap = v.get('dotnet_gc_last_collection_heap_size_bytes', 0) / 1048576
    def g(k):
        return f"{v[k]:.0f}" if k in v else '–'
    steps = delivered(path[:-len('.counts.txt')] + '.json')
    deliv = ' · '.join(f"{k.replace('ramp ', '')} {v:.0f}" for k, v in steps.items()) or '–'
    print(f"| {run} | {deliv} | {acc:.0f} | {created:.0f} | {per:.3f} | {g('parley_direct_grains_registered_total')} | {g('parley_direct_grains_shed_total')} | {g('parley_direct_grains_kept_busy_total')} | {g('orleans_catalog_activations')} | {heap:.0f} |")
    rows.setdefault(run.rsplit('-r', 1)[0], []).append((per, heap, acc, steps))
print()
print('| label | runs | delivered msg/s by step (median) | activations per accepted message (median) | GC heap MB (median) | accepted (median) |')
print('|---|---:|---|---:|---:|---:|')
for label, rs in rows.items():
    keys = sorted({k for r in rs for k in r[3]}, key=lambda k: float(re.sub(r'[^0-9.]', '', k) or 0))
    deliv = ' · '.join(f"{k.replace('ramp ', '')} {statistics.median(r[3][k] for r in rs if k in r[3]):.0f}" for k in keys) or '–'
    print(f"| {label} | {len(rs)} | {deliv} | {statistics.median(r[0] for r in rs):.3f} | {statistics.median(r[1] for r in rs):.0f} | {statistics.median(r[2] for r in rs):.0f} |")
