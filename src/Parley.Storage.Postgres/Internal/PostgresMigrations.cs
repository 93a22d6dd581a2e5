namespace Parley.Storage.Postgres.Internal;

/// <summary>
/// The ordered schema scripts of the PostgreSQL provider (its own numbering, independent of SQLite's). Append only:
/// an applied script is never edited, a change is a new version. Each runs in the migration transaction with
/// search_path set to the configured schema.
/// </summary>
internal static class PostgresMigrations
{
    public static readonly IReadOnlyList<(int Version, string Script)> All =
    [
        (1, V1Messaging),
        (2, V2Accounts),
        (3, V3AdminOperatorsAudit),
        (4, V4Relations),
        (5, V5Push),
        (6, V6Media),
        (7, V7DirectConversationIds),
        (8, V8NotificationAccounts),
        (9, V9Directory),
        (10, V10Campaigns),
        (11, V11SuperGroups),
        (12, V12WebhookOutbox),
        (13, V13MessageChanges),
        (14, V14DailyActivity),
        (15, V15SuperGroupMemberIndexes),
        (16, V16SearchQueue),
        (17, V17PushOwnership),
        (18, V18ResumePositions),
        (19, V19MemberNotices),
        (20, V20SuperGroupPushJobs),
        (21, V21BulkMemberJobs),
        (22, V22UserTags),
        (23, V23MemberConversationKeys),
        (24, V24SearchByConversation),
        (25, V25MemberPages),
        (26, V26MemberPageRanges),
        (27, V27MemberPageWrite),
        (28, V28MemberImportPages),
        (29, V29SyncCompactedGroups),
        (30, V30DeltaIndexesWithoutDirectRows),
        (31, V31HotConversationsAndEditedIndex),
    ];

    public static int LatestVersion => All[^1].Version;

    // Conversations, members (with group roles, settings and both versions), messages, membership periods, groups and
    // join requests, and the one-row feed state. The same uniqueness rules as SQLite: (conversation, seq) and
    // (conversation, sender, client message id) for messages, one row per conversation, member, group and request.
    private const string V1Messaging = """
        CREATE TABLE conversations (
            conversation_id text PRIMARY KEY,
            kind            integer NOT NULL,
            group_id        text,
            name            text NOT NULL,
            creator_id      text NOT NULL,
            created_at      bigint NOT NULL,
            max_seq         bigint NOT NULL DEFAULT 0,
            last_seq        bigint NOT NULL DEFAULT 0,
            updated_at      bigint NOT NULL,
            member_count    integer NOT NULL
        );

        CREATE TABLE members (
            conversation_id text NOT NULL,
            user_id         text NOT NULL,
            read_seq        bigint NOT NULL DEFAULT 0,
            pinned          boolean NOT NULL DEFAULT false,
            muted           boolean NOT NULL DEFAULT false,
            mentions_only   boolean NOT NULL DEFAULT false,
            feed_version    bigint NOT NULL,
            role            integer NOT NULL DEFAULT 0,
            nickname        text NOT NULL DEFAULT '',
            muted_until     bigint NOT NULL DEFAULT 0,
            joined_at       bigint NOT NULL DEFAULT 0,
            inviter_id      text NOT NULL DEFAULT '',
            active          boolean NOT NULL DEFAULT true,
            visible_from    bigint NOT NULL DEFAULT 1,
            info_version    bigint NOT NULL DEFAULT 0,
            PRIMARY KEY (conversation_id, user_id)
        );

        -- Sync reads one user's members above a version: proportional to what changed.
        CREATE INDEX ix_members_user_feed ON members (user_id, feed_version);
        CREATE INDEX ix_members_conv_info ON members (conversation_id, info_version);
        CREATE INDEX ix_members_user_info ON members (user_id, info_version);

        CREATE TABLE messages (
            conversation_id text NOT NULL,
            seq             bigint NOT NULL,
            server_msg_id   text NOT NULL,
            sender_id       text NOT NULL,
            client_msg_id   text NOT NULL,
            server_time     bigint NOT NULL,
            content_kind    integer NOT NULL,
            content         bytea NOT NULL,
            revoked         boolean NOT NULL DEFAULT false,
            version         bigint NOT NULL,
            PRIMARY KEY (conversation_id, seq),
            UNIQUE (conversation_id, sender_id, client_msg_id)
        );

        CREATE INDEX ix_messages_conv_version ON messages (conversation_id, version);

        -- Closed visibility periods: a member who left sees seqs from_seq..to_seq of each period, nothing in the gaps.
        CREATE TABLE member_periods (
            conversation_id text NOT NULL,
            user_id         text NOT NULL,
            from_seq        bigint NOT NULL,
            to_seq          bigint NOT NULL,
            PRIMARY KEY (conversation_id, user_id, from_seq)
        );

        CREATE TABLE groups (
            group_id        text PRIMARY KEY,
            conversation_id text NOT NULL,
            name            text NOT NULL,
            avatar_url      text NOT NULL,
            introduction    text NOT NULL,
            announcement    text NOT NULL,
            ex              text NOT NULL,
            owner_id        text NOT NULL,
            join_policy     integer NOT NULL,
            history_visible boolean NOT NULL,
            mute_all        boolean NOT NULL,
            searchable      boolean NOT NULL,
            dismissed       boolean NOT NULL,
            created_at      bigint NOT NULL,
            updated_at      bigint NOT NULL,
            info_version    bigint NOT NULL
        );

        CREATE TABLE group_requests (
            group_id   text NOT NULL,
            user_id    text NOT NULL,
            inviter_id text NOT NULL,
            kind       integer NOT NULL,
            message    text NOT NULL,
            state      integer NOT NULL,
            created_at bigint NOT NULL,
            handled_at bigint NOT NULL,
            handler_id text NOT NULL,
            PRIMARY KEY (group_id, user_id)
        );

        CREATE INDEX ix_group_requests_user ON group_requests (user_id, created_at);

        -- One row: the highest committed feed version, so a snapshot's version is O(1).
        CREATE TABLE feed_state (
            id          integer PRIMARY KEY CHECK (id = 1),
            max_version bigint NOT NULL
        );
        INSERT INTO feed_state (id, max_version) VALUES (1, 0);
        """;

    private const string V2Accounts = """
        CREATE TABLE users (
            user_id     text PRIMARY KEY,
            nickname    text NOT NULL,
            avatar_url  text NOT NULL,
            ex          text NOT NULL,
            created_at  bigint NOT NULL,
            updated_at  bigint NOT NULL,
            disabled_at bigint
        );

        CREATE TABLE tokens (
            token_id   text PRIMARY KEY,
            user_id    text NOT NULL,
            device_id  text NOT NULL,
            platform   integer NOT NULL,
            issued_at  bigint NOT NULL,
            expires_at bigint NOT NULL,
            revoked_at bigint
        );

        CREATE INDEX ix_tokens_user ON tokens (user_id);
        CREATE INDEX ix_tokens_expires ON tokens (expires_at);
        """;

    // Admin: operator tokens (only a hash of the secret, scopes as an array) and the audit log of admin/operator actions.
    private const string V3AdminOperatorsAudit = """
        CREATE TABLE operator_tokens (
            token_id    text PRIMARY KEY,
            name        text NOT NULL,
            scopes      text[] NOT NULL,
            secret_hash bytea NOT NULL,
            created_by  text NOT NULL,
            created_at  bigint NOT NULL,
            expires_at  bigint NOT NULL,
            revoked_at  bigint
        );

        CREATE TABLE audit_log (
            id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at         bigint NOT NULL,
            actor      text NOT NULL,
            actor_name text NOT NULL,
            action     text NOT NULL,
            target     text NOT NULL,
            remote     text NOT NULL,
            status     integer NOT NULL,
            detail     text NOT NULL
        );

        CREATE INDEX ix_audit_at ON audit_log (at);
        CREATE INDEX ix_audit_actor ON audit_log (actor, id);
        CREATE INDEX ix_audit_action ON audit_log (action, id);
        """;

