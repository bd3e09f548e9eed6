//! Raw pipelined JetStream publishing: every message sent before the first
//! ack is awaited, each with its `Nats-Msg-Id`, into a fresh stream. Each
//! message is built on the clock, as a publisher builds it from what it read.

use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use async_nats::jetstream::context::ContextBuilder;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self, stream};
use bytes::Bytes;

/// A message as the relay would publish it.
pub struct RawMessage {
    pub subject: String,
    pub headers: HeaderMap,
    pub payload: Bytes,
}

/// Creates stream `name` over `subject_filter` configured as the relay
/// configures a service's stream (file storage, 10-minute duplicate window).
pub async fn create_stream(
    client: &async_nats::Client,
    name: &str,
    subject_filter: &str,
) -> anyhow::Result<()> {
    jetstream::new(client.clone())
        .create_stream(stream::Config {
            name: name.to_owned(),
            subjects: vec![subject_filter.to_owned()],
            duplicate_window: Duration::from_secs(600),
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|error| anyhow::anyhow!("create stream {name}: {error}"))?;
    Ok(())
}

/// Builds the message of every one of `sources` with `build` and publishes
/// it, then awaits every ack; returns the time from the first build to the
/// last ack.
pub async fn publish_all<T>(
    client: &async_nats::Client,
    sources: Vec<T>,
    mut build: impl FnMut(T) -> RawMessage,
) -> anyhow::Result<Duration> {
    let js = ContextBuilder::new()
        .timeout(Duration::from_secs(60))
        .max_ack_inflight(sources.len().max(1))
        .backpressure_on_inflight(true)
        .build(client.clone());
    let started = Instant::now();
    let mut acks = Vec::with_capacity(sources.len());
    for source in sources {
        let message = build(source);
        let publish = PublishMessage::build()
            .payload(message.payload)
            .headers(message.headers);
        let ack = js
            .send_publish(message.subject, publish)
            .await
            .map_err(|error| anyhow::anyhow!("raw publish: {error}"))?;
        acks.push(ack);
    }
    for ack in acks {
        ack.await
            .map_err(|error| anyhow::anyhow!("raw publish ack: {error}"))?;
    }
    Ok(started.elapsed())
}

/// Messages stored in stream `name`.
pub async fn stored(client: &async_nats::Client, name: &str) -> anyhow::Result<u64> {
    let stream = jetstream::new(client.clone())
        .get_stream(name)
        .await
        .map_err(|error| anyhow::anyhow!("stream {name}: {error}"))?;
    let info = stream
        .get_info()
        .await
        .map_err(|error| anyhow::anyhow!("info of stream {name}: {error}"))?;
    Ok(info.state.messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_message_is_stored_once() {
        let nats = tenure_testkit::TestNats::connect().await.unwrap();
        let client = nats.client().await;
        let name = nats.stream_name("raw");
        create_stream(&client, &name, &format!("{}.raw.>", nats.subject_root()))
            .await
            .unwrap();
        let message = |i: u32| {
            let mut headers = HeaderMap::new();
            headers.insert("Nats-Msg-Id", format!("id-{}", i % 50).as_str());
            RawMessage {
                subject: format!("{}.raw.Test", nats.subject_root()),
                headers,
                payload: Bytes::from_static(b"x"),
            }
        };
        publish_all(&client, (0..100).collect(), message)
            .await
            .unwrap();
        assert_eq!(
            stored(&client, &name).await.unwrap(),
            50,
            "repeated ids are dropped"
        );
    }
}
