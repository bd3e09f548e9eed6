//! Catch-up: a backlog of employees events (200,000 in a full run) waiting on
//! JetStream while development is down; then `tenure-development` starts as a
//! child process and is timed, from its start, until its `people` read model
//! holds every event (each employee's row at its last version).
//!
//! Development runs once before the backlog, so that its schema is migrated
//! and its durable consumers exist: the timed run is a restart. The events go
//! into the employees store (see [`crate::seed`]) and the employees service,
//! running in the bench, relays them before the clock starts.
//!
//! Two baselines read the same messages from the same stream afterwards, with
//! the consumer's layout (one pull consumer per partition, the same batch and
//! ack window): one only acks, the other also inserts each batch's rows in
//! one statement before acking — the least a read model fed by JetStream does.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use sqlx::PgPool;
use tenure_kernel::partition::PARTITIONS;
use tenure_kernel::relay::{headers, stream_name};
use tenure_testkit::free_port;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::Outcome;
use crate::baselines::publish;
use crate::binaries::{self, DEVELOPMENT};
use crate::cli::Plan;
use crate::process::{ChildProcess, Memory};
use crate::report::{Figure, Target, Unit};
use crate::seed::Seeder;
use crate::stack::{Employees, Infra, Servers, pool};

const SCENARIO: &str = "catch-up";
const EVENTS_PER_STREAM: u64 = 10;
/// The consumer's batch and ack window, as `ConsumerSettings::new` sets them.
const BATCH: usize = 256;
const MAX_ACK_PENDING: i64 = 4 * BATCH as i64;
const START_TIMEOUT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(20);
const RAW_TABLE: &str = "bench_raw.catch_up";

pub async fn run(plan: &Plan) -> anyhow::Result<Outcome> {
    let events: u64 = if plan.smoke { 5_000 } else { 200_000 };
    let timeout = if plan.smoke {
        Duration::from_secs(60)
    } else {
        Duration::from_secs(600)
    };
    let infra = Infra::create().await?;
    let servers = Servers::of(&infra);
    let binary = binaries::locate(DEVELOPMENT)?;
    let client = infra.nats.client().await;
    let stream = stream_name(&servers.subject_root, "employees");
    let env = vec![
        ("DATABASE_URL", servers.database_url.clone()),
        ("NATS_URL", servers.nats_url.clone()),
        ("TENURE_SUBJECT_ROOT", servers.subject_root.clone()),
        ("RUST_LOG", "warn".to_owned()),
        ("NO_COLOR", "1".to_owned()),
    ];

    let employees = Employees::start(&servers, 8).await?;
    let development = start(&binary, &env).await?;
    durables_created(&client, &stream, START_TIMEOUT).await?;
    development.terminate().await?;

    let tenant = Uuid::now_v7();
    let seeder = Seeder::connect(&servers.database_url, tenant).await?;
    let seeding = Instant::now();
    let people = seeder.seed(events, EVENTS_PER_STREAM, |_| {}).await?;
    seeder.analyze().await?;
    relayed(&client, &stream, events, timeout).await?;
    employees.stop().await?;
    eprintln!(
        "  {events} events of {people} employees stored and relayed in {:.1} s; starting development",
        seeding.elapsed().as_secs_f64()
    );

    let reader = pool(&servers.database_url, 1).await?;
    let started = Instant::now();
    let mut development = start(&binary, &env).await?;
    let listening = started.elapsed();
    let caught_up = applied(&reader, &mut development, people, events, timeout).await;
    let elapsed = started.elapsed();
    let log = development.log_tail(20);
    development.terminate().await?;
    caught_up.with_context(|| format!("development did not catch up:\n{log}"))?;

    let raw_pool = pool(&servers.database_url, PARTITIONS).await?;
    sqlx::raw_sql(&format!(
        "CREATE SCHEMA IF NOT EXISTS bench_raw; CREATE TABLE {RAW_TABLE} \
         (stream_id uuid, version bigint, payload bytea NOT NULL, PRIMARY KEY (stream_id, version))"
    ))
    .execute(&raw_pool)
    .await?;
    let acked = raw_pull(&client, &stream, &servers.subject_root, None, events).await?;
    let inserted = raw_pull(
        &client,
        &stream,
        &servers.subject_root,
        Some(raw_pool),
        events,
    )
    .await?;

    let rate = events as f64 / elapsed.as_secs_f64();
    let mut outcome = Outcome::default();
    outcome.notes.push(format!(
        "catch-up: {events} events of {people} employees waiting on JetStream; development listened \
         {:.0} ms after its start and held every event {:.2} s after it; the baselines read the same \
         stream with {PARTITIONS} pull consumers of batch {BATCH}",
        listening.as_secs_f64() * 1e3,
        elapsed.as_secs_f64()
    ));
    outcome.figures.push(
        Figure::new(
            SCENARIO,
            "events/s, development start → read model complete",
            Unit::PerSecond,
            rate,
        )
        .against("raw pull + INSERT", events as f64 / inserted.as_secs_f64())
        .target(Target::AtLeast(25_000.0)),
    );
    outcome.figures.push(
        Figure::new(
            SCENARIO,
            "events/s, vs pull and ack only",
            Unit::PerSecond,
            rate,
        )
        .against("raw pull + ack", events as f64 / acked.as_secs_f64()),
    );
    Ok(outcome)
}

/// Starts `tenure-development` on a free port and waits until it listens.
async fn start(binary: &Path, env: &[(&str, String)]) -> anyhow::Result<ChildProcess> {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut env = env.to_vec();
    env.push(("TENURE_GRPC_ADDR", addr.to_string()));
    let mut process = ChildProcess::spawn(binary, &[], &env)?;
    process.wait_listening(addr, START_TIMEOUT).await?;
    Ok(process)
}

