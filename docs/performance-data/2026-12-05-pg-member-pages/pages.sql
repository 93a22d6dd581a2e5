-- Issue 12 / ADR 0021 (proposed): super-group members packed into pages on PostgreSQL, prototyped in SQL against the
-- row-per-member layout of migration 23, from the same rows, in one schema of the real server.
-- Usage: psql "$URL" -v n=100000 -v cap=128 -v ON_ERROR_STOP=1 -f pages.sql   (schema member_pages_proto, dropped at the start)
-- Rows as the bulk import writes them (member-storage / ConversationGrain.Admit): one super group (conv_key 1), user ids
-- 'lt0000r1s-N', a Member invited by the job's operator (inviter key 1), joined now, visible from seq 1, read seq = the
-- chunk's notice, feed version = the chunk's version (chunks of 1,000).
\set QUIET on
\pset footer off
DROP SCHEMA IF EXISTS member_pages_proto CASCADE;
CREATE SCHEMA member_pages_proto;
SET search_path = member_pages_proto, public;
CREATE EXTENSION IF NOT EXISTS pgstattuple SCHEMA public;

CREATE TABLE src AS
SELECT g AS n, 'lt0000r1s-' || g AS user_id, (g - 1) / 1000 + 2 AS version, (g - 1) / 1000 AS read_seq
FROM generate_series(1, :n) g;
CREATE INDEX ON src (n);

-- A table's bytes as pg_total_relation_size counts them: the table (heap, its TOAST table and index, free-space and
-- visibility maps: pg_table_size), each index (with its maps), and the total.
CREATE FUNCTION sizes(t regclass, n bigint) RETURNS TABLE (rel text, bytes bigint, per_member numeric) LANGUAGE sql AS $$
    SELECT t::text || ' (table, TOAST, maps)', pg_table_size(t), round(pg_table_size(t)::numeric / n, 1)
    UNION ALL
    SELECT i.indexrelid::regclass::text, pg_total_relation_size(i.indexrelid), round(pg_total_relation_size(i.indexrelid)::numeric / n, 1)
    FROM pg_index i WHERE i.indrelid = t
    UNION ALL
    SELECT 'TOTAL ' || t::text || ' (pg_total_relation_size)', pg_total_relation_size(t), round(pg_total_relation_size(t)::numeric / n, 1)
$$;

-- ===== The row layout (migration 23, main today): one row per member, primary key and user-side index.
CREATE TABLE members (
    conv_key bigint NOT NULL, read_seq bigint NOT NULL DEFAULT 0, feed_version bigint NOT NULL, muted_until bigint NOT NULL DEFAULT 0,
    joined_at bigint NOT NULL DEFAULT 0, visible_from bigint NOT NULL DEFAULT 1, info_version bigint NOT NULL DEFAULT 0,
    mention_seq bigint NOT NULL DEFAULT 0, role integer NOT NULL DEFAULT 0, pinned boolean NOT NULL DEFAULT false,
    muted boolean NOT NULL DEFAULT false, mentions_only boolean NOT NULL DEFAULT false, active boolean NOT NULL DEFAULT true,
    read_diffusion boolean NOT NULL DEFAULT false, user_id text NOT NULL, nickname text NOT NULL DEFAULT '', inviter_id text NOT NULL DEFAULT '');
ALTER TABLE members ADD CONSTRAINT members_pkey PRIMARY KEY (conv_key, user_id);
CREATE INDEX ix_members_user_feed ON members (user_id, feed_version);
CREATE INDEX ix_members_conv_info ON members (conv_key, info_version) WHERE NOT read_diffusion;
CREATE INDEX ix_members_user_info ON members (user_id, info_version) WHERE NOT read_diffusion;
CREATE INDEX ix_members_conv_role ON members (conv_key, role) WHERE role > 0;

\echo
\echo === rows: the import into the row layout, chunks of 1,000 in the import order (as the bulk job commits)
SELECT clock_timestamp() AS t0 \gset
DO $$
DECLARE c bigint;
BEGIN
    FOR c IN SELECT generate_series(0, (max(n) - 1) / 1000) FROM src LOOP
        INSERT INTO members (conv_key, read_seq, feed_version, joined_at, visible_from, user_id, inviter_id, read_diffusion, info_version)
        SELECT 1, read_seq, version, 1764900000000, 1, user_id, 'admin-operator', true, version FROM src WHERE n BETWEEN c * 1000 + 1 AND c * 1000 + 1000 ORDER BY n;
    END LOOP;
