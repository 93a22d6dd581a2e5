#!/bin/bash
# usage: run.sh NODES OUTDIR ; runs chat+group against an N-node cluster (dev PostgreSQL + Redis), fresh schema/service id.
set -u
N=$1; OUT=$2; shift 2; mkdir -p $OUT
source /work/dev/env
WT=/tmp/ci2
ID=bench$N$(date +%s)
DLL=$WT/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll
export Parley__Storage__Provider=Postgres Parley__Storage__Postgres__ConnectionString="$PARLEY_TEST_POSTGRES" Parley__Storage__Postgres__Schema=$ID \
  Parley__Cluster__Mode=Redis Parley__Cluster__Redis=$PARLEY_TEST_REDIS Parley__Cluster__AdvertisedAddress=127.0.0.1 \
  Parley__Orleans__ClusterId=$ID Parley__Orleans__ServiceId=$ID \
  Parley__Tokens__SigningKey=$(openssl rand -base64 32) Parley__Push__TokenKey=$(openssl rand -base64 32) \
  Parley__Admin__Secret=$(openssl rand -hex 32) Logging__LogLevel__Default=Warning
export PARLEY_ADMIN_SECRET=$Parley__Admin__Secret
PIDS=()
for i in $(seq 1 $N); do
  Parley__Storage__DataDirectory=/tmp/clb/$ID/node$i Parley__Orleans__SiloPort=4711$i Parley__Orleans__GatewayPort=4712$i \
    dotnet $DLL --urls http://127.0.0.1:4713$i > $OUT/node$i.log 2>&1 &
  PIDS+=($!)
  for t in $(seq 1 120); do curl -sf http://127.0.0.1:4713$i/readyz >/dev/null && break; sleep 1; done
  echo "node $i ready after $t s"
done
sleep 5
EPS=""; for i in $(seq 2 $N); do EPS="$EPS --endpoint http://127.0.0.1:4713$i/"; done
echo "loadavg before: $(cat /proc/loadavg)" | tee $OUT/load.txt
date -u | tee -a $OUT/load.txt
dotnet $WT/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll --targets parley --no-reexec \
  --server-url http://127.0.0.1:47131/ --server-pid ${PIDS[0]} $EPS "$@" --out $OUT/result.json > $OUT/gen.log 2>&1
echo "exit $?" | tee -a $OUT/load.txt
echo "loadavg after: $(cat /proc/loadavg)" | tee -a $OUT/load.txt
for p in "${PIDS[@]}"; do kill $p; done
wait
psql "host=127.0.0.1 port=48123 user=postgres dbname=postgres" -c "DROP SCHEMA IF EXISTS \"$ID\" CASCADE" >/dev/null 2>&1
rm -rf /tmp/clb/$ID
