-- One statement writes the events; the relay reads them from the table.
-- A concurrent append of the same version fails on events_pkey.
--
-- `behind` keeps each stream's versions in global (tx_id, position) order: an
-- appending transaction whose id is older than the one that appended the
-- stream's current version would sort the new version before it. Then nothing
-- is inserted and the caller runs a new transaction (with a newer id).
WITH behind AS (
    SELECT 1 FROM events
    WHERE stream_id = $3 AND version = $4 AND tx_id > pg_current_xact_id()
), appended AS (
    INSERT INTO events (event_id, tenant_id, stream_type, stream_id, version, event_type,
                        schema_version, payload, actor, correlation_id, causation_id, traceparent)
    SELECT e.event_id, $1, $2, $3, $4 + e.ordinal, e.event_type, e.schema_version, e.payload,
           $5, $6, $7, $8
    FROM unnest($9::uuid[], $10::text[], $11::int[], $12::bytea[])
         WITH ORDINALITY AS e(event_id, event_type, schema_version, payload, ordinal)
    WHERE NOT EXISTS (SELECT 1 FROM behind)
    ORDER BY e.ordinal
    RETURNING stream_id, version, position, tx_id, recorded_at
)
SELECT version, position, tx_id::text::bigint AS tx_id, recorded_at FROM appended ORDER BY version
