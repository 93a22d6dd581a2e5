#!/bin/bash
# Lead's quiet runs after the CI: base c5f25aa (/tmp/base40) against NEW (the CI's build of main). Usage: lead.sh <new server dir>
NEW=$1; B=/tmp/base40/server; G=/tmp/base40/gen/Parley.LoadTest.dll; O=/tmp/q40/lead; mkdir -p $O
cd /work/main
echo "soak $(date -u +%T) $(uptime)"
for v in new base; do d=$NEW; [ $v = base ] && d=$B
  G=$G MINUTES=3 RATE=2000 bash benchmarks/scripts/soak-short.sh $O/soak $v $d/Parley.Server.dll > $O/soak-$v.out 2>&1
  rm -f $O/soak/$v.server.log
done
echo "random ramp $(date -u +%T) $(uptime)"
RATES=2000,3000,4000,5000,6000 GARGS="--chat-peers 0" G=$G bash benchmarks/scripts/ab.sh $O/rand 1 chat base=$B/Parley.Server.dll new=$NEW/Parley.Server.dll > $O/rand.out 2>&1
rm -f $O/rand/*.server.log
echo "fixed ramp with relay $(date -u +%T) $(uptime)"
cd /tmp && dotnet $G --start-server $NEW/Parley.Server.dll --taskset-server 0 --taskset-generator 1 --warmup 1 --window 4 --runs 1 \
  --scenarios chat --chat-peers 1 --targets parley,relay --chat-rates 2000,4000,6000,8000,12000,16000 --out $O/fixed-new.json > $O/fixed-new.log 2>&1
echo "end $(date -u +%T) $(uptime)"
