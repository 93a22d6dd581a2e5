#!/bin/bash
# Usage: supergroup-prepared.sh <outdir> <rounds> <label>=<prepared data dir | biggroup>...
# Issue 12: the online step of the generator's supergroup scenario (ONLINE members on real connections, one sender at
# RATE msg/s) against groups prepared in a store by the benchmarks' super-store tool, interleaved (the order reversed
# every other round). Each step runs on a fresh copy of the prepared data directory (every round starts from the same
# store), with the server started by the generator on it (CPU 0, generator on CPU 1, durable SQLite, rate limits off);
# the generator issues tokens for the ONLINE first users only (--super-existing). A label whose value is `biggroup` is
# the ordinary-group baseline instead: the generator's biggroup scenario on a fresh server (BIG members created through
# the admin API, ONLINE of them online, the same rate).
# Prints per step: server CPU ms per message, delivery p50/p99, ack p99, delivery ratio, lost, RSS (with the group
# loaded, with everyone online, peak in the window), logins; then the median per label and its ratio to the first label.
# Env: DLL (server dll; default this checkout's Release build), G (generator), ONLINE (2000), RATE (20), BIG (2000),
# WARMUP (5), WINDOW (20), DRAIN (10), COPYDIR (/tmp: where the copies go), GARGS (more generator options).
# Prepare the stores first, e.g.:
#   dotnet benchmarks/Parley.Benchmarks/bin/Release/net10.0/Parley.Benchmarks.dll super-store --members 1000000 --dir D
# A store prepared in PostgreSQL (super-store --postgres "$PARLEY_TEST_POSTGRES" --schema S --dir D: prepared.env names
# SCHEMA) is opened in place by every step (Provider=Postgres, the connection in PARLEY_TEST_POSTGRES, that schema): no
# copy, so each step adds its messages and the online members' read cursors to the same store.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source $here/lib.sh
DLL=${DLL:-$here/../../src/Parley.Server/bin/Release/net10.0/Parley.Server.dll}
ONLINE=${ONLINE:-2000}; RATE=${RATE:-20}; BIG=${BIG:-2000}
WARMUP=${WARMUP:-5}; WINDOW=${WINDOW:-20}; DRAIN=${DRAIN:-10}; COPYDIR=${COPYDIR:-/tmp}; GARGS=${GARGS:-}
out=$1; rounds=$2; shift 2
mkdir -p $out
labels=(); specs=()
for a in "$@"; do labels+=("${a%%=*}"); specs+=("${a#*=}"); done
for s in "${specs[@]}"; do
  [ "$s" = biggroup ] || [ -f "$s/prepared.env" ] || { echo "not a prepared store (no prepared.env): $s" >&2; exit 2; }
done
common="--start-server $DLL --taskset-server 0 --taskset-generator 1 --targets parley --runs 1 --warmup $WARMUP --window $WINDOW --drain $DRAIN"
start=$(date +%s)
echo "# supergroup-prepared $(date -u '+%F %T') UTC: rounds $rounds, online $ONLINE, rate $RATE/s; $*" | tee $out/run.txt
for r in $(seq $rounds); do
  order=$(seq 0 $((${#labels[@]} - 1))); [ $((r % 2)) = 0 ] && order=$(echo "$order" | tac)
  for i in $order; do
    label=${labels[$i]}; spec=${specs[$i]}; f=$out/$label-r$r
    uptime > $f.uptime
    t0=$(date +%s)
    if [ "$spec" = biggroup ]; then
      dotnet $G $common --scenarios biggroup --big-members $BIG --big-online $ONLINE --big-rate $RATE --out $f.json $GARGS > $f.log 2>&1
    else
      GROUP=; PREFIX=; SCHEMA=
      eval "$(grep -E '^(GROUP|PREFIX|SCHEMA)=[A-Za-z0-9_-]+$' $spec/prepared.env)"
      copy=$(mktemp -d $COPYDIR/parley-prepared-XXXX)
      if [ -n "$SCHEMA" ]; then
        store=(--server-env Parley__Storage__DataDirectory=$copy --server-env Parley__Storage__Provider=Postgres
          --server-env "Parley__Storage__Postgres__ConnectionString=${PARLEY_TEST_POSTGRES:?source /work/dev/env: a PostgreSQL store}"
          --server-env Parley__Storage__Postgres__Schema=$SCHEMA)
      else
        cp -a $spec/. $copy/
        store=(--server-env Parley__Storage__DataDirectory=$copy)
      fi
      dotnet $G $common --scenarios supergroup --super-existing $GROUP --super-user-prefix $PREFIX --super-online $ONLINE --super-rate $RATE \
        "${store[@]}" --out $f.json $GARGS > $f.log 2>&1
      rm -rf $copy
    fi
    uptime >> $f.uptime
    echo "[$label r$r] $(( $(date +%s) - t0 )) s, exit $(tail -1 $f.log)" | tee -a $out/run.txt
  done
done
echo "# total $(( $(date +%s) - start )) s" | tee -a $out/run.txt
python3 - $out "${labels[@]}" <<'EOF' | tee $out/table.md
import json, sys, glob, statistics, math
out, labels = sys.argv[1], sys.argv[2:]
keys = [("server_cpu_ms_per_msg", "CPU ms/msg", 2), ("p50_ms", "p50 ms", 1), ("p99_ms", "p99 ms", 1), ("ack_p99_ms", "ack p99 ms", 1),
        ("delivery_ratio", "ratio", 3), ("lost", "lost", 0), ("server_rss_loaded_mb", "RSS loaded MB", 0),
        ("server_rss_online_mb", "RSS online MB", 0), ("server_rss_mb", "RSS peak MB", 0), ("logins_s", "logins s", 1), ("members", "members", 0)]
rows = {}
print("| label | round | " + " | ".join(k[1] for k in keys) + " |")
print("|---|---|" + "---:|" * len(keys))
def fmt(v, d):
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:,.{d}f}"
for label in labels:
    for f in sorted(glob.glob(f"{out}/{label}-r*.json")):
        data = json.load(open(f))
        if not data["summaries"]:
            print(f"| {label} | {f.split('-r')[-1][:-5]} | FAILED: {'; '.join(data['failures'])} |"); continue
        m = {k: float(v) for k, v in data["summaries"][0]["Metrics"].items()}
        rows.setdefault(label, []).append(m)
        print(f"| {label} | {f.split('-r')[-1][:-5]} | " + " | ".join(fmt(m.get(k), d) for k, _, d in keys) + " |")
print()
print("| median | CPU ms/msg | p99 ms | CPU ratio to " + labels[0] + " | p99 ratio to " + labels[0] + " |")
print("|---|---:|---:|---:|---:|")
med = {l: {k: statistics.median([r[k] for r in rs if k in r and not math.isnan(r[k])] or [float("nan")]) for k in ("server_cpu_ms_per_msg", "p99_ms")} for l, rs in rows.items()}
base = med.get(labels[0])
for l in labels:
    if l not in med: continue
    c, p = med[l]["server_cpu_ms_per_msg"], med[l]["p99_ms"]
    print(f"| {l} | {c:.2f} | {p:.1f} | {c / base['server_cpu_ms_per_msg']:.2f} | {p / base['p99_ms']:.2f} |")
EOF
