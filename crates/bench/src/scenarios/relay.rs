//! Relay: events appended while NATS is unreachable, then NATS returns; how
//! long until all of them are on JetStream, against raw pipelined publishing
//! of the same messages on the same server.
//!
//! The employees service runs against a NATS server of the bench's own. One
//! hire proves the relay publishes; then the server stops, the events go
//! straight into the store (see [`crate::seed`]: large multi-row inserts,
//! as an append writes them; then `ANALYZE`), and the server restarts on
//! the same port and store. The bench polls the stream's message count.
//! The baseline publishes messages with the same payloads and the same
//! headers the relay sends (`Nats-Msg-Id` included) into a fresh stream
//! configured like the service's on the same server, all before awaiting the
//! first ack; it builds each message's subject and headers on the clock, as
//! the relay builds them from the rows it read.
//!
//! All of it runs twice where both are installed: on the operating system's
//! nats-server (the shared server's version) and on a current one with
//! `sync_interval: always` (see [`crate::nats_server`]).

use std::time::{Duration, Instant};

use bytes::Bytes;
use tenure_kernel::aggregate::EventData;
use tenure_kernel::event::Recorded;
use tenure_kernel::relay::{headers, stream_name};
use tenure_proto::tenure::employees::v1::employees_service_server::EmployeesService;
use tenure_testkit::TestDatabase;
use uuid::Uuid;

use super::Outcome;
use crate::baselines::publish::{self, RawMessage};
use crate::cli::Plan;
use crate::nats_server::{self, NatsBinary, PrivateServer};
use crate::report::{Figure, Target, Unit};
use crate::requests::{Tenant, hire};
use crate::seed::Seeder;
use crate::stack::{Employees, Servers};

const SCENARIO: &str = "relay";
/// Events per seeded employee.
const EVENTS_PER_STREAM: u64 = 10;
/// How often the stream's message count is read.
const POLL: Duration = Duration::from_millis(10);

pub async fn run(plan: &Plan) -> anyhow::Result<Outcome> {
    let (binaries, missing) = nats_server::binaries();
    anyhow::ensure!(
        !binaries.is_empty(),
        "no nats-server: {}",
        missing.join("; ")
    );
    let mut outcome = Outcome::default();
    for reason in missing {
        outcome
            .notes
            .push(format!("relay: {reason}, measured without it"));
    }
    for binary in &binaries {
        eprintln!("  on {binary}");
        // One server failing leaves the other's figures standing.
        match run_on(plan, binary).await {
            Ok(on) => {
                outcome.figures.extend(on.figures);
                outcome.notes.extend(on.notes);
                outcome.failures.extend(on.failures);
            }
            Err(error) => outcome.failures.push(format!("on {binary}: {error:#}")),
        }
    }
    Ok(outcome)
}

