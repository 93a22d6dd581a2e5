#!/bin/bash
# sweep.sh <outdir> <server dll> : issue 17's targets on one build, each scenario against Parley and the raw relay in the
# same generator invocation (the generator starts both itself: server on CPU 0, generator on CPU 1, durable SQLite, warm-up
# 1 s, 4 s steps). Sections, in this order, as named in SECTIONS (default "fixed random group login"; add "freshlogin"):
#   fixed       1:1 fixed pairs, RUNS_FIXED (3) runs, FIXED_RATES (4000,...,20000)
#   random      1:1 random pairs among USERS (1000), RUNS (1) runs, RANDOM_RATES (1000,...,8000)
#   group       one sender, GROUP_SIZE (500) members on raw receivers, RUNS runs, GROUP_RATES (1000,2000,4000,6000)
#   login       returning clients (token + empty sync) and RSS per idle connection, LOGIN_RUNS (3) runs
#   freshlogin  fresh devices with 10 conversations to sync, Parley only, RUNS runs
# Env: G (generator dll), GARGS (more generator options for every section). Writes <outdir>/<section>.{json,log} and
# <outdir>/summary.txt: per section the lines of the generator's comparison table that carry the targets.
source "$(dirname "$0")/lib.sh"
out=$1; S=$2
[ -n "$S" ] || { sed -n '2,12p' "$0"; exit 2; }
mkdir -p $out
common="--start-server $S --taskset-server 0 --taskset-generator 1 --warmup 1 --window 4 $GARGS"
cd "$(mktemp -d)"
run() { # run <section> <generator options...>
  local name=$1; shift
  echo "== $name $(date -u +%T) $(uptime)" | tee -a $out/uptime.txt
  timeout 900 dotnet $G $common "$@" --out $out/$name.json > $out/$name.log 2>&1
  echo "   rc=$? $(date -u +%T)" | tee -a $out/uptime.txt
}
for s in ${SECTIONS:-fixed random group login}; do
  case $s in
    fixed) run fixed --runs ${RUNS_FIXED:-3} --scenarios chat --chat-peers 1 --targets parley,relay \
             --chat-rates ${FIXED_RATES:-4000,8000,12000,16000,20000} ;;
    random) run random --runs ${RUNS:-1} --scenarios chat --chat-peers 0 --chat-users ${USERS:-1000} --targets parley,relay \
             --chat-rates ${RANDOM_RATES:-1000,2000,3000,4000,6000,8000} ;;
    group) run group --runs ${RUNS:-1} --scenarios group --group-size ${GROUP_SIZE:-500} --raw-receivers --targets parley,relay \
             --group-rates ${GROUP_RATES:-1000,2000,4000,6000} ;;
    login) run login --runs ${LOGIN_RUNS:-3} --scenarios login --targets parley,relay ;;
    freshlogin) run freshlogin --runs ${RUNS:-1} --scenarios freshlogin --targets parley ;;
    *) echo "unknown section $s" >&2; exit 2 ;;
  esac
done
# The targets' lines of each comparison table (medians over the runs; columns: parley, relay, ratio).
for s in ${SECTIONS:-fixed random group login}; do
  echo "## $s"
  grep -E '^(chat|group|login|freshlogin) +(sat_msgs_per_s|sat_deliveries_per_s|sat_server_cpu_pct|half_offered_per_s|half_server_cpu_pct|half_server_cpu_ms_per_msg|half_server_alloc_bytes_per_msg|half_p50_ms|half_p99_ms|half_p999_ms|logins_per_s|login_p99_ms|idle_kb_per_conn|lost) ' $out/$s.log
  grep -E '^\[(parley|relay) login r' $out/$s.log | sed -E 's/^\[([a-z]+ login r[0-9]+)\] [0-9]+ logins in [0-9.]+ s = ([0-9]+\/s).*idle[^:]*: rss [0-9]+ MB, ([0-9.]+ KB\/conn).*/\1 \2 \3/'
  grep -E '^# (OK|FAIL)' $out/$s.log
done | tee $out/summary.txt
