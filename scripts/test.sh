#!/usr/bin/env bash
# Runs every test project of the solution (Release), then prints one closing line
# "N passed, N failed[, N skipped]" and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

results="${PARLEY_TEST_RESULTS:-$(pwd)/artifacts/test-results}"
rm -rf "$results"
mkdir -p "$results"

dotnet build Parley.slnx -c Release -nologo -clp:ErrorsOnly
build=$?
if [ $build -ne 0 ]; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

dotnet test Parley.slnx -c Release --no-build -nologo \
  --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" \
  -- RunConfiguration.TestSessionTimeout=2400000
status=$?

passed=0; failed=0; skipped=0; files=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  p=$(get passed); f=$(get failed); t=$(get total); e=$(get executed); x=$(get error); to=$(get timeout); ab=$(get aborted)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${x:-0} + ${to:-0} + ${ab:-0}))
  skipped=$((skipped + ${t:-0} - ${e:-0}))
done

# The load generator's smoke run (every scenario ~5 s, lost = 0 asserted) counts as one test.
if bash benchmarks/run-smoke.sh > "$results/loadtest-smoke.log" 2>&1; then
  echo "load-test smoke: passed"
  passed=$((passed + 1))
else
  echo "load-test smoke: FAILED"; tail -40 "$results/loadtest-smoke.log"
  failed=$((failed + 1))
fi

# Further suites (Node, browser, ...) live in scripts/test.d/*.sh: each runs its tests, prints one closing line
# "N passed, N failed" (the last such line counts) and exits non-zero on any failure.
for suite in scripts/test.d/*.sh; do
  [ -f "$suite" ] || continue
  name=$(basename "$suite" .sh)
  log="$results/suite-$name.log"
  bash "$suite" > "$log" 2>&1
  suite_status=$?
  line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
  p=$(echo "$line" | sed -n 's/.*\b\([0-9][0-9]*\) passed.*/\1/p'); f=$(echo "$line" | sed -n 's/.* \([0-9][0-9]*\) failed.*/\1/p')
  p=${p:-0}; f=${f:-0}
  if [ $suite_status -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  if [ -z "$line" ] && [ $suite_status -eq 0 ]; then echo "suite $name printed no closing line"; f=1; fi
  echo "suite $name: $p passed, $f failed"
  [ "$f" -ne 0 ] && tail -60 "$log"
  passed=$((passed + p)); failed=$((failed + f))
done

if [ $files -eq 0 ] || [ $((passed + failed)) -eq 0 ]; then
  echo "no test results were produced"
  failed=$((failed + 1))
fi
if [ $status -ne 0 ] && [ $failed -eq 0 ]; then
  # A crashed test host or a failed run without counted failures still fails.
  failed=1
fi

# The failed tests' names and the start of their messages, last, so that a log's tail shows what failed.
if [ $failed -ne 0 ]; then
  python3 - "$results" <<'PY' 2>/dev/null || grep -ho 'testName="[^"]*"[^>]*outcome="Failed"' "$results"/*.trx 2>/dev/null | head -20
import glob, sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
shown = 0
for trx in sorted(glob.glob(sys.argv[1] + "/*.trx")):
    for r in ET.parse(trx).getroot().iterfind(".//t:UnitTestResult", ns):
        if r.get("outcome") not in ("Failed", "Error", "Timeout", "Aborted"):
            continue
        shown += 1
        if shown > 8:
            continue
        print(f"[FAILED] {r.get('testName')} ({r.get('duration')})")
        for tag in ("Message", "StackTrace"):
            e = r.find(f".//t:ErrorInfo/t:{tag}", ns)
            if e is not None and e.text:
                for line in e.text.strip().splitlines()[:12]:
                    print("    " + line[:300])
        # The first two failed tests' own output (e.g. a cluster's node warnings on dispose): its last lines, for the
        # diagnosis (kept short: what CI shows of a run is its last ~120 lines).
        out = r.find(".//t:Output/t:StdOut", ns)
        if shown <= 2 and out is not None and out.text:
            lines = out.text.strip().splitlines()
            print(f"    output ({len(lines)} lines, the last {min(len(lines), 20)}):")
            for line in lines[-20:]:
                print("      " + line[:300])
if shown > 8:
    print(f"... and {shown - 8} more failed tests")
PY
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ $failed -eq 0 ] && [ $status -eq 0 ]
