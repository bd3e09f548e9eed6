//! The command path: load → decide → append, with the aggregate's inline
//! projections, snapshots and request log in the same transaction.

mod cache;
mod restore;

pub use restore::{UnusableSnapshot, restore};

use std::sync::Arc;

use sqlx::PgConnection;
use tracing::{info, instrument, warn};
use uuid::Uuid;

use crate::aggregate::{Aggregate, DomainEvent};
use crate::error::{AppendError, CommandError, StoreError, chain};
use crate::event::Recorded;
use crate::metadata::CommandContext;
use crate::projection::InlineProjection;
use crate::store::{EventStore, PreviousOutcome, Snapshot};
use cache::StateCache;

/// How often a command is decided again when another append won the race and
/// the client did not ask for a specific version.
const DEFAULT_ATTEMPTS: usize = 5;

/// An aggregate's state as loaded, with what it cost.
#[derive(Debug, Clone)]
pub struct Loaded<A> {
    pub state: A,
    /// The stream's version: the number of events in it (0: no such stream).
    pub version: i64,
    /// The version of the snapshot the load started from, if any.
    pub snapshot_version: Option<i64>,
    /// How many events were read and applied after the snapshot.
    pub events_replayed: usize,
}

/// What a command did.
#[derive(Debug, Clone)]
pub struct Executed<A: Aggregate> {
    pub stream_id: Uuid,
    /// The stream's version after the command.
    pub version: i64,
    /// The events this execution appended: empty when nothing changed or when
    /// the request id was seen before.
    pub events: Vec<Recorded<A::Event>>,
    /// True when the request id had been executed before and nothing was appended now.
    pub replayed: bool,
}

/// Loads, decides and appends for one aggregate type.
pub struct Repository<A: Aggregate> {
    store: EventStore,
    projections: Vec<Arc<dyn InlineProjection<A::Event>>>,
    attempts: usize,
    cache: Arc<StateCache<A>>,
}

impl<A: Aggregate> Clone for Repository<A> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            projections: self.projections.clone(),
            attempts: self.attempts,
            cache: self.cache.clone(),
        }
    }
}

impl<A: Aggregate> Repository<A> {
    /// A repository whose state cache holds as many streams as the store's
    /// settings say.
    pub fn new(store: EventStore) -> Self {
        let capacity = store.settings().state_cache;
        Self {
            store,
            projections: Vec::new(),
            attempts: DEFAULT_ATTEMPTS,
            cache: Arc::new(StateCache::new(capacity)),
        }
    }

