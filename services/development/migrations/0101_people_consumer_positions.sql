-- The people consumer now remembers, per employee, the last version it
-- applied (consumer_streams, kernel migration 0002) instead of message ids.
-- What it applied before is exactly people.last_event_version: start from
-- there, so that the new per-partition durable consumers, which deliver the
-- employees stream from its start, recognize those events as applied.
INSERT INTO consumer_streams (consumer, stream_id, tenant_id, applied_version)
SELECT 'development-people', employee_id, tenant_id, last_event_version FROM people
ON CONFLICT (consumer, stream_id) DO NOTHING;
