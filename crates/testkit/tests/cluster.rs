//! `NatsCluster`: members on their own URLs that come back after a stop, and
//! an R3 stream that keeps every acknowledged message exactly once through a
//! crash of its leader.

use std::collections::HashSet;
use std::time::Duration;

use async_nats::jetstream::{self, Context, consumer, message::PublishMessage, stream};
use futures::StreamExt;
use tenure_testkit::{NatsCluster, init_tracing};
use tokio::time::Instant;

/// The bound on each test; a healthy run takes a fraction of it.
const TEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Messages published before and again after the crash.
const BATCH: usize = 1_000;
/// Publishes sent before their acks are awaited.
const PIPELINE: usize = 100;

/// The `Nats-Msg-Id` of message `n`.
fn msg_id(n: usize) -> String {
    format!("msg-{n:05}")
}

/// Publishes messages `numbers` pipelined, each with its `Nats-Msg-Id`,
/// retrying those without an ack until `deadline`, and returns how many
/// attempts failed: during a leader election publishes time out or find no
/// responder. A retry of a message that was stored but whose ack was lost is
/// dropped as a duplicate by the stream.
async fn publish(jetstream: &Context, numbers: Vec<usize>, deadline: Instant) -> usize {
    let mut missing = numbers;
    let mut failures = 0;
    while !missing.is_empty() {
        let mut failed = Vec::new();
        for chunk in missing.chunks(PIPELINE) {
            assert!(
                Instant::now() < deadline,
                "{} messages still unacknowledged",
                missing.len()
            );
            let mut pending = Vec::with_capacity(chunk.len());
            for &n in chunk {
                let message = PublishMessage::build()
                    .message_id(msg_id(n))
                    .payload(n.to_string().into());
                match jetstream.send_publish("events.hired", message).await {
                    Ok(ack) => pending.push(async move { (n, ack.await) }),
                    Err(_) => failed.push(n),
                }
            }
            // Together: an ack's timeout starts when it is awaited, so one
            // at a time a lost chunk would take a timeout per message.
            for (n, ack) in futures::future::join_all(pending).await {
                if ack.is_err() {
                    failed.push(n);
                }
            }
        }
        if !failed.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        failures += failed.len();
        missing = failed;
    }
    failures
}

