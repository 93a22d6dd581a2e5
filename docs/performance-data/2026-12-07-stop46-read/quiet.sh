#!/bin/bash
# quiet.sh <base server dir> <new server dir> : issue 17 (stop 46, read; ADR 0023): the p99 at half of saturation with
# Kestrel's inline scheduling ("inline": new with Parley__Gateway__InlineSocketScheduling=true) against new's default
# (Kestrel's default schedulers) and base46, interleaved, the order reversed in round 2:
#   fixed pairs at 7,000 msg/s (RATE):  base, new, inline, inline, new, base
# Each run is benchmarks/scripts/step-metrics.sh (WINDOW, default 10, s after a 3 s warm-up; server on CPU 0, generator on
# CPU 1, a new data directory each run, the image's DOTNET_GCgen0size=0x800000), with the server's /metrics read around
# the generator's window: the thread pool's work items per accepted message (the hops inline removes: one per socket read,
# one per flushed write), the server's CPU ms per message over the step, the commit's mean batch, and the server's hop table.
# ADR 0023 is accepted (the default moves to true) only if inline's p99 is below new's in both rounds; otherwise rejected.
# OUT (default /tmp/q46read); summary.txt at the end (SUMMARY_ONLY=1: only the summary of an OUT already run). About 30 s a
# run on a quiet machine, 6 runs (~3.5 minutes). G: the generator (default: this checkout's Release build).
here=$(cd "$(dirname "$0")" && pwd); scripts=$here/../../../benchmarks/scripts
base=$1; new=$2; out=${OUT:-/tmp/q46read}; mkdir -p $out
export RATE=${RATE:-7000} WINDOW=${WINDOW:-10} PEERS=1
gc=DOTNET_GCgen0size=0x800000; on=Parley__Gateway__InlineSocketScheduling=true
[ "${SUMMARY_ONLY:-0}" = 1 ] || for pair in base=$base/Parley.Server.dll@$gc new=$new/Parley.Server.dll@$gc inline=$new/Parley.Server.dll@$gc,$on \
            inline=$new/Parley.Server.dll@$gc,$on new=$new/Parley.Server.dll@$gc base=$base/Parley.Server.dll@$gc; do
  echo "== ${pair%%=*} $(date -u +%H:%M:%S) $(uptime)" | tee -a $out/uptime.txt
  bash $scripts/step-metrics.sh $out $pair > /dev/null 2>&1
done
python3 - $out base new inline <<'PY' | tee $out/summary.txt
import glob, os, re, sys
out = sys.argv[1]
def counter(path, name):
    for line in open(path):
        if line.startswith(name):
            return float(line.split()[-1])
    return 0.0
def hist_sum_count(path, name):
    s = c = 0.0
    for line in open(path):
        if line.startswith(name + '_sum'): s += float(line.split()[-1])
        elif line.startswith(name + '_count'): c += float(line.split()[-1])
    return s, c
ticks = {}
for line in open(os.path.join(out, 'ticks.txt')):
    k, _, v = line.split(); ticks[k] = int(v)
print('| run | p50 | p90 | p99 | p99.9 ms | delivered/s | server CPU | work items / msg | CPU ms / msg (whole step) | batch mean |')
print('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
for label in sys.argv[2:]:
    for log in sorted(glob.glob(os.path.join(out, f'{label}-*.log'))):
        run = os.path.basename(log)[:-4]
        if run.endswith('server'): continue
        ramp = next((l for l in open(log) if 'ramp' in l), '')
        lat = re.search(r'p50 ([\d.]+) p90 ([\d.]+) p99 ([\d.]+) p99.9 ([\d.]+)', ramp)
        deliv = re.search(r'deliv (\d+)/s', ramp); cpu = re.search(r'srv cpu (\d+)%', ramp)
        w0 = glob.glob(os.path.join(out, run + '.win', '*.w0'))
        wi = cpums = batch = float('nan')
        if w0:
            w1 = w0[0][:-3] + '.w1'
            msgs = counter(w1, 'parley_messages_accepted_total') - counter(w0[0], 'parley_messages_accepted_total')
            items = counter(w1, 'dotnet_thread_pool_work_item_count_total') - counter(w0[0], 'dotnet_thread_pool_work_item_count_total')
            s1, c1 = hist_sum_count(w1, 'parley_store_batch_size'); s0, c0 = hist_sum_count(w0[0], 'parley_store_batch_size')
            wi = items / msgs if msgs else float('nan'); batch = (s1 - s0) / (c1 - c0) if c1 > c0 else float('nan')
        m0, m1 = os.path.join(out, run + '.m0'), os.path.join(out, run + '.m1')
        if os.path.exists(m1) and run in ticks:
            msgs = counter(m1, 'parley_messages_accepted_total') - counter(m0, 'parley_messages_accepted_total')
            cpums = ticks[run] * 10.0 / msgs if msgs else float('nan')  # ticks are 10 ms
        print(f"| {run} | {' | '.join(lat.groups()) if lat else '- | - | - | -'} | {deliv.group(1) if deliv else '-'} | {cpu.group(1) + ' %' if cpu else '-'} | {wi:.2f} | {cpums:.3f} | {batch:.1f} |")
PY
