#!/bin/bash
# The lead's quiet run for issue 12's "100k vs 2k": a 100,000-member super group prepared by prepare.sh against a
# 2,000-member ordinary group built by the generator through the admin API (biggroup), the same 2,000 online, one sender
# at 20 msg/s, interleaved (ROUNDS, default 2: 2k 100k 100k 2k), server on CPU 0 and generator on CPU 1; prints CPU ms
# per message and p99 per step, the medians and the 100k/2k ratio (table.md in OUT). Needs Release builds of
# src/Parley.Server and benchmarks/Parley.LoadTest, and the sg100k store.
set -u
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
S=${STORES:-/work/stores/super}
OUT=${OUT:-docs/performance-data/2026-12-05-channel-1m/quiet100k-$(date -u +%m%d-%H%M)}
benchmarks/scripts/supergroup-prepared.sh $OUT ${ROUNDS:-2} 2k=biggroup 100k=$S/sg100k
