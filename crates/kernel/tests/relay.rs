//! The relay against real NATS servers that go away, come back,
//! refuse messages and are written to by others: every committed event is
//! on JetStream exactly once, in each stream's order.

mod support;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use support::LedgerEvent;
use tenure_kernel::relay::{Relay, RelaySettings, headers, operations};
use tenure_kernel::{CommandContext, EventStore};
use tenure_testkit::PrivateNats;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

async fn wait_for(what: &str, deadline: Duration, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Appends `versions` deposits to each of `streams`, round-robin, one
/// transaction each, waking the relay after each; returns event id →
/// (stream, version).
async fn append(
    store: &EventStore,
    streams: &[Uuid],
    versions: std::ops::Range<i64>,
    amount_bytes: impl Fn(Uuid, i64) -> usize,
) -> HashMap<Uuid, (Uuid, i64)> {
    append_waking(store, streams, versions, amount_bytes, true).await
}

/// [`append`], waking the relay after each append only when `wake`.
async fn append_waking(
    store: &EventStore,
    streams: &[Uuid],
    versions: std::ops::Range<i64>,
    amount_bytes: impl Fn(Uuid, i64) -> usize,
    wake: bool,
) -> HashMap<Uuid, (Uuid, i64)> {
    let ctx = CommandContext::new(Uuid::now_v7(), "test");
    let mut written = HashMap::new();
    for version in versions {
        for stream in streams {
            let padding = "x".repeat(amount_bytes(*stream, version));
            let event = if padding.is_empty() {
                LedgerEvent::Deposited { amount: 1 }
            } else {
                LedgerEvent::Opened { owner: padding }
            };
            let mut tx = store.begin().await.unwrap();
            let recorded = store
                .append(&mut tx, "ledger", *stream, version, &ctx.metadata, &[event])
                .await
                .unwrap();
            tx.commit().await.unwrap();
            if wake {
                store.signal().appended();
            }
            written.insert(recorded[0].event_id, (*stream, recorded[0].version));
        }
    }
    written
}

fn no_padding(_: Uuid, _: i64) -> usize {
    0
}

async fn stored_messages(js: &jetstream::Context, stream: &str) -> u64 {
    match js.get_stream(stream).await {
        Ok(mut stream) => stream.info().await.map(|i| i.state.messages).unwrap_or(0),
        Err(_) => 0,
    }
}

/// The stream's messages in JetStream order: (event id, stream id, version),
/// skipping those that are not ledger events.
async fn read_back(js: &jetstream::Context, stream: &str) -> Vec<(Uuid, Uuid, i64)> {
    let stream = js.get_stream(stream).await.unwrap();
    let consumer = stream
        .create_consumer(pull::Config {
            ack_policy: jetstream::consumer::AckPolicy::None,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut messages = consumer
        .fetch()
        .max_messages(100_000)
        .expires(Duration::from_secs(2))
        .messages()
        .await
        .unwrap();
    let mut read = Vec::new();
    while let Some(message) = messages.next().await {
        let h = message.unwrap().headers.clone().unwrap_or_default();
        let (Some(id), Some(stream_id), Some(version)) = (
            headers::get_uuid(&h, headers::MSG_ID),
            headers::get_uuid(&h, headers::CE_SUBJECT),
            headers::get(&h, headers::STREAM_VERSION).and_then(|v| v.parse().ok()),
        ) else {
            continue;
        };
        read.push((id, stream_id, version));
    }
    read
}

/// Every written event exactly once, whatever the order.
fn assert_once(read: &[(Uuid, Uuid, i64)], written: &HashMap<Uuid, (Uuid, i64)>) {
    let ids: HashSet<Uuid> = read.iter().map(|(id, _, _)| *id).collect();
    assert_eq!(ids.len(), read.len(), "no event arrived twice");
    assert_eq!(
        ids,
        written.keys().copied().collect::<HashSet<_>>(),
        "every event arrived"
    );
}

/// Every written event exactly once, each stream's versions in order without gaps.
fn assert_once_in_order(read: &[(Uuid, Uuid, i64)], written: &HashMap<Uuid, (Uuid, i64)>) {
    let mut seen = HashSet::new();
    let mut last: HashMap<Uuid, i64> = HashMap::new();
    for (id, stream_id, version) in read {
        assert!(seen.insert(*id), "event {id} arrived twice");
        assert_eq!(
            written.get(id),
            Some(&(*stream_id, *version)),
            "an event we wrote"
        );
        let previous = last.insert(*stream_id, *version).unwrap_or(0);
        assert_eq!(
            *version,
            previous + 1,
            "stream {stream_id} in order without gaps"
        );
    }
    assert_eq!(seen.len(), written.len(), "every event arrived");
}

/// A fresh store and this test's share of the shared NATS server.
struct Shared {
    fx: support::Fixture,
    /// Kept for its streams: dropping it deletes them.
    nats: tenure_testkit::TestNats,
    client: async_nats::Client,
    js: jetstream::Context,
}

impl Shared {
    async fn connect() -> Shared {
        let fx = support::store().await;
        let nats = tenure_testkit::TestNats::connect().await.unwrap();
        let client = nats.client().await;
        let js = jetstream::new(client.clone());
        Shared {
            fx,
            nats,
            client,
            js,
        }
    }
}

fn settings(root: &str) -> RelaySettings {
    RelaySettings {
        poll_interval: Duration::from_millis(100),
        max_backoff: Duration::from_millis(500),
        lease_ttl: Duration::from_secs(3),
        ..RelaySettings::new("ledger", root)
    }
}

/// A relay running in the background.
struct Running {
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

fn start_relay(
    store: &EventStore,
    client: &async_nats::Client,
    settings: &RelaySettings,
) -> Running {
    let shutdown = CancellationToken::new();
    let relay = Relay::new(store.clone(), client.clone(), settings.clone());
    let task = tokio::spawn(relay.run(shutdown.clone()));
    Running { shutdown, task }
}

impl Running {
    async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.unwrap();
    }
}

/// Waits until the relay's checkpoint is past every event and nothing is held.
async fn drained(store: &EventStore, deadline: Duration) {
    wait_for("the relay to catch up", deadline, async || {
        lag(store).await == 0 && operations::held(store.pool()).await.unwrap() == 0
    })
    .await;
}

/// Events after the relay's checkpoint.
async fn lag(store: &EventStore) -> i64 {
    operations::lag(store.pool()).await.unwrap()
}

/// As if the relay had crashed before saving its checkpoint at all.
async fn forget_checkpoint(store: &EventStore) {
    sqlx::query("UPDATE checkpoints SET tx_id = 0, position = 0")
        .execute(store.pool())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_appended_while_nats_is_down_all_arrive_once_and_in_stream_order() {
    let fx = support::store().await;
    let mut nats = PrivateNats::start().await.unwrap();
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(nats.url())
        .await
        .unwrap();
    let js = jetstream::new(client.clone());
    let settings = settings("relaytest");
    let relay = start_relay(&fx.store, &client, &settings);
    wait_for(
        "the relay to create its stream",
        Duration::from_secs(20),
        async || js.get_stream(&settings.stream_name).await.is_ok(),
    )
    .await;

    nats.stop().await;
    let streams: Vec<Uuid> = (0..10).map(|_| Uuid::now_v7()).collect();
    let written = append(&fx.store, &streams, 0..100, no_padding).await;
    assert_eq!(written.len(), 1000, "appends succeed while NATS is down");

    nats.restart().await.unwrap();
    drained(&fx.store, Duration::from_secs(90)).await;
    assert_once_in_order(&read_back(&js, &settings.stream_name).await, &written);
    relay.stop().await;
}

/// NATS goes away with a batch in flight and stays away for longer than the
/// relay waits for an ack: publishes time out after later ones were sent.
/// Events committed with no wake-up at all (another writer of the store,
/// with no replica relaying to notify): the relay finds them by polling,
/// while its checkpoint tick keeps turning its loop far more often.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_appended_without_a_wake_up_are_found_by_the_poll() {
    let Shared {
        fx,
        nats,
        client,
        js,
    } = Shared::connect().await;
    let settings = settings(&nats.subject_root());
    let relay = start_relay(&fx.store, &client, &settings);
    let streams: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
    let first = append(&fx.store, &streams[..1], 0..1, no_padding).await;
    drained(&fx.store, Duration::from_secs(30)).await;

    let mut written = first;
    written.extend(append_waking(&fx.store, &streams[1..], 0..1, no_padding, false).await);
    drained(&fx.store, Duration::from_secs(30)).await;
    assert_once_in_order(&read_back(&js, &settings.stream_name).await, &written);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nats_gone_longer_than_the_ack_timeout_mid_batch_loses_and_reorders_nothing() {
    let fx = support::store().await;
    let mut nats = PrivateNats::start().await.unwrap();
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(nats.url())
        .await
        .unwrap();
    let js = jetstream::new(client.clone());
    let settings = RelaySettings {
        ack_timeout: Duration::from_millis(500),
        batch_size: 200,
        ..settings("relayfault")
    };
    let streams: Vec<Uuid> = (0..10).map(|_| Uuid::now_v7()).collect();
    let written = append(&fx.store, &streams, 0..100, no_padding).await;
    let relay = start_relay(&fx.store, &client, &settings);
    wait_for(
        "the relay to be mid-way",
        Duration::from_secs(60),
        async || stored_messages(&js, &settings.stream_name).await > 300,
    )
    .await;
    nats.kill().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    nats.restart().await.unwrap();
    drained(&fx.store, Duration::from_secs(90)).await;
    assert_once_in_order(&read_back(&js, &settings.stream_name).await, &written);
    relay.stop().await;
}

/// A crash before the checkpoint was saved: the relay starts again after
/// the last event the stream holds, which carries its position, so nothing
/// goes out twice and the events after it go out in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_relay_restarted_behind_its_checkpoint_goes_on_after_the_last_stored_event() {
    let Shared {
        fx,
        nats,
        client,
        js,
    } = Shared::connect().await;
    let settings = settings(&nats.subject_root());
    let streams: Vec<Uuid> = (0..10).map(|_| Uuid::now_v7()).collect();
    let mut written = append(&fx.store, &streams, 0..100, no_padding).await;
    let relay = start_relay(&fx.store, &client, &settings);
    drained(&fx.store, Duration::from_secs(30)).await;
    relay.stop().await;

    forget_checkpoint(&fx.store).await;
    written.extend(append(&fx.store, &streams, 100..110, no_padding).await);
    let relay = start_relay(&fx.store, &client, &settings);
    drained(&fx.store, Duration::from_secs(30)).await;
    assert_once_in_order(&read_back(&js, &settings.stream_name).await, &written);
    relay.stop().await;
}

/// The same crash, when the stream's last message is not the relay's: the
/// relay publishes everything again from its checkpoint. The repeats are
/// acknowledged as duplicates and stored once, and the events after them go
/// out in order. Each duplicate costs one round trip, not a window:
/// pipelined, every duplicate would fail the rest of its window's expected
/// sequences, and these 1,000 would take a thousand attempts, far beyond the
/// deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_published_again_from_an_old_checkpoint_are_stored_once() {
    // A current server of its own: how it orders the duplicate check and the
    // expected-sequence check is what this test is about.
    let fx = support::store().await;
    let nats = PrivateNats::start().await.unwrap();
    let client = async_nats::connect(nats.url()).await.unwrap();
    let js = jetstream::new(client.clone());
    let settings = settings("relayrepeat");
    let streams: Vec<Uuid> = (0..10).map(|_| Uuid::now_v7()).collect();
    let mut written = append(&fx.store, &streams, 0..100, no_padding).await;
    let relay = start_relay(&fx.store, &client, &settings);
    drained(&fx.store, Duration::from_secs(30)).await;
    relay.stop().await;

    forget_checkpoint(&fx.store).await;
    js.publish(
        format!("{}.0.Foreign", settings.service_subjects()),
        "x".into(),
    )
    .await
    .unwrap()
    .await
    .unwrap();
    written.extend(append(&fx.store, &streams, 100..110, no_padding).await);
    let relay = start_relay(&fx.store, &client, &settings);
    drained(&fx.store, Duration::from_secs(30)).await;
    assert_once_in_order(&read_back(&js, &settings.stream_name).await, &written);
    relay.stop().await;
}

/// Another publisher writes to the stream while the relay drains a backlog:
/// the relay's expected sequence no longer holds, it reads the stream again
/// and goes on. (Order on JetStream is the relay's promise only while it is
/// the stream's one publisher; consumers keep each stream's order anyway.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stream_written_by_another_publisher_mid_drain_still_gets_every_event_once() {
    let Shared {
        fx,
        nats,
        client,
        js,
    } = Shared::connect().await;
    let settings = settings(&nats.subject_root());
    let streams: Vec<Uuid> = (0..20).map(|_| Uuid::now_v7()).collect();
    let written = append(&fx.store, &streams, 0..100, no_padding).await;
    js.create_stream(jetstream::stream::Config {
        name: settings.stream_name.clone(),
        subjects: vec![format!("{}.>", settings.service_subjects())],
        ..Default::default()
    })
    .await
    .unwrap();
    // The other publisher writes 300 messages, a millisecond apart, while
    // the relay starts and drains.
    let foreign = {
        let js = js.clone();
        let subject = format!("{}.0.Foreign", settings.service_subjects());
        tokio::spawn(async move {
            let mut stored = 0;
            for _ in 0..300 {
                if let Ok(ack) = js.publish(subject.clone(), "x".into()).await
                    && ack.await.is_ok()
                {
                    stored += 1;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            stored
        })
    };
    let relay = start_relay(&fx.store, &client, &settings);
    drained(&fx.store, Duration::from_secs(60)).await;
    assert!(foreign.await.unwrap() > 0, "the other publisher wrote");
    assert_once(&read_back(&js, &settings.stream_name).await, &written);
    relay.stop().await;
}

/// An event larger than the stream accepts is refused every time: it is
/// parked with the reason, its stream's later events wait behind it, and
/// every other stream is relayed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_row_jetstream_always_refuses_is_parked_and_only_its_stream_waits() {
    let Shared {
        fx,
        nats,
        client,
        js,
    } = Shared::connect().await;
    let settings = RelaySettings {
        max_message_size: 4096,
        ..settings(&nats.subject_root())
    };
    let streams: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
    let poisoned = streams[1];
    let written = append(&fx.store, &streams, 0..10, |stream, version| {
        if stream == poisoned && version == 4 {
            10_000
        } else {
            0
        }
    })
    .await;
    let relay = start_relay(&fx.store, &client, &settings);
    wait_for(
        "the other streams relayed",
        Duration::from_secs(60),
        async || lag(&fx.store).await == 0 && operations::held(fx.store.pool()).await.unwrap() == 6,
    )
    .await;
    let parked = operations::list_parked(fx.store.pool()).await.unwrap();
    assert_eq!(parked.len(), 1, "one event parked");
    assert_eq!(
        (parked[0].stream_id, parked[0].version),
        (poisoned, 5),
        "the fifth event of the stream was refused"
    );
    assert!(!parked[0].error.is_empty());
    assert_eq!(
        parked[0].waiting_behind, 5,
        "its later events wait behind it"
    );
    let read = read_back(&js, &settings.stream_name).await;
    let expected: HashMap<Uuid, (Uuid, i64)> = written
        .iter()
        .filter(|(_, (stream, version))| *stream != poisoned || *version < 5)
        .map(|(id, at)| (*id, *at))
        .collect();
    assert_once_in_order(&read, &expected);
    relay.stop().await;

    // The limit raised, the event put back: it goes out, then its stream's
    // held events and one appended meanwhile, in order.
    let mut written = written;
    written.extend(append(&fx.store, &[poisoned], 10..11, no_padding).await);
    let settings = RelaySettings {
        max_message_size: 65_536,
        ..settings
    };
    let relay = start_relay(&fx.store, &client, &settings);
    assert!(
        operations::unpark(fx.store.pool(), parked[0].id)
            .await
            .unwrap()
    );
    drained(&fx.store, Duration::from_secs(60)).await;
    assert_once_in_order(&read_back(&js, &settings.stream_name).await, &written);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_one_relay_of_a_service_is_active_at_a_time() {
    let Shared {
        fx,
        nats,
        client,
        js,
    } = Shared::connect().await;
    let settings = settings(&nats.subject_root());
    let shutdown = CancellationToken::new();
    let first = tokio::spawn(
        Relay::new(fx.store.clone(), client.clone(), settings.clone()).run(shutdown.clone()),
    );
    let second = tokio::spawn(
        Relay::new(fx.store.clone(), client.clone(), settings.clone()).run(shutdown.clone()),
    );
    let written = append(&fx.store, &[Uuid::now_v7()], 0..50, no_padding).await;
    wait_for(
        "50 events on JetStream",
        Duration::from_secs(30),
        async || stored_messages(&js, &settings.stream_name).await == 50,
    )
    .await;
    let holders: i64 = sqlx::query_scalar("SELECT count(*) FROM leases WHERE name = $1")
        .bind(settings.lease_name())
        .fetch_one(fx.store.pool())
        .await
        .unwrap();
    assert_eq!(holders, 1, "one relay holds the lease, the other waits");
    assert_once_in_order(&read_back(&js, &settings.stream_name).await, &written);
    shutdown.cancel();
    first.await.unwrap();
    second.await.unwrap();
}

/// A relay that hangs stops renewing its lease; once the lease expires,
/// another replica relays.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_relay_that_stops_renewing_its_lease_is_replaced() {
    let Shared {
        fx,
        nats,
        client,
        js,
    } = Shared::connect().await;
    let settings = settings(&nats.subject_root());
    // The hung leader: it holds the lease and will never renew it.
    sqlx::query("INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, now() + interval '2 seconds')")
        .bind(settings.lease_name())
        .bind(Uuid::now_v7())
        .execute(fx.store.pool())
        .await
        .unwrap();
    let written = append(&fx.store, &[Uuid::now_v7()], 0..10, no_padding).await;
    let relay = start_relay(&fx.store, &client, &settings);
    wait_for(
        "the events relayed after the takeover",
        Duration::from_secs(30),
        async || lag(&fx.store).await == 0,
    )
    .await;
    assert_once_in_order(&read_back(&js, &settings.stream_name).await, &written);
    relay.stop().await;
}

/// The stream's replicas and limits follow the settings, also for a stream
/// created before with others.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_existing_stream_is_brought_in_line_with_the_settings() {
    let Shared {
        fx,
        nats,
        client,
        js,
    } = Shared::connect().await;
    let settings = RelaySettings {
        max_message_size: 65_536,
        ..settings(&nats.subject_root())
    };
    js.create_stream(jetstream::stream::Config {
        name: settings.stream_name.clone(),
        subjects: vec![format!("{}.>", settings.service_subjects())],
        duplicate_window: Duration::from_secs(60),
        ..Default::default()
    })
    .await
    .unwrap();
    let relay = start_relay(&fx.store, &client, &settings);
    wait_for("the stream updated", Duration::from_secs(20), async || {
        let mut stream = js.get_stream(&settings.stream_name).await.unwrap();
        let config = stream.info().await.unwrap().config.clone();
        config.max_message_size == 65_536 && config.duplicate_window == settings.duplicate_window
    })
    .await;
    relay.stop().await;
}
