-- Stop 48, adr34 (stop 47's sync-store.sql, plus the edits of old messages at the end): a store for the sync statement's page counts (sync-pages48.cs): migration 30's messages table and the
-- three tables the statement joins, 1,000 1:1 conversations of 1,000 messages committed round-robin (a version per message,
-- so every conversation's versions interleave as under a load), conversation 1 grown by 30,000 more (31,000 in all), and
-- 0.5 % of conversation 1's rows edited 500 versions after their first commit.
-- Stop 48: then, above every version, an edit of an old message in conversation 1 (seq 100 of 31,000) and in conversation 3
-- (seq 5 of 1,000), and conversation 2 left without edits; ix_messages_conv_version is not built (both builds read ADR 0034's).
PRAGMA page_size = 4096; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
CREATE TABLE conversations (conv_key INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL UNIQUE);
CREATE TABLE members (conv_key INTEGER NOT NULL, user_id TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1, visible_from INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (conv_key, user_id)) WITHOUT ROWID;
CREATE TABLE member_periods (conversation_id TEXT NOT NULL, user_id TEXT NOT NULL, from_seq INTEGER NOT NULL, to_seq INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, user_id, from_seq)) WITHOUT ROWID;
CREATE TABLE messages (
    conv_key INTEGER NOT NULL, seq INTEGER NOT NULL, server_msg_id TEXT NOT NULL, sender_id TEXT NOT NULL, client_msg_id TEXT NOT NULL,
    server_time INTEGER NOT NULL, content_kind INTEGER NOT NULL, content BLOB NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL, annotations BLOB, reply_to_seq INTEGER NOT NULL DEFAULT 0, search_id INTEGER,
    PRIMARY KEY (conv_key, seq), UNIQUE (conv_key, sender_id, client_msg_id)) WITHOUT ROWID;
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 1000)
INSERT INTO conversations SELECT i, printf('si_peer-%04d_reader-%04d', i, i) FROM k;
INSERT INTO members SELECT conv_key, printf('reader-%04d', conv_key), 1, 1 FROM conversations;
INSERT INTO members SELECT conv_key, printf('peer-%04d', conv_key), 1, 1 FROM conversations;
WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 999999)
INSERT INTO messages SELECT i % 1000 + 1, i / 1000 + 1, lower(hex(randomblob(8))), CASE i % 2 WHEN 0 THEN printf('peer-%04d', i % 1000 + 1) ELSE printf('reader-%04d', i % 1000 + 1) END,
    lower(hex(randomblob(8))), 1700000000000 + i, 1, randomblob(40 + abs(random() % 80)), 0, i + 1, NULL, 0, i + 1 FROM k ORDER BY 1, 2;
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 30000)
INSERT INTO messages SELECT 1, 1000 + i, lower(hex(randomblob(8))), CASE i % 2 WHEN 0 THEN 'peer-0001' ELSE 'reader-0001' END, lower(hex(randomblob(8))),
    1800000000000 + i, 1, randomblob(40 + abs(random() % 80)), 0, 2000000 + i, NULL, 0, 2000000 + i FROM k;
UPDATE messages SET version = version + 500, annotations = x'0102' WHERE conv_key = 1 AND seq % 200 = 7;
UPDATE messages SET version = 3000000, annotations = x'0103' WHERE conv_key = 1 AND seq = 100;
UPDATE messages SET version = 3000001, annotations = x'0103' WHERE conv_key = 3 AND seq = 5;
CREATE INDEX ix_messages_changed ON messages (conv_key, version, search_id) WHERE search_id IS NULL OR version <> search_id;
CREATE INDEX ix_messages_anchor ON messages (conv_key, search_id) WHERE seq % 64 = 0;
