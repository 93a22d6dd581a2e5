#!/bin/bash
# idle CPU of N cluster nodes (PostgreSQL + Redis), 20 s after 10 s of rest
S=/tmp/q31/scripts; source $S/lib.sh; source /work/dev/env
DLL=/tmp/q31/final/Parley.Server.dll
for N in 1 2 3; do
  ID=cidle$N$(date +%s); cluster_env $ID; PIDS=()
  for i in $(seq 1 $N); do p=$(freeport)
    Parley__Storage__DataDirectory=/tmp/cnodes/$ID/node$i Parley__Orleans__SiloPort=$(freeport) Parley__Orleans__GatewayPort=$(freeport) dotnet $DLL --urls http://127.0.0.1:$p > /dev/null 2>&1 &
    PIDS+=($!); for t in $(seq 1 120); do curl -sf http://127.0.0.1:$p/readyz >/dev/null && break; sleep 1; done
  done
  sleep 10
  pg0=$(for p in $(pgrep postgres); do awk '{print $14+$15}' /proc/$p/stat; done | paste -sd+ | bc)
  n0=$(for p in ${PIDS[@]}; do awk '{print $14+$15}' /proc/$p/stat; done | paste -sd+ | bc)
  sleep 20
  pg1=$(for p in $(pgrep postgres); do awk '{print $14+$15}' /proc/$p/stat; done | paste -sd+ | bc)
  n1=$(for p in ${PIDS[@]}; do awk '{print $14+$15}' /proc/$p/stat; done | paste -sd+ | bc)
  echo "nodes $N idle: nodes $(echo "scale=1; ($n1-$n0)/20" | bc) % of a core, postgres $(echo "scale=1; ($pg1-$pg0)/20" | bc) %"
  stop_pids ${PIDS[@]}; rm -rf /tmp/cnodes/$ID
  psql -X -q "host=127.0.0.1 port=$(echo "$PARLEY_TEST_POSTGRES" | sed 's/.*Port=\([0-9]*\).*/\1/') user=postgres dbname=postgres" -c "DROP SCHEMA IF EXISTS \"$ID\" CASCADE" > /dev/null 2>&1
done
