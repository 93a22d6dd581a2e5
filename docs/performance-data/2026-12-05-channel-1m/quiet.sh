#!/bin/bash
# The lead's quiet run for issue 12 (1,000,000-member channel): 10,000- and 1,000,000-member channels prepared by
# prepare.sh, 2,000 online, one sender (the owner) at 20 msg/s, interleaved (ROUNDS, default 2: 10k 1m 1m 10k), server
# on CPU 0 and generator on CPU 1; prints CPU ms per message and p99 per step, the medians and the 1m/10k ratio
# (table.md in OUT). Needs Release builds of src/Parley.Server and benchmarks/Parley.LoadTest, and the stores.
set -u
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
S=${STORES:-/work/stores/super}
OUT=${OUT:-docs/performance-data/2026-12-05-channel-1m/quiet-$(date -u +%m%d-%H%M)}
benchmarks/scripts/supergroup-prepared.sh $OUT ${ROUNDS:-2} 10k=$S/ch10k 1m=$S/ch1m
