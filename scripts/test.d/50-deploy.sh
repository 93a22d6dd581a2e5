#!/usr/bin/env bash
# Deployment files, checked offline (no container runtime or cluster here): every Kubernetes overlay renders with
# `kubectl kustomize` and its objects pass scripts/deploy_check.py (probes on the server's real health endpoints,
# non-root, read-only root, resources, PDB, grace period above the shutdown timeout, secrets never inlined); the compose
# file and the Dockerfile pass a structural check (`docker compose config` too when docker exists).
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

missing=""
command -v kubectl >/dev/null 2>&1 || missing="kubectl (kubernetes-client)"
python3 -c 'import yaml' 2>/dev/null || missing="$missing python3-yaml"
if [ -n "$missing" ]; then
  if [ "${CI:-}" = "true" ]; then echo "missing: $missing (.ci/setup.d/45-kubectl.sh installs it)"; echo "0 passed, 1 failed"; exit 1; fi
  echo "SKIPPED: $missing not installed; CI installs it"; echo "0 passed, 0 failed"; exit 0
fi

render_dir=$(mktemp -d); trap 'rm -rf "$render_dir"' EXIT
for overlay in deploy/k8s/overlays/*/; do
  name=$(basename "$overlay")
  check "kubectl kustomize $overlay" sh -c "kubectl kustomize '$overlay' > '$render_dir/$name.yaml'"
  check "k8s overlay $name objects" python3 scripts/deploy_check.py k8s "$name" "$render_dir/$name.yaml"
done
check "compose structure (deploy/compose)" python3 scripts/deploy_check.py compose
if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  check "docker compose config" sh -c "cd deploy/compose && cp .env.example '$render_dir/.env' && docker compose --env-file '$render_dir/.env' config -q"
fi
check "Dockerfile structure" python3 scripts/deploy_check.py dockerfile
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
