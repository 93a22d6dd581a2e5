\pset pager off
SET search_path = big;
-- conversation list: total and the first page of 20
PREPARE total(text) AS SELECT COUNT(*) FROM members_of_user($1);
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE total('u0000');
PREPARE page(text, bigint, bigint) AS SELECT c.conversation_id, c.kind, c.group_id, c.name,
       CASE WHEN m.active THEN c.max_seq ELSE COALESCE((SELECT MAX(v.to_seq) FROM member_periods v WHERE v.conversation_id = k.conversation_id AND v.user_id = m.user_id), 0) END,
       c.updated_at, c.member_count,
       m.read_seq, m.pinned, m.muted,
       p.user_id, p.read_seq,
       l.conversation_id, l.seq, l.server_msg_id, l.sender_id, l.client_msg_id, l.server_time, l.content_kind, l.content, l.revoked, l.version, l.annotations, l.reply_to_seq,
       m.mentions_only,
       CASE WHEN GREATEST(m.mention_seq, c.mention_all_seq) > m.read_seq THEN GREATEST(m.mention_seq, c.mention_all_seq) ELSE 0 END
FROM members_of_user($1) m
JOIN conversation_keys k ON k.conv_key = m.conv_key
JOIN conversations c ON c.conversation_id = k.conversation_id
LEFT JOIN members p ON p.conv_key = CASE WHEN c.kind = 1 THEN m.conv_key END AND p.user_id <> m.user_id
LEFT JOIN messages l ON l.conversation_id = c.conversation_id
       AND l.seq = CASE WHEN m.active THEN c.last_seq ELSE COALESCE((SELECT MAX(v.to_seq) FROM member_periods v WHERE v.conversation_id = k.conversation_id AND v.user_id = m.user_id), 0) END
WHERE m.user_id = $1
 ORDER BY m.pinned DESC, c.updated_at DESC, c.head_version DESC, c.conversation_id LIMIT $2 OFFSET $3;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE page('u0000', 20, 0);
PREPARE unread(text) AS SELECT COALESCE(SUM(GREATEST(c.max_seq - m.read_seq, 0)), 0)::bigint
FROM members_of_user($1) m JOIN conversation_keys k ON k.conv_key = m.conv_key JOIN conversations c ON c.conversation_id = k.conversation_id
WHERE m.active AND NOT m.muted;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE unread('u0000');
PREPARE changed(text, bigint, integer) AS SELECT c.conversation_id, c.kind, c.group_id, c.name,
       CASE WHEN m.active THEN c.max_seq ELSE COALESCE((SELECT MAX(v.to_seq) FROM member_periods v WHERE v.conversation_id = k.conversation_id AND v.user_id = m.user_id), 0) END,
       c.updated_at, c.member_count,
       m.read_seq, m.pinned, m.muted,
       p.user_id, p.read_seq,
       l.conversation_id, l.seq, l.server_msg_id, l.sender_id, l.client_msg_id, l.server_time, l.content_kind, l.content, l.revoked, l.version, l.annotations, l.reply_to_seq,
       m.mentions_only,
       CASE WHEN GREATEST(m.mention_seq, c.mention_all_seq) > m.read_seq THEN GREATEST(m.mention_seq, c.mention_all_seq) ELSE 0 END
FROM members_of_user_since($1, $2, $3) m
JOIN conversation_keys k ON k.conv_key = m.conv_key
JOIN conversations c ON c.conversation_id = k.conversation_id
LEFT JOIN members p ON p.conv_key = CASE WHEN c.kind = 1 THEN m.conv_key END AND p.user_id <> m.user_id
LEFT JOIN messages l ON l.conversation_id = c.conversation_id
       AND l.seq = CASE WHEN m.active THEN c.last_seq ELSE COALESCE((SELECT MAX(v.to_seq) FROM member_periods v WHERE v.conversation_id = k.conversation_id AND v.user_id = m.user_id), 0) END
WHERE m.user_id = $1
 AND (m.feed_version > $2 OR (m.active AND c.change_version > $2)) ORDER BY GREATEST(m.feed_version, c.change_version), c.conversation_id;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE changed('u0000', 0, 0);
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE changed('u0000', 1010051, 256);
PREPARE dedup(text, text, text) AS SELECT conversation_id, seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, content, revoked, version, annotations, reply_to_seq FROM messages WHERE conversation_id = $1 AND sender_id = $2 AND client_msg_id = $3;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE dedup('big', 'u0000', 'cm500000');
BEGIN;
PREPARE ins(text[], bigint[], text[], text[], text[], bigint[], integer[], bytea[], boolean[], bigint[], bytea[], bigint[]) AS
INSERT INTO messages (conversation_id, seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, content, revoked, version, annotations, reply_to_seq)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::integer[], $8::bytea[], $9::boolean[], $10::bigint[], $11::bytea[], $12::bigint[]);
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE ins(ARRAY['big','c00005'], ARRAY[200000,90000]::bigint[], ARRAY['x1','x2'], ARRAY['u0000','u0000'], ARRAY['cx1','cx2'], ARRAY[1,1]::bigint[], ARRAY[1,1], ARRAY['\x01'::bytea,'\x02'::bytea], ARRAY[false,false], ARRAY[2000001,2000002]::bigint[], ARRAY[NULL,NULL]::bytea[], ARRAY[0,0]::bigint[]);
PREPARE rs(text[], text[], bigint[]) AS UPDATE members SET read_seq = GREATEST(members.read_seq, u.seq)
FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(conversation_id, user_id, seq)
JOIN conversation_keys k ON k.conversation_id = u.conversation_id
WHERE members.conv_key = k.conv_key AND members.user_id = u.user_id;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE rs(ARRAY['big','c00005'], ARRAY['u0000','u0000'], ARRAY[200000,90000]::bigint[]);
PREPARE cv(text[], bigint[], bigint[], bigint[]) AS UPDATE conversations SET max_seq = GREATEST(conversations.max_seq, u.seq), last_seq = GREATEST(conversations.last_seq, u.seq),
    updated_at = GREATEST(conversations.updated_at, u.at), head_version = GREATEST(conversations.head_version, u.version)
FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS u(conversation_id, seq, at, version)
WHERE conversations.conversation_id = u.conversation_id;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE cv(ARRAY['big','c00005'], ARRAY[200000,90000]::bigint[], ARRAY[1,1]::bigint[], ARRAY[2000001,2000002]::bigint[]);
PREPARE fv(text[], bigint[]) AS UPDATE members SET feed_version = GREATEST(members.feed_version, u.version)
FROM unnest($1::text[], $2::bigint[]) AS u(conversation_id, version)
JOIN conversation_keys k ON k.conversation_id = u.conversation_id
WHERE members.conv_key = k.conv_key AND members.active;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE fv(ARRAY['big','c00005'], ARRAY[2000001,2000002]::bigint[]);
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) UPDATE feed_state SET max_version = GREATEST(max_version, 2000002) WHERE id = 1;
ROLLBACK;
