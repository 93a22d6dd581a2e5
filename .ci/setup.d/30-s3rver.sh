# The S3 blob store tests (tests/Parley.Blobs.Tests, media integration tests) run against a real S3-compatible server
# on loopback: npm's s3rver 3.7.1 (needs Node, installed by 10-node.sh). Exports PARLEY_TEST_S3_ENDPOINT,
# PARLEY_TEST_S3_BUCKET, PARLEY_TEST_S3_ACCESS_KEY and PARLEY_TEST_S3_SECRET_KEY.
S3RVER_DIR="$PARLEY_CI_RUN/s3rver"
mkdir -p "$S3RVER_DIR/data"
if [ ! -x "$S3RVER_DIR/node_modules/.bin/s3rver" ]; then
  echo "installing s3rver 3.7.1 from npm"
  npm install --prefix "$S3RVER_DIR" --no-audit --no-fund --loglevel=error s3rver@3.7.1 >/dev/null || return 1
fi
S3RVER_PORT=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})") || return 1
nohup "$S3RVER_DIR/node_modules/.bin/s3rver" --directory "$S3RVER_DIR/data" --address 127.0.0.1 --port "$S3RVER_PORT" \
  --configure-bucket parley-test --silent > "$S3RVER_DIR/s3rver.log" 2>&1 &
echo $! > "$S3RVER_DIR/s3rver.pid"
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$S3RVER_PORT") 2>/dev/null && break
  sleep 0.1
done
if ! (exec 3<>"/dev/tcp/127.0.0.1/$S3RVER_PORT") 2>/dev/null; then
  echo "s3rver did not start:"; cat "$S3RVER_DIR/s3rver.log"; return 1
fi
export PARLEY_TEST_S3_ENDPOINT="http://127.0.0.1:$S3RVER_PORT"
export PARLEY_TEST_S3_BUCKET=parley-test
export PARLEY_TEST_S3_ACCESS_KEY=S3RVER
export PARLEY_TEST_S3_SECRET_KEY=S3RVER
echo "s3rver listening on $PARLEY_TEST_S3_ENDPOINT (pid $(cat "$S3RVER_DIR/s3rver.pid"))"
