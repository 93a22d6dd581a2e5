#!/bin/bash
# Builds the two storage test projects at the "before" commit (hook + tests, old plan) and at the fix, runs the new tests.
set -u
cd /work/wt/edge
source /work/dev/env
B=ed3dc76  # the state of before-state.patch (the hook and the tests on 615833a), not on main
run() {
  local label=$1
  echo "=== $label: $(git log --oneline -1) $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
  dotnet build tests/Parley.Storage.Sqlite.Tests -c Release -p:ParleySpaBuild=false 2>&1 | grep -E "error|Warn|Elapsed" | tail -5
  dotnet build tests/Parley.Storage.Postgres.Tests -c Release -p:ParleySpaBuild=false 2>&1 | grep -E "error|Warn|Elapsed" | tail -5
  echo "--- built $(date -u +%H:%M:%S)"
  dotnet test tests/Parley.Storage.Sqlite.Tests -c Release --no-build --filter "FullyQualifiedName~Search_AWordCommonInOtherUsersConversations" 2>&1 | grep -vE "^\s*$" | tail -25
  dotnet test tests/Parley.Storage.Postgres.Tests -c Release --no-build --filter "FullyQualifiedName~Search_AWordCommonInOtherUsersConversations" 2>&1 | grep -vE "^\s*$" | tail -25
  echo "--- tested $(date -u +%H:%M:%S)"
}
git switch -q --detach $B && run before
git switch -q edge && run after
