#!/usr/bin/env bash
# The TypeScript SDK (sdk/js): generated types match protocol/, type check, and its Node tests against the real server
# (the Parley.Server.dll that scripts/test.sh built). Closing line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../../sdk/js"
if ! command -v npm >/dev/null 2>&1; then
  if [ "${CI:-}" = "true" ]; then echo "npm is required under CI"; echo "0 passed, 1 failed"; exit 1; fi
  echo "npm not found: SDK tests skipped"; echo "0 passed, 0 failed"; exit 0
fi
npm ci --no-audit --no-fund --loglevel=error || { echo "0 passed, 1 failed"; exit 1; }
passed=0; failed=0
if node scripts/check-generated.mjs && npx tsc -p tsconfig.json --noEmit; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
npx vitest run --reporter=verbose --reporter=json --outputFile=.vitest-results.json
status=$?
if [ -f .vitest-results.json ]; then
  p=$(node -e 'const r=require("./.vitest-results.json");console.log(r.numPassedTests)')
  f=$(node -e 'const r=require("./.vitest-results.json");console.log(r.numFailedTests)')
  rm -f .vitest-results.json
  passed=$((passed + p)); failed=$((failed + f))
fi
[ $status -ne 0 ] && [ $failed -eq 0 ] && failed=1
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
