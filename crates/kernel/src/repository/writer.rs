//! Group commit: concurrent commands of one aggregate type share a statement
//! and a commit.
//!
//! A few writer tasks each own a connection (no pool checkout per command).
//! A writer takes everything queued for it, up to [`MAX_BATCH`] commands,
//! with no artificial delay: while one statement runs, the next batch piles
//! up, so an idle service answers at once and a busy one pays one commit for
//! many commands. Streams are spread over the writers by id, and two commands
//! on the same stream never share a statement (the later waits for the next).
//!
//! Each command stays atomic on its own: when a combined statement fails (a
//! lost race, a taken email, a retried request), the writer runs its commands
//! again one at a time, so only the commands that fail alone fail.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};
use tokio::sync::{mpsc, oneshot};
use tracing::warn;
use uuid::Uuid;

use crate::error::{AppendError, StoreError};
use crate::store::{AppendedEvent, PendingAppend, WriteStatement};

/// The most commands combined into one statement.
const MAX_BATCH: usize = 64;
/// Commands queued per writer before submitters wait (back-pressure).
const QUEUE: usize = 1024;

type Reply = oneshot::Sender<Result<Vec<AppendedEvent>, AppendError>>;

struct Job {
    append: PendingAppend,
    reply: Reply,
}

/// The writers of one repository; dropping the last clone stops them.
pub(crate) struct Writers {
    queues: Vec<mpsc::Sender<Job>>,
}

impl Writers {
    /// Starts `count` writers (at least one) on connections from `pool`.
    /// Must be called within a tokio runtime.
    pub(crate) fn start(pool: PgPool, statement: Arc<WriteStatement>, count: usize) -> Self {
        let queues = (0..count.max(1))
            .map(|_| {
                let (sender, receiver) = mpsc::channel(QUEUE);
                let writer = Writer {
                    pool: pool.clone(),
                    statement: statement.clone(),
                    conn: None,
                };
                tokio::spawn(writer.run(receiver));
                sender
            })
            .collect();
        Self { queues }
    }

    /// Appends through the writer of the append's stream.
    pub(crate) async fn append(
        &self,
        append: PendingAppend,
    ) -> Result<Vec<AppendedEvent>, AppendError> {
        let shard = shard(append.stream_id, self.queues.len());
        let (reply, answer) = oneshot::channel();
        let stopped = || AppendError::Store(StoreError::Database(sqlx::Error::PoolClosed));
        self.queues[shard]
            .send(Job { append, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn shard(stream_id: Uuid, writers: usize) -> usize {
    (stream_id.as_u64_pair().1 % writers as u64) as usize
}

struct Writer {
    pool: PgPool,
    statement: Arc<WriteStatement>,
    /// Kept between batches; dropped after a failure that may have broken it.
    conn: Option<PoolConnection<Postgres>>,
}

impl Writer {
    async fn run(mut self, mut queue: mpsc::Receiver<Job>) {
        // Jobs taken from the queue that wait for a later batch, because a
        // command on their stream is in the current one.
        let mut deferred: VecDeque<Job> = VecDeque::new();
        loop {
            let first = match deferred.pop_front() {
                Some(job) => job,
                None => match queue.recv().await {
                    Some(job) => job,
                    None => return,
                },
            };
            let mut streams = HashSet::from([first.append.stream_id]);
            let mut batch = vec![first];
            let mut still_deferred = VecDeque::new();
            while batch.len() < MAX_BATCH {
                let Some(job) = deferred.pop_front().or_else(|| queue.try_recv().ok()) else {
                    break;
                };
                if streams.insert(job.append.stream_id) {
                    batch.push(job);
                } else {
                    still_deferred.push_back(job);
                }
            }
            still_deferred.extend(deferred);
            deferred = still_deferred;
            self.write(batch).await;
        }
    }

    async fn write(&mut self, batch: Vec<Job>) {
        let statement = self.statement.clone();
        let conn = match self.connection().await {
            Ok(conn) => conn,
            Err(error) => {
                let message = error.to_string();
                for job in batch {
                    let error = sqlx::Error::Protocol(message.clone());
                    job.reply.send(Err(AppendError::from(error))).ok();
                }
                return;
            }
        };
        let appends: Vec<&PendingAppend> = batch.iter().map(|job| &job.append).collect();
        let combined = statement.run(conn, &appends).await;
        match combined {
            Ok(results) => {
                for (job, appended) in batch.into_iter().zip(results) {
                    job.reply.send(Ok(appended)).ok();
                }
            }
            Err(error) if batch.len() == 1 => {
                self.forget_connection_after(&error);
                if let Some(job) = batch.into_iter().next() {
                    job.reply.send(Err(error)).ok();
                }
            }
            // One of them failed (or the connection did): each on its own.
            Err(error) => {
                self.forget_connection_after(&error);
                for job in batch {
                    let result = match self.connection().await {
                        Ok(conn) => {
                            let result = statement.run(conn, &[&job.append]).await;
                            if let Err(error) = &result {
                                self.forget_connection_after(error);
                            }
                            result.map(|mut appended| appended.pop().unwrap_or_default())
                        }
                        Err(error) => Err(AppendError::from(error)),
                    };
                    job.reply.send(result).ok();
                }
            }
        }
    }

    async fn connection(&mut self) -> Result<&mut PgConnection, sqlx::Error> {
        if self.conn.is_none() {
            self.conn = Some(self.pool.acquire().await?);
        }
        Ok(self.conn.as_mut().expect("just set"))
    }

    /// Drops the connection unless the error came from the database itself
    /// (which leaves the connection usable): a broken one is replaced.
    fn forget_connection_after(&mut self, error: &AppendError) {
        let from_database = match error {
            AppendError::Conflict { .. }
            | AppendError::DuplicateRequest { .. }
            | AppendError::OutOfOrder { .. }
            | AppendError::Constraint { .. } => true,
            AppendError::Store(StoreError::Database(error)) => error.as_database_error().is_some(),
            AppendError::Store(_) => true,
        };
        if !from_database && let Some(conn) = self.conn.take() {
            warn!("dropping a writer connection after a failure");
            drop(conn.detach());
        }
    }
}
