-- A stream's latest usable snapshot (kind 0) and the events after it (kind 1),
-- in one round trip. A NULL snapshot version matches no snapshot: the whole
-- stream is read.
WITH snap AS (
    SELECT version, state FROM snapshots
    WHERE stream_id = $1 AND tenant_id = $2 AND snapshot_version = $3
)
SELECT 0 AS kind, version, NULL::text AS event_type, NULL::int AS schema_version, state AS data
FROM snap
UNION ALL
SELECT 1, e.version, e.event_type, e.schema_version, e.payload
FROM events e
WHERE e.stream_id = $1 AND e.tenant_id = $2
  AND e.version > COALESCE((SELECT version FROM snap), 0)
ORDER BY kind, version
