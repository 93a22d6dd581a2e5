PREPARE sync_before(text, bigint, text[], bigint) AS
SELECT x.* FROM unnest($3::text[]) WITH ORDINALITY AS c(id, ord) CROSS JOIN LATERAL (
SELECT conversation_id, seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, content, revoked, version, annotations, reply_to_seq
FROM messages msg WHERE msg.conversation_id = c.id AND msg.version > $2 AND
        (EXISTS (SELECT 1 FROM conversation_keys vk CROSS JOIN LATERAL member_get(vk.conv_key, $1) vm
                 WHERE vk.conversation_id = msg.conversation_id AND vm.active AND msg.seq >= vm.visible_from)
         OR EXISTS (SELECT 1 FROM member_periods vp WHERE vp.conversation_id = msg.conversation_id AND vp.user_id = $1 AND msg.seq BETWEEN vp.from_seq AND vp.to_seq))
 ORDER BY msg.seq DESC LIMIT $4) AS x ORDER BY c.ord, x.seq;
