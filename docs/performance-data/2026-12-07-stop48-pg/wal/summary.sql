\pset pager off
-- per message: WAL records, full-page images, bytes (all batches, and the batches without a full-page image), buffers
SELECT sch, stmt, sum(rows) AS messages, round(sum(recs)::numeric / sum(rows), 2) AS wal_records,
       round(sum(fpi)::numeric / sum(rows), 3) AS fpi, round(sum(bytes)::numeric / sum(rows), 0) AS wal_bytes,
       round(sum(bytes) FILTER (WHERE fpi = 0)::numeric / sum(rows) FILTER (WHERE fpi = 0), 0) AS wal_bytes_no_fpi,
       round(sum(bufs)::numeric / sum(rows), 1) AS buffers
FROM public.walres GROUP BY 1, 2 ORDER BY 2, 1;
SELECT sch, batch / 100000 AS round, round(sum(recs)::numeric / sum(rows), 2) AS wal_records, round(sum(fpi)::numeric / sum(rows), 3) AS fpi,
       round(sum(bytes) FILTER (WHERE fpi = 0)::numeric / sum(rows) FILTER (WHERE fpi = 0), 0) AS wal_bytes_no_fpi
FROM public.walres WHERE stmt = 'conversations' GROUP BY 1, 2 ORDER BY 2, 1;
-- since the clone (counters reset): updates and heap-only (HOT) updates of each copy's conversations
SELECT schemaname, n_tup_upd, n_tup_hot_upd, round(100.0 * n_tup_hot_upd / nullif(n_tup_upd, 0), 1) AS hot_pct, pg_relation_size(relid) / 8192 AS heap_pages
FROM pg_stat_user_tables WHERE relname = 'conversations' AND schemaname LIKE 'w_' ORDER BY 1;
