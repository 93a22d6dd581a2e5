#!/bin/bash
# Moved to benchmarks/scripts/cluster-kill.sh (same arguments and KILL_AT/KILL_AFTER/KILL; DLL names the server, WT is
# gone; the gap counts are now taken after both nodes stopped). run1-run3 here and 2026-12-05-cluster-storm used the
# old copy (git show 3e5307b:docs/performance-data/2026-12-05-cluster-kill/run.sh). This pointer runs the new one.
exec "$(dirname "$0")/../../../benchmarks/scripts/cluster-kill.sh" "$@"
