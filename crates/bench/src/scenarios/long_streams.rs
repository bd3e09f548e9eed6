//! Long streams: the latency of one command (`SetInterests` over gRPC) on
//! employees with 100, 1,000 and 10,000 earlier events. Snapshots should keep
//! it flat; the baseline is the shortest stream.
//!
//! The streams are built through the app layer (the service's API without
//! gRPC) with `SetInterests` alternating two tag sets, so every command
//! records an event and the kernel writes its snapshots as it would in
//! production. The measured commands go round-robin over the streams, so
//! noise on the machine hits every length alike; each measured command adds
//! an event too, so a stream ends `samples` events longer than it started
//! (whole snapshot intervals, the same spread for every length).

use std::time::Instant;

use tenure_employees::grpc::EmployeesApi;
use tenure_proto::tenure::employees::v1::employees_service_server::EmployeesService;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::Outcome;
use crate::cli::Plan;
use crate::measure::Latencies;
use crate::report::{Figure, Target, Unit};
use crate::requests::{Tenant, hire, hired, set_interests};
use crate::stack::{Employees, Infra, Servers};

const SCENARIO: &str = "long-streams";
/// Unmeasured rounds before the measured ones.
const WARMUP_ROUNDS: usize = 5;

pub async fn run(plan: &Plan) -> anyhow::Result<Outcome> {
    let infra = Infra::create().await?;
    let service = Employees::start(&Servers::of(&infra), 8).await?;
    let tenant = Tenant::random();

    let started = Instant::now();
    let mut building = JoinSet::new();
    for &length in &plan.stream_lengths {
        building.spawn(build_stream(service.api.clone(), tenant, length));
    }
    let mut streams = Vec::new();
    while let Some(built) = building.join_next().await {
        streams.push(built??);
    }
    streams.sort_by_key(|s| s.length);
    let mut outcome = Outcome::default();
    outcome.notes.push(format!(
        "long-streams: streams of {:?} events built with SetInterests through the app layer in {:.1} s; \
         then {} measured SetInterests over gRPC per stream, round-robin",
        plan.stream_lengths,
        started.elapsed().as_secs_f64(),
        plan.stream_samples
    ));

    let mut client = service.client().await?;
    let mut latencies = vec![Latencies::default(); streams.len()];
    for round in 0..WARMUP_ROUNDS + plan.stream_samples {
        for (stream, recorded) in streams.iter_mut().zip(latencies.iter_mut()) {
            let request = tenant.request(set_interests(stream.employee_id, stream.version as u64));
            let sent = Instant::now();
            let response = client.set_interests(request).await?;
            let took = sent.elapsed();
            stream.version += 1;
            let answered = response.get_ref().version;
            anyhow::ensure!(
                answered == stream.version,
                "SetInterests on the {}-event stream answered version {answered}, expected {}",
                stream.length,
                stream.version
            );
            if round >= WARMUP_ROUNDS {
                recorded.record(took);
            }
        }
    }
    service.stop().await?;

    let (shortest, base) = (streams[0].length, &latencies[0]);
    for (stream, recorded) in streams.iter().zip(&latencies) {
        let label = format!("{} events", thousands(shortest));
        for (name, quantile) in [("p50", 0.5), ("p99", 0.99)] {
            let metric = format!("{name}, {} earlier events", thousands(stream.length));
            let mut figure =
                Figure::new(SCENARIO, metric, Unit::Millis, recorded.millis_at(quantile));
            if stream.length != shortest {
                figure = figure.against(label.clone(), base.millis_at(quantile));
                if quantile == 0.5 && stream.length >= 100 * shortest {
                    figure = figure.target(Target::RatioAtMost(1.5));
                }
            }
            outcome.figures.push(figure);
        }
    }
    Ok(outcome)
}

/// An employee whose stream is at `version`, built to `length` events.
struct Stream {
    employee_id: Uuid,
    length: u64,
    version: i64,
}

/// Hires an employee and records interest changes until the stream holds `length` events.
async fn build_stream(api: EmployeesApi, tenant: Tenant, length: u64) -> anyhow::Result<Stream> {
    let response = EmployeesService::hire_employee(&api, tenant.request(hire())).await?;
    let employee_id = hired(response.get_ref())?;
    let mut version = response.get_ref().version;
    while (version as u64) < length {
        let request = tenant.request(set_interests(employee_id, version as u64));
        let next = EmployeesService::set_interests(&api, request)
            .await?
            .get_ref()
            .version;
        anyhow::ensure!(
            next > version,
            "SetInterests with new tags recorded no event (version {next})"
        );
        version = next;
    }
    Ok(Stream {
        employee_id,
        length,
        version,
    })
}

fn thousands(n: u64) -> String {
    crate::report::format_value(n as f64, Unit::Count)
}
