-- What each logged request asked for, so a request id reused for a different
-- request is refused instead of answered with another request's outcome:
-- the aggregate's stream type, the request's kind and a SHA-256 digest of its
-- content (see fingerprint.rs). NULL in rows logged before: those answer any
-- reuse with their outcome, as they always did. Adding nullable columns
-- without a default rewrites no rows.
ALTER TABLE command_log
    ADD COLUMN stream_type  text,
    ADD COLUMN command_kind text,
    ADD COLUMN fingerprint  bytea;
