#!/bin/bash
# The README's server command on the CI's clone: start, probe, stop.
cd $CI
grep -n "dotnet run\|\.ci/run\|dotnet test" README.md | head -5
export Parley__Admin__Secret=$(openssl rand -hex 32)
(dotnet run -c Release --project src/Parley.Server > /tmp/q47/readme.log 2>&1 &)
for i in $(seq 1 90); do curl -sf -o /dev/null http://127.0.0.1:5080/healthz 2>/dev/null && break; sleep 2; done
echo "ready after ~$((i*2)) s"
for u in /healthz /readyz /; do echo "$u $(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: text/html' http://127.0.0.1:5080$u)"; done
echo "/admin $(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: text/html' http://127.0.0.1:5080/admin)"
pkill -f "$CI/src/Parley.Server"; sleep 4; pgrep -f "$CI/src/Parley.Server" && pkill -9 -f "$CI/src/Parley.Server"
grep -ciE "fail|exception" /tmp/q47/readme.log
