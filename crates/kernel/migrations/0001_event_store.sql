-- The event store of one service. Every table lives in the service's own schema
-- (the connection's search_path) and carries the tenant of its rows.

-- Events, append-only. (stream_id, version) is the optimistic-concurrency guard:
-- two appends of the same version race on this key and exactly one wins.
-- tx_id is the appending transaction's id; commit order for global readers is
-- (tx_id, position), read only below a horizon of finished appenders (see global.rs).
CREATE TABLE events (
    position        bigint GENERATED ALWAYS AS IDENTITY,
    tx_id           xid8 NOT NULL DEFAULT pg_current_xact_id(),
    event_id        uuid NOT NULL,
    tenant_id       uuid NOT NULL,
    stream_type     text NOT NULL,
    stream_id       uuid NOT NULL,
    version         bigint NOT NULL CHECK (version > 0),
    event_type      text NOT NULL,
    schema_version  integer NOT NULL CHECK (schema_version > 0),
    payload         bytea NOT NULL,
    actor           text NOT NULL,
    correlation_id  uuid NOT NULL,
    causation_id    uuid,
    traceparent     text,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_id, version)
);
CREATE INDEX events_commit_order ON events (tx_id, position);

-- The latest snapshot of a stream's state; ignored when its snapshot_version
-- differs from the aggregate's current one.
CREATE TABLE snapshots (
    stream_id        uuid PRIMARY KEY,
    tenant_id        uuid NOT NULL,
    stream_type      text NOT NULL,
    snapshot_version integer NOT NULL,
    version          bigint NOT NULL,
    state            bytea NOT NULL,
    taken_at         timestamptz NOT NULL DEFAULT now()
);

-- Events waiting to be published to JetStream. Written in the append transaction,
-- deleted by the relay only after JetStream acknowledged them.
CREATE TABLE outbox (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id  uuid NOT NULL,
    stream_id  uuid NOT NULL,
    version    bigint NOT NULL
);

-- Messages a consumer has applied, recorded in the same transaction as their
-- effect, so that a redelivery has no second effect.
CREATE TABLE inbox (
    consumer        text NOT NULL,
    message_id      uuid NOT NULL,
    tenant_id       uuid,
    stream_sequence bigint NOT NULL,
    processed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);

-- Messages a consumer gave up on after repeated failures, with the last error.
CREATE TABLE dead_letters (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer        text NOT NULL,
    message_id      uuid,
    tenant_id       uuid,
    subject         text NOT NULL,
    stream_sequence bigint NOT NULL,
    attempts        integer NOT NULL,
    error           text NOT NULL,
    headers         jsonb NOT NULL,
    payload         bytea NOT NULL,
    failed_at       timestamptz NOT NULL DEFAULT now()
);

-- Where a global reader (a catch-up projection, a feed) stands in commit order.
CREATE TABLE checkpoints (
    name        text PRIMARY KEY,
    tx_id       bigint NOT NULL,
    position    bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Idempotency: the outcome of every command that carried a request id.
CREATE TABLE command_log (
    tenant_id   uuid NOT NULL,
    request_id  text NOT NULL,
    stream_id   uuid NOT NULL,
    version     bigint NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, request_id)
);
