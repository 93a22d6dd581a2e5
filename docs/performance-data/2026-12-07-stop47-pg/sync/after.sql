PREPARE sync_after(text, bigint, text[], bigint) AS
SELECT x.* FROM unnest($3::text[]) WITH ORDINALITY AS c(id, ord)
CROSS JOIN LATERAL (SELECT LEAST(MIN(vm.visible_from), (SELECT MIN(vp.from_seq) FROM member_periods vp WHERE vp.conversation_id = c.id AND vp.user_id = $1)) AS first_seq,
                           MIN(vm.visible_from) AS visible_from
                    FROM conversation_keys vk CROSS JOIN LATERAL member_get(vk.conv_key, $1) vm
                    WHERE vk.conversation_id = c.id AND vm.active) v
CROSS JOIN LATERAL (SELECT count(*) AS n FROM (SELECT 1 FROM messages b WHERE b.conversation_id = c.id AND b.version > $2 LIMIT 1000) a) above
CROSS JOIN LATERAL (
  (SELECT conversation_id, seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, content, revoked, version, annotations, reply_to_seq
   FROM messages msg WHERE above.n < 1000 AND msg.conversation_id = c.id AND msg.version > $2
     AND (msg.seq >= v.visible_from OR EXISTS (SELECT 1 FROM member_periods vp WHERE vp.conversation_id = msg.conversation_id AND vp.user_id = $1 AND msg.seq BETWEEN vp.from_seq AND vp.to_seq))
   ORDER BY msg.seq + 0 DESC LIMIT $4)
  UNION ALL
  (SELECT conversation_id, seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, content, revoked, version, annotations, reply_to_seq
   FROM messages msg WHERE above.n >= 1000 AND msg.conversation_id = c.id AND msg.version + 0 > $2
     AND msg.seq >= v.first_seq AND msg.seq <= (SELECT max(t.seq) FROM messages t WHERE t.conversation_id = c.id)
     AND (msg.seq >= v.visible_from OR EXISTS (SELECT 1 FROM member_periods vp WHERE vp.conversation_id = msg.conversation_id AND vp.user_id = $1 AND msg.seq BETWEEN vp.from_seq AND vp.to_seq))
   ORDER BY msg.seq DESC LIMIT $4)) x
ORDER BY c.ord, x.seq;