    // Friends, friend requests, blocks and the searchable setting (docs/social.md). Every row carries the global
    // relation version of its last change; a user's delta is an index range (user_id, version > ?). The one state row
    // is also the version counter: a write takes the next version by updating it, and its row lock makes concurrent
    // writes commit in version order (a reader never sees a higher version before a lower one).
    private const string V4Relations = """
        CREATE TABLE user_settings (
            user_id    text PRIMARY KEY,
            searchable boolean NOT NULL DEFAULT true,
            updated_at bigint NOT NULL
        );

        CREATE TABLE friends (
            user_id    text NOT NULL,
            friend_id  text NOT NULL,
            remark     text NOT NULL,
            created_at bigint NOT NULL,
            deleted    boolean NOT NULL DEFAULT false,
            version    bigint NOT NULL,
            PRIMARY KEY (user_id, friend_id)
        );

        CREATE INDEX ix_friends_user_version ON friends (user_id, version);

        CREATE TABLE friend_requests (
            from_user_id   text NOT NULL,
            to_user_id     text NOT NULL,
            message        text NOT NULL,
            state          integer NOT NULL,
            created_at     bigint NOT NULL,
            handled_at     bigint NOT NULL,
            handle_message text NOT NULL,
            version        bigint NOT NULL,
            PRIMARY KEY (from_user_id, to_user_id)
        );

        CREATE INDEX ix_friend_requests_from_version ON friend_requests (from_user_id, version);
        CREATE INDEX ix_friend_requests_to_version ON friend_requests (to_user_id, version);

        CREATE TABLE blocks (
            user_id         text NOT NULL,
            blocked_user_id text NOT NULL,
            blocked         boolean NOT NULL,
            version         bigint NOT NULL,
            PRIMARY KEY (user_id, blocked_user_id)
        );

        CREATE INDEX ix_blocks_user_version ON blocks (user_id, version);

        CREATE TABLE relation_state (
            id             integer PRIMARY KEY CHECK (id = 1),
            version        bigint NOT NULL,
            purged_version bigint NOT NULL
        );
        INSERT INTO relation_state (id, version, purged_version) VALUES (1, 0, 0);
        """;

    // Push: the device registry (tokens AES-GCM encrypted, found by an HMAC), the push journal (every state change
    // committed before the pipeline acts on it) and per-user push settings.
    private const string V5Push = """
        CREATE TABLE push_devices (
            user_id          text NOT NULL,
            device_id        text NOT NULL,
            platform         text NOT NULL,
            vendor           integer NOT NULL,
            token_cipher     bytea,
            token_hash       bytea,
            app_id           text NOT NULL,
            environment      integer NOT NULL,
            notif_enabled    boolean NOT NULL,
            locale           text NOT NULL,
            time_zone        text NOT NULL,
            last_seen_at     bigint NOT NULL,
            registered_at    bigint NOT NULL,
            token_invalid_at bigint,
            PRIMARY KEY (user_id, device_id)
        );

        CREATE INDEX ix_push_devices_token ON push_devices (token_hash);

        CREATE TABLE push_journal (
            push_id        text PRIMARY KEY,
            message_id     text NOT NULL,
            trace_id       text NOT NULL,
            user_id        text NOT NULL,
            device_id      text NOT NULL,
            vendor         integer NOT NULL,
            category       integer NOT NULL,
            state          integer NOT NULL,
            payload        text NOT NULL,
            created_at     bigint NOT NULL,
            not_before     bigint NOT NULL,
            attempts       integer NOT NULL,
            reason         text,
            digest_push_id text,
            sent_at        bigint,
            arrived_at     bigint,
            clicked_at     bigint
        );

        CREATE INDEX ix_push_journal_state ON push_journal (state, created_at);
        CREATE INDEX ix_push_journal_message ON push_journal (message_id);

        CREATE TABLE push_settings (
            user_id        text PRIMARY KEY,
            do_not_disturb boolean NOT NULL DEFAULT false,
            privacy        integer NOT NULL DEFAULT 0,
            updated_at     bigint NOT NULL
        );
        """;

    // Media: multipart uploads and their parts, stored objects (thumbnails are objects with a parent), and the
    // messages that reference objects (a message is (conversation, sender, client message id)).
    private const string V6Media = """
        CREATE TABLE media_uploads (
            upload_id       text PRIMARY KEY,
            user_id         text NOT NULL,
            declared_kind   integer NOT NULL,
            file_name       text NOT NULL,
            declared_type   text NOT NULL,
            size            bigint NOT NULL,
            part_size       bigint NOT NULL,
            part_count      integer NOT NULL,
            object_id       text NOT NULL,
            store_upload_id text NOT NULL,
            state           integer NOT NULL,
            created_at      bigint NOT NULL,
            expires_at      bigint NOT NULL
        );
        CREATE INDEX ix_media_uploads_expiry ON media_uploads (state, expires_at);
        CREATE INDEX ix_media_uploads_user ON media_uploads (user_id, state);

        CREATE TABLE media_upload_parts (
            upload_id   text NOT NULL,
            part_number integer NOT NULL,
            size        bigint NOT NULL,
            sha256      text NOT NULL,
            etag        text NOT NULL,
            PRIMARY KEY (upload_id, part_number)
        );

        CREATE TABLE media_objects (
            object_id        text PRIMARY KEY,
            owner_id         text NOT NULL,
            kind             integer NOT NULL,
            size             bigint NOT NULL,
            content_type     text NOT NULL,
            file_name        text NOT NULL,
            sha256           text NOT NULL,
            width            integer NOT NULL,
            height           integer NOT NULL,
            thumbnail_id     text,
            thumbnail_width  integer NOT NULL,
            thumbnail_height integer NOT NULL,
            parent_id        text,
            created_at       bigint NOT NULL
        );
        CREATE INDEX ix_media_objects_owner ON media_objects (owner_id);
        CREATE INDEX ix_media_objects_parent ON media_objects (parent_id);
        CREATE INDEX ix_media_objects_created ON media_objects (created_at) WHERE parent_id IS NULL;

        CREATE TABLE media_refs (
            object_id       text NOT NULL,
            conversation_id text NOT NULL,
            sender_id       text NOT NULL,
            client_msg_id   text NOT NULL,
            created_at      bigint NOT NULL,
            PRIMARY KEY (object_id, conversation_id, sender_id, client_msg_id)
        );
        """;

    private const string V7DirectConversationIds = """
        -- 1:1 conversation ids escape ':' and '_' in user ids (ADR 0010): si_{a}_{b} was ambiguous, (x, y_z) and (x_y, z)
        -- shared si_x_y_z. A 1:1 conversation's id is rebuilt from its two member rows (its truth, whoever created it);
        -- ids of user ids without ':' and '_' do not change. The members' feed versions move to one new version, so a
        -- device resuming from an older cursor learns the conversation under its new id.
        CREATE TEMP TABLE direct_renames ON COMMIT DROP AS
        SELECT old_id, new_id FROM (
            SELECT c.conversation_id AS old_id,
                   'si_' || replace(replace(min(m.user_id COLLATE "C"), ':', '::'), '_', ':_')
                   || '_' || replace(replace(max(m.user_id COLLATE "C"), ':', '::'), '_', ':_') AS new_id
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
        """;

    // Notification (system/service) accounts of the business API: users the app server sends as (docs/business.md).
    private const string V8NotificationAccounts = """
        CREATE TABLE notification_accounts (
            user_id    text PRIMARY KEY,
            level      integer NOT NULL,
            created_at bigint NOT NULL
        );
        """;

    // The organisation directory (docs/directory.md), the same shape as SQLite's version 4: one state row with the
    // directory-wide version (bumped once per written row; its row lock orders concurrent writers from every node, so
    // versions follow commit order) and the purge horizon; departments and memberships as rows with tombstones.
    private const string V9Directory = """
        CREATE TABLE directory_state (
            id            integer PRIMARY KEY CHECK (id = 1),
            version       bigint NOT NULL,
            purge_horizon bigint NOT NULL
        );
        INSERT INTO directory_state (id, version, purge_horizon) VALUES (1, 0, 0);

        CREATE TABLE directory_departments (
            department_id text PRIMARY KEY,
            -- '' for a root department.
            parent_id     text NOT NULL,
            name          text NOT NULL,
            sort_order    integer NOT NULL,
            ex            text NOT NULL,
            version       bigint NOT NULL,
            deleted       boolean NOT NULL DEFAULT false
        );
        CREATE INDEX ix_directory_departments_version ON directory_departments (version);
        CREATE INDEX ix_directory_departments_parent ON directory_departments (parent_id, deleted);

        CREATE TABLE directory_members (
            department_id text NOT NULL,
            user_id       text NOT NULL,
            position      text NOT NULL,
            sort_order    integer NOT NULL,
            email         text NOT NULL,
            phone         text NOT NULL,
            ex            text NOT NULL,
            version       bigint NOT NULL,
            deleted       boolean NOT NULL DEFAULT false,
            PRIMARY KEY (department_id, user_id)
        );
        CREATE INDEX ix_directory_members_version ON directory_members (version);
        CREATE INDEX ix_directory_members_user ON directory_members (user_id, deleted);
        """;

