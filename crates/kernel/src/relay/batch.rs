//! One relay batch: read the oldest outbox rows, publish them all before
//! awaiting any ack, delete the acknowledged prefix.

use async_nats::jetstream::{self, stream};
use bytes::Bytes;
use sqlx::FromRow;

use super::{RelaySettings, headers};
use crate::aggregate::EventData;
use crate::event::Recorded;
use crate::store::EventStore;

#[derive(Debug, thiserror::Error)]
pub(crate) enum RelayError {
    #[error("cannot read or delete outbox rows")]
    Database(#[from] sqlx::Error),
    #[error("JetStream did not take event {event_id}")]
    Publish {
        event_id: uuid::Uuid,
        #[source]
        source: async_nats::Error,
    },
    #[error("cannot create or update the JetStream stream")]
    Stream(#[source] async_nats::Error),
}

#[derive(FromRow)]
struct OutboxRow {
    outbox_id: i64,
    #[sqlx(flatten)]
    event: crate::store::record::EventRow,
}

/// Creates the service's stream if missing.
pub(crate) async fn ensure_stream(
    js: &jetstream::Context,
    settings: &RelaySettings,
) -> Result<(), RelayError> {
    js.get_or_create_stream(stream::Config {
        name: settings.stream_name.clone(),
        subjects: vec![settings.all_subjects()],
        duplicate_window: settings.duplicate_window,
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .map_err(|e| RelayError::Stream(e.into()))?;
    Ok(())
}

/// Publishes up to one batch; returns how many rows were relayed.
///
/// All publishes go out before the first ack is awaited. Rows are deleted up
/// to the first failed publish; that one and all after it stay for the next
/// attempt, which JetStream deduplicates where they had arrived.
pub(crate) async fn relay_batch(
    store: &EventStore,
    js: &jetstream::Context,
    settings: &RelaySettings,
) -> Result<usize, RelayError> {
    let sql = format!(
        "SELECT o.id AS outbox_id, {} FROM outbox o \
         JOIN events e ON e.stream_id = o.stream_id AND e.version = o.version \
         ORDER BY o.id LIMIT $1",
        crate::store::record::EVENT_COLUMNS
    );
    let rows: Vec<OutboxRow> = sqlx::query_as(&sql)
        .bind(settings.batch_size)
        .fetch_all(store.pool())
        .await?;
    if rows.is_empty() {
        return Ok(0);
    }

    let mut in_flight = Vec::with_capacity(rows.len());
    let mut failure = None;
    for row in rows {
        let mut event: Recorded<EventData> = row.event.into();
        let subject = settings.subject(&event.event.event_type);
        let headers = headers::for_event(&event, &settings.service, &subject);
        let payload = Bytes::from(std::mem::take(&mut event.event.payload));
        let publish = jetstream::message::PublishMessage::build()
            .payload(payload)
            .headers(headers);
        match js.send_publish(subject, publish).await {
            Ok(ack) => in_flight.push((row.outbox_id, event.event_id, ack)),
            Err(error) => {
                failure = Some(RelayError::Publish {
                    event_id: event.event_id,
                    source: error.into(),
                });
                break;
            }
        }
    }

    let mut acknowledged = Vec::with_capacity(in_flight.len());
    let mut first_unacked = None;
    for (outbox_id, event_id, ack) in in_flight {
        match ack.await {
            Ok(_) if first_unacked.is_none() => acknowledged.push(outbox_id),
            Ok(_) => {}
            Err(error) => {
                if first_unacked.is_none() {
                    first_unacked = Some(RelayError::Publish {
                        event_id,
                        source: error.into(),
                    });
                }
            }
        }
    }

    let relayed = acknowledged.len();
    if relayed > 0 {
        sqlx::query("DELETE FROM outbox WHERE id = ANY($1)")
            .bind(&acknowledged)
            .execute(store.pool())
            .await?;
    }
    match first_unacked.or(failure) {
        Some(error) if relayed == 0 => Err(error),
        Some(error) => {
            tracing::warn!(error = %error, relayed, "relay batch partly acknowledged");
            Ok(relayed)
        }
        None => Ok(relayed),
    }
}
