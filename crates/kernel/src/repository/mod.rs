//! The command path: load (unless the state is known) → decide → one
//! statement writing the events with the aggregate's inline projection rows,
//! snapshot and request log, combined with concurrent commands' statements.

mod cache;
mod restore;
mod writer;

pub use restore::{UnusableSnapshot, restore};

use std::sync::{Arc, OnceLock};

use sqlx::PgConnection;
use tracing::{info, instrument, warn};
use uuid::Uuid;

use crate::aggregate::{Aggregate, DomainEvent};
use crate::error::{AppendError, CommandError, StoreError, chain};
use crate::event::{GlobalPosition, Recorded};
use crate::metadata::{CommandContext, EventMetadata};
use crate::projection::{Appending, InlineProjection, RowUpsert};
use crate::store::{
    AppendedEvent, EventStore, PendingAppend, PendingEvent, PendingRequest, PendingSnapshot,
    PreviousOutcome, WriteStatement,
};
use cache::StateCache;
use writer::Writers;

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
    projections: Vec<Arc<dyn InlineProjection<A>>>,
    attempts: usize,
    cache: Arc<StateCache<A>>,
    shared: Arc<Shared>,
}

/// Made at the first command, once the projections are known, and shared by clones.
#[derive(Default)]
struct Shared {
    statement: OnceLock<Arc<WriteStatement>>,
    writers: OnceLock<Writers>,
}

