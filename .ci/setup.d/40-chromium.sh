# Chromium for the browser tests (scripts/test.d/40-web.sh; the admin console's tests reuse it): Debian's package,
# driven by Playwright through CHROMIUM_PATH. No browser is downloaded by npm.
if ! [ -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium"
  ci_apt_install chromium || return 1
fi
export CHROMIUM_PATH=/usr/bin/chromium
