#!/bin/bash
# cswitch.sh <outdir> <label=serverdll>... : issue 17 (stop 48, pipe): context switches per accepted message. Per build one
# warm fixed-pair step at RATE (default 4000) msg/s, WINDOW (10) s, the server on CPU SERVER_CPU (1) in SCHED_FIFO with its
# named threads at priority 2 (as step-metrics.sh RT=1 RT_OWN=1), the generator on GEN_CPU (0): every server thread's
# voluntary and involuntary switches (/proc/<pid>/task/*/status) and CPU ticks summed right before and after the
# generator, by thread name; <outdir>/cswitch.txt.
source "$(dirname "$0")/../../../benchmarks/scripts/lib.sh"
out=$1; shift; mkdir -p $out; export SERVER_CPU=${SERVER_CPU:-1}
snap() { for t in /proc/$spid/task/*; do
  echo "$(tr ' ' _ < $t/comm) $(awk '/^voluntary_ctxt/{v=$2} /^nonvoluntary_ctxt/{n=$2} END{print v, n}' $t/status) $(sed 's/.*) //' $t/stat | awk '{print $12+$13}')"; done; }
for pair in "$@"; do
  label=${pair%%=*}; dll=${pair#*=}
  start_server $dll $out/$label.server.log Parley__Messaging__MaxGroupMembers=2000; wait_ready
  [ "${RT:-1}" = 1 ] && for t in /proc/$spid/task/*; do chrt -f -p 1 ${t##*/} > /dev/null 2>&1; case "$(cat $t/comm)" in parley-*) chrt -f -p 2 ${t##*/} > /dev/null 2>&1;; esac; done
  curl -s -H "Authorization: Bearer $secret" http://127.0.0.1:$port/metrics > $out/$label.m0; snap > $out/$label.s0
  PARLEY_ADMIN_SECRET=$secret timeout 300 $([ "${RT:-1}" = 1 ] && echo chrt -f 1) taskset -c ${GEN_CPU:-0} dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 \
    --warmup 0 --window ${WINDOW:-10} --scenarios chat --targets parley --chat-users 1000 --chat-peers 1 --chat-rates ${RATE:-4000} --out $out/$label.json > $out/$label.log 2>&1
  snap > $out/$label.s1; curl -s -H "Authorization: Bearer $secret" http://127.0.0.1:$port/metrics > $out/$label.m1
  stop_server
  python3 - $out/$label <<'PY' | tee -a $out/cswitch.txt
import re, sys
p = sys.argv[1]
def load(f):
    d = {}
    for line in open(f):
        name, v, n, t = line.split()
        k = 'pool' if name.startswith('.NET_TP_Worker') else name
        a = d.setdefault(k, [0, 0, 0]); a[0] += int(v); a[1] += int(n); a[2] += int(t)
    return d
def acc(f):
    return sum(float(l.split()[-1]) for l in open(f) if l.startswith('parley_messages_accepted_total'))
a, b = load(p + '.s0'), load(p + '.s1')
msgs = acc(p + '.m1') - acc(p + '.m0')
tot = [sum(b[k][i] - a.get(k, [0, 0, 0])[i] for k in b) for i in range(3)]
lat = re.search(r'lat p50 ([\d.]+) .*?p99 ([\d.]+)', open(p + '.log').read())
print(f"{p.split('/')[-1]}: {msgs:.0f} msgs, switches per message {(tot[0] + tot[1]) / msgs:.3f} (voluntary {tot[0] / msgs:.3f}), CPU ms per message {tot[2] * 10 / msgs:.3f}, p50/p99 {lat.groups() if lat else '-'}")
for k in sorted(b, key=lambda k: -(b[k][0] + b[k][1] - sum(a.get(k, [0, 0, 0])[:2]))):
    d = [b[k][i] - a.get(k, [0, 0, 0])[i] for i in range(3)]
    if d[0] + d[1] > msgs * 0.01:
        print(f"   {k}: {(d[0] + d[1]) / msgs:.3f} switches/msg, {d[2] * 10 / msgs:.4f} ms CPU/msg")
PY
done
