namespace Parley.Storage.Postgres.Tests;

/// <summary>The members table as versions before migration 23 laid it out, for tests that run older migrations again.</summary>
internal static class PostgresMemberLayouts
{
    /// <summary>Columns of a member row after the conversation column (migrations 1-22).</summary>
    public const string RowColumns =
        "user_id, read_seq, pinned, muted, mentions_only, feed_version, role, nickname, muted_until, joined_at, inviter_id, active, "
        + "visible_from, info_version, mention_seq, read_diffusion";

    /// <summary>
    /// Turns a schema of the current layout back into version 22's: packed members back into rows and migration 25's
    /// objects gone, members keyed by the text conversation id (every row and value kept, through conversation_keys), the
    /// indexes of that version, no conversation_keys. A rewind deletes versions 23, 25, 27, 29, 30 and 31 from
    /// schema_migrations with it (27 replaces 25's compaction function and writes pages through a function of the members row
    /// type; 29's and 31's sync functions return that row type; 31's rd_head_version and indexes undone).
    /// </summary>
    public const string BackToTextConversationIds = """
        DROP FUNCTION members_of_user_changed, conversations_edited_since;
        DROP INDEX ix_conversations_rd_head, ix_conversations_change;
        ALTER TABLE conversations DROP COLUMN rd_head_version;
        ALTER TABLE conversations RESET (fillfactor);
        CREATE INDEX ix_conversations_head ON conversations (head_version) WHERE read_diffusion;
        INSERT INTO members SELECT s.* FROM member_pages p CROSS JOIN LATERAL member_page_slots(p) s
            WHERE NOT EXISTS (SELECT 1 FROM members r WHERE r.conv_key = s.conv_key AND r.user_id = s.user_id);
        DROP FUNCTION members_of_user_since, members_of_user_advanced, super_groups_changed_since, super_groups_advanced_since;
        DROP INDEX ix_conversations_change_rd;
        DROP FUNCTION member_pages_write, member_unpack, members_in_range, members_of_conv, members_of_user, member_get, member_slot, member_page_slots;
        DROP TABLE member_pages;
        ALTER TABLE groups DROP COLUMN compacted_version;
        CREATE TABLE members_text (
            conversation_id text NOT NULL, user_id text NOT NULL, read_seq bigint NOT NULL DEFAULT 0, pinned boolean NOT NULL DEFAULT false,
            muted boolean NOT NULL DEFAULT false, mentions_only boolean NOT NULL DEFAULT false, feed_version bigint NOT NULL,
            role integer NOT NULL DEFAULT 0, nickname text NOT NULL DEFAULT '', muted_until bigint NOT NULL DEFAULT 0,
            joined_at bigint NOT NULL DEFAULT 0, inviter_id text NOT NULL DEFAULT '', active boolean NOT NULL DEFAULT true,
            visible_from bigint NOT NULL DEFAULT 1, info_version bigint NOT NULL DEFAULT 0, mention_seq bigint NOT NULL DEFAULT 0,
            read_diffusion boolean NOT NULL DEFAULT false
        );
        INSERT INTO members_text (conversation_id, user_id, read_seq, pinned, muted, mentions_only, feed_version, role, nickname, muted_until,
                                  joined_at, inviter_id, active, visible_from, info_version, mention_seq, read_diffusion)
            SELECT k.conversation_id, m.user_id, m.read_seq, m.pinned, m.muted, m.mentions_only, m.feed_version, m.role, m.nickname, m.muted_until,
                   m.joined_at, m.inviter_id, m.active, m.visible_from, m.info_version, m.mention_seq, m.read_diffusion
            FROM members m JOIN conversation_keys k ON k.conv_key = m.conv_key;
        DROP TABLE members;
        DROP TABLE conversation_keys;
        ALTER TABLE members_text RENAME TO members;
        ALTER TABLE members ADD CONSTRAINT members_pkey PRIMARY KEY (conversation_id, user_id);
        CREATE INDEX ix_members_user_feed ON members (user_id, feed_version);
        CREATE INDEX ix_members_conv_info ON members (conversation_id, info_version) WHERE NOT read_diffusion;
        CREATE INDEX ix_members_user_info ON members (user_id, info_version) WHERE NOT read_diffusion;
        CREATE INDEX ix_members_conv_role ON members (conversation_id, role) WHERE role > 0;
        """;
}