/// Waits until the stream's cluster info lists `server_name` as its leader
/// or as a current replica.
async fn wait_until_current(stream: &stream::Stream, server_name: &str, deadline: Instant) {
    loop {
        let cluster = stream.get_info().await.ok().and_then(|info| info.cluster);
        let current = cluster.as_ref().is_some_and(|cluster| {
            cluster.leader.as_deref() == Some(server_name)
                || cluster
                    .replicas
                    .iter()
                    .any(|peer| peer.name == server_name && peer.current && !peer.offline)
        });
        if current {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{server_name} not current in the stream: {cluster:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads every message of `stream` with an ordered consumer and returns the
/// message ids, failing when fewer than `count` arrive before `deadline`.
async fn read_ids(stream: &stream::Stream, count: usize, deadline: Instant) -> Vec<String> {
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig::default())
        .await
        .unwrap();
    let mut messages = consumer.messages().await.unwrap();
    let mut ids = Vec::with_capacity(count);
    while ids.len() < count {
        let message = tokio::time::timeout_at(deadline, messages.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {count} messages read", ids.len()))
            .expect("the consumer keeps delivering")
            .unwrap();
        let id = message
            .headers
            .as_ref()
            .and_then(|headers| headers.get(async_nats::header::NATS_MESSAGE_ID))
            .map(|id| id.as_str().to_owned())
            .expect("every message has a Nats-Msg-Id");
        ids.push(id);
    }
    ids
}

#[tokio::test]
async fn r3_stream_keeps_every_message_once_when_its_leader_crashes() {
    init_tracing();
    let started = Instant::now();
    let deadline = started + TEST_TIMEOUT;
    let mut cluster = tokio::time::timeout_at(deadline, NatsCluster::start())
        .await
        .expect("cluster started in time")
        .unwrap();
    let formed = started.elapsed();
    let jetstream = jetstream::new(cluster.client().await);
    let stream = jetstream
        .create_stream(stream::Config {
            name: "EVENTS".into(),
            subjects: vec!["events.>".into()],
            num_replicas: 3,
            // Deduplication must cover every retry of the test.
            duplicate_window: TEST_TIMEOUT,
            ..Default::default()
        })
        .await
        .unwrap();

    publish(&jetstream, (0..BATCH).collect(), deadline).await;
    let info = stream.get_info().await.unwrap();
    assert_eq!(info.state.messages, BATCH as u64);
    let leader = info
        .cluster
        .and_then(|cluster| cluster.leader)
        .expect("the stream has a leader");
    let victim = cluster.index_of(&leader).expect("the leader is a member");

    cluster.kill(victim).await;
    let crashed = Instant::now();
    let retries = publish(&jetstream, (BATCH..2 * BATCH).collect(), deadline).await;
    let failed_over = crashed.elapsed();
    cluster.restart(victim).await.unwrap();
    wait_until_current(&stream, &leader, deadline).await;

    let info = stream.get_info().await.unwrap();
    assert_eq!(info.state.messages, 2 * BATCH as u64, "{:?}", info.state);
    let ids = read_ids(&stream, 2 * BATCH, deadline).await;
    let distinct: HashSet<&String> = ids.iter().collect();
    let expected: Vec<String> = (0..2 * BATCH).map(msg_id).collect();
    assert_eq!(distinct.len(), 2 * BATCH, "duplicates among the messages");
    assert!(expected.iter().all(|id| distinct.contains(id)));
    tracing::info!(
        ?formed,
        ?failed_over,
        retries,
        total = ?started.elapsed(),
        version = ?cluster.version(),
        "crash of the stream leader survived"
    );
}

#[tokio::test]
async fn members_serve_their_urls_and_a_stopped_one_comes_back() {
    init_tracing();
    let deadline = Instant::now() + TEST_TIMEOUT;
    let mut cluster = tokio::time::timeout_at(deadline, NatsCluster::start())
        .await
        .expect("cluster started in time")
        .unwrap();
    let urls: Vec<String> = (0..NatsCluster::SIZE).map(|i| cluster.url(i)).collect();
    assert_eq!(cluster.urls(), urls.join(","));
    for (i, url) in urls.iter().enumerate() {
        let client = async_nats::connect(url).await.unwrap();
        assert_eq!(client.server_info().server_name, cluster.server_name(i));
        assert_eq!(cluster.index_of(&cluster.server_name(i)), Some(i));
    }
    // async-nats takes one URL per string: the joined list is for NATS_URL.
    assert!(async_nats::connect(cluster.urls()).await.is_err());

    let jetstream = jetstream::new(cluster.client().await);
    let stream = jetstream
        .create_stream(stream::Config {
            name: "QUORUM".into(),
            subjects: vec!["events.>".into()],
            num_replicas: 3,
            ..Default::default()
        })
        .await
        .unwrap();

    cluster.stop(1).await;
    assert!(async_nats::connect(&urls[1]).await.is_err());
    // Two of three members still accept writes to the R3 stream.
    publish(&jetstream, vec![0], deadline).await;

    cluster.restart(1).await.unwrap();
    assert_eq!(cluster.url(1), urls[1]);
    wait_until_current(&stream, &cluster.server_name(1), deadline).await;
    let client = async_nats::connect(&urls[1]).await.unwrap();
    assert_eq!(client.server_info().server_name, cluster.server_name(1));
    let info = jetstream::new(client)
        .get_stream("QUORUM")
        .await
        .unwrap()
        .get_info()
        .await
        .unwrap();
    assert_eq!(info.state.messages, 1);
}