    // Marketing campaigns (ADR 0015 §4), the same shape as SQLite's version 12: the campaign with its runner lease (one
    // runner per cluster) and cursor, its stored audience list, one row per processed user; and the marketing opt-out.
    private const string V10Campaigns = """
        CREATE TABLE campaigns (
            campaign_id text PRIMARY KEY,
            name        text NOT NULL,
            spec        text NOT NULL,
            state       integer NOT NULL,
            cursor      text COLLATE "C",
            start_at    bigint NOT NULL,
            expires_at  bigint NOT NULL,
            created_at  bigint NOT NULL,
            updated_at  bigint NOT NULL,
            finished_at bigint,
            lease_owner text,
            lease_until bigint NOT NULL DEFAULT 0
        );
        CREATE INDEX ix_campaigns_state ON campaigns (state, start_at);

        CREATE TABLE campaign_audience (
            campaign_id text NOT NULL,
            user_id     text COLLATE "C" NOT NULL,
            PRIMARY KEY (campaign_id, user_id)
        );

        CREATE TABLE campaign_targets (
            campaign_id text NOT NULL,
            user_id     text COLLATE "C" NOT NULL,
            state       integer NOT NULL,
            reason      text,
            template_id text,
            pushes      integer NOT NULL,
            at          bigint NOT NULL,
            PRIMARY KEY (campaign_id, user_id)
        );

        ALTER TABLE push_settings ADD COLUMN marketing_opt_out boolean NOT NULL DEFAULT false;
        """;

    // Super groups (ADR 0017): read diffusion. A message of a read-diffusion conversation raises the conversation's
    // head_version instead of every member's feed_version; a resume finds the advanced ones through the partial index.
    private const string V11SuperGroups = """
        ALTER TABLE conversations ADD COLUMN read_diffusion boolean NOT NULL DEFAULT false;
        ALTER TABLE conversations ADD COLUMN head_version bigint NOT NULL DEFAULT 0;
        ALTER TABLE groups ADD COLUMN kind integer NOT NULL DEFAULT 0;
        CREATE INDEX ix_conversations_head ON conversations (head_version) WHERE read_diffusion;
        CREATE INDEX ix_members_conv_role ON members (conversation_id, role) WHERE role > 0;
        """;

    // The durable outbox of after-hook events (ADR 0012), shared by every node: message events are inserted in the
    // message's own commit; a node claims due rows with FOR UPDATE SKIP LOCKED and a lease, and every later state
    // change is conditional on holding that lease.
    private const string V12WebhookOutbox = """
        CREATE TABLE webhook_outbox (
            event_id        text PRIMARY KEY,
            hook            text NOT NULL,
            payload         text NOT NULL,
            created_at      bigint NOT NULL,
            next_attempt_at bigint NOT NULL,
            attempts        integer NOT NULL DEFAULT 0,
            state           integer NOT NULL DEFAULT 0,
            last_error      text,
            leased_by       text,
            leased_until    bigint NOT NULL DEFAULT 0,
            finished_at     bigint
        );
        CREATE INDEX ix_webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE state = 0;
        CREATE INDEX ix_webhook_outbox_state ON webhook_outbox (state, finished_at);
        """;

    // Message changes and full-text search (ADR 0018): as SQLite's version 15. The search index is pg_trgm (Debian's
    // postgresql package ships it; a trusted extension since PostgreSQL 13), installed once per database in `public`
    // (never in a Parley schema, which a DROP SCHEMA would take with it); the index names its operator class through the
    // schema the extension actually lives in. The migration lock serialises concurrent CREATE EXTENSION.
    private const string V13MessageChanges = """
        ALTER TABLE messages ADD COLUMN annotations bytea;
        ALTER TABLE messages ADD COLUMN reply_to_seq bigint NOT NULL DEFAULT 0;
        CREATE INDEX ix_messages_thread ON messages (conversation_id, reply_to_seq, seq) WHERE reply_to_seq > 0;

        CREATE TABLE message_revisions (
            conversation_id text NOT NULL,
            seq             bigint NOT NULL,
            revision        integer NOT NULL,
            content         bytea NOT NULL,
            time            bigint NOT NULL,
            PRIMARY KEY (conversation_id, seq, revision)
        );

        ALTER TABLE conversations ADD COLUMN change_version bigint NOT NULL DEFAULT 0;
        ALTER TABLE conversations ADD COLUMN mention_all_seq bigint NOT NULL DEFAULT 0;
        ALTER TABLE members ADD COLUMN mention_seq bigint NOT NULL DEFAULT 0;

        CREATE TABLE message_search (
            conversation_id text NOT NULL,
            seq             bigint NOT NULL,
            server_time     bigint NOT NULL,
            body            text NOT NULL,
            PRIMARY KEY (conversation_id, seq)
        );

        CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
        DO $$
        DECLARE s text;
        BEGIN
            SELECT n.nspname INTO s FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
            EXECUTE format('CREATE INDEX ix_message_search_body ON message_search USING gin (body %I.gin_trgm_ops)', s);
        END $$;
        """;

    // Messages per UTC day per sender (1:1 and group apart) and per group, for OpenIM's /statistics/*/active; added in
    // bulk by each node's ActivityCounter (an upsert that adds).
    private const string V14DailyActivity = """
        CREATE TABLE daily_activity (
            day        integer NOT NULL,
            kind       integer NOT NULL,
            subject_id text NOT NULL,
            count      bigint NOT NULL,
            PRIMARY KEY (day, kind, subject_id)
        );
        """;

    // Storage per super-group member (issue 12, ADR 0017): the member-list and group-list delta indexes hold only
    // write-diffusion rows (see the SQLite migration 17 for the reasoning); a super group's info change is found
    // through ix_groups_super_info instead of raising every member row.
    private const string V15SuperGroupMemberIndexes = """
        ALTER TABLE members ADD COLUMN read_diffusion boolean NOT NULL DEFAULT false;
        UPDATE members SET read_diffusion = true
            WHERE conversation_id IN (SELECT conversation_id FROM conversations WHERE read_diffusion);
        DROP INDEX ix_members_conv_info;
        DROP INDEX ix_members_user_info;
        CREATE INDEX ix_members_conv_info ON members (conversation_id, info_version) WHERE NOT read_diffusion;
        CREATE INDEX ix_members_user_info ON members (user_id, info_version) WHERE NOT read_diffusion;
        CREATE INDEX ix_groups_super_info ON groups (info_version) WHERE kind <> 0;
        """;

    // The full-text index is written after the commit (ADR 0019): a commit queues each message's search text here and
    // the indexer moves queued rows into message_search (and its GIN trigram index) in batches.
    private const string V16SearchQueue = """
        CREATE TABLE search_pending (
            conversation_id text NOT NULL,
            seq             bigint NOT NULL,
            server_time     bigint NOT NULL,
            body            text NOT NULL,
            PRIMARY KEY (conversation_id, seq)
        );
        """;

    // Push journal ownership in a cluster (ADR 0014): each open row's owner (a pipeline instance) and the owners' leases.
    private const string V17PushOwnership = """
        ALTER TABLE push_journal ADD COLUMN owner text NOT NULL DEFAULT '';
        CREATE INDEX ix_push_journal_open ON push_journal (owner, created_at) WHERE state IN (0, 1);
        CREATE TABLE push_leases (
            owner      text PRIMARY KEY,
            expires_at bigint NOT NULL
        );
        """;

    // Where a device's last connection stopped, for the replay on its next connection, on whichever node it lands (see the
    // SQLite migration 20).
    private const string V18ResumePositions = """
        CREATE TABLE resume_positions (
            user_id        text NOT NULL,
            device_id      text NOT NULL,
            version        bigint NOT NULL,
            opened_version bigint NOT NULL,
            saved_at       bigint NOT NULL,
            PRIMARY KEY (user_id, device_id)
        );
        CREATE INDEX ix_resume_positions_saved_at ON resume_positions (saved_at);
        """;

    // How a super group tells of joins and leaves (ADR 0017): as SQLite's migration 21.
    private const string V19MemberNotices = """
        ALTER TABLE groups ADD COLUMN member_notices INTEGER NOT NULL DEFAULT 0;
        """;

