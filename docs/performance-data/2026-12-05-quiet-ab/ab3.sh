#!/bin/bash
# Moved to benchmarks/scripts/ab.sh (same arguments; README there). This pointer runs it.
exec "$(dirname "$0")/../../../benchmarks/scripts/ab.sh" "$@"
