-- Issue 12: bytes per super-group member on PostgreSQL, layout by layout, all built in one schema from the same rows.
-- Usage: psql "$URL" -v n=100000 -v ON_ERROR_STOP=1 -f layouts.sql     (the schema member_bytes_layouts is dropped at the start)
-- Rows as the bulk import writes them (member-storage / ConversationGrain.Admit): one super group (conv_key 1), user ids
-- 'lt0000r1s-N' (the load generator's shape), a Member invited by the job's operator, joined now, visible from seq 1,
-- read seq = the chunk's notice, feed version = the chunk's version (chunks of 1,000).
\set QUIET on
DROP SCHEMA IF EXISTS member_bytes_layouts CASCADE;
CREATE SCHEMA member_bytes_layouts;
SET search_path = member_bytes_layouts, public;
CREATE EXTENSION IF NOT EXISTS pgstattuple SCHEMA public;

-- The rows, in the import's order (numeric user ids: not their text order).
CREATE TABLE src AS
SELECT g AS n, 'lt0000r1s-' || g AS user_id, (g - 1) / 1000 + 2 AS version, (g - 1) / 1000 AS read_seq
FROM generate_series(1, :n) g;

-- The migration 23 layout (main today).
CREATE TABLE m23 (
    conv_key bigint NOT NULL, read_seq bigint NOT NULL DEFAULT 0, feed_version bigint NOT NULL, muted_until bigint NOT NULL DEFAULT 0,
    joined_at bigint NOT NULL DEFAULT 0, visible_from bigint NOT NULL DEFAULT 1, info_version bigint NOT NULL DEFAULT 0,
    mention_seq bigint NOT NULL DEFAULT 0, role integer NOT NULL DEFAULT 0, pinned boolean NOT NULL DEFAULT false,
    muted boolean NOT NULL DEFAULT false, mentions_only boolean NOT NULL DEFAULT false, active boolean NOT NULL DEFAULT true,
    read_diffusion boolean NOT NULL DEFAULT false, user_id text NOT NULL, nickname text NOT NULL DEFAULT '', inviter_id text NOT NULL DEFAULT '');
ALTER TABLE m23 ADD CONSTRAINT m23_pkey PRIMARY KEY (conv_key, user_id);
CREATE INDEX m23_user_feed ON m23 (user_id, feed_version);
CREATE INDEX m23_conv_info ON m23 (conv_key, info_version) WHERE NOT read_diffusion;
CREATE INDEX m23_user_info ON m23 (user_id, info_version) WHERE NOT read_diffusion;
CREATE INDEX m23_conv_role ON m23 (conv_key, role) WHERE role > 0;

-- The same layout and indexes, rows in a random order (a real import's user ids have no relation to their text order).
CREATE TABLE m23r (LIKE m23 INCLUDING ALL);

INSERT INTO m23 (conv_key, read_seq, feed_version, joined_at, visible_from, user_id, inviter_id, read_diffusion)
SELECT 1, read_seq, version, 1764900000000, 1, user_id, 'admin-operator', true FROM src ORDER BY n;
INSERT INTO m23r (conv_key, read_seq, feed_version, joined_at, visible_from, user_id, inviter_id, read_diffusion)
SELECT 1, read_seq, version, 1764900000000, 1, user_id, 'admin-operator', true FROM src ORDER BY hashtext(user_id);


-- Pages of a table and its indexes (main fork: 8 KB pages with their free space, as dbstat's pgsize), and with TOAST.
CREATE FUNCTION sizes(t regclass, n bigint) RETURNS TABLE (rel text, bytes bigint, per_member numeric) LANGUAGE sql AS $$
    WITH rels AS (
        SELECT c.oid, c.relname FROM pg_class c
        WHERE c.oid = t OR c.oid = (SELECT reltoastrelid FROM pg_class WHERE oid = t)
           OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = t OR indrelid = (SELECT reltoastrelid FROM pg_class WHERE oid = t)))
    SELECT relname::text, pg_relation_size(oid), round(pg_relation_size(oid)::numeric / n, 1) FROM rels WHERE pg_relation_size(oid) > 0
    UNION ALL
    SELECT 'TOTAL ' || t::text, sum(pg_relation_size(oid))::bigint, round(sum(pg_relation_size(oid)) / n, 1) FROM rels
$$;

\echo
\echo === A. migration 23 layout, import order (the member-storage figure: 282.5 B)
SELECT * FROM sizes('m23', :n);
SELECT 'heap' AS what, tuple_count, round(tuple_len::numeric / tuple_count, 1) AS tuple_bytes, round(free_percent::numeric, 1) AS free_pct FROM pgstattuple('m23');
SELECT 'm23_pkey' AS idx, leaf_pages, round(avg_leaf_density::numeric, 1) AS leaf_density_pct FROM pgstatindex('m23_pkey')
UNION ALL SELECT 'm23_user_feed', leaf_pages, round(avg_leaf_density::numeric, 1) FROM pgstatindex('m23_user_feed');

\echo
\echo === B. the same layout, rows in a random order
SELECT * FROM sizes('m23r', :n);

-- C. the same layout, indexes built after the load (densely packed: 90 % leaf fill, the default fillfactor): the floor of
-- this layout without a rebuild of every index after every import.
CREATE TABLE m23p (LIKE m23 INCLUDING DEFAULTS);
INSERT INTO m23p SELECT * FROM m23;
ALTER TABLE m23p ADD PRIMARY KEY (conv_key, user_id);
CREATE INDEX ON m23p (user_id, feed_version);
\echo
\echo === C. the same layout, indexes built after the load (packed)
SELECT * FROM sizes('m23p', :n);

-- D. inviters interned (as SQLite's migration 23): an integer key in place of the inviter's text id.
CREATE TABLE m25 (
    conv_key bigint NOT NULL, read_seq bigint NOT NULL DEFAULT 0, feed_version bigint NOT NULL, muted_until bigint NOT NULL DEFAULT 0,
    joined_at bigint NOT NULL DEFAULT 0, visible_from bigint NOT NULL DEFAULT 1, info_version bigint NOT NULL DEFAULT 0,
    mention_seq bigint NOT NULL DEFAULT 0, role integer NOT NULL DEFAULT 0, inviter_key integer NOT NULL DEFAULT 0, pinned boolean NOT NULL DEFAULT false,
    muted boolean NOT NULL DEFAULT false, mentions_only boolean NOT NULL DEFAULT false, active boolean NOT NULL DEFAULT true,
    read_diffusion boolean NOT NULL DEFAULT false, user_id text NOT NULL, nickname text NOT NULL DEFAULT '');
ALTER TABLE m25 ADD PRIMARY KEY (conv_key, user_id);
CREATE INDEX ON m25 (user_id, feed_version);
INSERT INTO m25 (conv_key, read_seq, feed_version, joined_at, visible_from, user_id, inviter_key, read_diffusion)
SELECT 1, read_seq, version, 1764900000000, 1, user_id, 1, true FROM src ORDER BY n;
\echo
\echo === D. inviters interned, import order
SELECT * FROM sizes('m25', :n);
SELECT 'heap' AS what, round(tuple_len::numeric / tuple_count, 1) AS tuple_bytes, round(free_percent::numeric, 1) AS free_pct FROM pgstattuple('m25');

-- E. D plus the zero-valued columns of a read-diffusion member stored as NULL (muted_until, info_version, mention_seq):
-- a NULL takes no data bytes, the null bitmap (3 bytes for 17 columns) moves the header from 24 to 32 bytes.
CREATE TABLE m25n (LIKE m25 INCLUDING DEFAULTS);
ALTER TABLE m25n ALTER muted_until DROP NOT NULL, ALTER info_version DROP NOT NULL, ALTER mention_seq DROP NOT NULL;
ALTER TABLE m25n ADD PRIMARY KEY (conv_key, user_id);
CREATE INDEX ON m25n (user_id, feed_version);
INSERT INTO m25n (conv_key, read_seq, feed_version, muted_until, joined_at, visible_from, info_version, mention_seq, user_id, inviter_key, read_diffusion)
SELECT 1, read_seq, version, NULL, 1764900000000, 1, NULL, NULL, user_id, 1, true FROM src ORDER BY n;
\echo
\echo === E. D + NULL for the zero columns, import order
SELECT * FROM sizes('m25n', :n);
SELECT 'heap' AS what, round(tuple_len::numeric / tuple_count, 1) AS tuple_bytes FROM pgstattuple('m25n');

-- F. D with the user-side index of read-diffusion rows as a hash index on user_id (equality only; 4-byte hash codes) and the
-- (user_id, feed_version) B-tree kept for write-diffusion rows only.
CREATE TABLE m25h (LIKE m25 INCLUDING DEFAULTS);
ALTER TABLE m25h ADD PRIMARY KEY (conv_key, user_id);
CREATE INDEX m25h_user_feed ON m25h (user_id, feed_version) WHERE NOT read_diffusion;
CREATE INDEX m25h_user_hash ON m25h USING hash (user_id) WHERE read_diffusion;
INSERT INTO m25h (conv_key, read_seq, feed_version, joined_at, visible_from, user_id, inviter_key, read_diffusion)
SELECT 1, read_seq, version, 1764900000000, 1, user_id, 1, true FROM src ORDER BY n;
\echo
\echo === F. D with a hash index on user_id for read-diffusion rows instead of (user_id, feed_version), import order
SELECT * FROM sizes('m25h', :n);

-- G. Members packed 64 to a row (a projection of a layout that amortises the 28-byte tuple overhead and the per-entry index
-- overhead; not built in the store): parallel arrays per block, a B-tree on (conv_key, block), a GIN index on the user ids
-- for the user-side lookups.
CREATE TABLE packed (
    conv_key bigint NOT NULL, block integer NOT NULL, user_ids text[] NOT NULL, read_seqs bigint[] NOT NULL,
    feed_versions bigint[] NOT NULL, joined_ats bigint[] NOT NULL, visible_froms bigint[] NOT NULL, flags smallint[] NOT NULL,
    PRIMARY KEY (conv_key, block));
CREATE INDEX packed_users ON packed USING gin (user_ids);
INSERT INTO packed
SELECT 1, (n - 1) / 64, array_agg(user_id ORDER BY n), array_agg(read_seq::bigint ORDER BY n), array_agg(version::bigint ORDER BY n),
       array_agg(1764900000000::bigint ORDER BY n), array_agg(1::bigint ORDER BY n), array_agg(0::smallint ORDER BY n)
FROM src GROUP BY (n - 1) / 64 ORDER BY 2;
\echo
\echo === G. projection: 64 members per row (arrays), B-tree on (conv_key, block), GIN on user ids
SELECT * FROM sizes('packed', :n);
SELECT 'toast of packed' AS rel, pg_total_relation_size(reltoastrelid) AS bytes FROM pg_class WHERE oid = 'packed'::regclass;