    // Super-group push fan-outs as durable jobs (ADR 0017): as SQLite's migration 22; any node claims a job whose lease
    // ran out (FOR UPDATE SKIP LOCKED).
    private const string V20SuperGroupPushJobs = """
        CREATE TABLE super_push_jobs (
            job_id          bigserial PRIMARY KEY,
            kind            integer NOT NULL,
            conversation_id text NOT NULL,
            seq             bigint NOT NULL,
            name            text NOT NULL,
            after_user      text NOT NULL DEFAULT '',
            owner           text NOT NULL DEFAULT '',
            lease_until     bigint NOT NULL DEFAULT 0,
            created_at      bigint NOT NULL
        );
        CREATE UNIQUE INDEX ux_super_push_jobs_digest ON super_push_jobs (conversation_id) WHERE kind = 0;
        CREATE INDEX ix_super_push_jobs_lease ON super_push_jobs (kind, lease_until);
        """;

    // Bulk membership jobs of super groups (ADR 0017): as SQLite's migration 24; any node claims a running job whose
    // lease ran out (FOR UPDATE SKIP LOCKED).
    private const string V21BulkMemberJobs = """
        CREATE TABLE bulk_member_jobs (
            job_id      text PRIMARY KEY,
            group_id    text NOT NULL,
            state       integer NOT NULL DEFAULT 0,
            total       integer NOT NULL,
            chunks      integer NOT NULL,
            next_chunk  integer NOT NULL DEFAULT 0,
            processed   integer NOT NULL DEFAULT 0,
            changed     integer NOT NULL DEFAULT 0,
            error       text,
            owner       text NOT NULL DEFAULT '',
            lease_until bigint NOT NULL DEFAULT 0,
            started_at  bigint NOT NULL,
            finished_at bigint NOT NULL DEFAULT 0
        );
        CREATE INDEX ix_bulk_member_jobs_running ON bulk_member_jobs (lease_until, started_at) WHERE state = 0;
        CREATE INDEX ix_bulk_member_jobs_finished ON bulk_member_jobs (finished_at) WHERE state <> 0;
        CREATE TABLE bulk_member_job_chunks (
            job_id   text NOT NULL,
            chunk    integer NOT NULL,
            remove   boolean NOT NULL,
            user_ids text NOT NULL,
            PRIMARY KEY (job_id, chunk)
        );
        """;

    // User tags set by the app server (issue 19: campaign audiences by tag): as SQLite's migration 25. Both columns
    // collate "C", so users come in the ordinal order of SQLite and the campaign runner, and tags compare byte for byte.
    private const string V22UserTags = """
        CREATE TABLE user_tags (
            tag     text COLLATE "C" NOT NULL,
            user_id text COLLATE "C" NOT NULL,
            PRIMARY KEY (tag, user_id)
        );
        CREATE INDEX ix_user_tags_user ON user_tags (user_id);
        """;

    // Storage per member (issue 12; ADR 0017, stop 28 amendment), as SQLite's migration 26: members name their conversation
    // by an integer key from conversation_keys instead of the text id (in the row and in the primary-key index). Keys are
    // allocated with the conversation, never change and are never reused. The table is rebuilt once, here, with every row
    // and value; its columns are laid out widest first (8-byte, then 4-byte, then 1-byte, then text), so no row pays
    // alignment padding. member_periods keep the text id.
    private const string V23MemberConversationKeys = """
        CREATE TABLE conversation_keys (
            conv_key        bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            conversation_id text NOT NULL UNIQUE
        );
        INSERT INTO conversation_keys (conversation_id)
            SELECT conversation_id FROM conversations UNION SELECT conversation_id FROM members ORDER BY 1;
        CREATE TABLE members_keyed (
            conv_key       bigint NOT NULL,
            read_seq       bigint NOT NULL DEFAULT 0,
            feed_version   bigint NOT NULL,
            muted_until    bigint NOT NULL DEFAULT 0,
            joined_at      bigint NOT NULL DEFAULT 0,
            visible_from   bigint NOT NULL DEFAULT 1,
            info_version   bigint NOT NULL DEFAULT 0,
            mention_seq    bigint NOT NULL DEFAULT 0,
            role           integer NOT NULL DEFAULT 0,
            pinned         boolean NOT NULL DEFAULT false,
            muted          boolean NOT NULL DEFAULT false,
            mentions_only  boolean NOT NULL DEFAULT false,
            active         boolean NOT NULL DEFAULT true,
            read_diffusion boolean NOT NULL DEFAULT false,
            user_id        text NOT NULL,
            nickname       text NOT NULL DEFAULT '',
            inviter_id     text NOT NULL DEFAULT ''
        );
        INSERT INTO members_keyed (conv_key, read_seq, feed_version, muted_until, joined_at, visible_from, info_version, mention_seq, role,
                                   pinned, muted, mentions_only, active, read_diffusion, user_id, nickname, inviter_id)
            SELECT k.conv_key, m.read_seq, m.feed_version, m.muted_until, m.joined_at, m.visible_from, m.info_version, m.mention_seq, m.role,
                   m.pinned, m.muted, m.mentions_only, m.active, m.read_diffusion, m.user_id, m.nickname, m.inviter_id
            FROM members m JOIN conversation_keys k ON k.conversation_id = m.conversation_id
            ORDER BY k.conv_key, m.user_id;
        DROP TABLE members;
        ALTER TABLE members_keyed RENAME TO members;
        ALTER TABLE members ADD CONSTRAINT members_pkey PRIMARY KEY (conv_key, user_id);
        CREATE INDEX ix_members_user_feed ON members (user_id, feed_version);
        CREATE INDEX ix_members_conv_info ON members (conv_key, info_version) WHERE NOT read_diffusion;
        CREATE INDEX ix_members_user_info ON members (user_id, info_version) WHERE NOT read_diffusion;
        CREATE INDEX ix_members_conv_role ON members (conv_key, role) WHERE role > 0;
        """;

    // Full-text search by conversation, with a bounded page (issue 18): the trigram GIN index's first column is the
    // conversation (btree_gin), so a search of one conversation or of a user's conversations intersects inside the index
    // (its collation "C" is what the searches name, so the planner cannot pick the primary key for the conversation and
    // filter every one of its rows by the text instead); a B-tree per conversation in time order is what a common word's
    // search walks.
    private const string V24SearchByConversation = """
        CREATE EXTENSION IF NOT EXISTS btree_gin SCHEMA public;
        DROP INDEX ix_message_search_body;
        DO $$
        DECLARE s text;
        BEGIN
            SELECT n.nspname INTO s FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
            EXECUTE format('CREATE INDEX ix_message_search_scope ON message_search USING gin (conversation_id COLLATE "C", body %I.gin_trgm_ops)', s);
        END $$;
        CREATE INDEX ix_message_search_conv_time ON message_search (conversation_id, server_time, seq);
        """;

