//! Write path: `HireEmployee` of distinct new employees through real gRPC, in
//! a closed loop of 1, 8 and 32 clients, against (A) one-row INSERT commits on
//! as many connections, (B) a minimal tonic service doing that INSERT per
//! `HireEmployee` ([`crate::baselines::insert_service`], a child process,
//! loaded by the same gRPC clients) and (C) the same command through the app
//! layer without gRPC. Runs A, B, Tenure, C back to back at each concurrency.
//! Where `pgbench` is installed it runs A's INSERT too, at 1 and 32 clients,
//! right after A: the figure A is read against.

use std::net::SocketAddr;
use std::time::Duration;

use tenure_employees::grpc::EmployeesApi;
use tenure_proto::tenure::employees::v1::employees_service_client::EmployeesServiceClient;
use tenure_proto::tenure::employees::v1::employees_service_server::EmployeesService;
use tenure_testkit::free_port;
use tonic::transport::Channel;

use super::Outcome;
use crate::baselines::insert::{self, RawInsert};
use crate::baselines::pgbench::{self, Pgbench};
use crate::cli::Plan;
use crate::measure::{Client, ClosedLoop, closed_loop};
use crate::process::ChildProcess;
use crate::report::{Figure, Target, Unit};
use crate::requests::{Tenant, hire, hired};
use crate::seed;
use crate::stack::{Employees, Infra, Servers, grpc_client};

const SCENARIO: &str = "write";
/// Extra service connections beyond one per client: relay, notifier, leader.
const SPARE_CONNECTIONS: u32 = 4;
/// The client counts pgbench runs at, where the plan has them.
const PGBENCH_CLIENTS: [usize; 2] = [1, 32];
const START_TIMEOUT: Duration = Duration::from_secs(60);
const TONIC: &str = "tonic+sqlx INSERT";

/// A gRPC client on a connection of its own.
struct GrpcHire {
    client: EmployeesServiceClient<Channel>,
    tenant: Tenant,
}

impl Client for GrpcHire {
    async fn call(&mut self) -> anyhow::Result<()> {
        let response = self
            .client
            .hire_employee(self.tenant.request(hire()))
            .await?;
        hired(response.get_ref()).map(drop)
    }
}

/// The same command handed to the service's API object: no HTTP/2, no protobuf encoding.
struct AppHire {
    api: EmployeesApi,
    tenant: Tenant,
}

impl Client for AppHire {
    async fn call(&mut self) -> anyhow::Result<()> {
        let response =
            EmployeesService::hire_employee(&self.api, self.tenant.request(hire())).await?;
        hired(response.get_ref()).map(drop)
    }
}

pub async fn run(plan: &Plan) -> anyhow::Result<Outcome> {
    let infra = Infra::create().await?;
    let most = plan.write_clients.iter().copied().max().unwrap_or(1);
    let pool_size = most as u32 + SPARE_CONNECTIONS;
    let service = Employees::start(&Servers::of(&infra), pool_size).await?;
    let raw_pool = infra.pool(most as u32).await?;
    insert::create_table(&raw_pool).await?;
    let (tonic_addr, tonic_service) = start_insert_service(&infra.database.url, pool_size).await?;
    let tenant = Tenant::random();
    let payload = seed::employee_stream(1).remove(0).payload;
    let pgbench = pgbench::locate();

    let mut outcome = Outcome::default();
    outcome.notes.push(format!(
        "write: service pool {pool_size} connections; raw baseline on N connections with one autocommitted \
         INSERT (prepared, one round trip) per call; {TONIC}: a child process serving HireEmployee with \
         that INSERT on a pool of {pool_size}; gRPC clients each on their own HTTP/2 connection; \
         the clients run in the bench process on the same cores; the relay publishes to JetStream meanwhile"
    ));
    match &pgbench {
        Some(binary) => outcome.notes.push(format!(
            "write: {} -M prepared, the raw INSERT (values built by the server, random UUID keys) \
             at {PGBENCH_CLIENTS:?} clients where the run has them, {} s each, right after the raw baseline",
            binary.display(),
            plan.write_duration.as_secs().max(1)
        )),
        None => outcome.notes.push(
            "write: pgbench is not on PATH (Debian ships it with the server package); the raw baseline is not \
             compared with it"
                .to_owned(),
        ),
    }
    for &clients in &plan.write_clients {
        let mut raws = Vec::with_capacity(clients);
        let mut tonics = Vec::with_capacity(clients);
        let mut grpcs = Vec::with_capacity(clients);
        let mut apps = Vec::with_capacity(clients);
        for _ in 0..clients {
            raws.push(RawInsert::new(&raw_pool, tenant.0, payload.clone()).await?);
            tonics.push(GrpcHire {
                client: grpc_client(tonic_addr).await?,
                tenant,
            });
            grpcs.push(GrpcHire {
                client: service.client().await?,
                tenant,
            });
            apps.push(AppHire {
                api: service.api.clone(),
                tenant,
            });
        }
        eprintln!("  {clients} clients: raw INSERT, pgbench, {TONIC}, gRPC, app layer");
        let raw = closed_loop(raws, plan.warmup, plan.write_duration).await;
        let reference = match &pgbench {
            Some(binary) if PGBENCH_CLIENTS.contains(&clients) => {
                let run = pgbench::run(
                    binary,
                    &infra.database.url,
                    clients,
                    plan.write_duration,
                    tenant.0,
                    &payload,
                )
                .await;
                match run {
                    Ok(run) => Some(run),
                    Err(error) => {
                        outcome
                            .failures
                            .push(format!("pgbench, {clients} clients: {error:#}"));
                        None
                    }
                }
            }
            _ => None,
        };
        let tonic = closed_loop(tonics, plan.warmup, plan.write_duration).await;
        let grpc = closed_loop(grpcs, plan.warmup, plan.write_duration).await;
        let app = closed_loop(apps, plan.warmup, plan.write_duration).await;
        outcome.check(raw.check(&format!("raw INSERT, {clients} clients")));
        outcome.check(tonic.check(&format!("{TONIC}, {clients} clients")));
        outcome.check(grpc.check(&format!("HireEmployee over gRPC, {clients} clients")));
        outcome.check(app.check(&format!("HireEmployee in the app layer, {clients} clients")));
        let runs = Runs {
            raw: &raw,
            tonic: &tonic,
            grpc: &grpc,
            app: &app,
        };
        outcome.figures.extend(figures(clients, &runs, reference));
    }
    drop(raw_pool);
    outcome.check(stop(tonic_service).await);
    service.stop().await?;
    Ok(outcome)
}