    /// Adds a read model that is updated in every append transaction.
    pub fn with_projection(mut self, projection: Arc<dyn InlineProjection<A::Event>>) -> Self {
        self.projections.push(projection);
        self
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    pub fn projections(&self) -> &[Arc<dyn InlineProjection<A::Event>>] {
        &self.projections
    }

    /// The current state of a stream, from its latest snapshot if that can be
    /// used (see [`Aggregate::SNAPSHOT_VERSION`]), else from its first event.
    pub async fn load(&self, tenant_id: Uuid, stream_id: Uuid) -> Result<Loaded<A>, StoreError> {
        let mut conn = self.store.pool().acquire().await?;
        self.load_with(&mut conn, tenant_id, stream_id).await
    }

    /// Like [`Self::load`], on the caller's connection or transaction.
    pub async fn load_with(
        &self,
        conn: &mut PgConnection,
        tenant_id: Uuid,
        stream_id: Uuid,
    ) -> Result<Loaded<A>, StoreError> {
        let raw = self
            .store
            .load_raw(conn, tenant_id, stream_id, Some(A::SNAPSHOT_VERSION))
            .await?;
        let (mut state, snapshot_version, events) = match raw.snapshot {
            None => (A::default(), None, raw.events),
            Some((version, bytes)) => match restore::<A>(&bytes) {
                Ok(state) => (state, Some(version), raw.events),
                // A snapshot only saves time: never fail a command for it.
                // The events before it were not read, so read them all.
                Err(unusable) => {
                    let error = chain(&unusable);
                    if unusable.is_undecodable() {
                        warn!(stream_type = A::STREAM_TYPE, %stream_id, snapshot_at = version, error,
                            "snapshot cannot be decoded; replaying the stream from its first event");
                    } else {
                        info!(stream_type = A::STREAM_TYPE, %stream_id, snapshot_at = version, error,
                            "snapshot has an older shape; replaying the stream from its first event");
                    }
                    let whole = self
                        .store
                        .load_raw(conn, tenant_id, stream_id, None)
                        .await?;
                    (A::default(), None, whole.events)
                }
            },
        };
        let mut version = snapshot_version.unwrap_or(0);
        let events_replayed = events.len();
        for (event_version, data) in events {
            let event = A::Event::from_stored(data).map_err(|source| StoreError::Codec {
                stream_id,
                version: event_version,
                source,
            })?;
            state.evolve(&event);
            version = event_version;
        }
        Ok(Loaded {
            state,
            version,
            snapshot_version,
            events_replayed,
        })
    }

    /// Executes `command` on a stream in a transaction of its own.
    ///
    /// Without an expected version a lost race is decided again on the fresh
    /// state; with one, the client's stale view is a [`CommandError::Conflict`].
    ///
    /// With a request id that ran before, the first outcome is returned and
    /// nothing is appended, if the logged request is this one: the same
    /// stream type and [`CommandContext::fingerprint`]; else
    /// [`CommandError::RequestMismatch`].
    #[instrument(skip_all, fields(stream_type = A::STREAM_TYPE, %stream_id))]
    pub async fn execute(
        &self,
        ctx: &CommandContext,
        stream_id: Uuid,
        command: &A::Command,
    ) -> Result<Executed<A>, CommandError<A::Rejection>> {
        if let Some(previous) = self.previous_outcome(ctx).await? {
            return Ok(previous);
        }
        let tenant_id = ctx.tenant_id();
        let mut trust_cache = true;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let known = self.known_state(ctx, stream_id, trust_cache);
            let from_cache = known.is_some();
            let mut tx = self.store.begin().await?;
            let outcome = self
                .decide_and_append(&mut tx, ctx, stream_id, command, known)
                .await;
            match outcome {
                Ok((executed, state)) if !executed.events.is_empty() => {
                    if let Err(error) = tx.commit().await {
                        self.cache.forget(tenant_id, stream_id);
                        return Err(error.into());
                    }
                    self.cache
                        .put(tenant_id, stream_id, state, executed.version);
                    self.store.signal().appended();
                    return Ok(executed);
                }
                // Nothing to append, or a rule broken: a cached state may be
                // stale, so only a freshly loaded one may say so.
                Ok(_) | Err(Attempt::Failed(CommandError::Rejected(_))) if from_cache => {
                    tx.rollback().await?;
                    self.cache.forget(tenant_id, stream_id);
                    trust_cache = false;
                }
                Ok((executed, _)) => {
                    tx.commit().await?;
                    return Ok(executed);
                }
                Err(Attempt::Lost { expected }) => {
                    tx.rollback().await?;
                    self.cache.forget(tenant_id, stream_id);
                    trust_cache = false;
                    // The race may have been lost to a retry of this very request.
                    if let Some(previous) = self.previous_outcome(ctx).await? {
                        return Ok(previous);
                    }
                    if ctx.expected_version.is_none() && attempt < self.attempts {
                        continue;
                    }
                    let actual = self.load(tenant_id, stream_id).await?.version;
                    if ctx.expected_version.is_some_and(|e| e == actual) && attempt < self.attempts
                    {
                        continue; // the cache was stale, not the client
                    }
                    return Err(CommandError::Conflict {
                        stream_id,
                        expected,
                        actual,
                    });
                }
                // A new transaction has a newer id: the next attempt is in order.
                Err(Attempt::Behind { stream_id }) => {
                    tx.rollback().await?;
                    if attempt >= self.attempts {
                        return Err(CommandError::OutOfOrder { stream_id });
                    }
                }
                Err(Attempt::DuplicateRequest) => {
                    tx.rollback().await?;
                    return match self.previous_outcome(ctx).await? {
                        Some(previous) => Ok(previous),
                        None => Err(CommandError::Store(StoreError::Database(
                            sqlx::Error::RowNotFound,
                        ))),
                    };
                }
                Err(Attempt::Failed(error)) => return Err(error),
            }
        }
    }