END $$;
SELECT round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 1) AS rows_import_s;
SELECT * FROM sizes('members', :n);

-- ===== The packed layout: a super group's members in pages of at most :cap, in user-id order (C collation), one row
-- per page. A page covers [first_user, next page's first_user). Parallel arrays, one slot per member; what the row
-- layout keeps per member, in the same units. user_hashes (hashtext of the id) feed the user-side GIN index.
-- states: role (bits 0-1) | active << 2 | pinned << 3 | muted << 4 | mentions_only << 5.
CREATE TABLE member_pages (
    conv_key bigint NOT NULL,
    first_user text COLLATE "C" NOT NULL,
    user_ids text[] NOT NULL,
    user_hashes integer[] NOT NULL,
    states smallint[] NOT NULL,
    read_seqs bigint[] NOT NULL,
    feed_versions bigint[] NOT NULL,
    joined_ats bigint[] NOT NULL,
    visible_froms bigint[] NOT NULL,
    muted_untils bigint[] NOT NULL,
    mention_seqs bigint[] NOT NULL,
    inviter_keys integer[] NOT NULL,
    nicknames text[] NOT NULL,
    PRIMARY KEY (conv_key, first_user)
);
CREATE INDEX ix_member_pages_users ON member_pages USING gin (user_hashes) WITH (fastupdate = :fastupdate);

-- Compaction: the group's rows of the row table (the delta) move into its pages, in one statement set. Only the pages
-- the delta falls into are rewritten; each is cut into pages of at most :cap again (split evenly). A delta row wins
-- over the slot of the same user. The new users below the group's first page join its first page.
CREATE FUNCTION compact(k bigint, cap integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE moved integer;
BEGIN
    CREATE TEMP TABLE delta (LIKE members) ON COMMIT DROP;
    WITH gone AS (DELETE FROM members WHERE conv_key = k AND read_diffusion RETURNING *) INSERT INTO delta SELECT * FROM gone;
    GET DIAGNOSTICS moved = ROW_COUNT;
    ANALYZE delta;
    CREATE TEMP TABLE target ON COMMIT DROP AS
    SELECT d.user_id, COALESCE(
        (SELECT p.first_user FROM member_pages p WHERE p.conv_key = k AND p.first_user <= d.user_id COLLATE "C" ORDER BY p.first_user DESC LIMIT 1),
        (SELECT p.first_user FROM member_pages p WHERE p.conv_key = k ORDER BY p.first_user LIMIT 1)) COLLATE "C" AS page
    FROM delta d;
    ANALYZE target;
    CREATE TEMP TABLE merged ON COMMIT DROP AS
    SELECT p.first_user AS page, s.*
    FROM member_pages p
    CROSS JOIN LATERAL unnest(p.user_ids, p.user_hashes, p.states, p.read_seqs, p.feed_versions, p.joined_ats, p.visible_froms,
                              p.muted_untils, p.mention_seqs, p.inviter_keys, p.nicknames)
        AS s(user_id, user_hash, state, read_seq, feed_version, joined_at, visible_from, muted_until, mention_seq, inviter_key, nickname)
    WHERE p.conv_key = k AND p.first_user IN (SELECT page FROM target) AND NOT EXISTS (SELECT 1 FROM delta d WHERE d.user_id = s.user_id)
    UNION ALL
    SELECT t.page COLLATE "C", d.user_id, hashtext(d.user_id),
           (d.role | (d.active::int << 2) | (d.pinned::int << 3) | (d.muted::int << 4) | (d.mentions_only::int << 5))::smallint,
           d.read_seq, d.feed_version, d.joined_at, d.visible_from, d.muted_until, d.mention_seq,
           CASE d.inviter_id WHEN '' THEN 0 ELSE 1 END, NULLIF(d.nickname, '')
    FROM delta d JOIN target t ON t.user_id = d.user_id;
    DELETE FROM member_pages p WHERE p.conv_key = k AND p.first_user IN (SELECT page FROM target);
    INSERT INTO member_pages
    SELECT k, min(user_id COLLATE "C"), array_agg(user_id ORDER BY user_id COLLATE "C"), array_agg(user_hash ORDER BY user_id COLLATE "C"),
           array_agg(state ORDER BY user_id COLLATE "C"), array_agg(read_seq ORDER BY user_id COLLATE "C"), array_agg(feed_version ORDER BY user_id COLLATE "C"),
           array_agg(joined_at ORDER BY user_id COLLATE "C"), array_agg(visible_from ORDER BY user_id COLLATE "C"), array_agg(muted_until ORDER BY user_id COLLATE "C"),
           array_agg(mention_seq ORDER BY user_id COLLATE "C"), array_agg(inviter_key ORDER BY user_id COLLATE "C"), array_agg(nickname ORDER BY user_id COLLATE "C")
    FROM (SELECT m.*, (rn - 1) / ceil(cnt::numeric / ceil(cnt::numeric / cap))::integer AS part
          FROM (SELECT m.*, row_number() OVER w AS rn, count(*) OVER (PARTITION BY page) AS cnt
                FROM merged m WINDOW w AS (PARTITION BY page ORDER BY user_id COLLATE "C")) m) x
    GROUP BY page, part;
    DROP TABLE delta; DROP TABLE target; DROP TABLE merged;
    RETURN moved;
END $$;

\echo
\echo === pages: the whole group compacted once (rows -> pages of :cap), then VACUUM (the row table keeps its index pages)
SELECT clock_timestamp() AS t0 \gset
SELECT compact(1, :cap) AS moved;
SELECT round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 1) AS compaction_s;
VACUUM members;
VACUUM member_pages;
SELECT * FROM sizes('member_pages', :n);
SELECT * FROM sizes('members', :n);
SELECT count(*) AS pages, min(cardinality(user_ids)) AS min_slots, round(avg(cardinality(user_ids)), 1) AS avg_slots, max(cardinality(user_ids)) AS max_slots,
       sum(cardinality(user_ids)) AS members FROM member_pages;
SELECT 'heap' AS what, round(tuple_len::numeric / tuple_count, 1) AS bytes_per_page_tuple, round(free_percent::numeric, 1) AS free_pct FROM pgstattuple('member_pages');

\echo
\echo === the same pages with the GIN index built after the load (its floor), and a GIN over the text ids instead (for comparison)
CREATE INDEX ix_member_pages_users_built ON member_pages USING gin (user_hashes);
CREATE INDEX ix_member_pages_text ON member_pages USING gin (user_ids);
SELECT relname, pg_total_relation_size(oid) AS bytes, round(pg_total_relation_size(oid)::numeric / :n, 1) AS per_member
FROM pg_class WHERE relname IN ('ix_member_pages_users', 'ix_member_pages_users_built', 'ix_member_pages_text') AND relnamespace = 'member_pages_proto'::regnamespace ORDER BY 1;
DROP INDEX ix_member_pages_users_built;
DROP INDEX ix_member_pages_text;

-- ===== Reads (buffers touched are the claim here; times are on a loaded machine). A user in the middle of the range.
SELECT 'lt0000r1s-' || (:n / 2) AS mid \gset
\echo
\echo === read: one member by (group, user): the page whose range holds the user, then the slot
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT s.* FROM (SELECT * FROM member_pages WHERE conv_key = 1 AND first_user <= :'mid' COLLATE "C" ORDER BY first_user DESC LIMIT 1) p
CROSS JOIN LATERAL unnest(p.user_ids, p.states, p.read_seqs, p.feed_versions) AS s(user_id, state, read_seq, feed_version) WHERE s.user_id = :'mid';
\echo === the same in the row layout (before compaction), for comparison: 1 index probe + 1 heap fetch (4-5 buffers)
\echo
\echo === read: the super groups of a user (GIN on the id hashes, the hash rechecked against the ids)
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT DISTINCT p.conv_key FROM member_pages p WHERE p.user_hashes @> ARRAY[hashtext(:'mid')] AND :'mid' = ANY (p.user_ids);
\echo
\echo === read: a page of 500 active members after a keyset (the pages from the one holding the keyset on)
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT s.user_id FROM (SELECT * FROM member_pages WHERE conv_key = 1
        AND first_user >= COALESCE((SELECT first_user FROM member_pages WHERE conv_key = 1 AND first_user <= :'mid' COLLATE "C" ORDER BY first_user DESC LIMIT 1), '')
        ORDER BY first_user LIMIT 10) p
CROSS JOIN LATERAL unnest(p.user_ids, p.states) AS s(user_id, state)
WHERE s.user_id > :'mid' COLLATE "C" AND (s.state & 4) <> 0 ORDER BY s.user_id COLLATE "C" LIMIT 500;

\echo
\echo === read as the store would: one member, the row if there is one, else the slot (here: no row, so both are probed)
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT user_id, role, active, read_seq, feed_version FROM members WHERE conv_key = 1 AND user_id = :'mid'
UNION ALL
SELECT s.user_id, s.state & 3, (s.state & 4) <> 0, s.read_seq, s.feed_version
FROM (SELECT * FROM member_pages WHERE conv_key = 1 AND first_user <= :'mid' COLLATE "C" ORDER BY first_user DESC LIMIT 1) p
CROSS JOIN LATERAL unnest(p.user_ids, p.states, p.read_seqs, p.feed_versions) AS s(user_id, state, read_seq, feed_version)
WHERE s.user_id = :'mid' AND NOT EXISTS (SELECT 1 FROM members WHERE conv_key = 1 AND user_id = :'mid');
\echo
\echo === read as the store would: the super groups of a user, rows and slots
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT conv_key FROM members WHERE user_id = :'mid' AND active AND read_diffusion
UNION
SELECT p.conv_key FROM member_pages p CROSS JOIN LATERAL unnest(p.user_ids, p.states) AS s(user_id, state)
WHERE p.user_hashes @> ARRAY[hashtext(:'mid')] AND s.user_id = :'mid' AND (s.state & 4) <> 0
  AND NOT EXISTS (SELECT 1 FROM members m WHERE m.conv_key = p.conv_key AND m.user_id = :'mid');

-- ===== Writes. WAL bytes are the claim (pg_current_wal_lsn before/after, this session only, other sessions' WAL included
-- when they wrote at the same time: the server is shared; run when idle for a clean figure).
\echo
\echo === write: 1,000 role changes and 1,000 new members (ids spread over the whole range) land in the row table (the delta), then one compaction
SELECT pg_current_wal_lsn() AS w0, clock_timestamp() AS t0 \gset
INSERT INTO members (conv_key, read_seq, feed_version, role, joined_at, visible_from, user_id, inviter_id, read_diffusion, info_version)
SELECT 1, 0, 10000 + g, 1, 1764900000000, 1, 'lt0000r1s-' || (g * 97 % :n + 1), 'admin-operator', true, 10000 + g FROM generate_series(1, 1000) g
ON CONFLICT (conv_key, user_id) DO UPDATE SET role = 1;
INSERT INTO members (conv_key, read_seq, feed_version, joined_at, visible_from, user_id, inviter_id, read_diffusion, info_version)
SELECT 1, 0, 20000 + g, 1764900000000, 1, 'lt0000r1s-' || (g * 7919 % :n + 1) || 'x', 'admin-operator', true, 20000 + g FROM generate_series(1, 1000) g;
SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), :'w0') AS delta_wal_bytes, round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 2) AS delta_s \gset
SELECT :delta_wal_bytes AS delta_wal_bytes, round(:delta_wal_bytes / 2000.0, 0) AS wal_bytes_per_change, :delta_s AS delta_s;
SELECT pg_current_wal_lsn() AS w0, clock_timestamp() AS t0 \gset
SELECT compact(1, :cap) AS moved;
SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), :'w0') AS compaction_wal_bytes, round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 2) AS compaction_s,
       (SELECT count(*) FROM member_pages) AS pages_after;
VACUUM members;
VACUUM member_pages;
SELECT * FROM sizes('member_pages', :n + 1000);
SELECT * FROM sizes('members', :n + 1000);
SELECT count(*) FILTER (WHERE (s & 3) = 1) AS admins, count(*) AS members FROM member_pages, unnest(states) s;
