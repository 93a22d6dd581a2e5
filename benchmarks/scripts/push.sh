#!/bin/bash
# push.sh <outdir> [rounds=3] [devices=2000] [messages=10] : issue 17's push pipeline figure, device-pushes/s end to end
# with the durable SQLite journal (benchmarks/Parley.Push.Benchmarks: the whole pipeline in one process into an
# accept-all MiPush endpoint), ROUNDS runs, then the median. No server, no generator; needs
#   dotnet build -c Release benchmarks/Parley.Push.Benchmarks -p:ParleySpaBuild=false
# About 30-60 s per round on a quiet 2-core machine. Env: B (the benchmark dll), WORKERS (PushOptions.Workers),
# SIM (default `out`: the vendor endpoint runs in its own process, `dotnet $B sim`, started per round, so the
# benchmark's per-push CPU and allocation are the pipeline's alone; `in`: in the benchmark's process, as before stop 33),
# SIMB (the dll that runs the endpoint; default B, so that an A/B keeps one endpoint build: pass the same SIMB to both),
# WARMUP (messages to every device sent and settled before the measured phase, PUSH_BENCH_WARMUP; default 0 = cold, as
# before stop 40; a benchmark program before stop 40 ignores it), GROUP (messages per submit, PUSH_BENCH_GROUP: default 1,
# one SubmitAsync each; 64 = what PushBridge hands the pipeline from a backlog, up to 1,000 recipients; ignored before stop 41's group submits),
# PIPE_ENV (extra `NAME=value` words for the pipeline's process only, not the endpoint's: e.g. `DOTNET_TC_QuickJit=1`).
set -e
out=$1; rounds=${2:-3}; devices=${3:-2000}; messages=${4:-10}; mkdir -p $out
here=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-$here/benchmarks/Parley.Push.Benchmarks/bin/Release/net10.0/Parley.Push.Benchmarks.dll}
SIMB=${SIMB:-$B}
for r in $(seq 1 $rounds); do
  vendor=; spid=
  if [ "${SIM:-out}" = out ]; then
    : > $out/sim-r$r.txt   # exists before the first poll below (set -e: sed on a missing file ended the script)
    dotnet $SIMB sim > $out/sim-r$r.txt 2>&1 & spid=$!
    for i in $(seq 600); do vendor=$(sed -n 's/^listening //p' $out/sim-r$r.txt); [ -n "$vendor" ] && break; sleep 0.1; done
    [ -n "$vendor" ] || { echo "the vendor endpoint did not start"; cat $out/sim-r$r.txt; kill $spid; exit 1; }
  fi
  { echo "round $r $(date -u +%FT%TZ) $(uptime | sed 's/.*load/load/') vendor ${vendor:-in process}${PIPE_ENV:+ env $PIPE_ENV}"
    PUSH_BENCH_VENDOR=$vendor PUSH_BENCH_WORKERS=${WORKERS:-32} PUSH_BENCH_BATCH=${BATCH:-16} PUSH_BENCH_WARMUP=${WARMUP:-0} PUSH_BENCH_GROUP=${GROUP:-1} env ${PIPE_ENV:-} dotnet $B $devices $messages 1 1; } > $out/push-r$r.txt 2>&1 || true
  [ -n "$spid" ] && { kill $spid; wait $spid 2>/dev/null || true; }
  grep -E "warm-up|throughput|per device|vendor endpoint process|SQLite writer|^I/O" $out/push-r$r.txt
done
grep -h "^throughput" $out/push-r*.txt | sed -E 's/.* = ([0-9]+) \/s .*/\1/' | sort -n | awk '{a[NR]=$1} END {print "median device-pushes/s: " a[int((NR+1)/2)] " (" NR " rounds)"}' | tee $out/median.txt
