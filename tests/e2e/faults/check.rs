//! What must hold after a fault, counted by event id:
//!
//! 1. every event committed in `employees.events` is in the JetStream stream
//!    exactly once, and the stream holds nothing else;
//! 2. on JetStream each employee's versions follow each other 1, 2, 3, … in
//!    stream order (one relay publishes at a time);
//! 3. development's read model applied every event exactly once and in
//!    order: one `people` row per employee at the employee's last version,
//!    the consumer's applied version the same, nothing parked, no open dead
//!    letter;
//! 4. every command a client was told OK for is in the event store exactly
//!    once, and nothing is in it twice (a hire per work email, at most the
//!    role changes sent).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use anyhow::{Context, ensure};
use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use prost::Message;
use sqlx::PgPool;
use tenure_kernel::relay::headers;
use tenure_proto::tenure::employees::v1 as events;
use tokio::time::Instant;
use uuid::Uuid;

use super::load::Report;

/// The consumer name of development's people read model.
const CONSUMER: &str = tenure_development::people::CONSUMER;

/// How long the relay and the consumer may take to catch up after the load.
const CATCH_UP: Duration = Duration::from_secs(60);

/// One event as PostgreSQL committed it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Committed {
    pub event_id: Uuid,
    pub stream_id: Uuid,
    pub version: i64,
    pub event_type: String,
    pub payload: Vec<u8>,
}

/// One message as the JetStream stream holds it.
#[derive(Debug, Clone)]
pub struct Published {
    pub sequence: u64,
    pub event_id: Option<Uuid>,
    pub stream_id: Option<Uuid>,
    pub version: Option<i64>,
}

/// The numbers a passing check saw, for the test's output.
#[derive(Debug, Default)]
pub struct Counts {
    pub events: usize,
    pub employees: usize,
    pub published: usize,
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} events of {} employees committed, {} messages in the stream",
            self.events, self.employees, self.published
        )
    }
}

/// Polls `done` every 50 ms until it is true or `within` has passed.
pub async fn eventually<F>(what: &str, within: Duration, done: F) -> anyhow::Result<()>
where
    F: AsyncFnMut() -> anyhow::Result<bool>,
{
    eventually_every(what, within, Duration::from_millis(50), done).await
}

/// Polls `done` every `pause` until it is true or `within` has passed.
pub async fn eventually_every<F>(
    what: &str,
    within: Duration,
    pause: Duration,
    mut done: F,
) -> anyhow::Result<()>
where
    F: AsyncFnMut() -> anyhow::Result<bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if done().await? {
            return Ok(());
        }
        ensure!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(pause).await;
    }
}

/// Waits until the relay's checkpoint is past every event; fails on a
/// parked event.
pub async fn relayed(pool: &PgPool) -> anyhow::Result<()> {
    eventually("every event is relayed", CATCH_UP, async || {
        let (behind, held, parked): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM employees.events e \
                     WHERE (e.tx_id, e.position) > \
                           (SELECT c.tx_id::text::xid8, c.position FROM employees.checkpoints c \
                            WHERE c.name = 'relay')), \
                    (SELECT count(*) FROM employees.relay_held), \
                    (SELECT count(*) FROM employees.relay_held WHERE error IS NOT NULL)",
        )
        .fetch_one(pool)
        .await?;
        ensure!(parked == 0, "{parked} events were parked as refused");
        Ok(behind == 0 && held == 0)
    })
    .await
}

/// Every committed event, in stream and version order.
pub async fn committed(pool: &PgPool) -> anyhow::Result<Vec<Committed>> {
    Ok(sqlx::query_as(
        "SELECT event_id, stream_id, version, event_type, payload \
         FROM employees.events ORDER BY stream_id, version",
    )
    .fetch_all(pool)
    .await?)
}

