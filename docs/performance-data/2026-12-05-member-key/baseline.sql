-- Same-run baseline: the rows of the measured (keyed) database, inserted in the import's order into the layout of
-- SQLite migration 25 (text conversation id) and, for the method, into the keyed layout again.
CREATE TABLE m_old (
    conversation_id TEXT NOT NULL, user_id TEXT NOT NULL, read_seq INTEGER NOT NULL DEFAULT 0, pinned INTEGER NOT NULL DEFAULT 0,
    muted INTEGER NOT NULL DEFAULT 0, feed_version INTEGER NOT NULL, role INTEGER NOT NULL DEFAULT 0, nickname TEXT NOT NULL DEFAULT '',
    muted_until INTEGER NOT NULL DEFAULT 0, joined_at INTEGER NOT NULL DEFAULT 0, inviter_id TEXT NOT NULL DEFAULT '', active INTEGER NOT NULL DEFAULT 1,
    visible_from INTEGER NOT NULL DEFAULT 1, info_version INTEGER NOT NULL DEFAULT 0, mentions_only INTEGER NOT NULL DEFAULT 0,
    mention_seq INTEGER NOT NULL DEFAULT 0, read_diffusion INTEGER NOT NULL DEFAULT 0, inviter_key INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, user_id)) WITHOUT ROWID;
CREATE INDEX ix_old_user_feed ON m_old (user_id, feed_version);
CREATE TABLE m_new (
    conv_key INTEGER NOT NULL, user_id TEXT NOT NULL, read_seq INTEGER NOT NULL DEFAULT 0, pinned INTEGER NOT NULL DEFAULT 0,
    muted INTEGER NOT NULL DEFAULT 0, feed_version INTEGER NOT NULL, role INTEGER NOT NULL DEFAULT 0, nickname TEXT NOT NULL DEFAULT '',
    muted_until INTEGER NOT NULL DEFAULT 0, joined_at INTEGER NOT NULL DEFAULT 0, inviter_id TEXT NOT NULL DEFAULT '', active INTEGER NOT NULL DEFAULT 1,
    visible_from INTEGER NOT NULL DEFAULT 1, info_version INTEGER NOT NULL DEFAULT 0, mentions_only INTEGER NOT NULL DEFAULT 0,
    mention_seq INTEGER NOT NULL DEFAULT 0, read_diffusion INTEGER NOT NULL DEFAULT 0, inviter_key INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conv_key, user_id)) WITHOUT ROWID;
CREATE INDEX ix_new_user_feed ON m_new (user_id, feed_version);
INSERT INTO m_old SELECT k.conversation_id, m.user_id, m.read_seq, m.pinned, m.muted, m.feed_version, m.role, m.nickname, m.muted_until, m.joined_at,
    m.inviter_id, m.active, m.visible_from, m.info_version, m.mentions_only, m.mention_seq, m.read_diffusion, m.inviter_key
  FROM members m JOIN conversation_keys k ON k.conv_key = m.conv_key ORDER BY CAST(substr(m.user_id, instr(m.user_id, '-') + 1) AS INTEGER);
INSERT INTO m_new SELECT * FROM members ORDER BY CAST(substr(user_id, instr(user_id, '-') + 1) AS INTEGER);
SELECT name, SUM(pgsize), SUM(ncell), ROUND(SUM(pgsize) * 1.0 / (SELECT COUNT(*) FROM members), 1) FROM dbstat
WHERE name IN ('members', 'ix_members_user_feed', 'm_old', 'ix_old_user_feed', 'm_new', 'ix_new_user_feed') GROUP BY name;
