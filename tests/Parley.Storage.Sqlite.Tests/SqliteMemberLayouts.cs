namespace Parley.Storage.Sqlite.Tests;

/// <summary>The members table as versions before migration 26 laid it out, for tests that run older migrations again.</summary>
internal static class SqliteMemberLayouts
{
    /// <summary>Columns of a member row after the conversation column, in table order (migrations 1-25).</summary>
    public const string RowColumns =
        "user_id, read_seq, pinned, muted, feed_version, role, nickname, muted_until, joined_at, inviter_id, active, visible_from, "
        + "info_version, mentions_only, mention_seq, read_diffusion, inviter_key";

    /// <summary>
    /// Turns a database of the current layout back into version 25's: conversations and messages keyed by the text
    /// conversation id as before migration 30, members keyed by it as before migration 26 (every row and value kept), the
    /// indexes of that version, no conversation_keys. The caller forgets versions 26 and 30 (and what it runs again).
    /// </summary>
    public const string BackToTextConversationIds = """
        CREATE TABLE conversation_keys (conv_key INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL UNIQUE);
        INSERT INTO conversation_keys (conv_key, conversation_id) SELECT conv_key, conversation_id FROM conversations;
        CREATE TABLE conversations_text (
            conversation_id TEXT NOT NULL PRIMARY KEY, kind INTEGER NOT NULL, group_id TEXT, name TEXT NOT NULL, creator_id TEXT NOT NULL,
            created_at INTEGER NOT NULL, max_seq INTEGER NOT NULL DEFAULT 0, last_seq INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL,
            member_count INTEGER NOT NULL, read_diffusion INTEGER NOT NULL DEFAULT 0, head_version INTEGER NOT NULL DEFAULT 0,
            change_version INTEGER NOT NULL DEFAULT 0, mention_all_seq INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        INSERT INTO conversations_text (conversation_id, kind, group_id, name, creator_id, created_at, max_seq, last_seq, updated_at, member_count,
                                        read_diffusion, head_version, change_version, mention_all_seq)
            SELECT conversation_id, kind, group_id, name, creator_id, created_at, max_seq, last_seq, updated_at, member_count,
                   read_diffusion, head_version, change_version, mention_all_seq FROM conversations;
        CREATE TABLE messages_text (
            conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, server_msg_id TEXT NOT NULL, sender_id TEXT NOT NULL, client_msg_id TEXT NOT NULL,
            server_time INTEGER NOT NULL, content_kind INTEGER NOT NULL, content BLOB NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,
            version INTEGER NOT NULL, annotations BLOB, reply_to_seq INTEGER NOT NULL DEFAULT 0, search_id INTEGER,
            PRIMARY KEY (conversation_id, seq), UNIQUE (conversation_id, sender_id, client_msg_id)
        ) WITHOUT ROWID;
        INSERT INTO messages_text (conversation_id, seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, content, revoked, version,
                                   annotations, reply_to_seq, search_id)
            SELECT c.conversation_id, m.seq, m.server_msg_id, m.sender_id, m.client_msg_id, m.server_time, m.content_kind, m.content, m.revoked, m.version,
                   m.annotations, m.reply_to_seq, m.search_id
            FROM messages m JOIN conversations c ON c.conv_key = m.conv_key;
        DROP TABLE messages;
        ALTER TABLE messages_text RENAME TO messages;
        CREATE INDEX ix_messages_conv_version ON messages (conversation_id, version);
        CREATE INDEX ix_messages_thread ON messages (conversation_id, reply_to_seq, seq) WHERE reply_to_seq > 0;
        DROP TABLE conversations;
        ALTER TABLE conversations_text RENAME TO conversations;
        CREATE INDEX ix_conversations_head ON conversations (head_version) WHERE read_diffusion = 1;

        CREATE TABLE members_text (
            conversation_id TEXT NOT NULL, user_id TEXT NOT NULL, read_seq INTEGER NOT NULL DEFAULT 0, pinned INTEGER NOT NULL DEFAULT 0,
            muted INTEGER NOT NULL DEFAULT 0, feed_version INTEGER NOT NULL, role INTEGER NOT NULL DEFAULT 0, nickname TEXT NOT NULL DEFAULT '',
            muted_until INTEGER NOT NULL DEFAULT 0, joined_at INTEGER NOT NULL DEFAULT 0, inviter_id TEXT NOT NULL DEFAULT '',
            active INTEGER NOT NULL DEFAULT 1, visible_from INTEGER NOT NULL DEFAULT 1, info_version INTEGER NOT NULL DEFAULT 0,
            mentions_only INTEGER NOT NULL DEFAULT 0, mention_seq INTEGER NOT NULL DEFAULT 0, read_diffusion INTEGER NOT NULL DEFAULT 0,
            inviter_key INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (conversation_id, user_id)
        ) WITHOUT ROWID;
        INSERT INTO members_text (conversation_id, user_id, read_seq, pinned, muted, feed_version, role, nickname, muted_until, joined_at,
                                  inviter_id, active, visible_from, info_version, mentions_only, mention_seq, read_diffusion, inviter_key)
            SELECT k.conversation_id, m.user_id, m.read_seq, m.pinned, m.muted, m.feed_version, m.role, m.nickname, m.muted_until, m.joined_at,
                   m.inviter_id, m.active, m.visible_from, m.info_version, m.mentions_only, m.mention_seq, m.read_diffusion, m.inviter_key
            FROM members m JOIN conversation_keys k ON k.conv_key = m.conv_key;
        DROP TABLE members;
        DROP TABLE conversation_keys;
        ALTER TABLE members_text RENAME TO members;
        CREATE INDEX ix_members_user_feed ON members (user_id, feed_version);
        CREATE INDEX ix_members_conv_info ON members (conversation_id, info_version) WHERE read_diffusion = 0;
        CREATE INDEX ix_members_user_info ON members (user_id, info_version) WHERE read_diffusion = 0;
        CREATE INDEX ix_members_conv_role ON members (conversation_id, role) WHERE role > 0;
        """;
}
