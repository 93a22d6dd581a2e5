# lib.sh: sourced by the measurement scripts in this folder (not run by itself).
# G: the load generator; by default this checkout's Release build.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
G=${G:-$here/../Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll}

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# start_server <server dll> <log file, or "" for $dir/server.log> [NAME=VALUE...]: the server in the background on
# CPU ${SERVER_CPU:-0}, in the current directory, with a temp data directory (durable SQLite defaults), rate limits off
# and free ports; NAME=VALUE adds or overrides environment settings. Sets dir, port, secret and spid. NICE=-N (stop 48):
# the server at that nice value.
# PAGE_SIZE=N (stop 45): the SQLite file is created beforehand with that page size (and WAL), so any build, one without
# the Parley:Storage:Sqlite:PageSize setting too, runs on a new database of that page size.
start_server() {
  local dll=$1 log=$2; shift 2
  dir=$(mktemp -d /tmp/parley-bench-srv-XXXX); port=$(freeport); secret=$(openssl rand -hex 24)
  if [ -n "$PAGE_SIZE" ]; then
    mkdir -p $dir/data && sqlite3 $dir/data/parley.db "PRAGMA page_size=$PAGE_SIZE; PRAGMA journal_mode=WAL;" > /dev/null
  fi
  env Parley__Admin__Secret=$secret Parley__Storage__DataDirectory=$dir/data Parley__RateLimits__Enabled=false \
    Parley__Orleans__SiloPort=$(freeport) Parley__Orleans__GatewayPort=$(freeport) "$@" \
    ${NICE:+nice -n $NICE} taskset -c ${SERVER_CPU:-0} dotnet $dll --urls http://127.0.0.1:$port > ${log:-$dir/server.log} 2>&1 &
  spid=$!
}

# wait_ready: until the server answers /readyz, up to 300 s (a loaded machine); sets ready_s.
wait_ready() {
  local i
  for i in $(seq 600); do curl -sf http://127.0.0.1:$port/readyz > /dev/null && break; sleep 0.5; done
  ready_s=$((i / 2))
}

# stop_server: kills the server and deletes its data directory.
stop_server() { kill $spid 2>/dev/null; wait $spid 2>/dev/null; rm -rf $dir; }

# cpu_ticks: the server's user + system CPU in clock ticks (10 ms).
cpu_ticks() { awk '{print $14+$15}' /proc/$spid/stat; }

# stop_pids PID...: SIGTERM, then up to 60 s for them to exit (a loaded node's graceful shutdown can hang), then SIGKILL.
stop_pids() {
  local t p st alive
  kill "$@" 2>/dev/null
  for t in $(seq 60); do
    alive=0; for p in "$@"; do st=$(ps -o stat= -p $p 2>/dev/null); [ -n "$st" ] && [ "${st:0:1}" != Z ] && alive=1; done
    [ $alive = 0 ] && break; sleep 1
  done
  kill -9 "$@" 2>/dev/null; wait "$@" 2>/dev/null
}

# cluster_env <id>: exports what every node of one cluster shares: the dev PostgreSQL (`source /work/dev/env` first) with
# schema <id>, Redis membership with cluster and service id <id>, rate limits off, one signing key, push key and admin
# secret (also PARLEY_ADMIN_SECRET for the generator), logs at Warning. Each node still needs its own data directory
# and ports.
cluster_env() {
  export Parley__Storage__Provider=Postgres Parley__Storage__Postgres__ConnectionString="$PARLEY_TEST_POSTGRES" Parley__Storage__Postgres__Schema=$1 \
    Parley__Cluster__Mode=Redis Parley__Cluster__Redis=$PARLEY_TEST_REDIS Parley__Cluster__AdvertisedAddress=127.0.0.1 \
    Parley__Orleans__ClusterId=$1 Parley__Orleans__ServiceId=$1 Parley__RateLimits__Enabled=false \
    Parley__Tokens__SigningKey=$(openssl rand -base64 32) Parley__Push__TokenKey=$(openssl rand -base64 32) \
    Parley__Admin__Secret=$(openssl rand -hex 32) Logging__LogLevel__Default=Warning
  export PARLEY_ADMIN_SECRET=$Parley__Admin__Secret
}

# trace_tool <name> <file.cs>: a trace analyzer (alloc-sites.cs, gc-pauses.cs) built outside the repository as a console
# project with TraceEvent 3.1.21 (/tmp/parley-<name>) when missing or older than its source; sets TOOL to its dll (empty
# when the build failed, with the build's last lines printed).
trace_tool() {
  local d=/tmp/parley-$1
  TOOL=$d/bin/Release/net10.0/$1.dll
  [ -f $TOOL ] && [ $TOOL -nt $2 ] && return
  mkdir -p $d && cp $2 $d/Program.cs
  cat > $d/$1.csproj <<'X'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><ImplicitUsings>enable</ImplicitUsings><Nullable>disable</Nullable></PropertyGroup>
  <ItemGroup><PackageReference Include="Microsoft.Diagnostics.Tracing.TraceEvent" Version="3.1.21" /></ItemGroup>
</Project>
X
  dotnet build -c Release $d > $d/build.log 2>&1 || { tail -20 $d/build.log; TOOL=; }
}
