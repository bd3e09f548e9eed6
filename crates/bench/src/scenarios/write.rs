//! Write path: `HireEmployee` of distinct new employees through real gRPC, in
//! a closed loop of 1, 8 and 32 clients, against (A) one-row INSERT commits on
//! as many connections and (B) the same command through the app layer without
//! gRPC. Runs A, gRPC, B back to back at each concurrency.

use tenure_employees::grpc::EmployeesApi;
use tenure_proto::tenure::employees::v1::employees_service_client::EmployeesServiceClient;
use tenure_proto::tenure::employees::v1::employees_service_server::EmployeesService;
use tonic::transport::Channel;

use super::Outcome;
use crate::baselines::insert::{self, RawInsert};
use crate::cli::Plan;
use crate::measure::{Client, ClosedLoop, closed_loop};
use crate::report::{Figure, Target, Unit};
use crate::requests::{Tenant, hire, hired};
use crate::seed;
use crate::stack::{Employees, Infra, Servers};

const SCENARIO: &str = "write";
/// Extra service connections beyond one per client: relay, notifier, leader.
const SPARE_CONNECTIONS: u32 = 4;

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
    let service = Employees::start(&Servers::of(&infra), most as u32 + SPARE_CONNECTIONS).await?;
    let raw_pool = infra.pool(most as u32).await?;
    insert::create_table(&raw_pool).await?;
    let tenant = Tenant::random();
    let payload = seed::employee_stream(1).remove(0).payload;

    let mut outcome = Outcome::default();
    outcome.notes.push(format!(
        "write: service pool {} connections; raw baseline on N connections with one autocommitted \
         INSERT (prepared, one round trip) per call; gRPC clients each on their own HTTP/2 connection; \
         the clients run in the bench process on the same cores; the relay publishes to JetStream meanwhile",
        most as u32 + SPARE_CONNECTIONS
    ));
    for &clients in &plan.write_clients {
        let mut raws = Vec::with_capacity(clients);
        let mut grpcs = Vec::with_capacity(clients);
        let mut apps = Vec::with_capacity(clients);
        for _ in 0..clients {
            raws.push(RawInsert::new(&raw_pool, tenant.0, payload.clone()).await?);
            grpcs.push(GrpcHire {
                client: service.client().await?,
                tenant,
            });
            apps.push(AppHire {
                api: service.api.clone(),
                tenant,
            });
        }
        eprintln!("  {clients} clients: raw INSERT, gRPC, app layer");
        let raw = closed_loop(raws, plan.warmup, plan.write_duration).await;
        let grpc = closed_loop(grpcs, plan.warmup, plan.write_duration).await;
        let app = closed_loop(apps, plan.warmup, plan.write_duration).await;
        outcome.check(raw.check(&format!("raw INSERT, {clients} clients")));
        outcome.check(grpc.check(&format!("HireEmployee over gRPC, {clients} clients")));
        outcome.check(app.check(&format!("HireEmployee in the app layer, {clients} clients")));
        outcome.figures.extend(figures(clients, &raw, &grpc, &app));
    }
    drop(raw_pool);
    service.stop().await?;
    Ok(outcome)
}

fn figures(clients: usize, raw: &ClosedLoop, grpc: &ClosedLoop, app: &ClosedLoop) -> Vec<Figure> {
    let at = |what: &str| {
        format!(
            "{what}, {clients} client{}",
            if clients == 1 { "" } else { "s" }
        )
    };
    let mut throughput = Figure::new(SCENARIO, at("hires/s"), Unit::PerSecond, grpc.per_second())
        .against("raw INSERT", raw.per_second());
    if clients >= 32 {
        throughput = throughput.target(Target::RatioAtLeast(0.5));
    }
    let mut figures = vec![throughput];
    for (name, quantile) in [("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999)] {
        figures.push(
            Figure::new(
                SCENARIO,
                at(name),
                Unit::Millis,
                grpc.latencies.millis_at(quantile),
            )
            .against("raw INSERT", raw.latencies.millis_at(quantile)),
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
