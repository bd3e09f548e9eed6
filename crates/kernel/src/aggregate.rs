//! The pure side of event sourcing: an aggregate decides which events a
//! command produces and evolves its state from events. No I/O happens here.

use serde::{Serialize, de::DeserializeOwned};

/// A consistency boundary whose state is the fold of its events.
///
/// `decide` and `evolve` are pure and synchronous: facts that need I/O are put
/// into the command before it reaches the aggregate.
pub trait Aggregate:
    Default + Clone + Send + Sync + Serialize + DeserializeOwned + 'static
{
    /// The kind of stream, e.g. `"employee"`; stored with every event.
    const STREAM_TYPE: &'static str;
    /// Bumped when the meaning of the state changes without its shape: e.g.
    /// `evolve` now counts something differently into the same field. Older
    /// snapshots are then ignored and the state is replayed from the events.
    ///
    /// A change of shape (a field added, removed or renamed) needs no bump: a
    /// snapshot is used only if it decodes into the state and that state
    /// encodes back to the same JSON value; otherwise, and when it cannot be
    /// decoded at all, the stream is replayed and a fresh snapshot written.
    const SNAPSHOT_VERSION: i32 = 1;

    type Event: DomainEvent;
    type Command: Send + Sync;
    /// A broken business rule, said in words a person understands.
    type Rejection: std::error::Error + Send + Sync + 'static;

    /// The events that `command` produces from this state, or the rule it breaks.
    fn decide(&self, command: &Self::Command) -> Result<Vec<Self::Event>, Self::Rejection>;

    /// This state after `event`. Must accept every event `decide` ever produced.
    fn evolve(&mut self, event: &Self::Event);
}

/// An event as stored: its type name, schema version and encoded payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventData {
    pub event_type: String,
    pub schema_version: i32,
    pub payload: Vec<u8>,
}

/// A domain event that knows how it is stored.
///
/// Payloads are typed bytes (protobuf in the services), never free-form JSON,
/// so personal fields can later be found and sealed.
pub trait DomainEvent: Clone + Send + Sync + Sized + 'static {
    /// The name stored with the event and used in the JetStream subject.
    fn event_type(&self) -> &'static str;

    /// The schema version this code writes.
    fn schema_version(&self) -> i32 {
        1
    }

    /// The payload as stored.
    fn encode(&self) -> Vec<u8>;

    /// Decodes an event already upcast to the current schema version.
    fn decode(data: &EventData) -> Result<Self, CodecError>;

    /// Turns an event written by an older schema version into the current one.
    /// Stored events are never rewritten; this runs on every read.
    fn upcast(data: EventData) -> Result<EventData, CodecError> {
        Ok(data)
    }

    /// Upcasts and decodes a stored event.
    fn from_stored(data: EventData) -> Result<Self, CodecError> {
        Self::decode(&Self::upcast(data)?)
    }
}

/// A stored event that this code cannot turn into a domain event.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("unknown event type {event_type:?}")]
    UnknownType { event_type: String },
    #[error(
        "event {event_type:?} has schema version {schema_version}, which this code cannot read"
    )]
    UnknownVersion {
        event_type: String,
        schema_version: i32,
    },
    #[error("event {event_type:?} has a malformed payload: {reason}")]
    Malformed { event_type: String, reason: String },
}
