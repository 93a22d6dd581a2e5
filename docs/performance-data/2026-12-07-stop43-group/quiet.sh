#!/bin/bash
# quiet.sh <outdir> : stop 43 group's quiet A/B (about 5.5 minutes). NEW = the CI's clean clone (built), base = /work/base43.
# 1. ab.sh group, 2 rounds of base, new (its defaults: one lock per frame, wake-ups at once) and defer16 (the same build with
#    Parley__Messaging__FanOutWakeEntries=16: the send loops woken once per 16 messages of a committed batch), interleaved;
#    500 members, one sender, raw receivers, ramp 3,000-6,000 msg/s every step, then the half step of the best step kept up
#    (ratio >= 0.95). Also: any connection closed for outbox overflow (4008) shows as "closed" in the logs.
# 2. the raw relay through the same generator, the same ramp (the ceiling: it now writes batches as Parley does).
# Prints group-cpu.py's table (server µs per delivery, deliveries/s, CPU %, ratio, p99 per round) and the relay's steps.
set -u
out=$1; mkdir -p $out
B=/work/base43/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll
N=$NEW/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll
export G=$NEW/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
RAMP=3000,4000,5000,6000
cd $NEW
echo "start $(date -u +%T) $(uptime)"
GARGS="--group-size 500 --group-rates $RAMP --window 4 --drain 3 --raw-receivers --every-step" \
  bash benchmarks/scripts/ab.sh $out 2 group base=$B new=$N defer16=$N@Parley__Messaging__FanOutWakeEntries=16
echo "relay $(date -u +%T) $(uptime)"
(cd $out && timeout 300 dotnet $G --start-server $N --taskset-server 0 --taskset-generator 1 --runs 1 --scenarios group --targets relay \
  --group-size 500 --group-rates $RAMP --window 4 --drain 3 --raw-receivers --every-step --out $out/relay.json > $out/relay.log 2>&1)
echo "end $(date -u +%T) $(uptime)"
python3 benchmarks/scripts/group-cpu.py $out
grep -l 'closed [0-9]' $out/*-r?.log 2>/dev/null | sed 's/^/connections closed in: /'
grep -E '^\[relay group' $out/relay.log | sed -E 's/ \| acks.*srv cpu ([0-9]+%).*gen cpu ([0-9]+%).*(lost [0-9]+).*/ | srv cpu \1 gen cpu \2 \3/'