    // Super-group members packed into pages, the row table as their delta (ADR 0021, first slice). A page holds up to 128
    // members of one super group in user-id order (collation "C"), as parallel arrays, keyed by its first user; a page
    // covers [first_user, next page's first_user). states packs role (bits 0-3), pinned (16), muted (32), mentions_only
    // (64) and active (128); read_diffusion is true for every slot. hashes holds hashtext(user_id) per slot: the GIN index
    // on it (fastupdate off: a pending list keeps its pages in the file) finds a user's pages (hash collisions are checked
    // against user_ids). Reads take a member's row when there is one, else the slot (the functions below, inlined by the
    // planner); a write of a member with no row first copies the slot into a row (member_unpack), so pages are written only
    // by compact_member_pages, which moves a super group's rows into its pages (an explicit call, never on the commit
    // path). The functions return the members row type: a later change of the members table's columns must replace them.
    // groups.compacted_version: the highest member feed version a compaction moved out of the row table.
    private const string V25MemberPages = """
        CREATE TABLE member_pages (
            conv_key      bigint NOT NULL,
            first_user    text COLLATE "C" NOT NULL,
            user_ids      text[] COLLATE "C" NOT NULL,
            hashes        integer[] NOT NULL,
            states        smallint[] NOT NULL,
            read_seqs     bigint[] NOT NULL,
            feed_versions bigint[] NOT NULL,
            muted_untils  bigint[] NOT NULL,
            joined_ats    bigint[] NOT NULL,
            visible_froms bigint[] NOT NULL,
            info_versions bigint[] NOT NULL,
            mention_seqs  bigint[] NOT NULL,
            nicknames     text[] NOT NULL,
            inviters      text[] NOT NULL,
            PRIMARY KEY (conv_key, first_user)
        );
        CREATE INDEX ix_member_pages_users ON member_pages USING gin (hashes) WITH (fastupdate = off);
        ALTER TABLE groups ADD COLUMN compacted_version bigint NOT NULL DEFAULT 0;

        -- The slots of one page, as members rows.
        CREATE FUNCTION member_page_slots(p member_pages) RETURNS SETOF members LANGUAGE sql IMMUTABLE AS $f$
            SELECT p.conv_key, s.read_seq, s.feed_version, s.muted_until, s.joined_at, s.visible_from, s.info_version, s.mention_seq,
                   (s.state & 15)::integer, (s.state & 16) <> 0, (s.state & 32) <> 0, (s.state & 64) <> 0, (s.state & 128) <> 0, true,
                   s.user_id, s.nickname, s.inviter_id
            FROM unnest(p.user_ids, p.states, p.read_seqs, p.feed_versions, p.muted_untils, p.joined_ats, p.visible_froms, p.info_versions,
                        p.mention_seqs, p.nicknames, p.inviters)
                AS s(user_id, state, read_seq, feed_version, muted_until, joined_at, visible_from, info_version, mention_seq, nickname, inviter_id)
        $f$;

        -- The slot of (group, user): the one page whose range holds the user (one primary-key descent), then the slot.
        CREATE FUNCTION member_slot(k bigint, u text) RETURNS SETOF members LANGUAGE sql STABLE AS $f$
            SELECT s.* FROM (SELECT p FROM member_pages p WHERE p.conv_key = k AND p.first_user <= u COLLATE "C"
                             ORDER BY p.first_user DESC LIMIT 1) x
            CROSS JOIN LATERAL member_page_slots(x.p) s
            WHERE s.user_id = u
        $f$;

        -- A member of a group: the row, else the slot.
        CREATE FUNCTION member_get(k bigint, u text) RETURNS SETOF members LANGUAGE sql STABLE AS $f$
            SELECT m.* FROM members m WHERE m.conv_key = k AND m.user_id = u
            UNION ALL
            SELECT s.* FROM member_slot(k, u) s WHERE NOT EXISTS (SELECT 1 FROM members r WHERE r.conv_key = k AND r.user_id = u)
        $f$;

        -- Every membership of a user: the rows (ix_members_user_feed), else the slots of the pages the GIN finds.
        CREATE FUNCTION members_of_user(u text) RETURNS SETOF members LANGUAGE sql STABLE AS $f$
            SELECT m.* FROM members m WHERE m.user_id = u
            UNION ALL
            SELECT s.* FROM member_pages p CROSS JOIN LATERAL member_page_slots(p) s
            WHERE p.hashes @> ARRAY[hashtext(u)] AND s.user_id = u
              AND NOT EXISTS (SELECT 1 FROM members r WHERE r.conv_key = p.conv_key AND r.user_id = u)
        $f$;

        -- Every member of a group: the rows, else the slots.
        CREATE FUNCTION members_of_conv(k bigint) RETURNS SETOF members LANGUAGE sql STABLE AS $f$
            SELECT m.* FROM members m WHERE m.conv_key = k
            UNION ALL
            SELECT s.* FROM member_pages p CROSS JOIN LATERAL member_page_slots(p) s
            WHERE p.conv_key = k AND NOT EXISTS (SELECT 1 FROM members r WHERE r.conv_key = k AND r.user_id = s.user_id)
        $f$;

        -- The members of a group with lo < user_id <= hi (collation "C"; hi NULL: no bound), rows else slots: the pages from
        -- the one holding lo up to hi. A keyset page walks ranges of a bounded number of pages (the caller's loop).
        CREATE FUNCTION members_in_range(k bigint, lo text, hi text) RETURNS SETOF members LANGUAGE sql STABLE AS $f$
            SELECT m.* FROM members m
            WHERE m.conv_key = k AND m.user_id COLLATE "C" > lo AND m.user_id COLLATE "C" <= COALESCE(hi, U&'\+10FFFF')
            UNION ALL
            SELECT s.* FROM member_pages p CROSS JOIN LATERAL member_page_slots(p) s
            WHERE p.conv_key = k
              AND p.first_user >= COALESCE((SELECT q.first_user FROM member_pages q WHERE q.conv_key = k AND q.first_user <= lo COLLATE "C"
                                            ORDER BY q.first_user DESC LIMIT 1), '')
              AND p.first_user <= COALESCE(hi, U&'\+10FFFF') COLLATE "C"
              AND s.user_id COLLATE "C" > lo AND s.user_id COLLATE "C" <= COALESCE(hi, U&'\+10FFFF')
              AND NOT EXISTS (SELECT 1 FROM members r WHERE r.conv_key = k AND r.user_id = s.user_id)
        $f$;

        -- Copy on write: before a commit writes members of super groups, each named member with no row gets one, copied from
        -- the slot (every value kept; the write then changes only its own fields). Holds the groups' compaction locks
        -- shared until the commit ends (a compaction takes them exclusive), so no write lands in a row a compaction is moving.
        -- The first statement of a commit batch: the commit holds no member or group row before it. Advisory locks are
        -- per database: the key names the schema too (deployments and test runs share a database, each with its schema).
        CREATE FUNCTION member_unpack(convs text[], users text[]) RETURNS void LANGUAGE plpgsql AS $f$
        BEGIN
            PERFORM pg_advisory_xact_lock_shared(hashtext('member_pages ' || current_schema()), (k.conv_key % 2147483647)::integer)
            FROM (SELECT DISTINCT ck.conv_key FROM conversation_keys ck JOIN conversations c ON c.conversation_id = ck.conversation_id
                  WHERE ck.conversation_id = ANY(convs) AND c.read_diffusion ORDER BY ck.conv_key) k;
            IF NOT FOUND THEN
                RETURN;
            END IF;
            INSERT INTO members
            SELECT s.* FROM (SELECT DISTINCT q.conversation_id, q.user_id FROM unnest(convs, users) AS q(conversation_id, user_id)) q
            JOIN conversation_keys ck ON ck.conversation_id = q.conversation_id
            JOIN conversations c ON c.conversation_id = q.conversation_id AND c.read_diffusion
            CROSS JOIN LATERAL member_slot(ck.conv_key, q.user_id) s
            WHERE NOT EXISTS (SELECT 1 FROM members r WHERE r.conv_key = ck.conv_key AND r.user_id = q.user_id)
            ON CONFLICT (conv_key, user_id) DO NOTHING;
        END
        $f$;

        -- Compaction of one super group: its rows and its pages' slots (a row wins over the slot of its user) rewritten as
        -- pages of 128 in user-id order, in one transaction, under the group's compaction lock. Returns the rows moved.
        CREATE FUNCTION compact_member_pages(k bigint) RETURNS integer LANGUAGE plpgsql AS $f$
        DECLARE
            moved integer;
            top bigint;
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM conversation_keys ck JOIN conversations c ON c.conversation_id = ck.conversation_id
                           WHERE ck.conv_key = k AND c.read_diffusion) THEN
                RETURN 0;
            END IF;
            -- Never queued behind the commits' shared locks as a waiter (a commit that holds the feed order lock and then
            -- asks for its shared lock would wait behind this one, which waits for another commit: a deadlock); it tries
            -- until no commit of the group is in flight (30 s at most).
            FOR attempt IN 1..6000 LOOP
                EXIT WHEN pg_try_advisory_xact_lock(hashtext('member_pages ' || current_schema()), (k % 2147483647)::integer);
                IF attempt = 6000 THEN
                    RAISE EXCEPTION 'compaction of member pages %: commits of the group held its lock for 30 s', k USING ERRCODE = 'lock_not_available';
                END IF;
                PERFORM pg_sleep(0.005);
            END LOOP;
            DROP TABLE IF EXISTS pg_temp.compacting;
            CREATE TEMP TABLE compacting (LIKE members) ON COMMIT DROP;
            WITH gone AS (DELETE FROM members WHERE conv_key = k RETURNING *)
            INSERT INTO compacting SELECT * FROM gone;
            GET DIAGNOSTICS moved = ROW_COUNT;
            IF moved = 0 THEN
                RETURN 0;
            END IF;
            SELECT max(feed_version) INTO top FROM compacting;
            CREATE INDEX ON compacting (user_id);
            ANALYZE compacting;
            INSERT INTO compacting
            SELECT s.* FROM member_pages p CROSS JOIN LATERAL member_page_slots(p) s
            WHERE p.conv_key = k AND NOT EXISTS (SELECT 1 FROM compacting c WHERE c.user_id = s.user_id);
            DELETE FROM member_pages WHERE conv_key = k;
            INSERT INTO member_pages (conv_key, first_user, user_ids, hashes, states, read_seqs, feed_versions, muted_untils, joined_ats,
                                      visible_froms, info_versions, mention_seqs, nicknames, inviters)
            SELECT k, min(n.user_id COLLATE "C"),
                   array_agg(n.user_id ORDER BY n.user_id COLLATE "C"),
                   array_agg(hashtext(n.user_id) ORDER BY n.user_id COLLATE "C"),
                   array_agg((n.role + CASE WHEN n.pinned THEN 16 ELSE 0 END + CASE WHEN n.muted THEN 32 ELSE 0 END
                              + CASE WHEN n.mentions_only THEN 64 ELSE 0 END + CASE WHEN n.active THEN 128 ELSE 0 END)::smallint ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.read_seq ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.feed_version ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.muted_until ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.joined_at ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.visible_from ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.info_version ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.mention_seq ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.nickname ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.inviter_id ORDER BY n.user_id COLLATE "C")
            FROM (SELECT c.*, (row_number() OVER (ORDER BY c.user_id COLLATE "C") - 1) / 128 AS page FROM compacting c) n
            GROUP BY n.page;
            UPDATE groups g SET compacted_version = GREATEST(g.compacted_version, top)
            FROM conversation_keys ck WHERE ck.conv_key = k AND g.conversation_id = ck.conversation_id;
            DROP TABLE pg_temp.compacting;
            RETURN moved;
        END
        $f$;
        """;
    // Compaction by ranges of pages (ADR 0021, amendment of stop 33): compact_member_range moves the named rows of one
    // super group whose user ids fall in [lo, hi) (collation "C"; lo '' for the first range, hi NULL for the last) into the
    // group's pages of that range, in one short transaction under the group's compaction lock (taken exclusive; commits
    // that write the group's members hold it shared), so a commit of the group waits at most for one range, never for the
    // whole group. lo and hi are page boundaries (first users of pages, as the store's plan reads them), so the range's
    // pages hold exactly its slots: the range is rewritten alone (its rows win over its slots; cut into pages of 128),
    // and every other page stays. Rows not named (written after the plan) stay rows: they are the delta of the next
    // compaction. member_compaction_due is the bound: the group's rows reach min_rows AND share of its members.
    private const string V26MemberPageRanges = """
        CREATE FUNCTION compact_member_range(k bigint, lo text, hi text, users text[]) RETURNS integer LANGUAGE plpgsql AS $f$
        DECLARE
            moved integer;
            top bigint;
        BEGIN
            -- As compact_member_pages: never queued as a waiter behind the commits' shared locks; tries for 30 s at most.
            FOR attempt IN 1..6000 LOOP
                EXIT WHEN pg_try_advisory_xact_lock(hashtext('member_pages ' || current_schema()), (k % 2147483647)::integer);
                IF attempt = 6000 THEN
                    RAISE EXCEPTION 'compaction of member pages %: commits of the group held its lock for 30 s', k USING ERRCODE = 'lock_not_available';
                END IF;
                PERFORM pg_sleep(0.005);
            END LOOP;
            DROP TABLE IF EXISTS pg_temp.compacting_range;
            CREATE TEMP TABLE compacting_range (LIKE members) ON COMMIT DROP;
            WITH gone AS (
                DELETE FROM members m WHERE m.conv_key = k AND m.user_id = ANY(users)
                    AND m.user_id COLLATE "C" >= lo AND (hi IS NULL OR m.user_id COLLATE "C" < hi)
                RETURNING m.*)
            INSERT INTO compacting_range SELECT * FROM gone;
            GET DIAGNOSTICS moved = ROW_COUNT;
            IF moved = 0 THEN
                DROP TABLE pg_temp.compacting_range;
                RETURN 0;
            END IF;
            SELECT max(feed_version) INTO top FROM compacting_range;
            ANALYZE compacting_range;
            INSERT INTO compacting_range
            SELECT s.* FROM member_pages p CROSS JOIN LATERAL member_page_slots(p) s
            WHERE p.conv_key = k AND p.first_user >= lo COLLATE "C" AND (hi IS NULL OR p.first_user < hi COLLATE "C")
              AND NOT EXISTS (SELECT 1 FROM compacting_range c WHERE c.user_id = s.user_id);
            DELETE FROM member_pages p WHERE p.conv_key = k AND p.first_user >= lo COLLATE "C" AND (hi IS NULL OR p.first_user < hi COLLATE "C");
            INSERT INTO member_pages (conv_key, first_user, user_ids, hashes, states, read_seqs, feed_versions, muted_untils, joined_ats,
                                      visible_froms, info_versions, mention_seqs, nicknames, inviters)
            SELECT k, min(n.user_id COLLATE "C"),
                   array_agg(n.user_id ORDER BY n.user_id COLLATE "C"),
                   array_agg(hashtext(n.user_id) ORDER BY n.user_id COLLATE "C"),
                   array_agg((n.role + CASE WHEN n.pinned THEN 16 ELSE 0 END + CASE WHEN n.muted THEN 32 ELSE 0 END
                              + CASE WHEN n.mentions_only THEN 64 ELSE 0 END + CASE WHEN n.active THEN 128 ELSE 0 END)::smallint ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.read_seq ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.feed_version ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.muted_until ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.joined_at ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.visible_from ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.info_version ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.mention_seq ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.nickname ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.inviter_id ORDER BY n.user_id COLLATE "C")
            FROM (SELECT c.*, (row_number() OVER (ORDER BY c.user_id COLLATE "C") - 1) / 128 AS page FROM compacting_range c) n
            GROUP BY n.page;
            UPDATE groups g SET compacted_version = GREATEST(g.compacted_version, top)
            FROM conversation_keys ck WHERE ck.conv_key = k AND g.conversation_id = ck.conversation_id AND g.compacted_version < top;
            DROP TABLE pg_temp.compacting_range;
            RETURN moved;
        END
        $f$;

        -- The bound: a super group's rows reach min_rows and share of its members (counted up to the bound, no further).
        CREATE FUNCTION member_compaction_due(k bigint, min_rows integer, share double precision) RETURNS boolean LANGUAGE sql STABLE AS $f$
            SELECT COALESCE((
                SELECT (SELECT count(*) FROM (SELECT 1 FROM members m WHERE m.conv_key = k LIMIT b.need) x) >= b.need
                FROM (SELECT GREATEST(min_rows, ceil(share * c.member_count))::bigint AS need
                      FROM conversation_keys ck JOIN conversations c ON c.conversation_id = ck.conversation_id
                      WHERE ck.conv_key = k AND c.read_diffusion) b), false)
        $f$;
        """;

