-- The relay reads the events table in commit order (see relay/mod.rs) and
-- remembers how far it got in `checkpoints`, instead of every append queuing
-- its events in an outbox that the relay deletes row by row.

-- Events of streams the relay holds back: the one JetStream refused every
-- time (with `error`), and the later events of its stream, which wait behind
-- it so the stream's order holds. An operator clears the error; the relay
-- then publishes the stream's held events in version order and deletes them.
CREATE TABLE relay_held (
    stream_id  uuid NOT NULL,
    version    bigint NOT NULL,
    tenant_id  uuid NOT NULL,
    position   bigint NOT NULL UNIQUE,
    error      text,
    held_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_id, version)
);

-- Parked outbox rows and the rows of their streams behind them stay held.
INSERT INTO relay_held (stream_id, version, tenant_id, position, error, held_at)
SELECT p.stream_id, p.version, p.tenant_id, e.position, p.error, p.parked_at
FROM outbox_parked p JOIN events e ON e.stream_id = p.stream_id AND e.version = p.version;
INSERT INTO relay_held (stream_id, version, tenant_id, position)
SELECT o.stream_id, o.version, o.tenant_id, e.position
FROM outbox o JOIN events e ON e.stream_id = o.stream_id AND e.version = o.version
WHERE o.stream_id IN (SELECT stream_id FROM outbox_parked)
ON CONFLICT DO NOTHING;

-- The relay goes on just before the oldest event still in the outbox, so
-- nothing undelivered is lost (what was delivered after it goes again, and
-- JetStream's duplicate window or the consumers' inbox drop it), or after
-- the last event when the outbox is empty. The checkpoint is read as
-- "events after (tx_id, position)": one position less, in the same
-- transaction, is just before an event.
INSERT INTO checkpoints (name, tx_id, position)
SELECT 'relay', COALESCE(oldest.tx_id, newest.tx_id, 0), COALESCE(oldest.position - 1, newest.position, 0)
FROM (SELECT e.tx_id::text::bigint AS tx_id, e.position
      FROM outbox o JOIN events e ON e.stream_id = o.stream_id AND e.version = o.version
      WHERE o.stream_id NOT IN (SELECT stream_id FROM outbox_parked)
      ORDER BY e.tx_id, e.position LIMIT 1) AS oldest
FULL JOIN (SELECT e.tx_id::text::bigint AS tx_id, e.position
           FROM events e ORDER BY e.tx_id DESC, e.position DESC LIMIT 1) AS newest ON true
RIGHT JOIN (SELECT 1) AS one ON true
ON CONFLICT (name) DO NOTHING;

DROP TABLE outbox_parked;
DROP TABLE outbox;
