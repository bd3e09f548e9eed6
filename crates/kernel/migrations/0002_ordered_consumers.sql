-- Consumers apply each stream's events in version order, exactly once, and
-- never silently past a message they could not apply; singletons (the relay,
-- each consumer partition) run under leases.

-- Who runs a singleton task, until when. A holder renews its lease well
-- before it expires; a holder that hangs loses it to another replica, and
-- every transaction of the task checks the lease it runs under (FOR SHARE),
-- so a takeover waits for the old holder's transaction and fences it off.
CREATE TABLE leases (
    name        text PRIMARY KEY,
    holder      uuid NOT NULL,
    expires_at  timestamptz NOT NULL
);

-- Per consumer and stream, the last version applied (or skipped, or
-- discarded by an operator). A message at or below it is a redelivery; one
-- more than one above it waits (parked) for the versions between. One row per
-- stream, whatever the number of messages: this is the consumer's inbox, and
-- it recognizes a duplicate however late it comes.
CREATE TABLE consumer_streams (
    consumer         text NOT NULL,
    stream_id        uuid NOT NULL,
    tenant_id        uuid,
    applied_version  bigint NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, stream_id)
);

-- Messages that arrived before an earlier version of their stream was
-- applied: behind a gap (a redelivery still to come) or behind a dead letter.
-- They are applied, in version order, as soon as the version before them is.
CREATE TABLE parked_messages (
    consumer         text NOT NULL,
    stream_id        uuid NOT NULL,
    version          bigint NOT NULL,
    tenant_id        uuid,
    subject          text NOT NULL,
    stream_sequence  bigint NOT NULL,
    headers          jsonb NOT NULL,
    payload          bytea NOT NULL,
    -- The consumer partition the stream belongs to, so its owner finds them.
    partition        integer NOT NULL,
    -- Failed attempts to apply it once it was next in line.
    attempts         integer NOT NULL DEFAULT 0,
    parked_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, stream_id, version)
);
CREATE INDEX parked_messages_partition ON parked_messages (consumer, partition);

-- Dead letters know their stream, so that the stream's later messages park
-- behind an open one, and an operator can redrive or discard it.
ALTER TABLE dead_letters
    ADD COLUMN stream_id uuid,
    ADD COLUMN version bigint,
    ADD COLUMN resolved_at timestamptz,
    ADD COLUMN resolution text CHECK (resolution IN ('redriven', 'discarded'));
-- A redelivered unreadable message is dead-lettered once (earlier copies of
-- one message are folded into the first).
DELETE FROM dead_letters d USING dead_letters first
WHERE d.consumer = first.consumer AND d.stream_sequence = first.stream_sequence AND d.id > first.id
  AND d.stream_id IS NULL AND first.stream_id IS NULL;
CREATE UNIQUE INDEX dead_letters_once ON dead_letters (consumer, stream_sequence) WHERE stream_id IS NULL;
CREATE INDEX dead_letters_open ON dead_letters (consumer, stream_id) WHERE resolved_at IS NULL;

DROP TABLE inbox;

-- Outbox rows that JetStream refused every time (e.g. larger than the
-- server accepts). The relay holds back the later rows of their streams, so
-- per-stream order holds, and relays every other stream.
CREATE TABLE outbox_parked (
    id         bigint PRIMARY KEY,
    tenant_id  uuid NOT NULL,
    stream_id  uuid NOT NULL,
    version    bigint NOT NULL,
    error      text NOT NULL,
    parked_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_parked_stream ON outbox_parked (stream_id);
