.stats on
SELECT '--first walk joined';
SELECT count(*), sum(visible) FROM (SELECT msg.conversation_id, msg.seq, msg.server_msg_id, msg.sender_id, msg.client_msg_id, msg.server_time, msg.content_kind, msg.content,
               msg.revoked, msg.version, msg.annotations, msg.reply_to_seq, s.body, s.rowid,
               (msg.revoked = 0
                AND (NULL IS NULL OR s.conversation_id = NULL)
                AND (EXISTS (SELECT 1 FROM conversation_keys vk JOIN members vm ON vm.conv_key = vk.conv_key
                             WHERE vk.conversation_id = msg.conversation_id AND vm.user_id = 'reader-0001' AND vm.active = 1 AND msg.seq >= vm.visible_from)
                     OR EXISTS (SELECT 1 FROM member_periods vp WHERE vp.conversation_id = msg.conversation_id AND vp.user_id = 'reader-0001' AND msg.seq BETWEEN vp.from_seq AND vp.to_seq))) AS visible
        FROM message_search s
        LEFT JOIN messages msg ON msg.conversation_id = s.conversation_id AND msg.seq = s.seq
        WHERE message_search MATCH '{body} : "zqxelse"' AND s.rowid < 10010001 AND s.rowid >= 0
        ORDER BY s.rowid DESC LIMIT 101);
SELECT '--first walk content only';
SELECT count(*) FROM (SELECT s.rowid, s.conversation_id, s.seq FROM message_search s WHERE message_search MATCH '{body} : "zqxelse"' AND s.rowid < 10010001 AND s.rowid >= 0 ORDER BY s.rowid DESC LIMIT 101);
