-- ChangedViewsSql of main d1d01eb (members_of_user_since; $4 unused)
PREPARE views_before(text, bigint, integer, integer) AS
SELECT c.conversation_id, c.kind, c.group_id, c.name,
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
  AND $4 >= 0 AND (m.feed_version > $2 OR (m.active AND c.change_version > $2)) ORDER BY GREATEST(m.feed_version, c.change_version), c.conversation_id;
