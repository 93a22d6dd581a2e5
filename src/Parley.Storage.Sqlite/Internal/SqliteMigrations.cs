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
        (2, V2Groups),
        (3, V3Push),
        (4, V4Directory),
        (5, V5Relations),
        (6, V6PushSettings),
        (7, V7GroupRequestsByUser),
        (8, V8AdminOperatorsAudit),
        (9, V9Media),
        (10, V10DirectConversationIds),
        (11, V11NotificationAccounts),
        (12, V12Campaigns),
        (13, V13SuperGroups),
        (14, V14WebhookOutbox),
        (15, V15MessageChanges),
        (16, V16DailyActivity),
        (17, V17SuperGroupMemberIndexes),
        (18, V18SearchQueue),
        (19, V19PushOwnership),
        (20, V20ResumePositions),
        (21, V21MemberNotices),
        (22, V22SuperGroupPushJobs),
        (23, V23MemberInviters),
        (24, V24BulkMemberJobs),
        (25, V25UserTags),
        (26, V26MemberConversationKeys),
        (27, V27SearchByConversation),
        (28, V28SearchIndexedThrough),
        (29, V29DeltaIndexesWithoutDirectRows),
        (30, V30MessagesByConversationKey),
        (31, V31DerivedRowsPending),
        (32, V32VersionIndexOfChangedRows),
    ];

    public static int LatestVersion => All[^1].Version;

    // Group management: roles, mutes, nicknames, membership periods (what a member may see), group info and requests.
    private const string V2Groups = """
        ALTER TABLE members ADD COLUMN role INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE members ADD COLUMN nickname TEXT NOT NULL DEFAULT '';
        ALTER TABLE members ADD COLUMN muted_until INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE members ADD COLUMN joined_at INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE members ADD COLUMN inviter_id TEXT NOT NULL DEFAULT '';
        ALTER TABLE members ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE members ADD COLUMN visible_from INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE members ADD COLUMN info_version INTEGER NOT NULL DEFAULT 0;

        -- Member list deltas per group, and group list deltas per user.
        CREATE INDEX ix_members_conv_info ON members (conversation_id, info_version);
        CREATE INDEX ix_members_user_info ON members (user_id, info_version);

        -- Closed visibility periods: a member who left sees seqs from_seq..to_seq of each period, nothing in the gaps.
        CREATE TABLE member_periods (
            conversation_id TEXT NOT NULL,
            user_id         TEXT NOT NULL,
            from_seq        INTEGER NOT NULL,
            to_seq          INTEGER NOT NULL,
            PRIMARY KEY (conversation_id, user_id, from_seq)
        ) WITHOUT ROWID;

        CREATE TABLE groups (
            group_id        TEXT NOT NULL PRIMARY KEY,
            conversation_id TEXT NOT NULL,
            name            TEXT NOT NULL,
            avatar_url      TEXT NOT NULL,
            introduction    TEXT NOT NULL,
            announcement    TEXT NOT NULL,
            ex              TEXT NOT NULL,
            owner_id        TEXT NOT NULL,
            join_policy     INTEGER NOT NULL,
            history_visible INTEGER NOT NULL,
            mute_all        INTEGER NOT NULL,
            searchable      INTEGER NOT NULL,
            dismissed       INTEGER NOT NULL,
            created_at      INTEGER NOT NULL,
            updated_at      INTEGER NOT NULL,
            info_version    INTEGER NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE group_requests (
            group_id   TEXT NOT NULL,
            user_id    TEXT NOT NULL,
            inviter_id TEXT NOT NULL,
            kind       INTEGER NOT NULL,
            message    TEXT NOT NULL,
            state      INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            handled_at INTEGER NOT NULL,
            handler_id TEXT NOT NULL,
            PRIMARY KEY (group_id, user_id)
        ) WITHOUT ROWID;
        """;

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

    // Versions 2 and 3 are reserved for other changes; the organisation directory is version 4 and self-contained.
    private const string V4Directory = """
        -- One row: the directory-wide version (bumped once per written row, in the writing transaction) and the purge
        -- horizon (tombstones at or below it are gone, so clients older than it need a full reset).
        CREATE TABLE directory_state (
            id            INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
            version       INTEGER NOT NULL,
            purge_horizon INTEGER NOT NULL
        );
        INSERT INTO directory_state (id, version, purge_horizon) VALUES (1, 0, 0);

        CREATE TABLE directory_departments (
            department_id TEXT NOT NULL PRIMARY KEY,
            -- '' for a root department.
            parent_id     TEXT NOT NULL,
            name          TEXT NOT NULL,
            sort_order    INTEGER NOT NULL,
            ex            TEXT NOT NULL,
            version       INTEGER NOT NULL,
            deleted       INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;

        CREATE INDEX ix_directory_departments_version ON directory_departments (version);
        CREATE INDEX ix_directory_departments_parent ON directory_departments (parent_id, deleted);

        CREATE TABLE directory_members (
            department_id TEXT NOT NULL,
            user_id       TEXT NOT NULL,
            position      TEXT NOT NULL,
            sort_order    INTEGER NOT NULL,
            email         TEXT NOT NULL,
            phone         TEXT NOT NULL,
            ex            TEXT NOT NULL,
            version       INTEGER NOT NULL,
            deleted       INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (department_id, user_id)
        ) WITHOUT ROWID;

        CREATE INDEX ix_directory_members_version ON directory_members (version);
        CREATE INDEX ix_directory_members_user ON directory_members (user_id, deleted);
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

    // Push settings: per-conversation mentions-only, per-user do-not-disturb and privacy mode.
    private const string V6PushSettings = """
        ALTER TABLE members ADD COLUMN mentions_only INTEGER NOT NULL DEFAULT 0;

        CREATE TABLE push_settings (
            user_id        TEXT NOT NULL PRIMARY KEY,
            do_not_disturb INTEGER NOT NULL DEFAULT 0,
            privacy        INTEGER NOT NULL DEFAULT 0,
            updated_at     INTEGER NOT NULL
        ) WITHOUT ROWID;
        """;

    // A user's own join requests and invitations across groups (group_requests is keyed by group first).
    private const string V7GroupRequestsByUser = """
        CREATE INDEX ix_group_requests_user ON group_requests (user_id, created_at);
        """;

    // Admin: operator tokens (only a hash of the secret), the audit log of admin/operator actions, disabled users.
    private const string V8AdminOperatorsAudit = """
        CREATE TABLE operator_tokens (
            token_id    TEXT NOT NULL PRIMARY KEY,
            name        TEXT NOT NULL,
            scopes      TEXT NOT NULL,
            secret_hash BLOB NOT NULL,
            created_by  TEXT NOT NULL,
            created_at  INTEGER NOT NULL,
            expires_at  INTEGER NOT NULL,
            revoked_at  INTEGER
        ) WITHOUT ROWID;

        CREATE TABLE audit_log (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            at         INTEGER NOT NULL,
            actor      TEXT NOT NULL,
            actor_name TEXT NOT NULL,
            action     TEXT NOT NULL,
            target     TEXT NOT NULL,
            remote     TEXT NOT NULL,
            status     INTEGER NOT NULL,
            detail     TEXT NOT NULL
        );

        CREATE INDEX ix_audit_at ON audit_log (at);
        CREATE INDEX ix_audit_actor ON audit_log (actor, id);
        CREATE INDEX ix_audit_action ON audit_log (action, id);

        ALTER TABLE users ADD COLUMN disabled_at INTEGER;
        """;

    // Media: multipart uploads and their parts, stored objects (thumbnails are objects with a parent), and the
    // messages that reference objects (a message is (conversation, sender, client message id)).
    private const string V9Media = """
        CREATE TABLE media_uploads (
            upload_id       TEXT NOT NULL PRIMARY KEY,
            user_id         TEXT NOT NULL,
            declared_kind   INTEGER NOT NULL,
            file_name       TEXT NOT NULL,
            declared_type   TEXT NOT NULL,
            size            INTEGER NOT NULL,
            part_size       INTEGER NOT NULL,
            part_count      INTEGER NOT NULL,
            object_id       TEXT NOT NULL,
            store_upload_id TEXT NOT NULL,
            state           INTEGER NOT NULL,
            created_at      INTEGER NOT NULL,
            expires_at      INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX ix_media_uploads_expiry ON media_uploads (state, expires_at);
        CREATE INDEX ix_media_uploads_user ON media_uploads (user_id, state);

        CREATE TABLE media_upload_parts (
            upload_id   TEXT NOT NULL,
            part_number INTEGER NOT NULL,
            size        INTEGER NOT NULL,
            sha256      TEXT NOT NULL,
            etag        TEXT NOT NULL,
            PRIMARY KEY (upload_id, part_number)
        ) WITHOUT ROWID;

        CREATE TABLE media_objects (
            object_id        TEXT NOT NULL PRIMARY KEY,
            owner_id         TEXT NOT NULL,
            kind             INTEGER NOT NULL,
            size             INTEGER NOT NULL,
            content_type     TEXT NOT NULL,
            file_name        TEXT NOT NULL,
            sha256           TEXT NOT NULL,
            width            INTEGER NOT NULL,
            height           INTEGER NOT NULL,
            thumbnail_id     TEXT,
            thumbnail_width  INTEGER NOT NULL,
            thumbnail_height INTEGER NOT NULL,
            parent_id        TEXT,
            created_at       INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX ix_media_objects_owner ON media_objects (owner_id);
        CREATE INDEX ix_media_objects_created ON media_objects (created_at) WHERE parent_id IS NULL;

        CREATE TABLE media_refs (
            object_id       TEXT NOT NULL,
            conversation_id TEXT NOT NULL,
            sender_id       TEXT NOT NULL,
            client_msg_id   TEXT NOT NULL,
            created_at      INTEGER NOT NULL,
            PRIMARY KEY (object_id, conversation_id, sender_id, client_msg_id)
        ) WITHOUT ROWID;
        """;

    private const string V10DirectConversationIds = """
        -- 1:1 conversation ids escape ':' and '_' in user ids (ADR 0010): si_{a}_{b} was ambiguous, (x, y_z) and (x_y, z)
        -- shared si_x_y_z. A 1:1 conversation's id is rebuilt from its two member rows (its truth, whoever created it);
        -- ids of user ids without ':' and '_' do not change. The members' feed versions move to one new version, so a
        -- device resuming from an older cursor learns the conversation under its new id.
        CREATE TEMP TABLE direct_renames AS
        SELECT old_id, new_id FROM (
            SELECT c.conversation_id AS old_id,
                   'si_' || replace(replace(min(m.user_id), ':', '::'), '_', ':_')
                   || '_' || replace(replace(max(m.user_id), ':', '::'), '_', ':_') AS new_id
            FROM conversations c JOIN members m ON m.conversation_id = c.conversation_id
            WHERE c.kind = 1
            GROUP BY c.conversation_id
        ) AS computed
        WHERE old_id <> new_id;

        UPDATE conversations SET conversation_id = (SELECT new_id FROM direct_renames WHERE old_id = conversations.conversation_id)
            WHERE conversation_id IN (SELECT old_id FROM direct_renames);
        UPDATE members SET conversation_id = (SELECT new_id FROM direct_renames WHERE old_id = members.conversation_id)
            WHERE conversation_id IN (SELECT old_id FROM direct_renames);
        UPDATE member_periods SET conversation_id = (SELECT new_id FROM direct_renames WHERE old_id = member_periods.conversation_id)
            WHERE conversation_id IN (SELECT old_id FROM direct_renames);
        UPDATE messages SET conversation_id = (SELECT new_id FROM direct_renames WHERE old_id = messages.conversation_id)
            WHERE conversation_id IN (SELECT old_id FROM direct_renames);
        UPDATE media_refs SET conversation_id = (SELECT new_id FROM direct_renames WHERE old_id = media_refs.conversation_id)
            WHERE conversation_id IN (SELECT old_id FROM direct_renames);

        UPDATE feed_state SET max_version = max_version + 1 WHERE EXISTS (SELECT 1 FROM direct_renames);
        UPDATE members SET feed_version = (SELECT max_version FROM feed_state)
            WHERE conversation_id IN (SELECT new_id FROM direct_renames);
        DROP TABLE direct_renames;
        """;

    // Notification (system/service) accounts of the business API: users the app server sends as (docs/business.md).
    private const string V11NotificationAccounts = """
        CREATE TABLE notification_accounts (
            user_id    TEXT NOT NULL PRIMARY KEY,
            level      INTEGER NOT NULL,
            created_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        """;

    // Marketing campaigns (ADR 0015 §4): the campaign with its runner lease and cursor, its stored audience list, one row per
    // processed user; and the users' marketing opt-out beside their other push settings.
    private const string V12Campaigns = """
        CREATE TABLE campaigns (
            campaign_id TEXT NOT NULL PRIMARY KEY,
            name        TEXT NOT NULL,
            spec        TEXT NOT NULL,
            state       INTEGER NOT NULL,
            cursor      TEXT,
            start_at    INTEGER NOT NULL,
            expires_at  INTEGER NOT NULL,
            created_at  INTEGER NOT NULL,
            updated_at  INTEGER NOT NULL,
            finished_at INTEGER,
            lease_owner TEXT,
            lease_until INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        CREATE INDEX ix_campaigns_state ON campaigns (state, start_at);

        CREATE TABLE campaign_audience (
            campaign_id TEXT NOT NULL,
            user_id     TEXT NOT NULL,
            PRIMARY KEY (campaign_id, user_id)
        ) WITHOUT ROWID;

        CREATE TABLE campaign_targets (
            campaign_id TEXT NOT NULL,
            user_id     TEXT NOT NULL,
            state       INTEGER NOT NULL,
            reason      TEXT,
            template_id TEXT,
            pushes      INTEGER NOT NULL,
            at          INTEGER NOT NULL,
            PRIMARY KEY (campaign_id, user_id)
        ) WITHOUT ROWID;

        ALTER TABLE push_settings ADD COLUMN marketing_opt_out INTEGER NOT NULL DEFAULT 0;
        """;

    // Super groups (ADR 0017): read diffusion. A message of a read-diffusion conversation raises the conversation's
    // head_version instead of every member's feed_version; a resume finds the advanced ones through the partial index.
    private const string V13SuperGroups = """
        ALTER TABLE conversations ADD COLUMN read_diffusion INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE conversations ADD COLUMN head_version INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE groups ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX ix_conversations_head ON conversations (head_version) WHERE read_diffusion = 1;
        -- Owner and admin lists of a large group without scanning its members.
        CREATE INDEX ix_members_conv_role ON members (conversation_id, role) WHERE role > 0;
        """;

    // The durable outbox of after-hook events (ADR 0012): message events are inserted in the message's own commit.
    // A row is attempted only under a lease (leased_by/leased_until); due pending rows are found by the partial index.
    private const string V14WebhookOutbox = """
        CREATE TABLE webhook_outbox (
            event_id        TEXT NOT NULL PRIMARY KEY,
            hook            TEXT NOT NULL,
            payload         TEXT NOT NULL,
            created_at      INTEGER NOT NULL,
            next_attempt_at INTEGER NOT NULL,
            attempts        INTEGER NOT NULL DEFAULT 0,
            state           INTEGER NOT NULL DEFAULT 0,
            last_error      TEXT,
            leased_by       TEXT,
            leased_until    INTEGER NOT NULL DEFAULT 0,
            finished_at     INTEGER
        ) WITHOUT ROWID;
        CREATE INDEX ix_webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE state = 0;
        CREATE INDEX ix_webhook_outbox_state ON webhook_outbox (state, finished_at);
        """;

    // Message changes and full-text search (ADR 0018): a message row carries its annotations (edits, reactions, reply
    // count) and the seq it replies to; earlier revisions; the conversation's change version (raised by a change instead
    // of every member's feed version) and mention seqs; an FTS5 trigram index whose rowid is the message's search_id
    // (the version it was first stored with).
    private const string V15MessageChanges = """
        ALTER TABLE messages ADD COLUMN annotations BLOB;
        ALTER TABLE messages ADD COLUMN reply_to_seq INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE messages ADD COLUMN search_id INTEGER;
        CREATE INDEX ix_messages_thread ON messages (conversation_id, reply_to_seq, seq) WHERE reply_to_seq > 0;

        CREATE TABLE message_revisions (
            conversation_id TEXT NOT NULL,
            seq             INTEGER NOT NULL,
            revision        INTEGER NOT NULL,
            content         BLOB NOT NULL,
            time            INTEGER NOT NULL,
            PRIMARY KEY (conversation_id, seq, revision)
        ) WITHOUT ROWID;

        ALTER TABLE conversations ADD COLUMN change_version INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE conversations ADD COLUMN mention_all_seq INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE members ADD COLUMN mention_seq INTEGER NOT NULL DEFAULT 0;

        CREATE VIRTUAL TABLE message_search USING fts5(body, conversation_id UNINDEXED, seq UNINDEXED, tokenize = 'trigram');
        """;

    // Messages per UTC day per sender (1:1 and group apart) and per group, for OpenIM's /statistics/*/active; added in
    // bulk by each node's ActivityCounter.
    private const string V16DailyActivity = """
        CREATE TABLE daily_activity (
            day        INTEGER NOT NULL,
            kind       INTEGER NOT NULL,
            subject_id TEXT NOT NULL,
            count      INTEGER NOT NULL,
            PRIMARY KEY (day, kind, subject_id)
        ) WITHOUT ROWID;
        """;

    // Storage per super-group member (issue 12, ADR 0017): the member-list and group-list delta indexes (conv_info,
    // user_info) hold only write-diffusion rows. A read-diffusion row is marked by read_diffusion (set at insert from its
    // conversation and once at promotion); a super group's info change raises groups.info_version instead of every
    // member row, and a user's group list finds it through ix_groups_super_info (cost proportional to the super groups
    // whose info changed). ix_members_user_feed stays whole: it is the user's membership list (roster, sync).
    private const string V17SuperGroupMemberIndexes = """
        ALTER TABLE members ADD COLUMN read_diffusion INTEGER NOT NULL DEFAULT 0;
        UPDATE members SET read_diffusion = 1
            WHERE conversation_id IN (SELECT conversation_id FROM conversations WHERE read_diffusion = 1);
        DROP INDEX ix_members_conv_info;
        DROP INDEX ix_members_user_info;
        CREATE INDEX ix_members_conv_info ON members (conversation_id, info_version) WHERE read_diffusion = 0;
        CREATE INDEX ix_members_user_info ON members (user_id, info_version) WHERE read_diffusion = 0;
        CREATE INDEX ix_groups_super_info ON groups (info_version) WHERE kind <> 0;
        """;

    // The full-text index is written after the commit (ADR 0019): a commit queues each message's search text here (a
    // rowid append, in the message's transaction) and the indexer moves queued rows into message_search in batches.
    private const string V18SearchQueue = """
        CREATE TABLE search_pending (
            search_id       INTEGER PRIMARY KEY,
            body            TEXT NOT NULL,
            conversation_id TEXT NOT NULL,
            seq             INTEGER NOT NULL
        );
        """;

    // Push journal ownership (ADR 0014): each open row's owner (a pipeline instance) and the owners' leases. One process
    // owns a SQLite file, so the lease is always its own; the same ports keep both providers alike.
    private const string V19PushOwnership = """
        ALTER TABLE push_journal ADD COLUMN owner TEXT NOT NULL DEFAULT '';
        CREATE INDEX ix_push_journal_open ON push_journal (owner, created_at) WHERE state IN (0, 1);
        CREATE TABLE push_leases (
            owner      TEXT PRIMARY KEY,
            expires_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        """;

    // Where a device's last connection stopped (a feed version), for the replay of what it missed on its next connection
    // (the OpenIM edge: SDK 0.0.14 cannot fill a gap itself). Durable, so a restart between the two connections loses
    // nothing; opened_version orders two connections of one device (a late save never overwrites its successor's).
    private const string V20ResumePositions = """
        CREATE TABLE resume_positions (
            user_id        TEXT NOT NULL,
            device_id      TEXT NOT NULL,
            version        INTEGER NOT NULL,
            opened_version INTEGER NOT NULL,
            saved_at       INTEGER NOT NULL,
            PRIMARY KEY (user_id, device_id)
        ) WITHOUT ROWID;
        CREATE INDEX ix_resume_positions_saved_at ON resume_positions (saved_at);
        """;

    // How a super group tells of joins and leaves (ADR 0017, MemberNoticeMode): 0 = notice messages, 1 = membership
    // events to the online members, 2 = membership events to the owner and admins.
    private const string V21MemberNotices = """
        ALTER TABLE groups ADD COLUMN member_notices INTEGER NOT NULL DEFAULT 0;
        """;

    // Super-group push fan-outs (ADR 0017, docs/push.md §8): digest rounds and @all fan-outs as durable jobs with a
    // lease and a member cursor, so a restart resumes a job after its last finished page. One digest job per group.
    private const string V22SuperGroupPushJobs = """
        CREATE TABLE super_push_jobs (
            job_id          INTEGER PRIMARY KEY,
            kind            INTEGER NOT NULL,
            conversation_id TEXT NOT NULL,
            seq             INTEGER NOT NULL,
            name            TEXT NOT NULL,
            after_user      TEXT NOT NULL DEFAULT '',
            owner           TEXT NOT NULL DEFAULT '',
            lease_until     INTEGER NOT NULL DEFAULT 0,
            created_at      INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX ux_super_push_jobs_digest ON super_push_jobs (conversation_id) WHERE kind = 0;
        CREATE INDEX ix_super_push_jobs_lease ON super_push_jobs (kind, lease_until);
        """;

    // Storage per member (issue 12, target <= 100 B for a super group): the inviter of a bulk-added member is the same
    // user for every row of the job (its operator), and took 14-20 bytes of each row. Inviters are interned: a member
    // row holds the small integer key of its inviter (inviter_id stays for rows written before, read when the key is 0).
    private const string V23MemberInviters = """
        CREATE TABLE member_inviters (
            inviter_key INTEGER PRIMARY KEY,
            user_id     TEXT NOT NULL UNIQUE
        );
        ALTER TABLE members ADD COLUMN inviter_key INTEGER NOT NULL DEFAULT 0;
        INSERT INTO member_inviters (user_id) SELECT DISTINCT inviter_id FROM members WHERE inviter_id <> '' ORDER BY inviter_id;
        UPDATE members SET inviter_key = (SELECT i.inviter_key FROM member_inviters i WHERE i.user_id = members.inviter_id), inviter_id = ''
        WHERE inviter_id <> '';
        """;

    // Bulk membership jobs of super groups (ADR 0017, admin API): durable, leased like super_push_jobs, so a restart or a
    // dead node's job is taken over and resumes at its first chunk not recorded as done. The user ids wait in chunks of up
    // to a thousand (newline-separated), each dropped once done; a finished job keeps only its row (swept after a day).
    private const string V24BulkMemberJobs = """
        CREATE TABLE bulk_member_jobs (
            job_id      TEXT PRIMARY KEY,
            group_id    TEXT NOT NULL,
            state       INTEGER NOT NULL DEFAULT 0,
            total       INTEGER NOT NULL,
            chunks      INTEGER NOT NULL,
            next_chunk  INTEGER NOT NULL DEFAULT 0,
            processed   INTEGER NOT NULL DEFAULT 0,
            changed     INTEGER NOT NULL DEFAULT 0,
            error       TEXT,
            owner       TEXT NOT NULL DEFAULT '',
            lease_until INTEGER NOT NULL DEFAULT 0,
            started_at  INTEGER NOT NULL,
            finished_at INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        CREATE INDEX ix_bulk_member_jobs_running ON bulk_member_jobs (lease_until, started_at) WHERE state = 0;
        CREATE INDEX ix_bulk_member_jobs_finished ON bulk_member_jobs (finished_at) WHERE state <> 0;
        CREATE TABLE bulk_member_job_chunks (
            job_id   TEXT NOT NULL,
            chunk    INTEGER NOT NULL,
            remove   INTEGER NOT NULL,
            user_ids TEXT NOT NULL,
            PRIMARY KEY (job_id, chunk)
        );
        """;

    // User tags set by the app server (issue 19: campaign audiences by tag). Keyed by (tag, user) for "users with tag X"
    // in user-id order; the user index serves "the tags of user U" and their replacement.
    private const string V25UserTags = """
        CREATE TABLE user_tags (
            tag     TEXT NOT NULL,
            user_id TEXT NOT NULL,
            PRIMARY KEY (tag, user_id)
        ) WITHOUT ROWID;
        CREATE INDEX ix_user_tags_user ON user_tags (user_id);
        """;

    // Storage per member (issue 12, target <= 100 B for a super group; ADR 0017, stop 28 amendment): a member row named its
    // conversation by its text id (15 bytes for a super group's sg_ id), once in the row and once more in every
    // ix_members_user_feed entry (the table's key is that index's suffix). Members now name it by an integer key from
    // conversation_keys (1-3 bytes). Keys are allocated with the conversation (in the same write as its row), never
    // change and are never reused. member_periods keep the text id (closed periods are few). The members table is
    // rebuilt once, here, with every row and value: the key replaces the id, the other columns are copied as they are.
    private const string V26MemberConversationKeys = """
        CREATE TABLE conversation_keys (
            conv_key        INTEGER PRIMARY KEY,
            conversation_id TEXT NOT NULL UNIQUE
        );
        INSERT INTO conversation_keys (conversation_id)
            SELECT conversation_id FROM conversations UNION SELECT conversation_id FROM members ORDER BY 1;
        CREATE TABLE members_keyed (
            conv_key       INTEGER NOT NULL,
            user_id        TEXT NOT NULL,
            read_seq       INTEGER NOT NULL DEFAULT 0,
            pinned         INTEGER NOT NULL DEFAULT 0,
            muted          INTEGER NOT NULL DEFAULT 0,
            feed_version   INTEGER NOT NULL,
            role           INTEGER NOT NULL DEFAULT 0,
            nickname       TEXT NOT NULL DEFAULT '',
            muted_until    INTEGER NOT NULL DEFAULT 0,
            joined_at      INTEGER NOT NULL DEFAULT 0,
            inviter_id     TEXT NOT NULL DEFAULT '',
            active         INTEGER NOT NULL DEFAULT 1,
            visible_from   INTEGER NOT NULL DEFAULT 1,
            info_version   INTEGER NOT NULL DEFAULT 0,
            mentions_only  INTEGER NOT NULL DEFAULT 0,
            mention_seq    INTEGER NOT NULL DEFAULT 0,
            read_diffusion INTEGER NOT NULL DEFAULT 0,
            inviter_key    INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (conv_key, user_id)
        ) WITHOUT ROWID;
        INSERT INTO members_keyed (conv_key, user_id, read_seq, pinned, muted, feed_version, role, nickname, muted_until, joined_at,
                                   inviter_id, active, visible_from, info_version, mentions_only, mention_seq, read_diffusion, inviter_key)
            SELECT k.conv_key, m.user_id, m.read_seq, m.pinned, m.muted, m.feed_version, m.role, m.nickname, m.muted_until, m.joined_at,
                   m.inviter_id, m.active, m.visible_from, m.info_version, m.mentions_only, m.mention_seq, m.read_diffusion, m.inviter_key
            FROM members m JOIN conversation_keys k ON k.conversation_id = m.conversation_id
            ORDER BY k.conv_key, m.user_id;
        DROP TABLE members;
        ALTER TABLE members_keyed RENAME TO members;
        CREATE INDEX ix_members_user_feed ON members (user_id, feed_version);
        CREATE INDEX ix_members_conv_info ON members (conv_key, info_version) WHERE read_diffusion = 0;
        CREATE INDEX ix_members_user_info ON members (user_id, info_version) WHERE read_diffusion = 0;
        CREATE INDEX ix_members_conv_role ON members (conv_key, role) WHERE role > 0;
        """;

    // Full-text search by conversation (issue 18): the FTS5 index gains an indexed column `conv` holding one trigram per
    // conversation (SearchKeys: three private-use characters from a hash of the conversation id, computed by the
    // parley_search_key function the database registers on its writer connection), so a search restricted to one
    // conversation or to a user's conversations is an intersection inside the index walk instead of a scan of every
    // conversation's matches. FTS5 cannot add a column: the index is rebuilt, rowids (search_id) kept, in one statement
    // (on a large store this migration takes as long as indexing every message again).
    private const string V27SearchByConversation = """
        CREATE VIRTUAL TABLE message_search_next USING fts5(body, conv, conversation_id UNINDEXED, seq UNINDEXED, tokenize = 'trigram');
        INSERT INTO message_search_next (rowid, body, conv, conversation_id, seq)
        SELECT rowid, body, parley_search_key(conversation_id), conversation_id, seq FROM message_search ORDER BY rowid;
        DROP TABLE message_search;
        ALTER TABLE message_search_next RENAME TO message_search;
        """;

    // The full-text index's durable progress (ADR 0019, stop-36 amendment): a store given the core's search-text rule keeps
    // queued texts in memory, not in search_pending (one B-tree page less per commit), and records here, in each indexer
    // batch's transaction, the version through which every committed message's text is indexed (versions are assigned in
    // commit order). A restart indexes what was committed above it from the stored content. Texts already queued in
    // search_pending stay there and are indexed first, so this carries them over; every message up to the store's highest
    // version is indexed or queued there now, hence the starting mark.
    private const string V28SearchIndexedThrough = """
        CREATE TABLE search_state (
            id              INTEGER PRIMARY KEY CHECK (id = 1),
            indexed_through INTEGER NOT NULL
        );
        INSERT INTO search_state (id, indexed_through) SELECT 1, COALESCE(MAX(max_version), 0) FROM feed_state;
        """;

    // The write-diffusion delta indexes without the member rows of direct conversations (issue 17, stop 42). A direct
    // conversation's two rows are created with info_version 0 and keep it (only a group's info or membership change raises
    // it; a group's rows get their version when they are written), so no delta ever returns them: the group-list delta joins groups, and the member-list delta is asked of
    // groups and reads info_version > since >= 0. Yet each new 1:1 conversation put two entries into ix_members_user_info,
    // one random leaf page per user (17 % of the WAL frames of a random-pair load), and one into ix_members_conv_info.
    // The queries name info_version > 0 so the partial indexes stay usable (a since below 0 reads as 0).
    private const string V29DeltaIndexesWithoutDirectRows = """
        DROP INDEX ix_members_conv_info;
        DROP INDEX ix_members_user_info;
        CREATE INDEX ix_members_conv_info ON members (conv_key, info_version) WHERE read_diffusion = 0 AND info_version > 0;
        CREATE INDEX ix_members_user_info ON members (user_id, info_version) WHERE read_diffusion = 0 AND info_version > 0;
        """;

    // SQLite's message and conversation B-trees keyed by the integer conversation key (ADR 0025, issue 17, stop 44). Five
    // B-trees were keyed by the text id (si_<a>_<b> for a 1:1), so a message that opened a conversation wrote a random leaf
    // in each: messages, its dedup index, ix_messages_conv_version, conversations (WITHOUT ROWID) and conversation_keys'
    // text index (~67 % of a random-pair message's WAL frames). Now conversations is a rowid table whose rowid is the key
    // (conversation_keys folded into it: the text id is written once, in one unique index) and messages (with its dedup,
    // version and thread indexes) is keyed by (conv_key, seq): a new conversation's key is the largest so far, so its rows
    // are appends to the right-most leaves, shared by every conversation a commit opens. Keys are kept as they were (the
    // members already name them), never change and are not reused (no conversation row is ever deleted). Rows that name no
    // conversation (members or messages without a conversations row) cannot be reached through the key and are not carried
    // over, but they are not destroyed either: they are copied as they were into migration30_orphaned_members (with the
    // text id their key stood for) and migration30_orphaned_messages, empty unless a store has such rows. Before stop 44 a
    // 1:1 whose first send was refused (a block, friends only) and whose next send was accepted in the same activation
    // stored its messages without the conversation's row: those messages are kept there for an operator to inspect or
    // re-import. Copied in key order (sequential writes), in the runner's one
    // transaction: a crash or a kill during the copy leaves version 29 as it was, and the next start does it again.
    // message_revisions, member_periods, media_refs, the search queue and the full-text index keep the text id.
    private const string V30MessagesByConversationKey = """
        CREATE TABLE conversations_keyed (
            conv_key        INTEGER PRIMARY KEY,
            conversation_id TEXT NOT NULL UNIQUE,
            kind            INTEGER NOT NULL,
            group_id        TEXT,
            name            TEXT NOT NULL,
            creator_id      TEXT NOT NULL,
            created_at      INTEGER NOT NULL,
            max_seq         INTEGER NOT NULL DEFAULT 0,
            last_seq        INTEGER NOT NULL DEFAULT 0,
            updated_at      INTEGER NOT NULL,
            member_count    INTEGER NOT NULL,
            read_diffusion  INTEGER NOT NULL DEFAULT 0,
            head_version    INTEGER NOT NULL DEFAULT 0,
            change_version  INTEGER NOT NULL DEFAULT 0,
            mention_all_seq INTEGER NOT NULL DEFAULT 0
        );
        INSERT INTO conversations_keyed (conv_key, conversation_id, kind, group_id, name, creator_id, created_at, max_seq, last_seq, updated_at,
                                         member_count, read_diffusion, head_version, change_version, mention_all_seq)
            SELECT k.conv_key, c.conversation_id, c.kind, c.group_id, c.name, c.creator_id, c.created_at, c.max_seq, c.last_seq, c.updated_at,
                   c.member_count, c.read_diffusion, c.head_version, c.change_version, c.mention_all_seq
            FROM conversations c LEFT JOIN conversation_keys k ON k.conversation_id = c.conversation_id
            ORDER BY k.conv_key IS NULL, k.conv_key, c.conversation_id;
        CREATE TABLE IF NOT EXISTS migration30_orphaned_members AS
            SELECT k.conversation_id AS conversation_id, m.* FROM members m LEFT JOIN conversation_keys k ON k.conv_key = m.conv_key WHERE 0;
        INSERT INTO migration30_orphaned_members
            SELECT k.conversation_id, m.* FROM members m LEFT JOIN conversation_keys k ON k.conv_key = m.conv_key
            WHERE m.conv_key NOT IN (SELECT conv_key FROM conversations_keyed);
        DELETE FROM members WHERE conv_key NOT IN (SELECT conv_key FROM conversations_keyed);

        CREATE TABLE messages_keyed (
            conv_key      INTEGER NOT NULL,
            seq           INTEGER NOT NULL,
            server_msg_id TEXT NOT NULL,
            sender_id     TEXT NOT NULL,
            client_msg_id TEXT NOT NULL,
            server_time   INTEGER NOT NULL,
            content_kind  INTEGER NOT NULL,
            content       BLOB NOT NULL,
            revoked       INTEGER NOT NULL DEFAULT 0,
            version       INTEGER NOT NULL,
            annotations   BLOB,
            reply_to_seq  INTEGER NOT NULL DEFAULT 0,
            search_id     INTEGER,
            PRIMARY KEY (conv_key, seq),
            UNIQUE (conv_key, sender_id, client_msg_id)
        ) WITHOUT ROWID;
        INSERT INTO messages_keyed (conv_key, seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, content, revoked, version,
                                    annotations, reply_to_seq, search_id)
            SELECT c.conv_key, m.seq, m.server_msg_id, m.sender_id, m.client_msg_id, m.server_time, m.content_kind, m.content, m.revoked, m.version,
                   m.annotations, m.reply_to_seq, m.search_id
            FROM conversations_keyed c JOIN messages m ON m.conversation_id = c.conversation_id
            ORDER BY c.conv_key, m.seq;

        CREATE TABLE IF NOT EXISTS migration30_orphaned_messages AS SELECT * FROM messages WHERE 0;
        INSERT INTO migration30_orphaned_messages
            SELECT * FROM messages WHERE conversation_id NOT IN (SELECT conversation_id FROM conversations_keyed);
        DROP TABLE messages;
        ALTER TABLE messages_keyed RENAME TO messages;
        CREATE INDEX ix_messages_conv_version ON messages (conv_key, version);
        CREATE INDEX ix_messages_thread ON messages (conv_key, reply_to_seq, seq) WHERE reply_to_seq > 0;

        DROP TABLE conversations;
        DROP TABLE conversation_keys;
        ALTER TABLE conversations_keyed RENAME TO conversations;
        CREATE INDEX ix_conversations_head ON conversations (head_version) WHERE read_diffusion = 1;
        """;

    // ADR 0028 (stop 45): a message's derived rows (the conversation's max/last seq, updated_at and head version, the
    // members' feed versions and the sender's read seq) are written once per flush, not in every commit. feed_state, the one
    // row every commit already writes, says through which version they are exact (derived_through) and which conversation
    // keys have messages whose rows are not written yet (pending: unsigned LEB128 varints, NULL when none); a start derives
    // those from the messages. The table is rebuilt, not altered, so the script runs again over a store that has the
    // columns already (a test rewinds and re-runs migrations on the same file): it keeps max_version, and takes everything
    // through it as derived (true of every store written before this version, and of a rewound test file).
    private const string V31DerivedRowsPending = """
        DROP TABLE IF EXISTS feed_state_v31;
        CREATE TABLE feed_state_v31 (
            id              INTEGER PRIMARY KEY CHECK (id = 1),
            max_version     INTEGER NOT NULL,
            derived_through INTEGER NOT NULL DEFAULT 0,
            pending         BLOB
        );
        INSERT INTO feed_state_v31 (id, max_version, derived_through, pending) SELECT id, max_version, max_version, NULL FROM feed_state;
        DROP TABLE feed_state;
        ALTER TABLE feed_state_v31 RENAME TO feed_state;
        """;

    // ADR 0034 (stop 47): the messages' version index holds only the changed rows (an edit or a revoke raised the version
    // above the search id, the first-commit version; rows from before migration 15 have none), and a sparse anchor (every
    // 64th seq) finds where a conversation's rows first committed after a version start: a new message enters neither index
    // (63 in 64) instead of ix_messages_conv_version, a leaf of its own per message (~0.76 of a warm message's ~4.1 WAL
    // frames). search_id is in the changed rows' index so that its readers are covered (SQLite checks the partial index's
    // predicate again per entry: without it each entry read its table row, ~4 pages). Readers: SqliteVersionIndex.
    // Re-runnable; one scan of the table per index, no rebuild.
    private const string V32VersionIndexOfChangedRows = """
        CREATE INDEX IF NOT EXISTS ix_messages_changed ON messages (conv_key, version, search_id) WHERE search_id IS NULL OR version <> search_id;
        CREATE INDEX IF NOT EXISTS ix_messages_anchor ON messages (conv_key, search_id) WHERE seq % 64 = 0;
        DROP INDEX IF EXISTS ix_messages_conv_version;
        """;
}
