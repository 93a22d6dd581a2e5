#!/bin/bash
# issue17.sh <outdir> <label=server dir or dll>... : issue 17's figures on a quiet machine, one fresh server per build and
# scenario (started by the shared A/B runner ab.sh: server pinned to CPU 0, generator to CPU 1, durable SQLite defaults,
# rate limits off), builds interleaved per scenario. About 3.5 min per build: two builds (e.g. main and a baseline) fit in 8.
#   login       5,000 returning clients (token + empty sync), 64 logins in flight: logins/s; then 15 s idle: KB of server RSS
#               per idle connection
#   freshlogin  2,000 new devices, each syncing 10 conversations (groups of 50 holding 20 messages each): logins/s
#   chat        warm 1:1 (1,000 users, --chat-peers 1), ramp 1,000 to 9,000 msg/s until a step no longer keeps up, then one
#               step at half of the best delivered rate: saturation, and p99 / p99.9 send->receive at half
# Then summary.py prints one table. Environment: G = the generator dll (benchmarks/Parley.LoadTest, Release, from the same
# main); AB = the A/B runner (default: benchmarks/scripts/ab.sh if it exists, else docs/performance-data/2026-12-05-upgrade/ab.sh);
# QUICK=1 = a validation run of a few seconds per scenario (small sizes: its figures mean nothing).
# Example (from the repository root, after `dotnet build src/Parley.Server -c Release -p:ParleySpaBuild=false` and
# `dotnet build benchmarks/Parley.LoadTest -c Release`, each copied out of bin/ so a later build cannot change them):
#   G=/tmp/q17/gen/Parley.LoadTest.dll bash docs/performance-data/2026-12-05-stop29-quiet/issue17.sh /tmp/q17/out main=/tmp/q17/main
set -u
out=$1; shift
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../../.." && pwd)
AB=${AB:-$( [ -f "$root/benchmarks/scripts/ab.sh" ] && echo "$root/benchmarks/scripts/ab.sh" || echo "$root/docs/performance-data/2026-12-05-upgrade/ab.sh")}
: "${G:?set G to the generator dll}"
export G
pairs=()
for p in "$@"; do
  label=${p%%=*}; rest=${p#*=}; path=${rest%%@*}; extra=""; [[ "$rest" == *@* ]] && extra="@${rest#*@}"
  [ -d "$path" ] && path="$path/Parley.Server.dll"
  pairs+=("$label=$path$extra")
done
mkdir -p "$out"
{ echo "issue17.sh $(date -u +%FT%TZ) $(git -C "$root" rev-parse --short HEAD 2>/dev/null) nproc $(nproc)"; uptime; } > "$out/machine.txt"
if [ "${QUICK:-0}" = 1 ]; then
  login="--login-users 300 --idle-seconds 3"; fresh="--login-users 200 --fresh-conversations 3 --fresh-messages 5 --fresh-group-size 20"; rates=500,1000
else
  login="--login-users 5000 --idle-seconds 15"; fresh="--login-users 2000 --fresh-conversations 10 --fresh-messages 20 --fresh-group-size 50"; rates=1000,2000,3000,4000,5000,6000,7000,9000
fi
start=$(date +%s)
GARGS="$login" bash "$AB" "$out/login" 1 login "${pairs[@]}"
GARGS="$fresh" bash "$AB" "$out/freshlogin" 1 freshlogin "${pairs[@]}"
GARGS="" RATES=$rates bash "$AB" "$out/chat" 1 chat "${pairs[@]}"
echo "total $(( $(date +%s) - start )) s" | tee -a "$out/machine.txt"
uptime >> "$out/machine.txt"
python3 "$here/summary.py" "$out" | tee "$out/summary.txt"
