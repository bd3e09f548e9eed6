-- The commit-order horizon: every appender with a transaction id below it has
-- finished. Running appenders are the transactions in this statement's snapshot
-- (xip) whose backend holds the appenders' shared advisory lock. A transaction
-- that holds an id but is no appender (idle in transaction elsewhere) does not
-- count, so it cannot stall readers.
--
-- The snapshot is taken when the statement starts, before pg_locks is read, so
-- an appender that is in the snapshot but no longer holds the lock has already
-- committed or aborted, and is visible to the next statement.
--
-- An appender's id comes from pg_locks too: every transaction with an id holds
-- an ExclusiveLock on its own `transactionid` (min: a subtransaction's id is
-- larger than its top-level one). pg_locks is read afresh on every call,
-- unlike pg_stat_activity, which is cached for the rest of a transaction and
-- would let a second call in one transaction miss an appender. These are
-- 32-bit xids: running transactions are within 2^31 of each other, so the low
-- 32 bits of the xid8 identify them.
WITH snap AS MATERIALIZED (
    SELECT pg_current_snapshot() AS s
), appenders AS MATERIALIZED (
    SELECT min(t.transactionid::text::bigint) AS xid32
    FROM pg_locks a
    JOIN pg_locks t
      ON t.pid = a.pid AND t.locktype = 'transactionid' AND t.mode = 'ExclusiveLock' AND t.granted
    WHERE a.locktype = 'advisory'
      AND a.granted
      AND a.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND a.classid::bigint = $1
      AND a.objid::bigint = $2
      AND a.objsubid = 2
    GROUP BY a.pid
)
SELECT COALESCE(
    (SELECT min(x::text::bigint)
       FROM snap, pg_snapshot_xip(snap.s) AS x
      WHERE x::text::bigint % 4294967296 IN (SELECT xid32 FROM appenders)),
    (SELECT pg_snapshot_xmax(s)::text::bigint FROM snap)
) AS horizon
