//! Cross-service latency: an open loop of `HireEmployee` at a steady rate;
//! for each hire, the time from the command's OK to the employee's row in the
//! development service's read model, and how long the consumer needs after
//! the load stops until every row is there.
//!
//! Arrival is the commit of the row, heard through a `NOTIFY` trigger (see
//! [`crate::arrivals`]). The baseline is a raw pipe at the same rate: publish
//! to JetStream (OK = the ack), a plain pull consumer inserting batches into a
//! table with the same trigger — the part of the path that crossing services
//! over JetStream cannot avoid (Tenure adds the relay hop before it).
//! A plain NATS subscription on the hire subject splits Tenure's time into
//! the relay hop (OK → published) and the consumer hop (published → row); the
//! consumer hop compares directly with the raw pipe.

use std::time::Duration;

use bytes::Bytes;
use tenure_kernel::relay::headers;
use tenure_proto::tenure::employees::v1::employees_service_client::EmployeesServiceClient;
use tonic::transport::Channel;
use uuid::Uuid;

use super::Outcome;
use crate::arrivals::{self, Arrivals};
use crate::baselines::pipe::{self, RawPipe, RawSender};
use crate::cli::Plan;
use crate::measure::{Latencies, OpenLoop, open_loop};
use crate::report::{Figure, Target, Unit};
use crate::requests::{Tenant, hire, hired};
use crate::seed;
use crate::stack::{Development, Employees, Infra, Servers};

const SCENARIO: &str = "cross-service";
/// gRPC connections the open loop spreads its calls over.
const CONNECTIONS: usize = 4;
const MAX_IN_FLIGHT: usize = 4_096;
const TENURE_CHANNEL: &str = "bench_people_seen";
const RAW_CHANNEL: &str = "bench_raw_seen";

/// What one open-loop run found.
struct Run {
    /// OK (or ack) → row committed.
    arrival: Latencies,
    /// The two hops of `arrival` when the messages were watched on NATS:
    /// OK → published by the relay, published → row committed.
    hops: Option<(Latencies, Latencies)>,
    /// Due → OK: the command's own latency in the open loop.
    command: Latencies,
    /// Last row committed after the last OK.
    lag: Duration,
    late: u64,
}

pub async fn run(plan: &Plan) -> anyhow::Result<Outcome> {
    let infra = Infra::create().await?;
    let servers = Servers::of(&infra);
    let employees = Employees::start(&servers, 16).await?;
    let development = Development::start(&servers, 8).await?;
    let pool = infra.pool(2).await?;
    arrivals::install(&pool, "development.people", "employee_id", TENURE_CHANNEL).await?;
    let tenure_seen = Arrivals::listen(&infra.database.url, TENURE_CHANNEL).await?;
    let client = infra.nats.client().await;
    let pipe = RawPipe::start(
        &client,
        pool.clone(),
        &infra.nats.stream_name("rawpipe"),
        &servers.subject_root,
    )
    .await?;
    arrivals::install(&pool, pipe::TABLE, "id", RAW_CHANNEL).await?;
    let raw_seen = Arrivals::listen(&infra.database.url, RAW_CHANNEL).await?;
    let hired_subject = format!("{}.employees.*.EmployeeHired", servers.subject_root);
    let published = Arrivals::subscribe(&client, hired_subject, headers::CE_SUBJECT).await?;

    let tenant = Tenant::random();
    let mut clients = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        clients.push(employees.client().await?);
    }
    let drain_timeout = if plan.smoke {
        Duration::from_secs(30)
    } else {
        Duration::from_secs(120)
    };
    // The first hire also waits for the development consumer to be created.
    let first = hire_over(clients[0].clone(), tenant).await?;
    tenure_seen
        .wait_all(&[first], Duration::from_secs(60))
        .await?;
    let payload = Bytes::from(seed::employee_stream(1).remove(0).payload);

    let mut outcome = Outcome::default();
    for &rate in &plan.cross_rates {
        eprintln!("  {rate}/s for {:?}: Tenure, raw pipe", plan.cross_duration);
        let loop_clients = clients.clone();
        let tenure = open_loop(rate, plan.cross_duration, MAX_IN_FLIGHT, move |seq| {
            hire_over(loop_clients[seq as usize % CONNECTIONS].clone(), tenant)
        })
        .await;
        let tenure = match measure(tenure, &tenure_seen, Some(&published), drain_timeout).await {
            Ok(run) => run,
            Err(error) => {
                outcome
                    .failures
                    .push(format!("Tenure at {rate}/s: {error:#}"));
                continue;
            }
        };
        let sender = pipe.sender();
        let raw_payload = payload.clone();
        let raw = open_loop(rate, plan.cross_duration, MAX_IN_FLIGHT, move |_| {
            send_over(sender.clone(), raw_payload.clone())
        })
        .await;
        let raw = match measure(raw, &raw_seen, None, drain_timeout).await {
            Ok(run) => run,
            Err(error) => {
                outcome
                    .failures
                    .push(format!("raw pipe at {rate}/s: {error:#}"));
                continue;
            }
        };
        if tenure.late + raw.late > 0 {
            outcome.notes.push(format!(
                "cross-service {rate}/s: {} Tenure and {} raw calls left more than 10 ms late (sender behind)",
                tenure.late, raw.late
            ));
        }
        outcome.figures.extend(figures(rate, &tenure, &raw));
    }
    pipe.stop().await?;
    development.stop().await?;
    employees.stop().await?;
    drop((tenure_seen, raw_seen, published));
    pool.close().await;
    Ok(outcome)
}