    // The page writing in one function (review of stop 33): compact_member_pages (migration 25) has had no caller since the
    // compaction walks ranges (migration 26), and compact_member_range repeated its page-writing INSERT. member_pages_write
    // rewrites the pages of one range of a group [lo, hi) (page boundaries: lo '' from the first page, hi NULL to the
    // last) with the given members merged into its slots (a given member wins over the slot of its user), cut into pages
    // of 128 in user-id order (collation "C"), and raises the group's compacted_version to the given members' highest
    // version; the caller holds the group's compaction lock exclusive. compact_member_range
    // keeps its contract (lock, the named rows of the range out of the row table, their pages rewritten, compacted_version)
    // and writes through it. member_pages_write takes the members row type: a change of the members table's columns must
    // replace it, as the read functions of migration 25.
    private const string V27MemberPageWrite = """
        DROP FUNCTION compact_member_pages(bigint);

        CREATE FUNCTION member_pages_write(k bigint, lo text, hi text, given members[]) RETURNS integer LANGUAGE plpgsql AS $f$
        DECLARE
            merged members[];
        BEGIN
            WITH old AS (
                DELETE FROM member_pages p WHERE p.conv_key = k AND p.first_user >= lo COLLATE "C" AND (hi IS NULL OR p.first_user < hi COLLATE "C")
                RETURNING p)
            SELECT array_agg(x.m) INTO merged FROM (
                SELECT g AS m FROM unnest(given) g
                UNION ALL
                SELECT s AS m FROM old o CROSS JOIN LATERAL member_page_slots(o.p) s
                WHERE NOT EXISTS (SELECT 1 FROM unnest(given) n WHERE n.user_id = s.user_id)) x;
            INSERT INTO member_pages (conv_key, first_user, user_ids, hashes, states, read_seqs, feed_versions, muted_untils, joined_ats,
                                      visible_froms, info_versions, mention_seqs, nicknames, inviters)
            SELECT k, min(n.user_id COLLATE "C"),
                   array_agg(n.user_id ORDER BY n.user_id COLLATE "C"),
                   array_agg(hashtext(n.user_id) ORDER BY n.user_id COLLATE "C"),
                   array_agg((n.role + CASE WHEN n.pinned THEN 16 ELSE 0 END + CASE WHEN n.muted THEN 32 ELSE 0 END
                              + CASE WHEN n.mentions_only THEN 64 ELSE 0 END + CASE WHEN n.active THEN 128 ELSE 0 END)::smallint ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.read_seq ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.feed_version ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.muted_until ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.joined_at ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.visible_from ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.info_version ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.mention_seq ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.nickname ORDER BY n.user_id COLLATE "C"),
                   array_agg(n.inviter_id ORDER BY n.user_id COLLATE "C")
            FROM (SELECT c.*, (row_number() OVER (ORDER BY c.user_id COLLATE "C") - 1) / 128 AS page FROM unnest(merged) c) n
            GROUP BY n.page;
            -- What the pages now hold is compacted up to the given members' highest version (both callers' rule).
            UPDATE groups g SET compacted_version = t.top
            FROM conversation_keys ck, (SELECT max(x.feed_version) AS top FROM unnest(given) x) t
            WHERE ck.conv_key = k AND g.conversation_id = ck.conversation_id AND g.compacted_version < t.top;
            RETURN COALESCE(cardinality(merged), 0);
        END
        $f$;

        CREATE OR REPLACE FUNCTION compact_member_range(k bigint, lo text, hi text, users text[]) RETURNS integer LANGUAGE plpgsql AS $f$
        DECLARE
            moved members[];
        BEGIN
            -- Never queued as a waiter behind the commits' shared locks (a commit that holds the feed order lock and then
            -- asks for its shared lock would wait behind this one, which waits for another commit: a deadlock); it tries
            -- until no commit of the group is in flight (30 s at most).
            FOR attempt IN 1..6000 LOOP
                EXIT WHEN pg_try_advisory_xact_lock(hashtext('member_pages ' || current_schema()), (k % 2147483647)::integer);
                IF attempt = 6000 THEN
                    RAISE EXCEPTION 'compaction of member pages %: commits of the group held its lock for 30 s', k USING ERRCODE = 'lock_not_available';
                END IF;
                PERFORM pg_sleep(0.005);
            END LOOP;
            WITH gone AS (
                DELETE FROM members m WHERE m.conv_key = k AND m.user_id = ANY(users)
                    AND m.user_id COLLATE "C" >= lo AND (hi IS NULL OR m.user_id COLLATE "C" < hi)
                RETURNING m)
            SELECT array_agg(g.m) INTO moved FROM gone g;
            IF moved IS NULL THEN
                RETURN 0;
            END IF;
            PERFORM member_pages_write(k, lo, hi, moved);
            RETURN cardinality(moved);
        END
        $f$;
        """;