/// The scenario on a private server of `binary`.
async fn run_on(plan: &Plan, binary: &NatsBinary) -> anyhow::Result<Outcome> {
    let database = TestDatabase::create().await?;
    let mut nats = PrivateServer::start(binary).await?;
    let root = format!("b{}", &Uuid::new_v4().simple().to_string()[..12]);
    let servers = Servers {
        database_url: database.url.clone(),
        nats_url: nats.url(),
        subject_root: root.clone(),
    };
    let service = Employees::start(&servers, 8).await?;
    let stream = stream_name(&root, "employees");
    let tenant = Tenant::random();
    let mut outcome = Outcome::default();

    EmployeesService::hire_employee(&service.api, tenant.request(hire())).await?;
    let client = async_nats::connect(nats.url()).await?;
    wait_for_count(&client, &stream, 0, 1, Duration::from_secs(30)).await?;
    drop(client);

    nats.stop().await?;
    let seeder = Seeder::connect(&database.url, tenant.0).await?;
    let mut messages = Vec::with_capacity(plan.relay_events as usize);
    let seeding = Instant::now();
    seeder
        .seed(plan.relay_events, EVENTS_PER_STREAM, |event| {
            messages.push(event.recorded(tenant.0))
        })
        .await?;
    seeder.analyze().await?;
    let seeded_in = seeding.elapsed();

    let restarting = Instant::now();
    nats.restart().await?;
    let up = Instant::now();
    let client = async_nats::connect(nats.url()).await?;
    let expected = 1 + plan.relay_events;
    let timeout = if plan.smoke {
        Duration::from_secs(60)
    } else {
        Duration::from_secs(600)
    };
    let arrival = wait_for_count(&client, &stream, 1, expected, timeout).await;
    let relayed = match arrival {
        Ok(arrival) => arrival,
        Err(error) => {
            service.stop().await.ok();
            return Err(error.context("the relay did not deliver every event after NATS returned"));
        }
    };
    outcome.check(relay_caught_up(&seeder, Duration::from_secs(30)).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stored = publish::stored(&client, &stream).await?;
    if stored != expected {
        outcome.failures.push(format!(
            "the service's stream holds {stored} messages, expected {expected} (duplicates?)"
        ));
    }
    service.stop().await?;

    let raw_stream = format!("{}_RAW", root.to_uppercase());
    publish::create_stream(&client, &raw_stream, &format!("{root}.raw.>")).await?;
    let count = messages.len() as u64;
    let raw_elapsed =
        publish::publish_all(&client, messages, |event| raw_message(event, &root)).await?;
    let raw_stored = publish::stored(&client, &raw_stream).await?;
    if raw_stored != count {
        outcome.failures.push(format!(
            "the raw stream holds {raw_stored} messages, expected {count}"
        ));
    }

    let raw_rate = count as f64 / raw_elapsed.as_secs_f64();
    let total = relayed.done.duration_since(up);
    let drain = relayed.done.duration_since(relayed.first.unwrap_or(up));
    let n = plan.relay_events as f64;
    outcome.notes.push(format!(
        "relay on {binary}: {} events seeded into the store in {:.1} s while NATS was down; NATS restart took {:.0} ms \
         until it accepted connections; times count from then",
        plan.relay_events,
        seeded_in.as_secs_f64(),
        up.duration_since(restarting).as_secs_f64() * 1e3
    ));
    outcome.figures.push(
        Figure::new(
            SCENARIO,
            format!("events/s, NATS back → all on JetStream, {binary}"),
            Unit::PerSecond,
            n / total.as_secs_f64(),
        )
        .against("raw publish", raw_rate)
        .target(Target::RatioAtLeast(0.8)),
    );
    outcome.figures.push(
        Figure::new(
            SCENARIO,
            format!("events/s, first → last on JetStream, {binary}"),
            Unit::PerSecond,
            n / drain.as_secs_f64().max(1e-6),
        )
        .against("raw publish", raw_rate),
    );
    outcome.figures.push(Figure::new(
        SCENARIO,
        format!("NATS back → first event stored, {binary}"),
        Unit::Millis,
        relayed
            .first
            .map_or(0.0, |first| first.duration_since(up).as_secs_f64() * 1e3),
    ));
    outcome.figures.push(
        Figure::new(
            SCENARIO,
            format!("all on JetStream after NATS back, {binary}"),
            Unit::Millis,
            total.as_secs_f64() * 1e3,
        )
        .against("raw publish", raw_elapsed.as_secs_f64() * 1e3),
    );
    Ok(outcome)
}

/// The message the relay publishes for `event`, sent to
/// `<root>.raw.<partition>.<type>`: built as the relay builds it.
fn raw_message(mut event: Recorded<EventData>, root: &str) -> RawMessage {
    let partition = tenure_kernel::partition::partition_of(event.stream_id);
    let subject = format!("{root}.raw.{partition}.{}", event.event.event_type);
    let headers = headers::for_event(&event, "employees", &subject);
    RawMessage {
        subject,
        headers,
        payload: Bytes::from(std::mem::take(&mut event.event.payload)),
    }
}

/// When the stream's count first grew beyond where it was and when it reached the target.
struct Relayed {
    first: Option<Instant>,
    done: Instant,
}

/// Polls the message count of `stream`, which held `from`, until it reaches `expected`.
async fn wait_for_count(
    client: &async_nats::Client,
    stream: &str,
    from: u64,
    expected: u64,
    timeout: Duration,
) -> anyhow::Result<Relayed> {
    let started = Instant::now();
    let mut first = None;
    let mut last = 0;
    while started.elapsed() < timeout {
        if let Ok(count) = publish::stored(client, stream).await {
            let now = Instant::now();
            if first.is_none() && count > from {
                first = Some(now);
            }
            last = count;
            if count >= expected {
                return Ok(Relayed { first, done: now });
            }
        }
        tokio::time::sleep(POLL).await;
    }
    anyhow::bail!("stream {stream} holds {last} of {expected} messages after {timeout:?}")
}

/// Waits until the relay's checkpoint is past every event (it moves only after the acks).
async fn relay_caught_up(seeder: &Seeder, timeout: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let left = seeder.relay_lag().await?;
        if left == 0 {
            return Ok(());
        }
        if started.elapsed() > timeout {
            anyhow::bail!(
                "{left} events behind the relay's checkpoint {timeout:?} after every event was on JetStream"
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
