# kubectl (Debian package `kubernetes-client`, 1.20 with kustomize v2) renders the Kubernetes overlays in
# scripts/test.d/50-deploy.sh; python3-yaml reads the rendered objects and the compose file. Nothing is started.
if ! command -v kubectl >/dev/null 2>&1; then
  echo "installing kubernetes-client from Debian's packages"
  ci_apt_install kubernetes-client || return 1
fi
python3 -c 'import yaml' 2>/dev/null || ci_apt_install python3-yaml || return 1
# sed reads to the end: 'head -1' closed the pipe early and kubectl's SIGPIPE (141) failed the sourced script under pipefail
kubectl version --client 2>&1 | sed -n 1p
