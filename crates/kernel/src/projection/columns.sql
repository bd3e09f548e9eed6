-- The columns a copy of a table must name, in table order: every live column
-- except generated ones, which PostgreSQL computes and refuses to be given.
SELECT coalesce(string_agg(quote_ident(attname), ', ' ORDER BY attnum), '')
FROM pg_attribute
WHERE attrelid = $1::text::regclass
  AND attnum > 0
  AND NOT attisdropped
  AND attgenerated = ''
