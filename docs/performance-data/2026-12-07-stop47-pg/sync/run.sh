# PREP=<file with PREPARE NAME> NAME=<name> bash run.sh: EXPLAIN (ANALYZE, BUFFERS) of the sync's message statement for
# user u0000's conversation "big" (100,050 messages) at each cursor, run twice (the second, warm, is printed).
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-47549} PGUSER=${PGUSER:-postgres} PGDATABASE=${PGDATABASE:-pg47} PGOPTIONS="-c search_path=big"
for cur in "behind3 1010051" "behind10+edits 1010041" "far5000 960001" "far50000 510001" "fresh 0"; do
  set -- $cur
  echo "=== $1 (cursor $2), limit 201"
  psql -X -q -f "$PREP" -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE $NAME('u0000', $2, ARRAY['big'], 201);" -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE $NAME('u0000', $2, ARRAY['big'], 201);" | awk 'BEGIN{n=0} /QUERY PLAN/{n++} n==2'
done
