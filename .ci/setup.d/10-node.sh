# The OpenIM compatibility tests run OpenIM's own JavaScript SDK (@openim/client-sdk, from npm) in Node.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "installing Node.js and npm from Debian's packages"
  ci_apt_install nodejs npm || return 1
fi
node --version && npm --version
