//! Why a relay attempt ended early.

use async_nats::jetstream::context::{PublishError, PublishErrorKind};

use crate::aggregate::EventData;
use crate::event::{GlobalPosition, Recorded};

#[derive(Debug, thiserror::Error)]
pub(crate) enum RelayError {
    #[error("cannot read events, held events or the checkpoint")]
    Database(#[from] sqlx::Error),
    #[error("JetStream did not take event {} at {}", event.event_id, event.position)]
    Publish {
        event: EventKey,
        #[source]
        source: PublishError,
    },
    #[error("reading events took longer than {limit:?}; starting over")]
    Hung { limit: std::time::Duration },
    #[error("cannot create, update or read the JetStream stream {stream}")]
    Stream {
        stream: String,
        #[source]
        source: async_nats::Error,
    },
}

/// What identifies a published event, enough to hold it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EventKey {
    pub event_id: uuid::Uuid,
    pub position: GlobalPosition,
    pub stream_id: uuid::Uuid,
    pub version: i64,
    pub tenant_id: uuid::Uuid,
}

impl EventKey {
    pub(crate) fn of(event: &Recorded<EventData>) -> Self {
        Self {
            event_id: event.event_id,
            position: event.global,
            stream_id: event.stream_id,
            version: event.version,
            tenant_id: event.metadata.tenant_id,
        }
    }
}

impl RelayError {
    /// A refusal that will not change by retrying: the event itself is the problem.
    pub(crate) fn refused(&self) -> Option<EventKey> {
        match self {
            RelayError::Publish { event, source }
                if matches!(
                    source.kind(),
                    PublishErrorKind::MaxPayloadExceeded | PublishErrorKind::Other
                ) =>
            {
                Some(*event)
            }
            _ => None,
        }
    }

    /// The stream moved on under this relay: another publisher, or a
    /// duplicate that took no sequence. Retried at once from a fresh sequence.
    pub(crate) fn is_sequence_mismatch(&self) -> bool {
        matches!(self, RelayError::Publish { source, .. } if source.kind() == PublishErrorKind::WrongLastSequence)
    }
}
