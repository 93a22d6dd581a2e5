set -x
G=/work/main/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
for v in base after; do
  if [ $v = base ]; then S=/work/wt/base/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll; else S=/work/main/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll; fi
  timeout 300 dotnet $G --start-server $S --taskset-server 0 --taskset-generator 1 --runs 1 --warmup 1 --window 4 \
    --scenarios login,chat --targets parley --chat-peers 1 --chat-rates 1000,2000,3000,4000 --out /tmp/ab/$v.json > /tmp/ab/$v.log 2>&1
  echo "$v rc=$?"
done
