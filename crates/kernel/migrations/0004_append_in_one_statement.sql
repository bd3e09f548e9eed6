-- Commands write their events, request log, snapshot and read-model rows in
-- one statement (see store/write.rs). An append whose transaction is older
-- than the one that wrote the stream's previous version would put the new
-- version before it in the global order; the statement then calls this to
-- fail as a whole, so nothing of it is written, with an error code the kernel
-- recognises (and retries in a new transaction).
CREATE FUNCTION refuse_append_behind(stream uuid) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'stream % was appended by a newer transaction', stream
        USING ERRCODE = 'TN001';
END
$$;
