-- After layouts.sql (n = 1,000,000; the schema is kept): the GIN index of layout G built once over the loaded rows,
-- against the one maintained row by row during the load (its pending list merged into the tree as it grew).
SET search_path = member_bytes_layouts, public;
CREATE INDEX packed_users_built ON packed USING gin (user_ids);
SELECT relname, pg_relation_size(oid) AS bytes, round(pg_relation_size(oid) / 1000000.0, 1) AS per_member
FROM pg_class WHERE relname IN ('packed', 'packed_pkey', 'packed_users', 'packed_users_built') AND relnamespace = 'member_bytes_layouts'::regnamespace ORDER BY 1;
