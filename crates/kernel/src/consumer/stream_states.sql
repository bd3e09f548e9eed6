-- For each stream of a batch: the version the consumer applied last (0: none
-- yet), the open dead letter it waits behind, and whether messages of it are parked.
SELECT s.stream_id,
       COALESCE(c.applied_version, 0) AS applied,
       (SELECT min(d.id) FROM dead_letters d
         WHERE d.consumer = $1 AND d.stream_id = s.stream_id AND d.resolved_at IS NULL) AS blocked_by,
       EXISTS (SELECT 1 FROM parked_messages p
                WHERE p.consumer = $1 AND p.stream_id = s.stream_id) AS has_parked
FROM unnest($2::uuid[]) AS s(stream_id)
LEFT JOIN consumer_streams c ON c.consumer = $1 AND c.stream_id = s.stream_id
