//! The service's JetStream stream: created or brought in line with the
//! settings, and asked where it ends.

use async_nats::jetstream::{self, stream};

use super::error::RelayError;
use super::{RelaySettings, headers};
use crate::event::GlobalPosition;

/// Creates the service's stream, or brings an existing one's replicas,
/// subjects and window in line with the settings.
pub(crate) async fn ensure(
    js: &jetstream::Context,
    settings: &RelaySettings,
) -> Result<(), RelayError> {
    js.create_or_update_stream(stream::Config {
        name: settings.stream_name.clone(),
        subjects: vec![settings.all_subjects()],
        duplicate_window: settings.duplicate_window,
        storage: settings.storage,
        num_replicas: settings.replicas,
        max_message_size: settings.max_message_size,
        ..Default::default()
    })
    .await
    .map_err(|e| stream_error(settings, e.into()))?;
    Ok(())
}

/// Where the stream ends.
pub(crate) struct End {
    /// The sequence of its last message: the next publish expects it.
    pub last_sequence: u64,
    /// The commit-order position of the event in its last message, when that
    /// message is one the relay published.
    pub last_position: Option<GlobalPosition>,
}

pub(crate) async fn end(
    js: &jetstream::Context,
    settings: &RelaySettings,
) -> Result<End, RelayError> {
    let mut stream = js
        .get_stream(&settings.stream_name)
        .await
        .map_err(|e| stream_error(settings, e.into()))?;
    let last_sequence = stream
        .info()
        .await
        .map_err(|e| stream_error(settings, e.into()))?
        .state
        .last_sequence;
    let last_position = if last_sequence == 0 {
        None
    } else {
        // Absent when the last message was deleted, or came from elsewhere:
        // then the checkpoint alone says where to go on.
        stream
            .get_raw_message(last_sequence)
            .await
            .ok()
            .and_then(|message| headers::get_position(&message.headers))
    };
    Ok(End {
        last_sequence,
        last_position,
    })
}

fn stream_error(settings: &RelaySettings, source: async_nats::Error) -> RelayError {
    RelayError::Stream {
        stream: settings.stream_name.clone(),
        source,
    }
}