    // Imports straight into pages (ADR 0021, amendment of stop 34): a commit of many distinct member changes (a bulk
    // job's chunk) writes the brand-new active members of a super group (no row: member_unpack ran first, so a member
    // with a slot has a row by now) into the group's pages, through member_pages_write, instead of rows, so an import
    // leaves no entries in the row table's B-trees (which only a VACUUM or REINDEX gives back: stop 33 measured 196 B per
    // member after an import compacting between its chunks). Only when the commit can take the group's compaction lock
    // exclusive at once (no other commit of the group in flight: its own shared lock does not conflict) and the members'
    // span holds at most max_pages pages (a chunk of sorted ids touches a few; ids spread over a large group would rewrite
    // it whole): otherwise they go to rows as before, the next compaction's delta. It takes the feed order row first, as
    // every commit does at its end (after the conversations row, in that order), so that a commit waiting for this
    // group's lock never holds what this commit waits for. The row upsert that follows skips the members written here.
    // Values as the upsert writes them for a new member: read_seq the floor, feed and info versions the change's version.
    private const string V28MemberImportPages = """
        CREATE FUNCTION member_import_pages(convs text[], users text[], roles integer[], nicknames text[], muted_untils bigint[], joined_ats bigint[],
                                            inviters text[], actives boolean[], visible_froms bigint[], versions bigint[], read_floors bigint[],
                                            max_pages integer) RETURNS integer LANGUAGE plpgsql AS $f$
        DECLARE
            k bigint;
            given members[];
            lo text;
            hi text;
            ordered boolean := false;
            written integer := 0;
        BEGIN
            FOR k IN SELECT DISTINCT ck.conv_key FROM conversation_keys ck JOIN conversations c ON c.conversation_id = ck.conversation_id
                     WHERE ck.conversation_id = ANY(convs) AND c.read_diffusion ORDER BY 1 LOOP
                SELECT array_agg(ROW(k, GREATEST(u.read_floor, 0), u.version, u.muted_until, u.joined_at, u.visible_from, u.version, 0, u.role,
                                     false, false, false, true, true, u.user_id, u.nickname, u.inviter_id)::members ORDER BY u.user_id COLLATE "C")
                INTO given
                FROM unnest(convs, users, roles, nicknames, muted_untils, joined_ats, inviters, actives, visible_froms, versions, read_floors)
                    AS u(conversation_id, user_id, role, nickname, muted_until, joined_at, inviter_id, active, visible_from, version, read_floor)
                JOIN conversation_keys ck ON ck.conversation_id = u.conversation_id
                WHERE ck.conv_key = k AND u.active AND NOT EXISTS (SELECT 1 FROM members r WHERE r.conv_key = k AND r.user_id = u.user_id);
                CONTINUE WHEN given IS NULL;
                IF NOT ordered THEN
                    PERFORM 1 FROM feed_state WHERE id = 1 FOR UPDATE;
                    ordered := true;
                END IF;
                CONTINUE WHEN NOT pg_try_advisory_xact_lock(hashtext('member_pages ' || current_schema()), (k % 2147483647)::integer);
                lo := COALESCE((SELECT p.first_user FROM member_pages p WHERE p.conv_key = k AND p.first_user <= (given[1]).user_id COLLATE "C"
                                ORDER BY p.first_user DESC LIMIT 1), '');
                hi := (SELECT p.first_user FROM member_pages p WHERE p.conv_key = k AND p.first_user > (given[cardinality(given)]).user_id COLLATE "C"
                       ORDER BY p.first_user LIMIT 1);
                CONTINUE WHEN (SELECT count(*) FROM (SELECT 1 FROM member_pages p WHERE p.conv_key = k AND p.first_user >= lo COLLATE "C"
                                                      AND (hi IS NULL OR p.first_user < hi COLLATE "C") LIMIT max_pages + 1) x) > max_pages;
                PERFORM member_pages_write(k, lo, hi, given);
                written := written + cardinality(given);
            END LOOP;
            RETURN written;
        END
        $f$;
        """;

