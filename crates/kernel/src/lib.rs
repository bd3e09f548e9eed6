//! The event-sourcing kernel every Tenure service stands on.
//!
//! - [`aggregate`]: the pure domain model — `decide(state, command) -> events`,
//!   `evolve(state, event)` — and how events are encoded and upcast.
//! - [`store`]: the PostgreSQL event store — appends guarded by the expected
//!   version, loads from the latest snapshot, and a global reader in commit
//!   order that never skips an event ([`store::global`]).
//! - [`repository`]: load → decide → append in one transaction, with inline
//!   projections, idempotent request ids and retries on conflict.
//! - [`fingerprint`]: what a request asked for, so a request id reused for a
//!   different request is refused.
//! - [`projection`]: read models updated in the append transaction, and their
//!   rebuild from the events.
//! - [`relay`]: the relay that reads committed events in commit order and
//!   moves them to NATS JetStream, exactly once and in each stream's order.
//! - [`consumer`]: durable JetStream consumers applying each stream's events
//!   exactly once and in version order, with typed outcomes, parking and
//!   dead letters an operator can redrive or discard.
//! - [`partition`]: the partition of a stream, a token of every subject.
//! - [`lease`]: singleton work (the relay, consumer partitions) under leases.
//!
//! The kernel knows no gRPC and no service: services bring their aggregates,
//! projections and message handlers.

pub mod aggregate;
pub mod consumer;
pub mod error;
pub mod event;
pub mod fingerprint;
pub mod lease;
pub mod metadata;
pub mod partition;
pub mod projection;
pub mod relay;
pub mod repository;
pub mod store;

pub use aggregate::{Aggregate, CodecError, DomainEvent, EventData};
pub use error::{AppendError, CommandError, StoreError};
pub use event::{GlobalPosition, Recorded};
pub use fingerprint::RequestFingerprint;
pub use metadata::{CommandContext, EventMetadata};
pub use projection::InlineProjection;
pub use repository::{Executed, Loaded, Repository};
pub use store::{EventStore, StoreSettings};
