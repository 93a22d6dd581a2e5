#!/bin/bash
# Moved to benchmarks/scripts/perfprof.sh (<label> <server dll> [rate] [chat|openim]; README there). This pointer runs
# it with this folder's output directory.
OUT=${OUT:-/tmp/prof27} exec "$(dirname "$0")/../../../benchmarks/scripts/perfprof.sh" "$@"
