# Redis for the Orleans cluster's membership (Parley:Cluster:Mode=Redis, Microsoft.Orleans.Clustering.Redis) and the
# multi-node tests (tests/Parley.IntegrationTests ClusterTests: three server processes on loopback sharing PostgreSQL
# and Redis). Debian's `redis-server` package; apt does not start services on a CI machine, so a private redis is
# started in the run directory on a free loopback port, without persistence (membership is rebuilt by the silos).
# Exports PARLEY_TEST_REDIS, a StackExchange.Redis configuration string the tests read.
if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing redis-server from Debian's packages"
  ci_apt_install redis-server || return 1
fi
REDIS_DIR="$PARLEY_CI_RUN/redis"
mkdir -p "$REDIS_DIR"
REDIS_PORT=$(python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1]);s.close()" 2>/dev/null \
  || node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})") || return 1
redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --dir "$REDIS_DIR" \
  --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" || { echo "redis-server did not start"; return 1; }
for _ in $(seq 100); do
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
  sleep 0.1
done
if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
  echo "redis did not answer:"; cat "$REDIS_DIR/redis.log"; return 1
fi
export PARLEY_TEST_REDIS="127.0.0.1:$REDIS_PORT"
echo "redis $(redis-server --version | awk '{print $3}' | cut -d= -f2) listening on 127.0.0.1:$REDIS_PORT (PARLEY_TEST_REDIS, pid $(cat "$REDIS_DIR/redis.pid"))"
