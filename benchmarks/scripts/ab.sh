#!/bin/bash
# ab.sh <outdir> <rounds> <scenarios> <label=serverdll[@NAME=VALUE,NAME2=VALUE2]>... : interleaved A/B, one generator run
# per build (or server setting) per round. Starts each server itself (CPU 0, temp data dir, durable SQLite defaults, rate
# limits off, free ports, MaxGroupMembers 2000, up to 300 s to become ready on the shared machine), then runs the
# generator on CPU 1 against it. Env: G (generator dll), RATES (default 1000,2000,3000,4000), GARGS (more generator options).
# Writes <outdir>/<label>-r<N>.{json,log,server.log} and uptime.txt, and <label>-r<N>.counts.txt: the server's counters at
# the end of the run (messages accepted, conversation activations created and live, 1:1 grains registered/shed/kept busy,
# GC heap by generation; ab-counts.py sums them up per label; COUNTS_DRAIN=N waits up to N s for the backlog first).
source "$(dirname "$0")/lib.sh"
out=$1; rounds=$2; scen=$3; shift 3
mkdir -p $out
for r in $(seq $rounds); do
  for pair in "$@"; do
    label=${pair%%=*}; rest=${pair#*=}; dll=${rest%%@*}; extra=""; [[ "$rest" == *@* ]] && extra=${rest#*@}
    echo "== r$r $label start $(date -u +%H:%M:%S) $(uptime)" | tee -a $out/uptime.txt
    start_server $dll $out/$label-r$r.server.log Parley__Messaging__MaxGroupMembers=2000 ${extra//,/ }
    wait_ready
    echo "   ready after $ready_s s (pid $spid)" | tee -a $out/uptime.txt
    PARLEY_ADMIN_SECRET=$secret timeout 600 taskset -c 1 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 --warmup 1 --window 4 \
      --scenarios $scen --targets parley --chat-peers 1 --chat-rates ${RATES:-1000,2000,3000,4000} $GARGS --out $out/$label-r$r.json > $out/$label-r$r.log 2>&1
    echo "== r$r $label end rc=$? $(date -u +%H:%M:%S) $(uptime)" | tee -a $out/uptime.txt
    # COUNTS_DRAIN=N: first up to N s for the server to finish its backlog (messages accepted unchanged for 4 s), so the
    # counts compare activations with the messages of the whole run, not only those committed when the generator stopped.
    last=-1; for i in $(seq 0 2 ${COUNTS_DRAIN:-0}); do
      [ "${COUNTS_DRAIN:-0}" = 0 ] && break
      now=$(curl -s -m 10 -H "Authorization: Bearer $secret" http://127.0.0.1:$port/metrics | awk '/^parley_messages_accepted_total/{print $NF}')
      [ "$now" = "$last" ] && [ -n "$stable" ] && break; [ "$now" = "$last" ] && stable=1 || stable=""; last=$now; sleep 2
    done
    curl -s -m 20 -H "Authorization: Bearer $secret" http://127.0.0.1:$port/metrics | grep -E \
      '^(parley_messages_accepted_total|orleans_catalog_activation_created_total|orleans_catalog_activations|parley_direct_grains_|dotnet_gc_last_collection_heap_size_bytes)' \
      > $out/$label-r$r.counts.txt
    stop_server
    grep '^\[' $out/$label-r$r.log | grep -v '^\[srv' | head -12
  done
done
