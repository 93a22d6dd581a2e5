-- insert.sql: what ix_messages_conv_version costs each new message on PostgreSQL (ADR 0034's question for this store), on
-- stop 47's 1M-message store (schema big), in ONE transaction that is rolled back: ROUNDS x (BATCHES commits' INSERTs of 10
-- messages into 10 random direct conversations with the index, then the same without it: DROP INDEX inside the transaction),
-- each INSERT under EXPLAIN (ANALYZE, WAL, BUFFERS). Inside one transaction a page's full-page image is written once at most
-- (after a checkpoint), so the records and the bytes without images are the steady per-message cost; the images are
-- counted apart (on a server: one per index leaf touched per checkpoint cycle); a CHECKPOINT before each phase, so that
-- both start with every page needing its image.
\set ON_ERROR_STOP on
SET search_path = big;
BEGIN;
CREATE TEMP TABLE insres (phase text, rows int, recs bigint, fpi bigint, bytes bigint, bufs bigint) ON COMMIT DROP;
CREATE FUNCTION pg_temp.ins(phase text, batches int, base bigint) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE i int; ids text[]; seqs bigint[]; j json;
BEGIN
  FOR i IN 1..batches LOOP
    ids := ARRAY(SELECT DISTINCT 'c' || lpad((1 + floor(random() * 10000))::int::text, 5, '0') FROM generate_series(1, 10));
    seqs := ARRAY(SELECT base + i * 100 + g FROM generate_series(1, cardinality(ids)) g);
    EXECUTE 'EXPLAIN (ANALYZE, WAL, BUFFERS, FORMAT JSON) INSERT INTO messages (conversation_id, seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, content, revoked, version, annotations, reply_to_seq)
             SELECT u.c, u.s, ''x'' || u.s, ''u0000'', ''cx'' || u.s, u.s, 1, convert_to(repeat(''message body '' || u.s || '' '', 6), ''UTF8''), false, u.s, NULL, 0
             FROM unnest($1::text[], $2::bigint[]) AS u(c, s)' INTO j USING ids, seqs;
    INSERT INTO insres VALUES (phase, cardinality(ids), (j->0->'Plan'->>'WAL Records')::bigint, (j->0->'Plan'->>'WAL FPI')::bigint, (j->0->'Plan'->>'WAL Bytes')::bigint,
                               (j->0->'Plan'->>'Shared Hit Blocks')::bigint + (j->0->'Plan'->>'Shared Read Blocks')::bigint);
  END LOOP;
END $f$;
CHECKPOINT;
SELECT FROM pg_temp.ins('with ix_messages_conv_version', 600, 10000000);
DROP INDEX ix_messages_conv_version;
CHECKPOINT;
SELECT FROM pg_temp.ins('without', 600, 20000000);
\pset pager off
SELECT phase, sum(rows) AS messages, round(sum(recs)::numeric / sum(rows), 2) AS wal_records, round(sum(fpi)::numeric / sum(rows), 3) AS fpi,
       round(sum(bytes)::numeric / sum(rows), 0) AS wal_bytes, round(sum(bytes) FILTER (WHERE fpi = 0)::numeric / sum(rows) FILTER (WHERE fpi = 0), 0) AS wal_bytes_no_fpi,
       round(sum(bufs)::numeric / sum(rows), 1) AS buffers
FROM insres GROUP BY 1 ORDER BY 1 DESC;
ROLLBACK;
SELECT count(*) AS index_back FROM pg_indexes WHERE schemaname = 'big' AND indexname = 'ix_messages_conv_version';
