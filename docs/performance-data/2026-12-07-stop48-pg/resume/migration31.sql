-- PostgreSQL migration 31 (stop 48 pg), as in PostgresMigrations.V31HotConversationsAndEditedIndex, for psql
BEGIN;
ALTER TABLE conversations ADD COLUMN rd_head_version bigint NOT NULL DEFAULT 0;
UPDATE conversations SET rd_head_version = head_version WHERE read_diffusion;
CREATE INDEX ix_conversations_rd_head ON conversations (rd_head_version) WHERE read_diffusion;
DROP INDEX ix_conversations_head;
CREATE INDEX ix_conversations_change ON conversations (change_version) WHERE change_version > 0;
ALTER TABLE conversations SET (fillfactor = 80);

-- The read-diffusion conversations whose head advanced above v (ix_conversations_rd_head).
CREATE OR REPLACE FUNCTION super_groups_advanced_since(v bigint) RETURNS SETOF bigint LANGUAGE sql STABLE AS $f$
    SELECT ck.conv_key FROM conversations c JOIN conversation_keys ck ON ck.conversation_id = c.conversation_id
    WHERE c.read_diffusion AND c.rd_head_version > v
$f$;

-- The conversations edited (or reacted to) above v (ix_conversations_change).
CREATE FUNCTION conversations_edited_since(v bigint) RETURNS SETOF bigint LANGUAGE sql STABLE AS $f$
    SELECT ck.conv_key FROM conversations c JOIN conversation_keys ck ON ck.conversation_id = c.conversation_id
    WHERE c.change_version > v AND c.change_version > 0
$f$;

-- The memberships of a user that may have changed above v: the user's rows whose own feed version is above v (a
-- range of ix_members_user_feed), the user's other rows in the conversations edited above v (a probe of each, or,
-- when edited_limit or more were edited, every other row of the user), and the user's slots as
-- members_of_user_since. A superset of the rows whose feed version or (active) conversation's change version is
-- above v: the callers keep their test.
CREATE FUNCTION members_of_user_changed(u text, v bigint, probe_limit integer, edited_limit integer) RETURNS SETOF members LANGUAGE sql STABLE AS $f$
    SELECT m.* FROM members m WHERE m.user_id = u AND m.feed_version > v
    UNION ALL
    SELECT m.* FROM conversations_edited_since(v) e(conv_key) JOIN members m ON m.conv_key = e.conv_key AND m.user_id = u
    WHERE (SELECT count(*) FROM (SELECT 1 FROM conversations c WHERE c.change_version > v AND c.change_version > 0 LIMIT edited_limit) n) < edited_limit
      AND m.feed_version <= v
    UNION ALL
    SELECT m.* FROM members m
    WHERE (SELECT count(*) FROM (SELECT 1 FROM conversations c WHERE c.change_version > v AND c.change_version > 0 LIMIT edited_limit) n) >= edited_limit
      AND m.user_id = u AND m.feed_version <= v
    UNION ALL
    SELECT s.* FROM super_groups_changed_since(v) ch(conv_key) CROSS JOIN LATERAL member_slot(ch.conv_key, u) s
    WHERE (SELECT count(*) FROM (SELECT 1 FROM super_groups_changed_since(v) LIMIT probe_limit) n) < probe_limit
      AND NOT EXISTS (SELECT 1 FROM members r WHERE r.conv_key = ch.conv_key AND r.user_id = u)
    UNION ALL
    SELECT s.* FROM member_pages p CROSS JOIN LATERAL member_page_slots(p) s
    WHERE (SELECT count(*) FROM (SELECT 1 FROM super_groups_changed_since(v) LIMIT probe_limit) n) >= probe_limit
      AND p.hashes @> ARRAY[hashtext(u)] AND s.user_id = u
      AND NOT EXISTS (SELECT 1 FROM members r WHERE r.conv_key = p.conv_key AND r.user_id = u)
$f$;
INSERT INTO schema_migrations (version) VALUES (31);
COMMIT;
