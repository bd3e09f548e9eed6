//! Relaying the outbox: read the oldest rows, publish them all before
//! awaiting any ack, delete the acknowledged prefix — with the next batch
//! already published while the acks of the last one come back.

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

/// A published event whose ack has not been awaited yet.
struct InFlight {
    outbox_id: i64,
    event_id: uuid::Uuid,
    ack: jetstream::context::PublishAckFuture,
}

/// Relays until the outbox is empty; returns how many rows were relayed.
///
/// Batches overlap: batch N+1 is read and published before the acks of batch
/// N are awaited, so JetStream always has work in hand. Rows are deleted up
/// to the first failed publish; that one and all after it stay for the next
/// attempt, which JetStream deduplicates where they had arrived.
pub(crate) async fn drain(
    store: &EventStore,
    js: &jetstream::Context,
    settings: &RelaySettings,
) -> Result<usize, RelayError> {
    let mut relayed = 0;
    let mut previous: Vec<InFlight> = Vec::new();
    loop {
        let exclude: Vec<i64> = previous.iter().map(|p| p.outbox_id).collect();
        let (published, publish_failure) = publish_next(store, js, settings, &exclude).await?;
        let settled = settle(store, std::mem::take(&mut previous)).await?;
        relayed += settled.acknowledged;
        if let Some(error) = settled.failure.or(publish_failure) {
            // What is still in flight stays in the outbox for the next attempt.
            return if relayed > 0 {
                tracing::warn!(error = %error, relayed, "relay stopped at an unacknowledged event");
                Ok(relayed)
            } else {
                Err(error)
            };
        }
        if published.is_empty() {
            return Ok(relayed);
        }
        previous = published;
    }
}

/// Reads the oldest outbox rows not already in flight and publishes them
/// all, awaiting no ack. A publish that cannot even be sent stops the batch.
async fn publish_next(
    store: &EventStore,
    js: &jetstream::Context,
    settings: &RelaySettings,
    exclude: &[i64],
) -> Result<(Vec<InFlight>, Option<RelayError>), RelayError> {
    let sql = format!(
        "SELECT o.id AS outbox_id, {} FROM outbox o \
         JOIN events e ON e.stream_id = o.stream_id AND e.version = o.version \
         WHERE o.id <> ALL($2) ORDER BY o.id LIMIT $1",
        crate::store::record::EVENT_COLUMNS
    );
    let rows: Vec<OutboxRow> = sqlx::query_as(&sql)
        .bind(settings.batch_size)
        .bind(exclude)
        .fetch_all(store.pool())
        .await?;
    let mut in_flight = Vec::with_capacity(rows.len());
    for row in rows {
        let mut event: Recorded<EventData> = row.event.into();
        let subject = settings.subject(&event.event.event_type);
        let headers = headers::for_event(&event, &settings.service, &subject);
        let payload = Bytes::from(std::mem::take(&mut event.event.payload));
        let publish = jetstream::message::PublishMessage::build()
            .payload(payload)
            .headers(headers);
        match js.send_publish(subject, publish).await {
            Ok(ack) => in_flight.push(InFlight {
                outbox_id: row.outbox_id,
                event_id: event.event_id,
                ack,
            }),
            Err(error) => {
                let failure = RelayError::Publish {
                    event_id: event.event_id,
                    source: error.into(),
                };
                return Ok((in_flight, Some(failure)));
            }
        }
    }
    Ok((in_flight, None))
}

/// How a batch's acks came back.
struct Settled {
    acknowledged: usize,
    failure: Option<RelayError>,
}

/// Awaits a batch's acks in order and deletes the rows acknowledged before
/// the first failure.
async fn settle(store: &EventStore, batch: Vec<InFlight>) -> Result<Settled, RelayError> {
    let mut acknowledged = Vec::with_capacity(batch.len());
    let mut failure = None;
    for in_flight in batch {
        match in_flight.ack.await {
            Ok(_) if failure.is_none() => acknowledged.push(in_flight.outbox_id),
            Ok(_) => {}
            Err(error) => {
                if failure.is_none() {
                    failure = Some(RelayError::Publish {
                        event_id: in_flight.event_id,
                        source: error.into(),
                    });
                }
            }
        }
    }
    if !acknowledged.is_empty() {
        sqlx::query("DELETE FROM outbox WHERE id = ANY($1)")
            .bind(&acknowledged)
            .execute(store.pool())
            .await?;
    }
    Ok(Settled {
        acknowledged: acknowledged.len(),
        failure,
    })
}
