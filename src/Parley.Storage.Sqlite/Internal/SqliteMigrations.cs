namespace Parley.Storage.Sqlite.Internal;

/// <summary>
/// The ordered schema scripts. Append only: an applied script is never edited, a change is a new version.
/// Both stores run the same list, so they can share one database file.
/// </summary>
internal static class SqliteMigrations
{
    public static readonly IReadOnlyList<(int Version, string Script)> All =
    [
        (1, V1Initial),
        (5, V5Relations),
    ];

    public static int LatestVersion => All[^1].Version;

    private const string V1Initial = """
        CREATE TABLE conversations (
            conversation_id TEXT NOT NULL PRIMARY KEY,
            kind            INTEGER NOT NULL,
            group_id        TEXT,
            name            TEXT NOT NULL,
            creator_id      TEXT NOT NULL,
            created_at      INTEGER NOT NULL,
            max_seq         INTEGER NOT NULL DEFAULT 0,
            last_seq        INTEGER NOT NULL DEFAULT 0,
            updated_at      INTEGER NOT NULL,
            -- Members are only added with the conversation; a migration that adds membership changes must maintain it.
            member_count    INTEGER NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE members (
            conversation_id TEXT NOT NULL,
            user_id         TEXT NOT NULL,
            read_seq        INTEGER NOT NULL DEFAULT 0,
            pinned          INTEGER NOT NULL DEFAULT 0,
            muted           INTEGER NOT NULL DEFAULT 0,
            feed_version    INTEGER NOT NULL,
            PRIMARY KEY (conversation_id, user_id)
        ) WITHOUT ROWID;

        -- Sync reads one user's members above a version: proportional to what changed.
        CREATE INDEX ix_members_user_feed ON members (user_id, feed_version);

        CREATE TABLE messages (
            conversation_id TEXT NOT NULL,
            seq             INTEGER NOT NULL,
            server_msg_id   TEXT NOT NULL,
            sender_id       TEXT NOT NULL,
            client_msg_id   TEXT NOT NULL,
            server_time     INTEGER NOT NULL,
            content_kind    INTEGER NOT NULL,
            content         BLOB NOT NULL,
            revoked         INTEGER NOT NULL DEFAULT 0,
            version         INTEGER NOT NULL,
            PRIMARY KEY (conversation_id, seq),
            UNIQUE (conversation_id, sender_id, client_msg_id)
        ) WITHOUT ROWID;

        CREATE INDEX ix_messages_conv_version ON messages (conversation_id, version);

        -- One row: the highest committed feed version, so a snapshot's version is O(1).
        CREATE TABLE feed_state (
            id          INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
            max_version INTEGER NOT NULL
        );
        INSERT INTO feed_state (id, max_version) VALUES (1, 0);

        CREATE TABLE users (
            user_id    TEXT NOT NULL PRIMARY KEY,
            nickname   TEXT NOT NULL,
            avatar_url TEXT NOT NULL,
            ex         TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE tokens (
            token_id   TEXT NOT NULL PRIMARY KEY,
            user_id    TEXT NOT NULL,
            device_id  TEXT NOT NULL,
            platform   INTEGER NOT NULL,
            issued_at  INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            revoked_at INTEGER
        ) WITHOUT ROWID;

        CREATE INDEX ix_tokens_user ON tokens (user_id);
        CREATE INDEX ix_tokens_expires ON tokens (expires_at);
        """;

    // Friends, friend requests, blocks and the searchable setting (docs/social.md). Every row carries the global
    // relation version of its last change; a user's delta is an index range (user_id, version > ?).
    private const string V5Relations = """
        CREATE TABLE user_settings (
            user_id    TEXT NOT NULL PRIMARY KEY,
            searchable INTEGER NOT NULL DEFAULT 1,
            updated_at INTEGER NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE friends (
            user_id    TEXT NOT NULL,
            friend_id  TEXT NOT NULL,
            remark     TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            -- A tombstone, kept until purged so deltas can report the deletion.
            deleted    INTEGER NOT NULL DEFAULT 0,
            version    INTEGER NOT NULL,
            PRIMARY KEY (user_id, friend_id)
        ) WITHOUT ROWID;

        CREATE INDEX ix_friends_user_version ON friends (user_id, version);

        CREATE TABLE friend_requests (
            from_user_id   TEXT NOT NULL,
            to_user_id     TEXT NOT NULL,
            message        TEXT NOT NULL,
            state          INTEGER NOT NULL,
            created_at     INTEGER NOT NULL,
            handled_at     INTEGER NOT NULL,
            handle_message TEXT NOT NULL,
            version        INTEGER NOT NULL,
            PRIMARY KEY (from_user_id, to_user_id)
        ) WITHOUT ROWID;

        CREATE INDEX ix_friend_requests_from_version ON friend_requests (from_user_id, version);
        CREATE INDEX ix_friend_requests_to_version ON friend_requests (to_user_id, version);

        CREATE TABLE blocks (
            user_id         TEXT NOT NULL,
            blocked_user_id TEXT NOT NULL,
            -- 0 is a tombstone: unblocked since, kept until purged.
            blocked         INTEGER NOT NULL,
            version         INTEGER NOT NULL,
            PRIMARY KEY (user_id, blocked_user_id)
        ) WITHOUT ROWID;

        CREATE INDEX ix_blocks_user_version ON blocks (user_id, version);

        -- One row: the latest relation version and the purge horizon (clients below it get a full reset).
        CREATE TABLE relation_state (
            id             INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
            version        INTEGER NOT NULL,
            purged_version INTEGER NOT NULL
        );
        INSERT INTO relation_state (id, version, purged_version) VALUES (1, 0, 0);
        """;
}
