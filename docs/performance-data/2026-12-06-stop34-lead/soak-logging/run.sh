# Stop 34 lead, 2026-12-06 03:03-03:07 UTC, quiet 2-core machine (load 2.3 before), after the final CI.
# base = main 122d802 (before LoggingDefaults), new = main 9423669; one generator build (new).
# Server started by benchmarks/scripts/lib.sh from /tmp/bscripts, i.e. not from its own folder (appsettings.json not read).
export G=/work/wt/lead/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
MINUTES=2 RATE=300 bash soak-short.sh /tmp/soakab base /work/wt/push/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll
MINUTES=2 RATE=300 bash soak-short.sh /tmp/soakab new  /work/wt/lead/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll
# push A/B (push-ab/): interleaved base, new x3, one round each, the vendor endpoint from the base build for both
for i in 1 2 3; do B=$A SIMB=$A bash push.sh push-ab/base-$i 1; B=$Bn SIMB=$A bash push.sh push-ab/new-$i 1; done
