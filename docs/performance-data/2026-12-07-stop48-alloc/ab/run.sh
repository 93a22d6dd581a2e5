#!/bin/bash
# Under load: base48 vs this branch, fixed pairs at 2,000 msg/s (10,000 measured), interleaved base,new,new,base; then one
# 10 s AllocationTick trace of each at the same rate.
set -u
S=/work/wt/alloc/benchmarks/scripts
export G=/work/base48/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
export SRVENV=DOTNET_GCgen0size=0x800000
dll() { [ $1 = new ] && echo /work/wt/alloc/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll || echo /work/base48/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll; }
out=/tmp/alloc48/ab; cd $out
uptime > uptime.txt
for b in base new new base; do
  FROM=2000 SPAN=10000 bash $S/alloc.sh $b-fixed $(dll $b) $out/fixed 2000 > $out/$b.log 2>&1
  uptime >> uptime.txt
done
for b in new base; do
  FROM=3000 SPAN=0 bash $S/alloc.sh $b-fixed-sites $(dll $b) $out/fixed 2000 10 > $out/$b-sites.log 2>&1
  uptime >> uptime.txt
done
rm -f $out/*/*.nettrace $out/*/*.etlx
echo finished >> uptime.txt
