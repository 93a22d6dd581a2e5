#!/bin/bash
# quiet.sh (stop 47, alloc): NEW=<new root> BASE=<base root> [OUT=/tmp/q47alloc] bash quiet.sh — the server's allocation per
# 1:1 message, base vs new, about 3 minutes with nothing else running:
#  1. the exact sizes this stop's commits change (sizes/: one instance's bytes; a 1:1 activation's member table with two
#     members; a send's ack with its result), per build: no load, no variance;
#  2. stop 44 mem's quiet A/B unchanged (alloc.sh, the server on CPU 0, DOTNET_GCgen0size=0x800000): fixed pairs at 4,000
#     msg/s (20,000 measured) base, new, new, base; random pairs among 1,000 users at 1,000 msg/s (8,000 measured) new,
#     base, base, new; one 10 s AllocationTick trace of new per shape (TRACES=0: none). KB and CPU ms per message, medians.
# NEW and BASE are checkouts with Release builds (src/Parley.Server/bin/Release/net10.0). G: the generator (default new's).
set -u
NEW=${NEW:?NEW=<new root>}; BASE=${BASE:-/work/base47}; OUT=${OUT:-/tmp/q47alloc}; here=$(cd "$(dirname "$0")" && pwd)
mkdir -p $OUT/sizes-tool
cp $here/sizes/Program.cs $here/sizes/sizes.csproj $OUT/sizes-tool/
(cd $OUT/sizes-tool && dotnet build -c Release -o out > build.log 2>&1) || { echo "sizes tool build failed: $OUT/sizes-tool/build.log"; exit 1; }
{
  for b in BASE NEW; do
    root=${!b}; echo "== $b ($root)"; dotnet $OUT/sizes-tool/out/sizes.dll $root/src/Parley.Server/bin/Release/net10.0
  done
} | tee $OUT/sizes.txt
bash $here/../2026-12-07-stop44-mem/quiet.sh $NEW $BASE $OUT
