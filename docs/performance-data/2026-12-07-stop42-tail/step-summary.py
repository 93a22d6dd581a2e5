#!/usr/bin/env python3
"""step-summary.py <label-N.json>... : one line per step-metrics.sh run (issue 17, stop 42): send->receive p50/p99/p99.9/max,
the generator's own GC pause and send lag p99, the server's GC during the generator's measured window (from <label>-<N>.gc.txt,
which gc-pauses.cs wrote: collections by generation, mean promoted MB and mean pause per gen0 and gen1 collection, total pause
and the longest), CPU ms and KB allocated per message; then the median per label and folder."""
import json, os, re, statistics, sys, collections

def gc(path, t0, t1):
    out = collections.defaultdict(list)
    if not os.path.exists(path):
        return out
    for line in open(path):
        m = re.match(r'\s*([\d.]+) s pause\s+([\d.]+) ms .* promoted\s+([\d.]+) MB (gen\d)', line)
        if m and t0 <= float(m.group(1)) <= t1:
            out[m.group(4)].append((float(m.group(2)), float(m.group(3))))
    return out

rows = collections.defaultdict(list)
print(f'{"run":<24} {"p50":>7} {"p99":>7} {"p99.9":>7} {"max":>7} | {"genGC":>6} {"lag99":>6} | {"g0 n":>4} {"MB/g0":>6} {"ms/g0":>6} {"g1 n":>4} {"MB/g1":>6} {"ms/g1":>6} {"g2":>3} {"pause":>6} {"maxP":>6} | {"cpu ms":>6} {"KB":>5}')
for f in sys.argv[1:]:
    d = json.load(open(f))
    m = d['steps'][0]['Metrics']
    # the gc trace starts with the generator (users, logins, 3 s warm-up first): the last WINDOW+3 s of the trace's GCs
    trace = f[:-5] + '.gc.txt'
    times = [float(x.split()[0]) for x in open(trace) if re.match(r'\s*[\d.]+ s pause', x)] if os.path.exists(trace) else []
    window = float(d['args'][d['args'].index('--window') + 1])
    end = max(times) if times else 0
    g = gc(trace, end - window, end + 1)
    def mean(xs, i): return statistics.mean(x[i] for x in xs) if xs else float('nan')
    allp = [p for k in g for p, _ in g[k]]
    label = os.path.basename(os.path.dirname(f)) + '/' + os.path.basename(f)[:-5]
    r = dict(p50=m['p50_ms'], p99=m['p99_ms'], p999=m['p999_ms'], max=m['max_ms'], gen=m.get('gen_gc_pause_ms', float('nan')),
             lag=m.get('gen_send_lag_p99_ms', float('nan')), g0=len(g['gen0']), mb0=mean(g['gen0'], 1), ms0=mean(g['gen0'], 0),
             g1=len(g['gen1']), mb1=mean(g['gen1'], 1), ms1=mean(g['gen1'], 0), g2=len(g['gen2']), pause=sum(allp),
             maxp=max(allp) if allp else float('nan'), cpu=m['server_cpu_ms_per_msg'], kb=m['server_alloc_bytes_per_msg'] / 1024)
    rows[re.sub(r'-\d+$', '', label)].append(r)
    print(f'{label:<24} {r["p50"]:7.2f} {r["p99"]:7.2f} {r["p999"]:7.2f} {r["max"]:7.1f} | {r["gen"]:6.0f} {r["lag"]:6.2f} | {r["g0"]:4d} {r["mb0"]:6.2f} {r["ms0"]:6.1f} {r["g1"]:4d} {r["mb1"]:6.2f} {r["ms1"]:6.1f} {r["g2"]:3d} {r["pause"]:6.0f} {r["maxp"]:6.1f} | {r["cpu"]:6.3f} {r["kb"]:5.2f}')
print('\nmedians')
for label, rs in sorted(rows.items()):
    med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
    print(f'{label + " (" + str(len(rs)) + ")":<24} {med["p50"]:7.2f} {med["p99"]:7.2f} {med["p999"]:7.2f} {med["max"]:7.1f} | {med["gen"]:6.0f} {med["lag"]:6.2f} | {med["g0"]:4.0f} {med["mb0"]:6.2f} {med["ms0"]:6.1f} {med["g1"]:4.0f} {med["mb1"]:6.2f} {med["ms1"]:6.1f} {med["g2"]:3.0f} {med["pause"]:6.0f} {med["maxp"]:6.1f} | {med["cpu"]:6.3f} {med["kb"]:5.2f}')