    // The sync reads packed slots only in the super groups that changed since the cursor (ADR 0021, amendment of stop 35;
    // ADR 0017: a resume costs what changed, not the groups of the user). A member's own change (join, leave, role, read
    // cursor, settings) raises its row's feed version; a compaction or an import that moves it into the pages raises the
    // group's compacted_version to at least that version (member_pages_write), so a slot whose feed version is above the
    // cursor lies in a group whose compacted_version is above it too (ix_groups_compacted). An edit or a reaction raises
    // only the conversation's change_version, which an active slot sees (ix_conversations_change_rd). New messages are
    // the head index's (ADR 0017). Each such group costs one probe of the user's slot (member_slot: one page), so a resume
    // costs the changed groups, plus the user's own rows (ix_members_user_feed), not one page per super group of the user.
    // When at least probe_limit groups changed since the cursor (an old cursor, or 0: a fresh device), the user's slots
    // come through the GIN instead (members_of_user: one page per super group of the user), whichever is fewer; the test
    // is an uncorrelated subquery, so the planner runs it once and skips the other branch (a one-time filter).
    private const string V29SyncCompactedGroups = """
        CREATE INDEX ix_groups_compacted ON groups (compacted_version) WHERE compacted_version > 0;
        CREATE INDEX ix_conversations_change_rd ON conversations (change_version) WHERE read_diffusion;

        -- The super groups whose slots may hold something above v for one of their members: compacted above v, or edited.
        CREATE FUNCTION super_groups_changed_since(v bigint) RETURNS SETOF bigint LANGUAGE sql STABLE AS $f$
            SELECT ck.conv_key FROM groups g JOIN conversation_keys ck ON ck.conversation_id = g.conversation_id
            WHERE g.compacted_version > v AND g.compacted_version > 0
            UNION
            SELECT ck.conv_key FROM conversations c JOIN conversation_keys ck ON ck.conversation_id = c.conversation_id
            WHERE c.read_diffusion AND c.change_version > v
        $f$;

        -- The read-diffusion conversations whose head advanced above v (ix_conversations_head).
        CREATE FUNCTION super_groups_advanced_since(v bigint) RETURNS SETOF bigint LANGUAGE sql STABLE AS $f$
            SELECT ck.conv_key FROM conversations c JOIN conversation_keys ck ON ck.conversation_id = c.conversation_id
            WHERE c.read_diffusion AND c.head_version > v
        $f$;

        -- The memberships of a user that may have changed above v: every row of the user, and the user's slots in the
        -- super groups changed since v (one page probe each), or, when probe_limit or more changed, every slot of the user.
        CREATE FUNCTION members_of_user_since(u text, v bigint, probe_limit integer) RETURNS SETOF members LANGUAGE sql STABLE AS $f$
            SELECT m.* FROM members m WHERE m.user_id = u
            UNION ALL
            SELECT s.* FROM super_groups_changed_since(v) ch(conv_key) CROSS JOIN LATERAL member_slot(ch.conv_key, u) s
            WHERE (SELECT count(*) FROM (SELECT 1 FROM super_groups_changed_since(v) LIMIT probe_limit) n) < probe_limit
              AND NOT EXISTS (SELECT 1 FROM members r WHERE r.conv_key = ch.conv_key AND r.user_id = u)
            UNION ALL
            SELECT s.* FROM member_pages p CROSS JOIN LATERAL member_page_slots(p) s
            WHERE (SELECT count(*) FROM (SELECT 1 FROM super_groups_changed_since(v) LIMIT probe_limit) n) >= probe_limit
              AND p.hashes @> ARRAY[hashtext(u)] AND s.user_id = u
              AND NOT EXISTS (SELECT 1 FROM members r WHERE r.conv_key = p.conv_key AND r.user_id = u)
        $f$;

        -- The user's memberships (row, else slot) in the super groups whose head advanced above v: a probe per advanced
        -- group, or, when probe_limit or more advanced, the user's memberships (rows and the GIN's slots) among them.
        CREATE FUNCTION members_of_user_advanced(u text, v bigint, probe_limit integer) RETURNS SETOF members LANGUAGE sql STABLE AS $f$
            SELECT m.* FROM super_groups_advanced_since(v) a(conv_key) CROSS JOIN LATERAL member_get(a.conv_key, u) m
            WHERE (SELECT count(*) FROM (SELECT 1 FROM super_groups_advanced_since(v) LIMIT probe_limit) n) < probe_limit
            UNION ALL
            SELECT m.* FROM members_of_user(u) m
            WHERE (SELECT count(*) FROM (SELECT 1 FROM super_groups_advanced_since(v) LIMIT probe_limit) n) >= probe_limit
              AND m.conv_key IN (SELECT a.conv_key FROM super_groups_advanced_since(v) a(conv_key))
        $f$;
        """;

    // The write-diffusion delta indexes without the member rows of direct conversations (issue 17, stop 42; SQLite's
    // migration 29). A direct conversation's two rows are created with info_version 0 and keep it (only a group's info or
    // membership change raises it; a group's rows get their version when they are written), so no delta ever returns
    // them, yet every new 1:1 conversation wrote two entries into ix_members_user_info and one into ix_members_conv_info.
    // The queries name info_version > 0 so the partial indexes stay usable.
    private const string V30DeltaIndexesWithoutDirectRows = """
        DROP INDEX ix_members_conv_info;
        DROP INDEX ix_members_user_info;
        CREATE INDEX ix_members_conv_info ON members (conv_key, info_version) WHERE NOT read_diffusion AND info_version > 0;
        CREATE INDEX ix_members_user_info ON members (user_id, info_version) WHERE NOT read_diffusion AND info_version > 0;
        """;

    // The per-message UPDATE conversations made HOT, and a resume that finds the conversations edited since its cursor by an
    // index (issue 17, stop 48, pg; ADR 0041).
    // - PostgreSQL updates a row in place (a heap-only tuple: no new entry in any index) only when no column named by one
    //   of the table's indexes changes, whatever the index's predicate. ix_conversations_head (head_version) WHERE
    //   read_diffusion named head_version, which every message raises, so every message's UPDATE wrote a new tuple and a
    //   conversations_pkey entry. The read-diffusion head is now a column of its own, rd_head_version, which the commit
    //   raises with head_version only while the conversation is read-diffusion (and a switch to read diffusion sets to
    //   head_version), so a message changes no indexed column of a write-diffusion conversation. A fillfactor of 80 leaves
    //   room on each page for the new versions (pages written from now on; pruning frees the rest as they are updated).
    // - An edit or a reaction raises only the conversation's change_version (ADR 0018), so a resume compared every
    //   membership of the user with its conversation (members_of_user_since's rows: ~3.7 buffers per conversation of the
    //   user, 420 for one of 111 changed). ix_conversations_change holds the conversations ever edited, by change_version
    //   (no entry per message: the column does not change, and the update is HOT), and members_of_user_changed probes the
    //   user's row in each one edited since the cursor, or, from edited_limit of them on, reads the user's rows as before.
    private const string V31HotConversationsAndEditedIndex = """
        ALTER TABLE conversations ADD COLUMN rd_head_version bigint NOT NULL DEFAULT 0;
        UPDATE conversations SET rd_head_version = head_version WHERE read_diffusion;
        CREATE INDEX ix_conversations_rd_head ON conversations (rd_head_version) WHERE read_diffusion;
        DROP INDEX ix_conversations_head;
        CREATE INDEX ix_conversations_change ON conversations (change_version) WHERE change_version > 0;
        ALTER TABLE conversations SET (fillfactor = 80);

        -- The read-diffusion conversations whose head advanced above v (ix_conversations_rd_head).
        CREATE OR REPLACE FUNCTION super_groups_advanced_since(v bigint) RETURNS SETOF bigint LANGUAGE sql STABLE AS $f$
            SELECT ck.conv_key FROM conversations c JOIN conversation_keys ck ON ck.conversation_id = c.conversation_id
            WHERE c.read_diffusion AND c.rd_head_version > v
        $f$;

        -- The conversations edited (or reacted to) above v (ix_conversations_change).
        CREATE FUNCTION conversations_edited_since(v bigint) RETURNS SETOF bigint LANGUAGE sql STABLE AS $f$
            SELECT ck.conv_key FROM conversations c JOIN conversation_keys ck ON ck.conversation_id = c.conversation_id
            WHERE c.change_version > v AND c.change_version > 0
        $f$;

        -- The memberships of a user that may have changed above v: the user's rows whose own feed version is above v (a
        -- range of ix_members_user_feed), the user's other rows in the conversations edited above v (a probe of each, or,
        -- when edited_limit or more were edited, every other row of the user), and the user's slots as
        -- members_of_user_since. A superset of the rows whose feed version or (active) conversation's change version is
        -- above v: the callers keep their test.
        CREATE FUNCTION members_of_user_changed(u text, v bigint, probe_limit integer, edited_limit integer) RETURNS SETOF members LANGUAGE sql STABLE AS $f$
            SELECT m.* FROM members m WHERE m.user_id = u AND m.feed_version > v
            UNION ALL
            SELECT m.* FROM conversations_edited_since(v) e(conv_key) JOIN members m ON m.conv_key = e.conv_key AND m.user_id = u
            WHERE (SELECT count(*) FROM (SELECT 1 FROM conversations c WHERE c.change_version > v AND c.change_version > 0 LIMIT edited_limit) n) < edited_limit
              AND m.feed_version <= v
            UNION ALL
            SELECT m.* FROM members m
            WHERE (SELECT count(*) FROM (SELECT 1 FROM conversations c WHERE c.change_version > v AND c.change_version > 0 LIMIT edited_limit) n) >= edited_limit
              AND m.user_id = u AND m.feed_version <= v
            UNION ALL
            SELECT s.* FROM super_groups_changed_since(v) ch(conv_key) CROSS JOIN LATERAL member_slot(ch.conv_key, u) s
            WHERE (SELECT count(*) FROM (SELECT 1 FROM super_groups_changed_since(v) LIMIT probe_limit) n) < probe_limit
              AND NOT EXISTS (SELECT 1 FROM members r WHERE r.conv_key = ch.conv_key AND r.user_id = u)
            UNION ALL
            SELECT s.* FROM member_pages p CROSS JOIN LATERAL member_page_slots(p) s
            WHERE (SELECT count(*) FROM (SELECT 1 FROM super_groups_changed_since(v) LIMIT probe_limit) n) >= probe_limit
              AND p.hashes @> ARRAY[hashtext(u)] AND s.user_id = u
              AND NOT EXISTS (SELECT 1 FROM members r WHERE r.conv_key = p.conv_key AND r.user_id = u)
        $f$;
        """;
}
