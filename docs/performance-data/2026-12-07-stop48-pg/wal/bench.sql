-- bench.sql: per batch of :k messages in :k random direct conversations (one transaction each, as a commit), the store's
-- per-message UPDATE conversations (w0/w1: main's text; w2/w3: migration 31's, which also keeps rd_head_version) and the
-- two members updates, each under EXPLAIN (ANALYZE, WAL, BUFFERS): WAL records, full-page images and bytes of the
-- statement itself (other sessions' WAL is not counted).
CREATE TABLE IF NOT EXISTS public.walres (sch text, stmt text, batch int, rows int, recs bigint, fpi bigint, bytes bigint, bufs bigint);
CREATE OR REPLACE PROCEDURE public.walbench(sch text, batches int, k int, rnd int) LANGUAGE plpgsql AS $p$
DECLARE i int; ids text[]; users text[]; vers bigint[]; j json; v bigint := 5000000 + rnd * 10000000; cv text;
BEGIN
  cv := 'UPDATE %I.conversations SET max_seq = GREATEST(conversations.max_seq, u.seq), last_seq = GREATEST(conversations.last_seq, u.seq),'
     || ' updated_at = GREATEST(conversations.updated_at, u.at), head_version = GREATEST(conversations.head_version, u.version)'
     || CASE WHEN sch IN ('w2','w3') THEN ', rd_head_version = CASE WHEN conversations.read_diffusion THEN GREATEST(conversations.rd_head_version, u.version) ELSE conversations.rd_head_version END' ELSE '' END
     || ' FROM unnest($1::text[], $2::bigint[], $2::bigint[], $2::bigint[]) AS u(conversation_id, seq, at, version) WHERE conversations.conversation_id = u.conversation_id';
  FOR i IN 1..batches LOOP
    SELECT array_agg(id), array_agg(CASE WHEN random() < 0.5 THEN a ELSE b END) INTO ids, users FROM (
      SELECT DISTINCT ON (c.conversation_id) c.conversation_id id, c.creator_id a, m.user_id b
      FROM (SELECT 'c' || lpad((1 + floor(random() * 10000))::int::text, 5, '0') id FROM generate_series(1, k)) r
      JOIN big.conversations c ON c.conversation_id = r.id JOIN big.conversation_keys ck ON ck.conversation_id = c.conversation_id
      JOIN big.members m ON m.conv_key = ck.conv_key AND m.user_id <> c.creator_id) x;
    v := v + 1000;
    vers := ARRAY(SELECT v + g FROM generate_series(1, cardinality(ids)) g);
    EXECUTE format('EXPLAIN (ANALYZE, WAL, BUFFERS, FORMAT JSON) UPDATE %I.members SET read_seq = GREATEST(members.read_seq, u.seq) FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(conversation_id, user_id, seq) JOIN %I.conversation_keys k ON k.conversation_id = u.conversation_id WHERE members.conv_key = k.conv_key AND members.user_id = u.user_id', sch, sch) INTO j USING ids, users, vers;
    INSERT INTO public.walres VALUES (sch, 'members read_seq', rnd * 100000 + i, cardinality(ids), (j->0->'Plan'->>'WAL Records')::bigint, (j->0->'Plan'->>'WAL FPI')::bigint, (j->0->'Plan'->>'WAL Bytes')::bigint, (j->0->'Plan'->>'Shared Hit Blocks')::bigint + (j->0->'Plan'->>'Shared Read Blocks')::bigint);
    EXECUTE format('EXPLAIN (ANALYZE, WAL, BUFFERS, FORMAT JSON) ' || cv, sch) INTO j USING ids, vers;
    INSERT INTO public.walres VALUES (sch, 'conversations', rnd * 100000 + i, cardinality(ids), (j->0->'Plan'->>'WAL Records')::bigint, (j->0->'Plan'->>'WAL FPI')::bigint, (j->0->'Plan'->>'WAL Bytes')::bigint, (j->0->'Plan'->>'Shared Hit Blocks')::bigint + (j->0->'Plan'->>'Shared Read Blocks')::bigint);
    EXECUTE format('EXPLAIN (ANALYZE, WAL, BUFFERS, FORMAT JSON) UPDATE %I.members SET feed_version = GREATEST(members.feed_version, u.version) FROM unnest($1::text[], $2::bigint[]) AS u(conversation_id, version) JOIN %I.conversation_keys k ON k.conversation_id = u.conversation_id WHERE members.conv_key = k.conv_key AND members.active', sch, sch) INTO j USING ids, vers;
    INSERT INTO public.walres VALUES (sch, 'members feed_version', rnd * 100000 + i, cardinality(ids), (j->0->'Plan'->>'WAL Records')::bigint, (j->0->'Plan'->>'WAL FPI')::bigint, (j->0->'Plan'->>'WAL Bytes')::bigint, (j->0->'Plan'->>'Shared Hit Blocks')::bigint + (j->0->'Plan'->>'Shared Read Blocks')::bigint);
    COMMIT;
  END LOOP;
END $p$;
