#!/bin/bash
# The bulk import of one super group into the real PostgreSQL store (the benchmarks' member-storage tool: the bulk job's
# commits, chunks of 1,000) and its bytes per member. Usage: import.sh <Parley.Benchmarks.dll> <label> <members>
# (source /work/dev/env first). Writes import-<label>-<members>.out here; the schema is dropped afterwards.
set -euo pipefail
cd "$(dirname "$0")"
{ uptime; date -u; dotnet "$1" member-storage --members "$3" --postgres "$PARLEY_TEST_POSTGRES" --schema "ms_$2_$3"; date -u; uptime; } > "import-$2-$3.out" 2>&1
