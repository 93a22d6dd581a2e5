# Prometheus (Debian package `prometheus`, 2.42): promtool checks and unit-tests the alerting/recording rules
# (scripts/test.d/prometheus.sh), and PrometheusScrapeTests (tests/Parley.Push.Tests) starts a real prometheus that
# scrapes a running Parley. Only the binaries are used; apt does not start the service here (and it is not needed).
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
  echo "installing prometheus from Debian's packages"
  ci_apt_install prometheus || return 1
fi
command -v python3 >/dev/null 2>&1 || ci_apt_install python3 || return 1
export PARLEY_TEST_PROMETHEUS="$(command -v prometheus)"
prometheus --version 2>&1 | sed -n 1p