/// Hires one employee over gRPC; the new employee's id.
async fn hire_over(
    mut client: EmployeesServiceClient<Channel>,
    tenant: Tenant,
) -> anyhow::Result<Uuid> {
    let response = client.hire_employee(tenant.request(hire())).await?;
    hired(response.get_ref())
}

/// Sends one message through the raw pipe; its id.
async fn send_over(sender: RawSender, payload: Bytes) -> anyhow::Result<Uuid> {
    let id = Uuid::now_v7();
    sender.send(id, payload).await?;
    Ok(id)
}

/// Waits for every answered call's row and measures the run.
async fn measure(
    sent: OpenLoop<Uuid>,
    seen: &Arrivals,
    published: Option<&Arrivals>,
    timeout: Duration,
) -> anyhow::Result<Run> {
    let mut command = Latencies::default();
    let mut ids = Vec::with_capacity(sent.calls.len());
    let mut answered = Vec::with_capacity(sent.calls.len());
    let mut errors = Vec::new();
    for call in &sent.calls {
        match &call.result {
            Ok(id) => {
                command.record(call.answered.duration_since(call.due));
                ids.push(*id);
                answered.push(call.answered);
            }
            Err(error) => errors.push(format!("{error:#}")),
        }
    }
    if let Some(first) = errors.first() {
        anyhow::bail!(
            "{} of {} calls failed, first: {first}",
            errors.len(),
            sent.calls.len()
        );
    }
    let arrived = seen.wait_all(&ids, timeout).await?;
    let mut arrival = Latencies::default();
    let mut last = sent.finished;
    for (ok, at) in answered.iter().zip(&arrived) {
        arrival.record(at.saturating_duration_since(*ok));
        last = last.max(*at);
    }
    let hops = published.map(|published| {
        let (mut relay, mut consumer) = (Latencies::default(), Latencies::default());
        for ((ok, row), on_nats) in answered.iter().zip(&arrived).zip(published.arrived(&ids)) {
            if let Some(on_nats) = on_nats {
                relay.record(on_nats.saturating_duration_since(*ok));
                consumer.record(row.saturating_duration_since(on_nats));
            }
        }
        (relay, consumer)
    });
    Ok(Run {
        arrival,
        hops,
        command,
        lag: last.duration_since(sent.finished),
        late: sent.late,
    })
}

fn figures(rate: u64, tenure: &Run, raw: &Run) -> Vec<Figure> {
    let at = |what: &str| format!("{what}, {rate}/s");
    let high = rate >= 1_000;
    let mut figures = Vec::new();
    for (name, quantile) in [
        ("OK → row p50", 0.5),
        ("OK → row p99", 0.99),
        ("OK → row p99.9", 0.999),
    ] {
        let mut figure = Figure::new(
            SCENARIO,
            at(name),
            Unit::Millis,
            tenure.arrival.millis_at(quantile),
        )
        .against("raw pipe", raw.arrival.millis_at(quantile));
        if high && quantile == 0.99 {
            figure = figure.target(Target::Below(50.0));
        }
        figures.push(figure);
    }
    figures.push(
        Figure::new(
            SCENARIO,
            at("OK → row max"),
            Unit::Millis,
            tenure.arrival.max_millis(),
        )
        .against("raw pipe", raw.arrival.max_millis()),
    );
    let mut lag = Figure::new(
        SCENARIO,
        at("lag after load"),
        Unit::Millis,
        tenure.lag.as_secs_f64() * 1e3,
    )
    .against("raw pipe", raw.lag.as_secs_f64() * 1e3);
    if high {
        lag = lag.target(Target::AtMost(1_000.0));
    }
    figures.push(lag);
    if let Some((relay, consumer)) = &tenure.hops {
        for (name, quantile) in [("p50", 0.5), ("p99", 0.99)] {
            let metric = at(&format!("relay hop OK → on NATS {name}"));
            figures.push(Figure::new(
                SCENARIO,
                metric,
                Unit::Millis,
                relay.millis_at(quantile),
            ));
        }
        for (name, quantile) in [("p50", 0.5), ("p99", 0.99)] {
            let metric = at(&format!("consumer hop NATS → row {name}"));
            figures.push(
                Figure::new(SCENARIO, metric, Unit::Millis, consumer.millis_at(quantile))
                    .against("raw pipe", raw.arrival.millis_at(quantile)),
            );
        }
    }
    figures.push(
        Figure::new(
            SCENARIO,
            at("hire p99 (open loop)"),
            Unit::Millis,
            tenure.command.millis_at(0.99),
        )
        .against("raw publish ack", raw.command.millis_at(0.99)),
    );
    figures
}
