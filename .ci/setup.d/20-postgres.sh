# PostgreSQL for the PostgreSQL store's tests (tests/Parley.Storage.Postgres.Tests: the store compliance suite run
# against a real server). Debian's `postgresql` package; apt does not start services on a CI machine (and initdb
# refuses root), so a private throw-away cluster is created in the run directory, owned by the `postgres` user, on a
# free loopback port, with the DURABLE defaults (fsync and synchronous_commit on: the store refuses to start
# otherwise). Exports PARLEY_TEST_POSTGRES, an Npgsql connection string the tests read.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "installing postgresql from Debian's packages"
  ci_apt_install postgresql || return 1
fi
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PG_DIR="$PARLEY_CI_RUN/postgres"
mkdir -p "$PG_DIR"
PG_PORT=$(python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1]);s.close()" 2>/dev/null \
  || node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})") || return 1
PG_RUNAS=""
if [ "$(id -u)" -eq 0 ]; then
  # initdb refuses root: the cluster belongs to Debian's `postgres` user, who must be able to traverse the run directory.
  chmod a+x "$PARLEY_CI_RUN" || return 1
  chown postgres "$PG_DIR" || return 1
  PG_RUNAS="postgres"
fi
pg_as() { if [ -n "$PG_RUNAS" ]; then su "$PG_RUNAS" -s /bin/sh -c "$1"; else sh -c "$1"; fi; }
if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
  pg_as "'$PG_BIN/initdb' -D '$PG_DIR/data' -U postgres --auth=trust -E UTF8 >'$PG_DIR/initdb.log' 2>&1" \
    || { echo "initdb failed:"; cat "$PG_DIR/initdb.log"; return 1; }
fi
# max_connections 500: two test projects run at once, each with test classes in parallel, and every store or server
# they start holds a pool of up to 32 (a three-node cluster three); at 200, stop 35's CI had a cluster test's node
# restart and one store test class's fixture refused (53300, too many clients) at the same moment.
pg_as "'$PG_BIN/pg_ctl' -D '$PG_DIR/data' -l '$PG_DIR/postgres.log' -w -t 60 start -o \"-p $PG_PORT -k '$PG_DIR' -c listen_addresses=127.0.0.1 -c max_connections=500\" >/dev/null" \
  || { echo "postgres did not start:"; cat "$PG_DIR/postgres.log"; return 1; }
export PARLEY_TEST_POSTGRES="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=postgres"
echo "postgres $("$PG_BIN/postgres" --version | awk '{print $3}') listening on 127.0.0.1:$PG_PORT (PARLEY_TEST_POSTGRES)"
