//! Events as they come back from the store: payload plus where and when they were recorded.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::metadata::EventMetadata;

/// A place in the service's global commit order.
///
/// Events are ordered by the id of the transaction that appended them, then by
/// their position. A reader only ever reads below a horizon of finished
/// appenders, so no event can later appear before one it has already read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GlobalPosition {
    pub tx_id: i64,
    pub position: i64,
}

impl GlobalPosition {
    /// Before the first event.
    pub const START: GlobalPosition = GlobalPosition {
        tx_id: 0,
        position: 0,
    };
}

impl std::fmt::Display for GlobalPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.tx_id, self.position)
    }
}

/// A recorded event: `E` is a domain event, or [`crate::EventData`] when raw.
#[derive(Debug, Clone)]
pub struct Recorded<E> {
    pub event_id: Uuid,
    pub global: GlobalPosition,
    pub stream_type: String,
    pub stream_id: Uuid,
    pub version: i64,
    pub recorded_at: DateTime<Utc>,
    pub metadata: EventMetadata,
    pub event: E,
}

impl<E> Recorded<E> {
    /// The same record around another representation of the event.
    pub fn map<F>(self, f: impl FnOnce(E) -> F) -> Recorded<F> {
        Recorded {
            event_id: self.event_id,
            global: self.global,
            stream_type: self.stream_type,
            stream_id: self.stream_id,
            version: self.version,
            recorded_at: self.recorded_at,
            metadata: self.metadata,
            event: f(self.event),
        }
    }

    /// The same record around another representation, or the conversion's error.
    pub fn try_map<F, Err>(self, f: impl FnOnce(E) -> Result<F, Err>) -> Result<Recorded<F>, Err> {
        let Recorded {
            event_id,
            global,
            stream_type,
            stream_id,
            version,
            recorded_at,
            metadata,
            event,
        } = self;
        Ok(Recorded {
            event_id,
            global,
            stream_type,
            stream_id,
            version,
            recorded_at,
            metadata,
            event: f(event)?,
        })
    }
}