    /// The state to decide on without loading it, if it is known: a new
    /// stream when the client expects version 0, else a cached state at the
    /// version the client expects (if any).
    fn known_state(
        &self,
        ctx: &CommandContext,
        stream_id: Uuid,
        trust_cache: bool,
    ) -> Option<(A, i64)> {
        // Once a known state led to no append, only the stored state decides.
        if !trust_cache {
            return None;
        }
        if ctx.expected_version == Some(0) {
            return Some((A::default(), 0));
        }
        self.cache
            .get(ctx.tenant_id(), stream_id)
            .filter(|(_, version)| {
                ctx.expected_version
                    .is_none_or(|expected| expected == *version)
            })
    }

    /// Executes `command` inside the caller's transaction (one that came from
    /// [`EventStore::begin`]), as reactions do: the effect commits or rolls
    /// back with the caller's other work. Lost races are retried in a savepoint.
    /// A request id is handled as in [`Self::execute`], and also sees the
    /// requests this transaction logged.
    pub async fn execute_in(
        &self,
        tx: &mut PgConnection,
        ctx: &CommandContext,
        stream_id: Uuid,
        command: &A::Command,
    ) -> Result<Executed<A>, CommandError<A::Rejection>> {
        if let Some(previous) = self.previous_outcome_in(tx, ctx).await? {
            return Ok(previous);
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
            match self
                .decide_and_append(&mut savepoint, ctx, stream_id, command, None)
                .await
            {
                Ok((executed, _)) => {
                    savepoint.commit().await?;
                    // The caller may still roll back: let the next command load.
                    self.cache.forget(ctx.tenant_id(), stream_id);
                    return Ok(executed);
                }
                Err(Attempt::Lost { .. })
                    if attempt < self.attempts && ctx.expected_version.is_none() =>
                {
                    savepoint.rollback().await?;
                }
                Err(Attempt::Lost { expected }) => {
                    savepoint.rollback().await?;
                    let actual = self
                        .load_with(tx, ctx.tenant_id(), stream_id)
                        .await?
                        .version;
                    return Err(CommandError::Conflict {
                        stream_id,
                        expected,
                        actual,
                    });
                }
                // Retrying in this transaction cannot help: it keeps its id.
                Err(Attempt::Behind { stream_id }) => {
                    savepoint.rollback().await?;
                    self.cache.forget(ctx.tenant_id(), stream_id);
                    return Err(CommandError::OutOfOrder { stream_id });
                }
                // A concurrent execution of the request id committed first.
                Err(Attempt::DuplicateRequest) => {
                    savepoint.rollback().await?;
                    return match self.previous_outcome_in(tx, ctx).await? {
                        Some(previous) => Ok(previous),
                        None => Err(CommandError::Store(StoreError::Database(
                            sqlx::Error::RowNotFound,
                        ))),
                    };
                }
                Err(Attempt::Failed(error)) => {
                    savepoint.rollback().await.ok();
                    return Err(error);
                }
            }
        }
    }

    /// One attempt: load in the transaction, decide, append, project, log, snapshot.
    /// On a known state (new stream, cache), the append's version key is
    /// the only check needed; otherwise the stream is loaded in the transaction.
    async fn decide_and_append(
        &self,
        conn: &mut PgConnection,
        ctx: &CommandContext,
        stream_id: Uuid,
        command: &A::Command,
        known: Option<(A, i64)>,
    ) -> Result<(Executed<A>, A), Attempt<A::Rejection>> {
        let tenant_id = ctx.tenant_id();
        let (state, current, replayed) = match known {
            Some((state, version)) => (state, version, 0),
            None => {
                let loaded = self
                    .load_with(conn, tenant_id, stream_id)
                    .await
                    .map_err(failed)?;
                (loaded.state, loaded.version, loaded.events_replayed)
            }
        };
        if let Some(expected) = ctx.expected_version
            && expected != current
        {
            return Err(Attempt::Failed(CommandError::Conflict {
                stream_id,
                expected,
                actual: current,
            }));
        }
        let events = state
            .decide(command)
            .map_err(|r| Attempt::Failed(CommandError::Rejected(r)))?;
        if events.is_empty() {
            let executed = Executed {
                stream_id,
                version: current,
                events: Vec::new(),
                replayed: false,
            };
            return Ok((executed, state));
        }
        let mut state = state;
        for event in &events {
            state.evolve(event);
        }
        let version = current + events.len() as i64;

        let recorded = self
            .store
            .append(
                conn,
                A::STREAM_TYPE,
                stream_id,
                current,
                &ctx.metadata,
                &events,
            )
            .await
            .map_err(Attempt::from)?;
        // The request log first: a concurrent retry of the same request
        // must meet it before any read model's constraint.
        if let Some(request_id) = &ctx.request_id {
            let outcome = PreviousOutcome {
                stream_id,
                version,
                stream_type: Some(A::STREAM_TYPE.to_owned()),
                fingerprint: ctx.fingerprint.clone(),
            };
            self.store
                .record_request(conn, tenant_id, request_id, &outcome)
                .await
                .map_err(Attempt::from)?;
        }
        for projection in &self.projections {
            projection
                .apply(conn, &recorded)
                .await
                .map_err(|e| Attempt::from(AppendError::from(e)))?;
        }
        let every = self.store.settings().snapshot_every.max(1);
        // At every multiple of `every`, and after a load that replayed at
        // least as many events (its snapshot could not be used, or
        // `snapshot_every` was lowered), so the next load is short again.
        if current / every != version / every || replayed as i64 >= every {
            let bytes = serde_json::to_vec(&state)
                .map_err(|source| failed(StoreError::Snapshot { stream_id, source }))?;
            let snapshot = Snapshot {
                tenant_id,
                stream_type: A::STREAM_TYPE,
                stream_id,
                snapshot_version: A::SNAPSHOT_VERSION,
                version,
                state: &bytes,
            };
            self.store
                .save_snapshot(conn, snapshot)
                .await
                .map_err(failed)?;
        }
        Ok((
            Executed {
                stream_id,
                version,
                events: recorded,
                replayed: false,
            },
            state,
        ))
    }