/// Every message of `stream`, in stream order, read by an ephemeral
/// consumer that acks nothing, up to the last sequence the stream reports.
/// A read that fails (a request timing out while a cluster settles) is
/// started over, three times at most.
pub async fn published(js: &jetstream::Context, stream: &str) -> anyhow::Result<Vec<Published>> {
    let mut attempt = 1;
    loop {
        match read_stream(js, stream).await {
            Ok(read) => return Ok(read),
            Err(error) if attempt >= 3 => return Err(error),
            Err(error) => {
                eprintln!("reading {stream} back failed ({error:#}); reading it again");
                attempt += 1;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

async fn read_stream(js: &jetstream::Context, stream: &str) -> anyhow::Result<Vec<Published>> {
    let mut handle = js
        .get_stream(stream)
        .await
        .with_context(|| format!("get stream {stream}"))?;
    let state = handle.info().await?.state.clone();
    let mut read = Vec::with_capacity(state.messages as usize);
    if state.messages == 0 {
        return Ok(read);
    }
    let consumer = handle
        .create_consumer(pull::Config {
            ack_policy: jetstream::consumer::AckPolicy::None,
            deliver_policy: jetstream::consumer::DeliverPolicy::All,
            inactive_threshold: Duration::from_secs(60),
            ..Default::default()
        })
        .await?;
    let mut messages = consumer.messages().await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let message = tokio::time::timeout(remaining, messages.next())
            .await
            .with_context(|| {
                format!(
                    "read {} of {} messages of {stream} within 30 s",
                    read.len(),
                    state.messages
                )
            })?
            .context("the message stream ended")?
            .map_err(|error| anyhow::anyhow!("read {stream}: {error}"))?;
        let sequence = message
            .info()
            .map_err(|error| anyhow::anyhow!("message info: {error}"))?
            .stream_sequence;
        let h = message.headers.clone().unwrap_or_default();
        read.push(Published {
            sequence,
            event_id: headers::get_uuid(&h, headers::MSG_ID),
            stream_id: headers::get_uuid(&h, headers::CE_SUBJECT),
            version: headers::get(&h, headers::STREAM_VERSION).and_then(|v| v.parse().ok()),
        });
        if sequence >= state.last_sequence {
            return Ok(read);
        }
    }
}

/// The last version of every employee.
fn last_versions(events: &[Committed]) -> HashMap<Uuid, i64> {
    let mut last = HashMap::new();
    for event in events {
        let entry = last.entry(event.stream_id).or_insert(0);
        *entry = (*entry).max(event.version);
    }
    last
}

/// At most `n` items, for messages.
fn some<T: std::fmt::Debug>(items: &[T], n: usize) -> String {
    let shown: Vec<&T> = items.iter().take(n).collect();
    if items.len() > n {
        format!("{shown:?} and {} more", items.len() - n)
    } else {
        format!("{shown:?}")
    }
}

/// Checks 1 and 2: the stream holds every committed event exactly once,
/// nothing else, and each employee's versions in order.
pub fn stream_matches(events: &[Committed], published: &[Published]) -> anyhow::Result<Counts> {
    let mut problems = Vec::new();
    let committed: HashMap<Uuid, &Committed> = events.iter().map(|e| (e.event_id, e)).collect();
    if committed.len() != events.len() {
        problems.push(format!(
            "{} events in PostgreSQL but {} distinct event ids",
            events.len(),
            committed.len()
        ));
    }
    let mut seen: HashMap<Uuid, Vec<u64>> = HashMap::new();
    let mut unknown = Vec::new();
    let mut without_id = Vec::new();
    let mut wrong_position = Vec::new();
    for message in published {
        let Some(id) = message.event_id else {
            without_id.push(message.sequence);
            continue;
        };
        seen.entry(id).or_default().push(message.sequence);
        match committed.get(&id) {
            None => unknown.push((message.sequence, id)),
            Some(event) => {
                if message.stream_id != Some(event.stream_id)
                    || message.version != Some(event.version)
                {
                    wrong_position.push((message.sequence, id));
                }
            }
        }
    }
    let twice: Vec<(&Uuid, &Vec<u64>)> = seen.iter().filter(|(_, s)| s.len() > 1).collect();
    let missing: Vec<(Uuid, Uuid, i64)> = events
        .iter()
        .filter(|e| !seen.contains_key(&e.event_id))
        .map(|e| (e.event_id, e.stream_id, e.version))
        .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "{} committed events are not in the stream (event, employee, version): {}",
            missing.len(),
            some(&missing, 5)
        ));
    }
    if !twice.is_empty() {
        problems.push(format!(
            "{} events are in the stream more than once (event, sequences): {}",
            twice.len(),
            some(&twice, 5)
        ));
    }
    if !unknown.is_empty() {
        problems.push(format!(
            "{} messages are not committed events (sequence, id): {}",
            unknown.len(),
            some(&unknown, 5)
        ));
    }
    if !without_id.is_empty() {
        problems.push(format!(
            "{} messages without Nats-Msg-Id: sequences {}",
            without_id.len(),
            some(&without_id, 5)
        ));
    }
    if !wrong_position.is_empty() {
        problems.push(format!(
            "{} messages whose stream headers differ from the event's (sequence, id): {}",
            wrong_position.len(),
            some(&wrong_position, 5)
        ));
    }
    // Per employee, in stream order: 1, 2, 3, …
    let mut next: HashMap<Uuid, i64> = HashMap::new();
    let mut out_of_order = Vec::new();
    for message in published {
        let (Some(stream_id), Some(version)) = (message.stream_id, message.version) else {
            continue;
        };
        let expected = next.entry(stream_id).or_insert(1);
        if version != *expected {
            out_of_order.push((message.sequence, stream_id, version, *expected));
        }
        *expected = (*expected).max(version + 1);
    }
    if !out_of_order.is_empty() {
        problems.push(format!(
            "{} messages out of their employee's version order (sequence, employee, version, expected): {}",
            out_of_order.len(),
            some(&out_of_order, 5)
        ));
    }
    ensure!(problems.is_empty(), "JetStream: {}", problems.join("; "));
    Ok(Counts {
        events: events.len(),
        employees: last_versions(events).len(),
        published: published.len(),
    })
}

