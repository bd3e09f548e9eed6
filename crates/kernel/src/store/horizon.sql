-- The commit-order horizon: every appender with a transaction id below it has
-- finished. Running appenders are the transactions in this statement's snapshot
-- (xip) whose backend holds the appenders' shared advisory lock. A transaction
-- that holds an id but is no appender (idle in transaction elsewhere) does not
-- count, so it cannot stall readers.
--
-- The snapshot is taken when the statement starts, before pg_locks and
-- pg_stat_activity are read, so an appender that is in the snapshot but no
-- longer holds the lock has already committed or aborted, and is visible to the
-- next statement. backend_xid is a 32-bit xid: running transactions are within
-- 2^31 of each other, so the low 32 bits of the xid8 identify them.
WITH snap AS MATERIALIZED (
    SELECT pg_current_snapshot() AS s
), appenders AS MATERIALIZED (
    SELECT a.backend_xid::text::bigint AS xid32
    FROM pg_locks l
    JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory'
      AND l.granted
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid::bigint = $1
      AND l.objid::bigint = $2
      AND l.objsubid = 2
      AND a.backend_xid IS NOT NULL
)
SELECT COALESCE(
    (SELECT min(x::text::bigint)
       FROM snap, pg_snapshot_xip(snap.s) AS x
      WHERE x::text::bigint % 4294967296 IN (SELECT xid32 FROM appenders)),
    (SELECT pg_snapshot_xmax(s)::text::bigint FROM snap)
) AS horizon