    /// The first outcome of the context's request id, if it ran before.
    async fn previous_outcome(
        &self,
        ctx: &CommandContext,
    ) -> Result<Option<Executed<A>>, CommandError<A::Rejection>> {
        let Some(request_id) = &ctx.request_id else {
            return Ok(None);
        };
        let previous = self.store.find_request(ctx.tenant_id(), request_id).await?;
        Self::replay(ctx, request_id, previous)
    }

    /// Like [`Self::previous_outcome`], in the caller's transaction.
    async fn previous_outcome_in(
        &self,
        tx: &mut PgConnection,
        ctx: &CommandContext,
    ) -> Result<Option<Executed<A>>, CommandError<A::Rejection>> {
        let Some(request_id) = &ctx.request_id else {
            return Ok(None);
        };
        let previous = self
            .store
            .find_request_in(tx, ctx.tenant_id(), request_id)
            .await?;
        Self::replay(ctx, request_id, previous)
    }

    /// The logged outcome as this execution's, if the logged request is this
    /// one. A retried request gets that outcome whatever stream it names now:
    /// a retried hire, say, names a newly drawn id but means the employee
    /// hired first, which is why fingerprints leave drawn ids out.
    fn replay(
        ctx: &CommandContext,
        request_id: &str,
        previous: Option<PreviousOutcome>,
    ) -> Result<Option<Executed<A>>, CommandError<A::Rejection>> {
        let Some(previous) = previous else {
            return Ok(None);
        };
        if !previous.is_same_request(A::STREAM_TYPE, ctx.fingerprint.as_ref()) {
            return Err(CommandError::RequestMismatch {
                request_id: request_id.to_owned(),
            });
        }
        Ok(Some(Executed {
            stream_id: previous.stream_id,
            version: previous.version,
            events: Vec::new(),
            replayed: true,
        }))
    }
}

/// The outcome of one attempt, before the retry policy is applied.
enum Attempt<R: std::error::Error + 'static> {
    Lost {
        expected: i64,
    },
    /// The transaction is older than the stream's last append.
    Behind {
        stream_id: Uuid,
    },
    DuplicateRequest,
    Failed(CommandError<R>),
}

fn failed<R: std::error::Error + 'static>(error: StoreError) -> Attempt<R> {
    Attempt::Failed(CommandError::Store(error))
}

impl<R: std::error::Error + 'static> From<AppendError> for Attempt<R> {
    fn from(error: AppendError) -> Self {
        match error {
            AppendError::Conflict { expected, .. } => Attempt::Lost { expected },
            AppendError::OutOfOrder { stream_id } => Attempt::Behind { stream_id },
            AppendError::DuplicateRequest { .. } => Attempt::DuplicateRequest,
            AppendError::Constraint { constraint, .. } => {
                Attempt::Failed(CommandError::Constraint { constraint })
            }
            AppendError::Store(error) => Attempt::Failed(CommandError::Store(error)),
        }
    }
}
