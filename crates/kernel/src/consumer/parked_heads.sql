-- Parked messages of one partition that are next in their stream and wait
-- behind no open dead letter, oldest first.
SELECT p.subject, p.stream_sequence, p.headers, p.payload, p.attempts
FROM parked_messages p
LEFT JOIN consumer_streams c ON c.consumer = p.consumer AND c.stream_id = p.stream_id
WHERE p.consumer = $1 AND p.partition = $2
  AND p.version = COALESCE(c.applied_version, 0) + 1
  AND NOT EXISTS (SELECT 1 FROM dead_letters d
                   WHERE d.consumer = p.consumer AND d.stream_id = p.stream_id AND d.resolved_at IS NULL)
ORDER BY p.stream_sequence
LIMIT $3