impl<A: Aggregate> Clone for Repository<A> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            projections: self.projections.clone(),
            attempts: self.attempts,
            cache: self.cache.clone(),
            shared: self.shared.clone(),
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
            shared: Arc::default(),
        }
    }

    /// Adds a read model that every append writes in its statement.
    pub fn with_projection(mut self, projection: Arc<dyn InlineProjection<A>>) -> Self {
        self.projections.push(projection);
        // The statement names every read model: make it again.
        self.shared = Arc::default();
        self
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    pub fn projections(&self) -> &[Arc<dyn InlineProjection<A>>] {
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

    /// Executes `command` on a stream, its writes combined with concurrent
    /// commands' into one statement and one commit (see `writer.rs`).
    ///
    /// Without an expected version a lost race is decided again on the fresh
    /// state; with one, the client's stale view is a [`CommandError::Conflict`].
    ///
    /// With a request id that ran before, the first outcome is returned and
    /// nothing is appended, if the logged request is this one: the same
    /// stream type and [`CommandContext::fingerprint`]; else
    /// [`CommandError::RequestMismatch`]. The log is read only when it can
    /// matter: when the command appends nothing, is refused, or its append
    /// meets the logged request id.
    #[instrument(skip_all, fields(stream_type = A::STREAM_TYPE, %stream_id))]
    pub async fn execute(
        &self,
        ctx: &CommandContext,
        stream_id: Uuid,
        command: &A::Command,
    ) -> Result<Executed<A>, CommandError<A::Rejection>> {
        let tenant_id = ctx.tenant_id();
        let mut trust_cache = true;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let known = self.known_state(ctx, stream_id, trust_cache);
            let from_cache = known.is_some();
            let (before, current, replayed) = match known {
                Some((state, version)) => (state, version, 0),
                None => {
                    let loaded = self.load(tenant_id, stream_id).await?;
                    (loaded.state, loaded.version, loaded.events_replayed)
                }
            };
            let decided = self.decide(ctx, stream_id, command, before, current, replayed);
            let (append, events, after) = match decided {
                Ok(Decided::Append {
                    append,
                    events,
                    after,
                }) => (append, events, after),
                // Nothing to append, or a rule broken: a cached state may be
                // stale, so only a freshly loaded one may say so.
                Ok(Decided::Unchanged) | Err(CommandError::Rejected(_)) if from_cache => {
                    self.cache.forget(tenant_id, stream_id);
                    trust_cache = false;
                    continue;
                }
                Ok(Decided::Unchanged) => {
                    if let Some(previous) = self.previous_outcome(ctx).await? {
                        return Ok(previous);
                    }
                    return Ok(Executed::unchanged(stream_id, current));
                }
                // A retried request meets the state its first execution left:
                // refused or at another version, it still gets its outcome.
                Err(error) => {
                    if let Some(previous) = self.previous_outcome(ctx).await? {
                        return Ok(previous);
                    }
                    return Err(error);
                }
            };
            let (version, metadata, ids) = append.identity();
            match self.writers().append(*append).await {
                Ok(appended) => {
                    self.cache.put(tenant_id, stream_id, after, version);
                    self.store.signal().appended();
                    let executed =
                        Executed::appended(stream_id, version, metadata, ids, events, appended);
                    return Ok(executed);
                }
                Err(AppendError::Conflict { expected, .. }) => {
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
                // A new statement has a newer transaction id: the next attempt is in order.
                Err(AppendError::OutOfOrder { stream_id }) => {
                    if attempt >= self.attempts {
                        return Err(CommandError::OutOfOrder { stream_id });
                    }
                }
                Err(AppendError::DuplicateRequest { .. }) => {
                    return match self.previous_outcome(ctx).await? {
                        Some(previous) => Ok(previous),
                        None => Err(CommandError::Store(StoreError::Database(
                            sqlx::Error::RowNotFound,
                        ))),
                    };
                }
                Err(error) => {
                    // Whether it was written is unknown (a lost connection):
                    // the next command loads.
                    self.cache.forget(tenant_id, stream_id);
                    return Err(command_error(error));
                }
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
        let tenant_id = ctx.tenant_id();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let loaded = self.load_with(tx, tenant_id, stream_id).await?;
            let decided = self.decide(
                ctx,
                stream_id,
                command,
                loaded.state,
                loaded.version,
                loaded.events_replayed,
            )?;
            let Decided::Append { append, events, .. } = decided else {
                return Ok(Executed::unchanged(stream_id, loaded.version));
            };
            let (version, metadata, ids) = append.identity();
            let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
            let written = self.statement().run(&mut savepoint, &[&append]).await;
            match written {
                Ok(mut appended) => {
                    savepoint.commit().await?;
                    // The caller may still roll back: let the next command load.
                    self.cache.forget(tenant_id, stream_id);
                    let appended = appended.pop().unwrap_or_default();
                    let executed =
                        Executed::appended(stream_id, version, metadata, ids, events, appended);
                    return Ok(executed);
                }
                Err(AppendError::Conflict { .. })
                    if attempt < self.attempts && ctx.expected_version.is_none() =>
                {
                    savepoint.rollback().await?;
                }
                Err(AppendError::Conflict { expected, .. }) => {
                    savepoint.rollback().await?;
                    let actual = self.load_with(tx, tenant_id, stream_id).await?.version;
                    return Err(CommandError::Conflict {
                        stream_id,
                        expected,
                        actual,
                    });
                }
                // Retrying in this transaction cannot help: it keeps its id.
                Err(AppendError::OutOfOrder { stream_id }) => {
                    savepoint.rollback().await?;
                    self.cache.forget(tenant_id, stream_id);
                    return Err(CommandError::OutOfOrder { stream_id });
                }
                // A concurrent execution of the request id committed first.
                Err(AppendError::DuplicateRequest { .. }) => {
                    savepoint.rollback().await?;
                    return match self.previous_outcome_in(tx, ctx).await? {
                        Some(previous) => Ok(previous),
                        None => Err(CommandError::Store(StoreError::Database(
                            sqlx::Error::RowNotFound,
                        ))),
                    };
                }
                Err(error) => {
                    savepoint.rollback().await.ok();
                    return Err(command_error(error));
                }
            }
        }
    }

    /// Decides `command` on `before` (at version `current`) and, if it
    /// appends, prepares everything the statement writes: the encoded events,
    /// the request log entry, the read models' rows and a snapshot when due.
    fn decide(
        &self,
        ctx: &CommandContext,
        stream_id: Uuid,
        command: &A::Command,
        before: A,
        current: i64,
        replayed: usize,
    ) -> Result<Decided<A>, CommandError<A::Rejection>> {
        if let Some(expected) = ctx.expected_version
            && expected != current
        {
            return Err(CommandError::Conflict {
                stream_id,
                expected,
                actual: current,
            });
        }
        let events = before.decide(command).map_err(CommandError::Rejected)?;
        if events.is_empty() {
            return Ok(Decided::Unchanged);
        }
        let tenant_id = ctx.tenant_id();
        let mut after = before.clone();
        for event in &events {
            after.evolve(event);
        }
        let version = current + events.len() as i64;

        let appending: Vec<Appending<'_, A::Event>> = events
            .iter()
            .enumerate()
            .map(|(offset, event)| Appending {
                tenant_id,
                stream_id,
                version: current + 1 + offset as i64,
                event,
            })
            .collect();
        let mut rows = vec![Vec::new(); self.statement().slots()];
        let mut first_slot = 0;
        for projection in &self.projections {
            let projected = projection.rows(&before, &appending).map_err(|source| {
                CommandError::Store(StoreError::ProjectionRows { stream_id, source })
            })?;
            for row in projected {
                rows[first_slot + row.table].push(row.values);
            }
            first_slot += projection.upserts().len();
        }

        let every = self.store.settings().snapshot_every.max(1);
        // At every multiple of `every`, and after a load that replayed at
        // least as many events (its snapshot could not be used, or
        // `snapshot_every` was lowered), so the next load is short again.
        let snapshot = if current / every != version / every || replayed as i64 >= every {
            let state = serde_json::to_vec(&after).map_err(|source| {
                CommandError::Store(StoreError::Snapshot { stream_id, source })
            })?;
            Some(PendingSnapshot {
                snapshot_version: A::SNAPSHOT_VERSION,
                state,
            })
        } else {
            None
        };
        let append = PendingAppend {
            stream_id,
            expected_version: current,
            metadata: ctx.metadata.clone(),
            events: events
                .iter()
                .map(|event| PendingEvent {
                    event_id: Uuid::now_v7(),
                    event_type: event.event_type(),
                    schema_version: event.schema_version(),
                    payload: event.encode(),
                })
                .collect(),
            request: ctx.request_id.as_ref().map(|request_id| PendingRequest {
                request_id: request_id.clone(),
                fingerprint: ctx.fingerprint.clone(),
            }),
            snapshot,
            rows,
        };
        Ok(Decided::Append {
            append: Box::new(append),
            events,
            after,
        })
    }

    /// The statement of this aggregate type and its read models, made once.
    fn statement(&self) -> &Arc<WriteStatement> {
        self.shared.statement.get_or_init(|| {
            let upserts: Vec<RowUpsert> = self
                .projections
                .iter()
                .flat_map(|projection| projection.upserts().iter().copied())
                .collect();
            Arc::new(WriteStatement::new(
                A::STREAM_TYPE,
                self.store.appender_lock(),
                &upserts,
            ))
        })
    }

    /// The writers, started at the first command.
    fn writers(&self) -> &Writers {
        self.shared.writers.get_or_init(|| {
            Writers::start(
                self.store.pool().clone(),
                self.statement().clone(),
                self.store.settings().writers,
            )
        })
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

/// What deciding a command came to, when it broke no rule.
enum Decided<A: Aggregate> {
    /// The command changes nothing.
    Unchanged,
    /// The writes to make; `after` is the state they lead to.
    Append {
        append: Box<PendingAppend>,
        events: Vec<A::Event>,
        after: A,
    },
}

impl<A: Aggregate> Executed<A> {
    fn unchanged(stream_id: Uuid, version: i64) -> Self {
        Self {
            stream_id,
            version,
            events: Vec::new(),
            replayed: false,
        }
    }

    fn appended(
        stream_id: Uuid,
        version: i64,
        metadata: EventMetadata,
        event_ids: Vec<Uuid>,
        events: Vec<A::Event>,
        appended: Vec<AppendedEvent>,
    ) -> Self {
        let events = events
            .into_iter()
            .zip(event_ids)
            .zip(appended)
            .map(|((event, event_id), at)| Recorded {
                event_id,
                global: GlobalPosition {
                    tx_id: at.tx_id,
                    position: at.position,
                },
                stream_type: A::STREAM_TYPE.to_owned(),
                stream_id,
                version: at.version,
                recorded_at: at.recorded_at,
                metadata: metadata.clone(),
                event,
            })
            .collect();
        Self {
            stream_id,
            version,
            events,
            replayed: false,
        }
    }
}

/// An append's failure as the command's.
fn command_error<R: std::error::Error + 'static>(error: AppendError) -> CommandError<R> {
    match error {
        AppendError::Conflict {
            stream_id,
            expected,
        } => CommandError::Conflict {
            stream_id,
            expected,
            actual: expected,
        },
        AppendError::OutOfOrder { stream_id } => CommandError::OutOfOrder { stream_id },
        AppendError::DuplicateRequest { request_id } => {
            CommandError::RequestMismatch { request_id }
        }
        AppendError::Constraint { constraint, .. } => CommandError::Constraint { constraint },
        AppendError::Store(error) => CommandError::Store(error),
    }
}
