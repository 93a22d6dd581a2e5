#!/bin/bash
# quiet.sh <new root> <base root> <out>: stop 46 mem's quiet A/B (issue 17: the server's allocation and CPU per 1:1 message),
# about 2.5 minutes (stop 45's lead ran the same script in 2 min 14 s): stop 44 mem's script, unchanged, so stops 44-46
# compare. alloc.sh (the server's own counters: dotnet_gc_heap_total_allocated_bytes over parley_messages_accepted, and the
# server's user + system ticks over the same messages; the server on CPU 0, the generator on CPU 1, durable SQLite, the
# image's DOTNET_GCgen0size=0x800000), builds interleaved: fixed pairs (the warm send) at 4,000 msg/s, 20,000 messages
# measured, base, new, new, base; random pairs among 1,000 users at 1,000 msg/s, 8,000 measured, new, base, base, new; then
# one 10 s AllocationTick trace of new per shape (TRACES=0: none). table.txt: KB and CPU ms per message of every run, the
# medians per build and shape, new's top types and sites. G = the generator (default new's).
# Run: cd $NEW && bash docs/performance-data/2026-12-07-stop46-mem/quiet.sh $NEW /work/base46 /tmp/q46mem
exec bash "$(dirname "$0")/../2026-12-07-stop44-mem/quiet.sh" "$@"
