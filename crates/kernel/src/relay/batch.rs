//! Relaying the outbox: read the oldest rows, publish them all before
//! awaiting any ack, delete the acknowledged prefix — with the next batch
//! already published while the acks of the last one come back.
//!
//! JetStream stores the messages exactly in outbox order: every publish
//! carries `Nats-Expected-Last-Sequence`, the sequence its predecessor gets.
//! When one publish fails (a timeout, a lost connection, a leader election),
//! every later one in flight fails too, instead of being stored before it;
//! the relay reads the stream's last sequence again and goes on from the
//! first unacknowledged row. A row published before but not deleted (a crash
//! between ack and delete) is acknowledged as a duplicate by `Nats-Msg-Id`
//! when its expected sequence holds: current servers check the sequence
//! first, and a duplicate takes none, so such rows go one at a time (see
//! [`drain`]).
//!
//! The expected sequence is absolute, so this order holds while the relay is
//! the stream's one publisher. A second one (a relay that lost its lease and
//! has not noticed yet: at most one batch) can make a later publish match;
//! consumers still apply each stream in version order, parking what comes early.

use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_nats::jetstream::{self, stream};
use bytes::Bytes;
use sqlx::FromRow;

use super::{RelaySettings, headers};
use crate::aggregate::EventData;
use crate::event::Recorded;
use crate::lease::Held;
use crate::store::EventStore;