/// Starts [`crate::baselines::insert_service`] on a free port; the table must exist.
async fn start_insert_service(
    database_url: &str,
    pool_size: u32,
) -> anyhow::Result<(SocketAddr, ChildProcess)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let env = [
        ("DATABASE_URL", database_url.to_owned()),
        ("TENURE_GRPC_ADDR", addr.to_string()),
        ("TENURE_DB_POOL_SIZE", pool_size.to_string()),
    ];
    let exe = std::env::current_exe()?;
    let mut process = ChildProcess::spawn(&exe, &["insert-service"], &env)?;
    process.wait_listening(addr, START_TIMEOUT).await?;
    Ok((addr, process))
}

async fn stop(process: ChildProcess) -> anyhow::Result<()> {
    let status = process.terminate().await?;
    anyhow::ensure!(
        status.success(),
        "{TONIC} exited with {status} after SIGTERM"
    );
    Ok(())
}

/// The closed loops of one client count.
struct Runs<'a> {
    raw: &'a ClosedLoop,
    tonic: &'a ClosedLoop,
    grpc: &'a ClosedLoop,
    app: &'a ClosedLoop,
}

fn figures(clients: usize, runs: &Runs<'_>, pgbench: Option<Pgbench>) -> Vec<Figure> {
    let Runs {
        raw,
        tonic,
        grpc,
        app,
    } = runs;
    let at = |what: &str| {
        format!(
            "{what}, {clients} client{}",
            if clients == 1 { "" } else { "s" }
        )
    };
    let most = clients >= 32;
    let single = clients == 1;
    let hires = |label: &str, baseline: &ClosedLoop| {
        let figure = Figure::new(SCENARIO, at("hires/s"), Unit::PerSecond, grpc.per_second())
            .against(label, baseline.per_second());
        if most {
            figure.target(Target::RatioAtLeast(0.5))
        } else {
            figure
        }
    };
    let mut figures = vec![hires("raw INSERT", raw), hires(TONIC, tonic)];
    for (name, quantile) in [("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999)] {
        let mut figure = Figure::new(
            SCENARIO,
            at(name),
            Unit::Millis,
            grpc.latencies.millis_at(quantile),
        )
        .against("raw INSERT", raw.latencies.millis_at(quantile));
        if single && quantile == 0.5 {
            figure = figure.target(Target::RatioAtMost(5.0));
        }
        figures.push(figure);
    }
    let p50 = Figure::new(
        SCENARIO,
        at("p50"),
        Unit::Millis,
        grpc.latencies.millis_at(0.5),
    );
    figures.push(p50.clone().against(TONIC, tonic.latencies.millis_at(0.5)));
    if single {
        figures.push(p50.target(Target::AtMost(1.2)));
    }
    if let Some(pgbench) = pgbench {
        figures.push(
            Figure::new(
                SCENARIO,
                at("raw INSERT/s (bench client)"),
                Unit::PerSecond,
                raw.per_second(),
            )
            .against("pgbench", pgbench.per_second),
        );
        figures.push(
            Figure::new(
                SCENARIO,
                at("raw INSERT mean (bench client)"),
                Unit::Millis,
                raw.latencies.mean_millis(),
            )
            .against("pgbench", pgbench.latency_ms),
        );
    }
    figures.push(
        Figure::new(
            SCENARIO,
            at("hires/s gRPC vs app"),
            Unit::PerSecond,
            grpc.per_second(),
        )
        .against("app layer", app.per_second()),
    );
    for (name, quantile) in [("p50", 0.5), ("p99", 0.99)] {
        figures.push(
            Figure::new(
                SCENARIO,
                at(&format!("{name} gRPC vs app")),
                Unit::Millis,
                grpc.latencies.millis_at(quantile),
            )
            .against("app layer", app.latencies.millis_at(quantile)),
        );
    }
    figures
}
