#!/bin/bash
# quiet.sh (stop 48, alloc): NEW=<new root> BASE=<base root> [OUT=/tmp/q48alloc] bash quiet.sh — ADR 0027's cut of a text
# send's allocation, base vs new, about 4 minutes with nothing else running:
#  1. the exact bytes (no load, no variance): sizes/ (one instance of SendCommand, StoredMessage, SendRequest, … per build)
#     and decode/ (a generator's text send decoded the protobuf way with the row's serialised array, against ADR 0027's
#     reader with its one copy; built against NEW's Parley.Protocol.dll);
#  2. stop 44 mem's quiet A/B unchanged (alloc.sh, the server on CPU 0, DOTNET_GCgen0size=0x800000): fixed pairs at 4,000
#     msg/s (20,000 measured) base, new, new, base; random pairs among 1,000 users at 1,000 msg/s (8,000 measured) new,
#     base, base, new; one 10 s AllocationTick trace of new per shape (TRACES=0: none). KB and CPU ms per message, medians.
# NEW and BASE are checkouts with Release builds (src/Parley.Server/bin/Release/net10.0). G: the generator (default new's).
set -u
NEW=${NEW:?NEW=<new root>}; BASE=${BASE:-/work/base48}; OUT=${OUT:-/tmp/q48alloc}; here=$(cd "$(dirname "$0")" && pwd)
bin() { echo $1/src/Parley.Server/bin/Release/net10.0; }
mkdir -p $OUT/sizes-tool $OUT/decode-tool
cp $here/sizes/Program.cs $here/sizes/sizes.csproj $OUT/sizes-tool/
cp $here/decode/Program.cs $here/decode/decode.csproj $OUT/decode-tool/
(cd $OUT/sizes-tool && dotnet build -c Release -o out > build.log 2>&1) || { echo "sizes tool build failed: $OUT/sizes-tool/build.log"; exit 1; }
(cd $OUT/decode-tool && dotnet build -c Release -o out -p:ParleyBin=$(bin $NEW) > build.log 2>&1) || { echo "decode tool build failed: $OUT/decode-tool/build.log"; exit 1; }
{
  for b in BASE NEW; do
    root=${!b}; echo "== $b ($root)"; dotnet $OUT/sizes-tool/out/sizes.dll $(bin $root)
  done
  echo "== decode (against NEW's Parley.Protocol.dll)"; dotnet $OUT/decode-tool/out/decode.dll
} | tee $OUT/sizes.txt
bash $here/../2026-12-07-stop44-mem/quiet.sh $NEW $BASE $OUT