/// Waits until development's consumer has applied every employee's last
/// version and parks nothing, then check 3 in detail.
pub async fn read_model_matches(pool: &PgPool, events: &[Committed]) -> anyhow::Result<()> {
    let last = last_versions(events);
    let streams: Vec<Uuid> = last.keys().copied().collect();
    let versions: Vec<i64> = streams.iter().map(|s| last[s]).collect();
    let caught_up = eventually("development catches up", CATCH_UP, async || {
        let (applied, parked): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM development.consumer_streams c \
                     JOIN unnest($2::uuid[], $3::bigint[]) AS e(stream_id, version) \
                       ON e.stream_id = c.stream_id AND e.version = c.applied_version \
                     WHERE c.consumer = $1), \
                    (SELECT count(*) FROM development.parked_messages WHERE consumer = $1)",
        )
        .bind(CONSUMER)
        .bind(&streams)
        .bind(&versions)
        .fetch_one(pool)
        .await?;
        Ok(applied as usize == streams.len() && parked == 0)
    })
    .await;

    let mut problems = Vec::new();
    let people: Vec<(Uuid, i64, String)> = sqlx::query_as(
        "SELECT employee_id, last_event_version, role_title FROM development.people",
    )
    .fetch_all(pool)
    .await?;
    let roles: HashMap<Uuid, (String, i64)> = sqlx::query_as::<_, (Uuid, String, i64)>(
        "SELECT employee_id, role_title, version FROM employees.employee_directory",
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|(id, role, version)| (id, (role, version)))
    .collect();
    let mut rows: HashMap<Uuid, usize> = HashMap::new();
    let mut wrong = Vec::new();
    for (employee, version, role) in &people {
        *rows.entry(*employee).or_default() += 1;
        match (last.get(employee), roles.get(employee)) {
            (Some(last), Some((expected_role, directory_version)))
                if version == last && role == expected_role && directory_version == last => {}
            (last, directory) => wrong.push(format!(
                "{employee}: people at v{version} {role:?}, events at {last:?}, directory {directory:?}"
            )),
        }
    }
    let absent: Vec<&Uuid> = last.keys().filter(|id| !rows.contains_key(id)).collect();
    let doubled: Vec<&Uuid> = rows
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id)
        .collect();
    if !absent.is_empty() {
        problems.push(format!(
            "{} employees have no people row: {}",
            absent.len(),
            some(&absent, 5)
        ));
    }
    if !doubled.is_empty() {
        problems.push(format!("people rows twice: {}", some(&doubled, 5)));
    }
    if !wrong.is_empty() {
        problems.push(format!(
            "{} people rows differ from the events: {}",
            wrong.len(),
            some(&wrong, 5)
        ));
    }

    let applied: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT stream_id, applied_version FROM development.consumer_streams WHERE consumer = $1",
    )
    .bind(CONSUMER)
    .fetch_all(pool)
    .await?;
    let wrong_applied: Vec<(Uuid, i64, Option<i64>)> = applied
        .iter()
        .filter(|(stream, version)| last.get(stream) != Some(version))
        .map(|(stream, version)| (*stream, *version, last.get(stream).copied()))
        .collect();
    if applied.len() != last.len() || !wrong_applied.is_empty() {
        problems.push(format!(
            "consumer_streams: {} rows for {} employees; applied versions differing from the last event (employee, applied, last): {}",
            applied.len(),
            last.len(),
            some(&wrong_applied, 5)
        ));
    }

    let letters: Vec<(i64, Option<Uuid>, Option<i64>, String)> = sqlx::query_as(
        "SELECT id, stream_id, version, error FROM development.dead_letters \
         WHERE consumer = $1 AND resolved_at IS NULL ORDER BY id",
    )
    .bind(CONSUMER)
    .fetch_all(pool)
    .await?;
    if !letters.is_empty() {
        problems.push(format!(
            "{} open dead letters: {}",
            letters.len(),
            some(&letters, 3)
        ));
    }
    let parked: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT stream_id, version FROM development.parked_messages WHERE consumer = $1",
    )
    .bind(CONSUMER)
    .fetch_all(pool)
    .await?;
    if !parked.is_empty() {
        problems.push(format!(
            "{} messages still parked: {}",
            parked.len(),
            some(&parked, 5)
        ));
    }
    ensure!(
        problems.is_empty(),
        "development read model ({}): {}",
        caught_up.map_or_else(|e| e.to_string(), |()| "caught up".into()),
        problems.join("; ")
    );
    caught_up
}

