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
        (3, V3Push),
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

    // Version 2 is reserved for the messaging engineer's change; push tables are version 3.
    private const string V3Push = """
        CREATE TABLE push_devices (
            user_id          TEXT NOT NULL,
            device_id        TEXT NOT NULL,
            platform         TEXT NOT NULL,
            vendor           INTEGER NOT NULL,
            -- AES-GCM(nonce | tag | ciphertext) of the vendor token, bound to (user, device); NULL once invalidated.
            token_cipher     BLOB,
            -- HMAC of the token under a derived key: finds a token re-registered elsewhere without storing it in clear.
            token_hash       BLOB,
            app_id           TEXT NOT NULL,
            environment      INTEGER NOT NULL,
            notif_enabled    INTEGER NOT NULL,
            locale           TEXT NOT NULL,
            time_zone        TEXT NOT NULL,
            last_seen_at     INTEGER NOT NULL,
            registered_at    INTEGER NOT NULL,
            token_invalid_at INTEGER,
            PRIMARY KEY (user_id, device_id)
        ) WITHOUT ROWID;

        CREATE INDEX ix_push_devices_token ON push_devices (token_hash);

        CREATE TABLE push_journal (
            push_id        TEXT NOT NULL PRIMARY KEY,
            message_id     TEXT NOT NULL,
            trace_id       TEXT NOT NULL,
            user_id        TEXT NOT NULL,
            device_id      TEXT NOT NULL,
            vendor         INTEGER NOT NULL,
            category       INTEGER NOT NULL,
            state          INTEGER NOT NULL,
            payload        TEXT NOT NULL,
            created_at     INTEGER NOT NULL,
            not_before     INTEGER NOT NULL,
            attempts       INTEGER NOT NULL,
            reason         TEXT,
            digest_push_id TEXT,
            sent_at        INTEGER,
            arrived_at     INTEGER,
            clicked_at     INTEGER
        ) WITHOUT ROWID;

        CREATE INDEX ix_push_journal_state ON push_journal (state, created_at);
        CREATE INDEX ix_push_journal_message ON push_journal (message_id);
        """;
}
