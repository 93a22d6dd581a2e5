-- Old layout, rebuilt by inserting the rows in the import's order (numeric suffix), to validate the mimic.
-- Usage: sqlite3 <copy of parley.db after storage.sh> < projection.sql (it adds tables: run it on a copy).
-- The big group of the run, and the import's order of its members (the numeric suffix of generated user ids).
CREATE TEMP TABLE big AS SELECT conversation_id FROM members GROUP BY conversation_id ORDER BY COUNT(*) DESC LIMIT 1;
CREATE TABLE m_old (
    conversation_id TEXT NOT NULL, user_id TEXT NOT NULL, read_seq INTEGER NOT NULL DEFAULT 0, pinned INTEGER NOT NULL DEFAULT 0,
    muted INTEGER NOT NULL DEFAULT 0, feed_version INTEGER NOT NULL, role INTEGER NOT NULL DEFAULT 0, nickname TEXT NOT NULL DEFAULT '',
    muted_until INTEGER NOT NULL DEFAULT 0, joined_at INTEGER NOT NULL DEFAULT 0, inviter_id TEXT NOT NULL DEFAULT '', active INTEGER NOT NULL DEFAULT 1,
    visible_from INTEGER NOT NULL DEFAULT 1, info_version INTEGER NOT NULL DEFAULT 0, mentions_only INTEGER NOT NULL DEFAULT 0,
    mention_seq INTEGER NOT NULL DEFAULT 0, read_diffusion INTEGER NOT NULL DEFAULT 0, inviter_key INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, user_id)) WITHOUT ROWID;
CREATE INDEX ix_old_user_feed ON m_old (user_id, feed_version);
-- New layout: an integer conversation key instead of the conversation id.
CREATE TABLE conv_keys (conv_key INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL UNIQUE);
INSERT INTO conv_keys (conversation_id) SELECT conversation_id FROM conversations ORDER BY conversation_id;
CREATE TABLE m_new (
    conv_key INTEGER NOT NULL, user_id TEXT NOT NULL, read_seq INTEGER NOT NULL DEFAULT 0, pinned INTEGER NOT NULL DEFAULT 0,
    muted INTEGER NOT NULL DEFAULT 0, feed_version INTEGER NOT NULL, role INTEGER NOT NULL DEFAULT 0, nickname TEXT NOT NULL DEFAULT '',
    muted_until INTEGER NOT NULL DEFAULT 0, joined_at INTEGER NOT NULL DEFAULT 0, inviter_id TEXT NOT NULL DEFAULT '', active INTEGER NOT NULL DEFAULT 1,
    visible_from INTEGER NOT NULL DEFAULT 1, info_version INTEGER NOT NULL DEFAULT 0, mentions_only INTEGER NOT NULL DEFAULT 0,
    mention_seq INTEGER NOT NULL DEFAULT 0, read_diffusion INTEGER NOT NULL DEFAULT 0, inviter_key INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conv_key, user_id)) WITHOUT ROWID;
CREATE INDEX ix_new_user_feed ON m_new (user_id, feed_version);
-- Same insertion order for both: small groups first, then the big group in the import's order.
INSERT INTO m_old SELECT * FROM members ORDER BY (conversation_id IN (SELECT conversation_id FROM big)), CAST(substr(user_id, instr(user_id, '-') + 1) AS INTEGER), conversation_id;
INSERT INTO m_new SELECT k.conv_key, m.user_id, m.read_seq, m.pinned, m.muted, m.feed_version, m.role, m.nickname, m.muted_until, m.joined_at, m.inviter_id, m.active, m.visible_from, m.info_version, m.mentions_only, m.mention_seq, m.read_diffusion, m.inviter_key
  FROM members m JOIN conv_keys k ON k.conversation_id = m.conversation_id ORDER BY (m.conversation_id IN (SELECT conversation_id FROM big)), CAST(substr(m.user_id, instr(m.user_id, '-') + 1) AS INTEGER), m.conversation_id;
SELECT name, SUM(pgsize), SUM(ncell), SUM(payload) FROM dbstat WHERE name IN ('members','ix_members_user_feed','ix_members_conv_role',
  'ix_members_conv_info','ix_members_user_info','member_inviters','sqlite_autoindex_member_inviters_1','m_old','ix_old_user_feed','m_new',
  'ix_new_user_feed','conv_keys','sqlite_autoindex_conv_keys_1') GROUP BY name;
