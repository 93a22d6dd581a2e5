#!/usr/bin/env bash
# The web chat in Chromium (web/chat/e2e) against the real server that scripts/test.sh built (the build also built the
# client into the server's output); s3.test.ts uploads straight to the test S3 server (PARLEY_TEST_S3_*).
# Screenshots go to artifacts/web/. Closing line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../../web/chat"
if ! command -v npm >/dev/null 2>&1 || ! [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  if [ "${CI:-}" = "true" ]; then echo "npm and Chromium are required under CI (.ci/setup.d/40-chromium.sh)"; echo "0 passed, 1 failed"; exit 1; fi
  echo "npm or Chromium not found: browser tests skipped"; echo "0 passed, 0 failed"; exit 0
fi
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error || { echo "0 passed, 1 failed"; exit 1; }
out=$(mktemp)
node --import tsx --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout --test-reporter=tap --test-reporter-destination="$out" e2e/chat.test.ts e2e/s3.test.ts
status=$?
passed=$(grep -cE '^    ok [0-9]+ ' "$out"); failed=$(grep -cE '^    not ok [0-9]+ ' "$out")
rm -f "$out"
[ $status -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
