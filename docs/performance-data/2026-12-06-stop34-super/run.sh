#!/usr/bin/env bash
# Stop 34, super: an import of 100,000 members into one super group on PostgreSQL, A (chunks into rows, compacting by
# the bound between them: stop 33's import, --import-rows) then B (chunks straight into pages, migration 28), same build,
# same database, back to back; no REINDEX anywhere. Usage: run.sh "<connection string>" > member-storage-100k.txt
set -euo pipefail
C="$1"
DLL=benchmarks/Parley.Benchmarks/bin/Release/net10.0/Parley.Benchmarks.dll
date -u
echo "== A: chunks into rows, compacting by the bound between them (--import-rows --compact-during), then --compact"
nice -n 10 dotnet "$DLL" member-storage --members 100000 --postgres "$C" --import-rows --compact-during --compact
date -u
echo "== B: chunks straight into pages (migration 28, the default), --compact-during, then --compact"
nice -n 10 dotnet "$DLL" member-storage --members 100000 --postgres "$C" --compact-during --compact
date -u