#[derive(Debug, thiserror::Error)]
pub(crate) enum RelayError {
    #[error("cannot read or delete outbox rows")]
    Database(#[from] sqlx::Error),
    #[error("JetStream did not take event {event_id}")]
    Publish {
        event_id: uuid::Uuid,
        outbox_id: i64,
        #[source]
        source: PublishError,
    },
    #[error("a relay batch took longer than {limit:?}; starting over")]
    Hung { limit: std::time::Duration },
    #[error("cannot create or update the JetStream stream {stream}")]
    Stream {
        stream: String,
        #[source]
        source: async_nats::Error,
    },
}

impl RelayError {
    /// A refusal that will not change by retrying: the row itself is the problem.
    pub(crate) fn refused_row(&self) -> Option<i64> {
        match self {
            RelayError::Publish {
                outbox_id, source, ..
            } if matches!(
                source.kind(),
                PublishErrorKind::MaxPayloadExceeded | PublishErrorKind::Other
            ) =>
            {
                Some(*outbox_id)
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

#[derive(FromRow)]
struct OutboxRow {
    outbox_id: i64,
    #[sqlx(flatten)]
    event: crate::store::record::EventRow,
}

/// Creates the service's stream, or brings an existing one's replicas,
/// subjects and window in line with the settings.
pub(crate) async fn ensure_stream(
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
    .map_err(|e| RelayError::Stream {
        stream: settings.stream_name.clone(),
        source: e.into(),
    })?;
    Ok(())
}

/// The sequence of the stream's last message: the next publish expects it.
async fn last_sequence(
    js: &jetstream::Context,
    settings: &RelaySettings,
) -> Result<u64, RelayError> {
    let stream_error = |e: async_nats::Error| RelayError::Stream {
        stream: settings.stream_name.clone(),
        source: e,
    };
    let mut stream = js
        .get_stream(&settings.stream_name)
        .await
        .map_err(|e| stream_error(e.into()))?;
    let info = stream.info().await.map_err(|e| stream_error(e.into()))?;
    Ok(info.state.last_sequence)
}

/// A published event whose ack has not been awaited yet.
struct InFlight {
    outbox_id: i64,
    event_id: uuid::Uuid,
    ack: jetstream::context::PublishAckFuture,
}

/// How far a drain got.
pub(crate) struct Drained {
    pub relayed: usize,
    /// Why it stopped before the outbox was empty.
    pub failure: Option<RelayError>,
}

/// How many lease periods one batch may take before the relay counts itself hung.
const HUNG_AFTER_LEASES: u32 = 4;

/// Relays until the outbox is empty or a publish fails. The stream's last
/// sequence, which the first publish expects, is asked for only once there
/// is something to publish: most wake-ups find the outbox empty. The lease
/// is renewed before every batch and while one runs, and the drain ends when
/// it is lost. A batch that takes several lease periods (a query or an ack
/// that never returns) ends it too: the relay starts over rather than wait
/// for ever.
///
/// A drain starts one row at a time, each ack awaited, until JetStream
/// stores a row as new. Rows a crashed relay published but did not delete
/// come back as duplicates, which take no sequence: in a pipelined batch the
/// first one makes every later publish's expected sequence wrong, so each
/// duplicate would cost a whole batch, and a thousand of them a thousand
/// batches.
pub(crate) async fn drain(
    store: &EventStore,
    js: &jetstream::Context,
    settings: &RelaySettings,
    lease: &Held,
) -> Result<Drained, RelayError> {
    let mut last = None;
    let mut relayed = 0;
    let mut previous: Vec<InFlight> = Vec::new();
    let mut one_at_a_time = true;
    loop {
        if !lease.renew().await {
            return Ok(Drained {
                relayed,
                failure: None,
            });
        }
        let limit = lease.ttl() * HUNG_AFTER_LEASES;
        if one_at_a_time {
            let step = async {
                let (published, failure) =
                    publish_next(store, js, settings, &[], 1, &mut last).await?;
                match failure {
                    Some(failure) => Ok(Settled::failed(failure)),
                    None => settle(store, published).await,
                }
            };
            let settled = match renewing(lease, limit, step).await {
                Renewed::Done(settled) => settled?,
                Renewed::Lost => {
                    return Ok(Drained {
                        relayed,
                        failure: None,
                    });
                }
                Renewed::Hung => {
                    return Ok(Drained {
                        relayed,
                        failure: Some(RelayError::Hung { limit }),
                    });
                }
            };
            relayed += settled.acknowledged;
            if settled.failure.is_some() || settled.acknowledged == 0 {
                return Ok(Drained {
                    relayed,
                    failure: settled.failure,
                });
            }
            if settled.duplicates > 0 {
                // The publish was counted as taking the next sequence; it took none.
                if let Some(last) = last.as_mut() {
                    *last -= settled.duplicates as u64;
                }
            } else {
                one_at_a_time = false;
            }
            continue;
        }
        let exclude: Vec<i64> = previous.iter().map(|p| p.outbox_id).collect();
        let in_hand = std::mem::take(&mut previous);
        let step = async {
            let published = publish_next(
                store,
                js,
                settings,
                &exclude,
                settings.batch_size,
                &mut last,
            )
            .await?;
            Ok::<_, RelayError>((published, settle(store, in_hand).await?))
        };
        let step = match renewing(lease, limit, step).await {
            Renewed::Done(step) => step,
            Renewed::Lost => {
                return Ok(Drained {
                    relayed,
                    failure: None,
                });
            }
            Renewed::Hung => {
                return Ok(Drained {
                    relayed,
                    failure: Some(RelayError::Hung { limit }),
                });
            }
        };
        let ((published, publish_failure), settled) = step?;
        relayed += settled.acknowledged;
        if let Some(error) = settled.failure.or(publish_failure) {
            // What is still in flight stays in the outbox for the next attempt.
            return Ok(Drained {
                relayed,
                failure: Some(error),
            });
        }
        if published.is_empty() {
            return Ok(Drained {
                relayed,
                failure: None,
            });
        }
        previous = published;
    }
}

/// How a step run under the lease ended.
enum Renewed<T> {
    Done(T),
    Lost,
    Hung,
}

/// Runs `step`, renewing the lease every third of its time, for at most `limit`.
async fn renewing<T>(
    lease: &Held,
    limit: std::time::Duration,
    step: impl Future<Output = T>,
) -> Renewed<T> {
    tokio::pin!(step);
    let deadline = tokio::time::sleep(limit);
    tokio::pin!(deadline);
    let mut renewals = tokio::time::interval_at(
        tokio::time::Instant::now() + lease.ttl() / 3,
        lease.ttl() / 3,
    );
    loop {
        tokio::select! {
            done = &mut step => return Renewed::Done(done),
            _ = &mut deadline => return Renewed::Hung,
            _ = renewals.tick() => {
                if !lease.renew().await {
                    return Renewed::Lost;
                }
            }
        }
    }
}

/// Reads the oldest `limit` outbox rows not already in flight, of streams
/// with no parked row, and publishes them all, awaiting no ack. A publish
/// that cannot even be sent stops the batch.
async fn publish_next(
    store: &EventStore,
    js: &jetstream::Context,
    settings: &RelaySettings,
    exclude: &[i64],
    limit: i64,
    last: &mut Option<u64>,
) -> Result<(Vec<InFlight>, Option<RelayError>), RelayError> {
    let sql = format!(
        "SELECT o.id AS outbox_id, {} FROM outbox o \
         JOIN events e ON e.stream_id = o.stream_id AND e.version = o.version \
         WHERE o.id <> ALL($2) \
           AND NOT EXISTS (SELECT 1 FROM outbox_parked p WHERE p.stream_id = o.stream_id) \
         ORDER BY o.id LIMIT $1",
        crate::store::record::EVENT_COLUMNS
    );
    let rows: Vec<OutboxRow> = sqlx::query_as(&sql)
        .bind(limit)
        .bind(exclude)
        .fetch_all(store.pool())
        .await?;
    if rows.is_empty() {
        return Ok((Vec::new(), None));
    }
    let last = match last {
        Some(last) => last,
        None => last.insert(last_sequence(js, settings).await?),
    };
    let mut in_flight = Vec::with_capacity(rows.len());
    for row in rows {
        let mut event: Recorded<EventData> = row.event.into();
        let subject = settings.subject(&event.event.event_type, event.stream_id);
        let headers = headers::for_event(&event, &settings.service, &subject);
        let payload = Bytes::from(std::mem::take(&mut event.event.payload));
        let publish = jetstream::message::PublishMessage::build()
            .payload(payload)
            .headers(headers)
            .expected_last_sequence(*last);
        match js.send_publish(subject, publish).await {
            Ok(ack) => {
                *last += 1;
                in_flight.push(InFlight {
                    outbox_id: row.outbox_id,
                    event_id: event.event_id,
                    ack,
                })
            }
            Err(error) => {
                let failure = RelayError::Publish {
                    event_id: event.event_id,
                    outbox_id: row.outbox_id,
                    source: error,
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
    /// Of the acknowledged, those JetStream had stored before.
    duplicates: usize,
    failure: Option<RelayError>,
}

impl Settled {
    fn failed(failure: RelayError) -> Self {
        Self {
            acknowledged: 0,
            duplicates: 0,
            failure: Some(failure),
        }
    }
}

/// Awaits a batch's acks in order and deletes the rows acknowledged before
/// the first failure. The acks after it are not awaited: those rows stay in
/// the outbox whatever they say, and each would wait out its own timeout
/// when the server has gone.
async fn settle(store: &EventStore, batch: Vec<InFlight>) -> Result<Settled, RelayError> {
    let mut acknowledged = Vec::with_capacity(batch.len());
    let mut duplicates = 0;
    let mut failure = None;
    for in_flight in batch {
        match in_flight.ack.await {
            Ok(ack) => {
                duplicates += usize::from(ack.duplicate);
                acknowledged.push(in_flight.outbox_id)
            }
            Err(error) => {
                failure = Some(RelayError::Publish {
                    event_id: in_flight.event_id,
                    outbox_id: in_flight.outbox_id,
                    source: error,
                });
                break;
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
        duplicates,
        failure,
    })
}

/// Moves an outbox row JetStream refuses every time aside, with the reason:
/// the later rows of its stream wait behind it, the other streams go on.
pub(crate) async fn park(
    store: &EventStore,
    outbox_id: i64,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH moved AS (DELETE FROM outbox WHERE id = $1 RETURNING id, tenant_id, stream_id, version) \
         INSERT INTO outbox_parked (id, tenant_id, stream_id, version, error) \
         SELECT id, tenant_id, stream_id, version, $2 FROM moved",
    )
    .bind(outbox_id)
    .bind(error)
    .execute(store.pool())
    .await?;
    Ok(())
}
