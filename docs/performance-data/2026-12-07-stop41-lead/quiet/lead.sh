#!/bin/bash
# Lead's quiet runs after the CI (stop 41): $1 = the CI's server bin folder, $2 = the CI's generator dll.
N=$1; NG=$2; B=/work/base41/src/Parley.Server/bin/Release/net10.0; O=/tmp/q41/lead
cd /work/main; mkdir -p $O
GZ=DOTNET_GCgen0size=0x800000
echo "fixed $(date -u +%T) $(uptime)"
G=$NG RATES=6000,9000,12000,15000,18000,21000 bash benchmarks/scripts/ab.sh $O/fixed 2 chat \
  "base=$B/Parley.Server.dll@$GZ" "new=$N/Parley.Server.dll@$GZ" "newspin0=$N/Parley.Server.dll@$GZ,DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0" > $O/fixed.out 2>&1
echo "soak $(date -u +%T) $(uptime)"
G=$NG MINUTES=${SOAK_MIN:-8} RATE=2000 STEP=10 bash benchmarks/scripts/soak-short.sh $O/soak new $N/Parley.Server.dll $GZ > $O/soak.out 2>&1
echo "end $(date -u +%T) $(uptime)"
