# sum.py <results.json>... : per scenario and target, every run's saturation and per-step figures, the medians, and
# openim / chat ratios of the medians (saturation, CPU and allocation per message at each fixed step).
import json, sys, statistics, collections
runs = collections.defaultdict(list)   # (scenario, target) -> [summary metrics]
steps = collections.defaultdict(list)  # (scenario, target, step) -> [metrics]
for f in sys.argv[1:]:
    d = json.load(open(f))
    for s in d['summaries']:
        runs[(s['Scenario'], s['Target'])].append(s['Metrics'])
    for s in d['steps']:
        if s['Step'].startswith('ramp'):
            steps[(s['Scenario'], s['Target'], s['Step'])].append(s['Metrics'])
med = lambda xs: statistics.median(xs) if xs else float('nan')
M = {}
for (sc, t), ms in sorted(runs.items()):
    sat = [m['sat_msgs_per_s'] for m in ms]
    M[(sc, t, 'sat')] = med(sat)
    print(f"{sc:7} {t:6} runs {len(ms)} sat msg/s {' · '.join(f'{x:.0f}' for x in sat)} -> median {med(sat):.0f}"
          f" | half: p50 {med([m.get('half_p50_ms', float('nan')) for m in ms]):.1f} p99 {med([m.get('half_p99_ms', float('nan')) for m in ms]):.1f} ms,"
          f" cpu {med([m.get('half_server_cpu_ms_per_msg', float('nan')) for m in ms]):.3f} ms/msg, alloc {med([m.get('half_server_alloc_bytes_per_msg', float('nan')) for m in ms])/1024:.2f} KB/msg"
          f" | gen_bound {sum(m.get('sat_gen_bound', 0) for m in ms):.0f} lost {sum(m['lost'] for m in ms):.0f}")
for (sc, t, st), ms in sorted(steps.items(), key=lambda kv: (kv[0][0], kv[0][1], int(kv[0][2].split()[1].split('/')[0]))):
    for k in ('delivered_msgs_per_s', 'server_cpu_ms_per_msg', 'server_alloc_bytes_per_msg', 'p99_ms', 'server_cpu_pct', 'gen_cpu_pct'):
        M[(sc, t, st, k)] = med([m[k] for m in ms])
    print(f"  {sc:7} {t:6} {st:12} n={len(ms)} deliv {M[(sc,t,st,'delivered_msgs_per_s')]:7.0f}/s cpu {M[(sc,t,st,'server_cpu_ms_per_msg')]:.3f} ms/msg"
          f" alloc {M[(sc,t,st,'server_alloc_bytes_per_msg')]/1024:6.2f} KB/msg p99 {M[(sc,t,st,'p99_ms')]:7.1f} ms srv {M[(sc,t,st,'server_cpu_pct')]:3.0f}% gen {M[(sc,t,st,'gen_cpu_pct')]:3.0f}%")
for t in ('parley', 'relay'):
    if ('chat', t, 'sat') in M and ('openim', t, 'sat') in M:
        print(f"{t}: openim / chat saturation = {M[('openim',t,'sat')]:.0f} / {M[('chat',t,'sat')]:.0f} = {M[('openim',t,'sat')]/M[('chat',t,'sat')]:.2f}")
        for key, v in sorted(M.items(), key=str):
            sc, tt, st, k = (key + (None,))[:4]
            if len(key) == 4 and key[0] == "openim" and key[1] == t and k in ('server_cpu_ms_per_msg', 'server_alloc_bytes_per_msg') and ('chat', t, st, k) in M and M[('chat', t, st, k)]:
                print(f"   {st:12} {k:28} openim/chat = {v:.3f} / {M[('chat',t,st,k)]:.3f} = {v/M[('chat',t,st,k)]:.2f}")