/// Check 4: the store holds every command answered OK exactly once and no
/// command twice.
pub fn commands_match(report: &Report, events: &[Committed]) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    let mut by_stream: BTreeMap<Uuid, Vec<&Committed>> = BTreeMap::new();
    for event in events {
        by_stream.entry(event.stream_id).or_default().push(event);
    }
    // Work emails of all EmployeeHired events: one hire per email.
    let mut hired_emails: HashMap<String, Vec<Uuid>> = HashMap::new();
    let mut undecodable = Vec::new();
    let mut foreign = Vec::new();
    for (stream, stream_events) in &by_stream {
        for event in stream_events {
            match (event.event_type.as_str(), event.version) {
                ("EmployeeHired", 1) => match events::EmployeeHired::decode(&event.payload[..]) {
                    Ok(hired) => hired_emails
                        .entry(hired.work_email)
                        .or_default()
                        .push(*stream),
                    Err(error) => undecodable.push(format!("{}: {error}", event.event_id)),
                },
                ("RoleChanged", version) if version > 1 => {}
                (kind, version) => foreign.push(format!("{stream} v{version} {kind}")),
            }
        }
    }
    if !undecodable.is_empty() {
        problems.push(format!("undecodable hires: {}", some(&undecodable, 3)));
    }
    if !foreign.is_empty() {
        problems.push(format!(
            "events the load did not ask for: {}",
            some(&foreign, 5)
        ));
    }
    let doubled: Vec<(&String, &Vec<Uuid>)> = hired_emails
        .iter()
        .filter(|(_, ids)| ids.len() > 1)
        .collect();
    if !doubled.is_empty() {
        problems.push(format!(
            "{} work emails hired more than once: {}",
            doubled.len(),
            some(&doubled, 3)
        ));
    }
    let sent: HashSet<&str> = report
        .hired
        .iter()
        .map(|h| h.work_email.as_str())
        .chain(report.hires_given_up.iter().map(String::as_str))
        .collect();
    let strangers: Vec<&String> = hired_emails
        .keys()
        .filter(|email| !sent.contains(email.as_str()))
        .collect();
    if !strangers.is_empty() {
        problems.push(format!("hires nobody sent: {}", some(&strangers, 3)));
    }
    // Every hire answered OK: its employee, hired once, with its email.
    let mut lost = Vec::new();
    for hire in &report.hired {
        let ids = hired_emails.get(&hire.work_email);
        if ids.map(Vec::as_slice) != Some(&[hire.employee_id][..]) {
            lost.push(format!(
                "{} ({}): hired as {ids:?}",
                hire.employee_id, hire.work_email
            ));
        }
    }
    if !lost.is_empty() {
        problems.push(format!(
            "{} hires answered OK are not in the store as answered: {}",
            lost.len(),
            some(&lost, 5)
        ));
    }
    // Role changes: each OK version is a RoleChanged of its employee, and no
    // employee has more of them than were sent.
    let mut wrong_changes = Vec::new();
    for hire in &report.hired {
        let stream_events = by_stream
            .get(&hire.employee_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let changes: Vec<i64> = stream_events
            .iter()
            .filter(|e| e.event_type == "RoleChanged")
            .map(|e| e.version)
            .collect();
        let ok = report
            .changes_ok
            .get(&hire.employee_id)
            .cloned()
            .unwrap_or_default();
        let sent = report
            .changes_sent
            .get(&hire.employee_id)
            .copied()
            .unwrap_or(0);
        let all_ok_there = ok.iter().all(|v| changes.contains(v));
        let distinct: HashSet<&i64> = ok.iter().collect();
        if !all_ok_there || distinct.len() != ok.len() || changes.len() > sent {
            wrong_changes.push(format!(
                "{}: sent {sent}, OK at {ok:?}, stored at {changes:?}",
                hire.employee_id
            ));
        }
    }
    if !wrong_changes.is_empty() {
        problems.push(format!(
            "{} employees whose role changes differ from what was answered: {}",
            wrong_changes.len(),
            some(&wrong_changes, 5)
        ));
    }
    let hires_stored: usize = hired_emails.values().map(Vec::len).sum();
    ensure!(
        hires_stored <= report.hires_sent(),
        "{hires_stored} hires stored, {} sent",
        report.hires_sent()
    );
    ensure!(problems.is_empty(), "commands: {}", problems.join("; "));
    Ok(())
}
