#!/usr/bin/env bash
# Prometheus rules and Grafana dashboards: promtool check + unit tests of every alert, and a structural check of the
# dashboard JSON (every panel has a Prometheus query; queries only use the $job, $__rate_interval and $__range
# variables). That each query returns data from a live server is PrometheusScrapeTests (dotnet test).
# Prints "N passed, N failed" and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
passed=0; failed=0
check() {
  local name="$1"; shift
  if out=$("$@" 2>&1); then
    echo "ok   $name"; passed=$((passed + 1))
  else
    echo "FAIL $name"; echo "$out" | tail -40; failed=$((failed + 1))
  fi
}

if ! command -v promtool >/dev/null 2>&1; then
  if [ "${CI:-}" = "true" ]; then
    echo "promtool is missing (.ci/setup.d/40-prometheus.sh installs it)"; echo "0 passed, 1 failed"; exit 1
  fi
  echo "SKIPPED: promtool not installed (apt-get install prometheus); CI installs it"
  echo "0 passed, 0 failed"; exit 0
fi

check "promtool check rules deploy/prometheus/parley-rules.yml" promtool check rules deploy/prometheus/parley-rules.yml
check "promtool test rules deploy/prometheus/parley-rules.test.yml" promtool test rules deploy/prometheus/parley-rules.test.yml
check "promtool check config deploy/prometheus/prometheus.yml" promtool check config deploy/prometheus/prometheus.yml
for dashboard in deploy/grafana/dashboards/*.json; do
  check "dashboard $(basename "$dashboard")" python3 - "$dashboard" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
assert d.get("uid") and d.get("title"), "uid and title required"
panels = d.get("panels", [])
assert panels, "no panels"
ids = set()
for p in panels:
    assert p["id"] not in ids, f"duplicate panel id {p['id']}"
    ids.add(p["id"])
    if p.get("type") == "row":
        continue
    targets = p.get("targets", [])
    assert targets, f"panel {p.get('title')} has no query"
    for t in targets:
        expr = t["expr"]
        for var in re.findall(r"\$\{?(\w+)", expr):
            assert var in ("job", "__rate_interval", "__range", "instance"), f"unknown variable ${var} in {expr}"
PY
done

echo "prometheus: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
