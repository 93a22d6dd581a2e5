-- clone.sql: four copies of the write path's tables (conversations, members, conversation_keys) of schema big (stop 47's
-- 1M-message store), for the per-message UPDATE's WAL; conversations laid out explicitly, whatever big's migration:
-- w0 = migration 30 (base: pkey, ix_conversations_head (head_version) WHERE read_diffusion, ix_conversations_change_rd),
-- w1 = base + ix_conversations_change (change_version) WHERE change_version > 0 (half the conversations edited once),
-- w2 = migration 31 in place (rd_head_version and its index instead of ix_conversations_head, the change index,
--      fillfactor 80 set but the table not rewritten), w3 = migration 31 on a table written at fillfactor 80.
\set ON_ERROR_STOP on
DO $$
DECLARE s text;
BEGIN
  FOREACH s IN ARRAY ARRAY['w0','w1','w2','w3'] LOOP
    EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE; CREATE SCHEMA %I', s, s);
    EXECUTE format('CREATE TABLE %I.conversations (LIKE big.conversations INCLUDING DEFAULTS)', s);
    IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = s AND table_name = 'conversations' AND column_name = 'rd_head_version') THEN
      EXECUTE format('ALTER TABLE %I.conversations DROP COLUMN rd_head_version', s);
    END IF;
    EXECUTE format('CREATE TABLE %I.members (LIKE big.members INCLUDING ALL)', s);
    EXECUTE format('CREATE TABLE %I.conversation_keys (LIKE big.conversation_keys INCLUDING ALL)', s);
    IF s = 'w3' THEN EXECUTE format('ALTER TABLE %I.conversations SET (fillfactor = 80)', s); END IF;
    -- half the conversations edited once (an edit or a reaction raises change_version)
    EXECUTE format('INSERT INTO %I.conversations SELECT conversation_id, kind, group_id, name, creator_id, created_at, max_seq, last_seq, updated_at, member_count,
                    read_diffusion, head_version, CASE WHEN hashtext(conversation_id) %% 2 = 0 THEN 1 ELSE change_version END, mention_all_seq
                    FROM big.conversations ORDER BY conversation_id', s);
    EXECUTE format('INSERT INTO %I.members SELECT * FROM big.members', s);
    EXECUTE format('INSERT INTO %I.conversation_keys SELECT * FROM big.conversation_keys', s);
    EXECUTE format('ALTER TABLE %I.conversations ADD PRIMARY KEY (conversation_id)', s);
    EXECUTE format('CREATE INDEX ON %I.conversations (change_version) WHERE read_diffusion', s);
    IF s <> 'w0' THEN
      EXECUTE format('CREATE INDEX ON %I.conversations (change_version) WHERE change_version > 0', s);
    END IF;
    IF s IN ('w2','w3') THEN
      EXECUTE format('ALTER TABLE %I.conversations ADD COLUMN rd_head_version bigint NOT NULL DEFAULT 0', s);
      EXECUTE format('CREATE INDEX ON %I.conversations (rd_head_version) WHERE read_diffusion', s);
    ELSE
      EXECUTE format('CREATE INDEX ON %I.conversations (head_version) WHERE read_diffusion', s);
    END IF;
    IF s = 'w2' THEN EXECUTE format('ALTER TABLE %I.conversations SET (fillfactor = 80)', s); END IF;
  END LOOP;
END $$;
VACUUM ANALYZE w0.conversations, w1.conversations, w2.conversations, w3.conversations, w0.members, w1.members, w2.members, w3.members, w0.conversation_keys, w1.conversation_keys, w2.conversation_keys, w3.conversation_keys;
