#!/usr/bin/env bash
# gap.sh: the cluster's gap check (UsersChangedSinceAsync) for 20 users (u0000-u0019, u0000 in 111 conversations, the others
# in ~10) from the version 3 messages behind the top, main's text (members_of_user_since) and stop 48's
# (members_of_user_changed): root buffers of the second run, and the users named.
here=$(cd "$(dirname "$0")" && pwd)
export PGDATABASE=${PGDATABASE:-pg47} PGOPTIONS="-c search_path=big"
q() { cat <<SQL
PREPARE gap_$1(text[], bigint, integer, integer) AS
SELECT m.user_id FROM unnest(\$1::text[]) AS q(u)
CROSS JOIN LATERAL (SELECT * FROM $2 UNION ALL SELECT * FROM members_of_user_advanced(q.u, \$2 - 1, \$3)) m
JOIN conversation_keys k ON k.conv_key = m.conv_key
JOIN conversations c ON c.conversation_id = k.conversation_id
WHERE m.user_id = ANY(\$1)
  AND (m.feed_version >= \$2 OR (m.active AND (c.change_version >= \$2 OR (c.read_diffusion AND c.head_version >= \$2))))
GROUP BY m.user_id;
SQL
}
users="ARRAY['u0000','u0001','u0002','u0003','u0004','u0005','u0006','u0007','u0008','u0009','u0010','u0011','u0012','u0013','u0014','u0015','u0016','u0017','u0018','u0019']"
for w in main new; do
  if [ $w = main ]; then f='members_of_user_since(q.u, $2 - 1, $3)'; else f='members_of_user_changed(q.u, $2 - 1, $3, $4)'; fi
  out=$(psql -X -q -c "$(q $w "$f")" -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE gap_$w($users, 1010052, 256, 32)" \
        -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE gap_$w($users, 1010052, 256, 32)" -At -c "EXECUTE gap_$w($users, 1010052, 256, 32)")
  echo "$w: root $(grep -E '^  Buffers' <<<"$out" | sed -n 3p | sed 's/ *//'), users named: $(grep -E '^u[0-9]+$' <<<"$out" | tr '\n' ' ')"
done
