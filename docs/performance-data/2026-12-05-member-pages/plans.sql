SET search_path = plan_super100k;
ANALYZE;
\echo === member_get (group, user): slot
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT m.* FROM conversation_keys k CROSS JOIN LATERAL member_get(k.conv_key, 'lt0000r1s-54321') m WHERE k.conversation_id = 'sg_lt0000r1ss';
\echo === members_of_user: the groups of a user
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT * FROM members_of_user('lt0000r1s-54321');
\echo === members_in_range: a keyset page of 500 (range of 9 pages)
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT m.user_id FROM conversation_keys k CROSS JOIN LATERAL members_in_range(k.conv_key, 'lt0000r1s-5', (SELECT first_user FROM member_pages WHERE first_user > 'lt0000r1s-5' ORDER BY first_user OFFSET 9 LIMIT 1)) m WHERE k.conversation_id = 'sg_lt0000r1ss' AND m.active ORDER BY m.user_id COLLATE "C" LIMIT 501;
