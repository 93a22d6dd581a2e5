namespace Parley.Storage.Sqlite.Tests;

/// <summary>The members table as versions before migration 26 laid it out, for tests that run older migrations again.</summary>
internal static class SqliteMemberLayouts
{
    /// <summary>Columns of a member row after the conversation column, in table order (migrations 1-25).</summary>
    public const string RowColumns =
        "user_id, read_seq, pinned, muted, feed_version, role, nickname, muted_until, joined_at, inviter_id, active, visible_from, "
        + "info_version, mentions_only, mention_seq, read_diffusion, inviter_key";

    /// <summary>
    /// Turns a database of the current layout back into version 25's: members keyed by the text conversation id (every row
    /// and value kept, through conversation_keys), the indexes of that version, no conversation_keys.
    /// </summary>
    public const string BackToTextConversationIds = """
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
