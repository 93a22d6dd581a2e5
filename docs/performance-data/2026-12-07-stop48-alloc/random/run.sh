#!/bin/bash
# Under load: where a random-pair message's allocation goes (base48: the activation code is this branch's too), one 10 s
# AllocationTick trace at 1,000 msg/s among 1,000 users (most messages open a conversation).
S=/work/wt/alloc/benchmarks/scripts
export G=/work/base48/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
export SRVENV=DOTNET_GCgen0size=0x800000
out=/tmp/alloc48/rnd; cd $out; uptime > uptime.txt
PEERS=0 FROM=2000 SPAN=0 bash $S/alloc.sh base-random-sites /work/base48/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll $out/random 1000 10 > $out/base.log 2>&1
uptime >> uptime.txt; rm -f $out/*/*.nettrace $out/*/*.etlx; echo finished >> uptime.txt
