#!/bin/bash
# quiet.sh <base server dir> <new server dir> [out]: stop 46 cpu's quiet A/B (issue 17: why fixed pairs saturate at ~15.6k
# msg/s), about 3.5 minutes. Seven servers one after another (base, new, new, base, then three diagnostics of new), each a
# fresh durable SQLite on CPU 0 and the generator on CPU 1 (the image's DOTNET_GCgen0size=0x800000 on every server):
# fixed pairs (1,000 users, one peer each), a 4,000 msg/s step (the warm send's CPU), then 20,000 msg/s offered (above
# saturation: what is delivered is the saturation rate), then the generator's half step; 5 s windows. Every second the
# server's /metrics and CPU ticks are polled (metrics.tsv), and summary.py reports, for the saturated step's seconds, the
# committed rate (the commit pipeline's items: durable) and the
# accepted rate, the server's CPU share of its core, and the share of the wall time the single SQLite writer spent inside
# transactions and inside COMMIT (100 % = the writer was never idle: a serial bound), batch size, transaction µs per message,
# and the server's bytes to storage per committed message (/proc/<pid>/io: the WAL's frames and the checkpoint's copy).
# Diagnostics of new (not shippable settings; they say what the writer's time is made of):
#   new-normal  Parley__Storage__Sqlite__Synchronous=Normal (no fsync at commit: the disk's share of the serial time)
#   new-nofts   Parley__Messaging__FullTextSearch=false (the search index's share: its writes run on the writer)
#   new-1k      Parley__Storage__Sqlite__PageSize=1024 (ADR 0030: −54–64 % WAL bytes per message)
# G = the generator dll (default new's build). ONLY=label,label runs a subset.
B=$(realpath $1); N=$(realpath $2); out=${3:-/tmp/q46cpu}; mkdir -p $out
mine=$(cd "$(dirname "$0")" && pwd); scripts=$mine/../../../benchmarks/scripts
G=${G:-$N/../../../../../benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll}
source $scripts/lib.sh
poll() { # poll <file>: every second, time, server CPU ticks and the commit's metric lines
  while kill -0 $spid 2>/dev/null; do
    t=$(date +%s.%N); c=$(awk '{print $14+$15}' /proc/$spid/stat 2>/dev/null)
    awk -v t=$t -v c=$c '/^write_bytes/{print t, c, "io_write_bytes", $2}' /proc/$spid/io >> $1 2>/dev/null
    curl -s -m 2 -H "Authorization: Bearer $secret" http://127.0.0.1:$port/metrics \
      | grep -E '^(parley_messages_accepted_total|parley_storage_sqlite_(transaction|commit)_duration_seconds_(sum|count)|parley_store_batch_size_(sum|count)|parley_store_commit_duration_seconds_(sum|count))' \
      | sed "s/^/$t $c /" >> $1
    sleep 1
  done
}
run() { # run <label> <server dir> [NAME=VALUE...]
  local label=$1 sdir=$2; shift 2
  echo "== $label $(date -u +%T) $(uptime)" | tee -a $out/uptime.txt
  cd $sdir; start_server $sdir/Parley.Server.dll "" DOTNET_GCgen0size=0x800000 "$@"; wait_ready; cd /tmp
  rm -f $out/$label.metrics.tsv; poll $out/$label.metrics.tsv & local poller=$!
  PARLEY_ADMIN_SECRET=$secret timeout 120 taskset -c 1 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 \
    --warmup 1 --window 5 --scenarios chat --targets parley --chat-peers 1 --chat-rates 4000,20000 --out $out/$label.json > $out/$label.log 2>&1
  stop_server; wait $poller 2>/dev/null
  grep '^\[' $out/$label.log | cut -c1-220
}
want() { [ -z "${ONLY:-}" ] || [[ ",$ONLY," == *",$1,"* ]]; }
want base1 && run base1 $B
want new1 && run new1 $N
want new2 && run new2 $N
want base2 && run base2 $B
want new-normal && run new-normal $N Parley__Storage__Sqlite__Synchronous=Normal
want new-nofts && run new-nofts $N Parley__Messaging__FullTextSearch=false
want new-1k && run new-1k $N Parley__Storage__Sqlite__PageSize=1024
python3 $mine/summary.py $out | tee $out/summary.txt