/// Waits until development has created its durable consumer of every partition.
async fn durables_created(
    client: &async_nats::Client,
    stream: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let js = jetstream::new(client.clone());
    loop {
        if let Ok(stream) = js.get_stream(stream).await {
            let mut missing = 0;
            for partition in 0..PARTITIONS {
                let durable = format!("{}-p{partition}", tenure_development::people::CONSUMER);
                if stream.consumer_info(&durable).await.is_err() {
                    missing += 1;
                }
            }
            if missing == 0 {
                return Ok(());
            }
        }
        anyhow::ensure!(
            started.elapsed() < timeout,
            "development's durable consumers missing after {timeout:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until `stream` holds `events` messages.
async fn relayed(
    client: &async_nats::Client,
    stream: &str,
    events: u64,
    timeout: Duration,
) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let stored = publish::stored(client, stream).await.unwrap_or(0);
        if stored >= events {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < timeout,
            "stream {stream} holds {stored} of {events} messages after {timeout:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until `people` holds `people` rows whose versions add up to `events`.
async fn applied(
    reader: &PgPool,
    development: &mut ChildProcess,
    people: u64,
    events: u64,
    timeout: Duration,
) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let (rows, versions): (i64, i64) = sqlx::query_as(
            "SELECT count(*), COALESCE(sum(last_event_version), 0)::bigint FROM development.people",
        )
        .fetch_one(reader)
        .await?;
        if (rows as u64, versions as u64) == (people, events) {
            return Ok(());
        }
        anyhow::ensure!(
            Memory::of(development.pid()).is_some(),
            "development exited with {rows} people and {versions} of {events} events applied"
        );
        anyhow::ensure!(
            started.elapsed() < timeout,
            "{rows} people and {versions} of {events} events applied after {timeout:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Reads all `events` of `stream` with a new pull consumer per partition
/// (batches and ack window as the kernel's), acking each batch after
/// inserting its rows into `RAW_TABLE` in one statement if `insert` is given.
/// Returns the time until the last ack was sent.
async fn raw_pull(
    client: &async_nats::Client,
    stream: &str,
    subject_root: &str,
    insert: Option<PgPool>,
    events: u64,
) -> anyhow::Result<Duration> {
    let js = jetstream::new(client.clone());
    let stream = js
        .get_stream(stream)
        .await
        .map_err(|e| anyhow::anyhow!("stream {stream}: {e}"))?;
    let name = format!("raw-{}", Uuid::now_v7().simple());
    let mut consumers = Vec::new();
    for partition in 0..PARTITIONS {
        let durable = format!("{name}-p{partition}");
        let consumer: jetstream::consumer::PullConsumer = stream
            .create_consumer(pull::Config {
                durable_name: Some(durable.clone()),
                filter_subject: format!("{subject_root}.employees.{partition}.>"),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                max_ack_pending: MAX_ACK_PENDING,
                ..Default::default()
            })
            .await
            .map_err(|e| anyhow::anyhow!("raw consumer {durable}: {e}"))?;
        consumers.push(consumer);
    }
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for consumer in consumers {
        tasks.spawn(pull_partition(
            consumer,
            insert.clone(),
            done.clone(),
            events,
        ));
    }
    while let Some(finished) = tasks.join_next().await {
        finished??;
    }
    Ok(started.elapsed())
}

/// One partition of [`raw_pull`]: consumes until all partitions together acked `events`.
async fn pull_partition(
    consumer: jetstream::consumer::PullConsumer,
    insert: Option<PgPool>,
    done: Arc<AtomicU64>,
    events: u64,
) -> anyhow::Result<()> {
    let messages = consumer
        .stream()
        .max_messages_per_batch(BATCH)
        .messages()
        .await
        .map_err(|e| anyhow::anyhow!("raw pull: {e}"))?;
    let mut batches = messages.ready_chunks(BATCH);
    while done.load(Ordering::Relaxed) < events {
        let next = tokio::time::timeout(Duration::from_millis(100), batches.next()).await;
        let Ok(Some(batch)) = next else { continue };
        let batch: Vec<jetstream::Message> = batch.into_iter().filter_map(Result::ok).collect();
        if let Some(pool) = &insert {
            let mut streams = Vec::with_capacity(batch.len());
            let mut versions = Vec::with_capacity(batch.len());
            let mut payloads = Vec::with_capacity(batch.len());
            for message in &batch {
                let map = message
                    .headers
                    .as_ref()
                    .context("message without headers")?;
                streams.push(headers::get_uuid(map, headers::CE_SUBJECT).context("no stream id")?);
                versions.push(
                    headers::get(map, headers::STREAM_VERSION)
                        .and_then(|v| v.parse::<i64>().ok())
                        .context("no stream version")?,
                );
                payloads.push(message.payload.as_ref());
            }
            sqlx::query(&format!(
                "INSERT INTO {RAW_TABLE} (stream_id, version, payload) \
                 SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bytea[]) ON CONFLICT DO NOTHING"
            ))
            .bind(&streams)
            .bind(&versions)
            .bind(&payloads)
            .execute(pool)
            .await?;
        }
        for message in &batch {
            message
                .ack()
                .await
                .map_err(|e| anyhow::anyhow!("raw ack: {e}"))?;
        }
        done.fetch_add(batch.len() as u64, Ordering::Relaxed);
    }
    Ok(())
}
