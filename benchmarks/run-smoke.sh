#!/usr/bin/env bash
# Builds Release and runs a ~5-second smoke of every load-test scenario against a Parley server the load test starts
# itself (temp data dir, free loopback ports, random admin secret) and against the raw relay baseline.
# Exits non-zero unless every message is accounted for (lost = 0) in every scenario.
set -euo pipefail
cd "$(dirname "$0")/.."
# Only what the smoke needs: the server and the generator (the whole solution is built by CI's build step).
dotnet build -c Release src/Parley.Server/Parley.Server.csproj -nologo -v quiet
dotnet build -c Release benchmarks/Parley.LoadTest/Parley.LoadTest.csproj -nologo -v quiet
out="${TMPDIR:-/tmp}/parley-loadtest-smoke.json"
status=0
dotnet benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll --smoke \
  --start-server src/Parley.Server/bin/Release/net10.0/Parley.Server.dll --out "$out" || status=$?
if [ "$status" -eq 0 ]; then
  echo "run-smoke: PASSED (every scenario completed with lost = 0; results in $out)"
else
  echo "run-smoke: FAILED (exit $status; see the lines above and $out)"
fi
exit "$status"
