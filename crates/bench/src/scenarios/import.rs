//! Bulk import: whole employee histories (ten events a person: hire, role
//! and contract changes, interests, a departure and its end, a rehire, more
//! changes) through one ImportEmployees call, every record checked by the
//! rules, against ten events in one multi-row INSERT per commit on 32
//! connections, on the same servers in the same run.

use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::Postgres;
use sqlx::pool::PoolConnection;
use tenure_kernel::relay::RelaySettings;
use tenure_proto::tenure::employees::v1::{self as proto, import_record::Change};
use uuid::Uuid;

use super::Outcome;
use crate::baselines::insert;
use crate::cli::Plan;
use crate::measure::{Client, closed_loop};
use crate::report::{Figure, Target, Unit};
use crate::requests::Tenant;
use crate::seed;
use crate::stack::{Employees, Infra, Servers};

const SCENARIO: &str = "import";
/// Events per person, and rows per baseline commit.
const EVENTS_PER_PERSON: usize = 10;
/// Records per ImportEmployeesRequest.
const RECORDS_PER_REQUEST: usize = 500;
/// Connections of the baseline.
const RAW_CLIENTS: usize = 32;

pub async fn run(plan: &Plan) -> anyhow::Result<Outcome> {
    let infra = Infra::create().await?;
    let service = Employees::start(&Servers::of(&infra), 16).await?;
    let raw_pool = infra.pool(RAW_CLIENTS as u32).await?;
    insert::create_table(&raw_pool).await?;
    let payload = seed::employee_stream(1).remove(0).payload;
    let people = if plan.smoke { 500 } else { 5_000 };

    let mut outcome = Outcome::default();
    outcome.notes.push(format!(
        "import: {people} people x {EVENTS_PER_PERSON} records in one ImportEmployees call, \
         {RECORDS_PER_REQUEST} records per request, people one after another; baseline: \
         {RAW_CLIENTS} connections each committing {EVENTS_PER_PERSON} events of a new stream \
         in one multi-row INSERT; the relay publishes the imported events meanwhile, then a \
         second service on the same database imports as many people with the relay held off"
    ));
    let mut raws = Vec::with_capacity(RAW_CLIENTS);
    for _ in 0..RAW_CLIENTS {
        raws.push(RawHistory {
            conn: raw_pool.acquire().await?,
            statement: insert_ten(),
            tenant_id: Uuid::now_v7(),
            payload: payload.clone(),
        });
    }
    eprintln!("  raw multi-row INSERT, then ImportEmployees");
    let raw = closed_loop(raws, plan.warmup, plan.write_duration).await;
    outcome.check(raw.check("raw multi-row INSERT"));
    let raw_events = raw.per_second() * EVENTS_PER_PERSON as f64;
    drop(raw_pool);

    let with_relay = import(&service, people).await;
    // The relay may still be publishing the backlog: not this figure's concern.
    if let Err(error) = service.stop().await {
        outcome.notes.push(format!("import: {error:#}"));
    }
    // The same again with the relay held off (its lease taken by the bench),
    // to tell the share of publishing from that of importing.
    hold_relay_lease(&infra).await?;
    let service = Employees::start(&Servers::of(&infra), 16).await?;
    let without_relay = import(&service, people).await;
    service.stop().await?;

    for (metric, imported, target) in [
        ("events/s through ImportEmployees", with_relay, true),
        (
            "events/s through ImportEmployees, relay held off",
            without_relay,
            false,
        ),
    ] {
        let rate = match imported {
            Ok(Imported {
                events,
                elapsed,
                tenant,
            }) => {
                let (commits, stored) = commits(&infra, tenant).await?;
                let seconds = elapsed.as_secs_f64();
                outcome.notes.push(format!(
                    "{metric}: {events} events in {seconds:.1} s, {commits} commits \
                     ({:.1} events per commit, {:.0} commits/s; {stored} events stored)",
                    stored as f64 / commits.max(1) as f64,
                    commits as f64 / seconds,
                ));
                events as f64 / seconds
            }
            Err(error) => {
                outcome.failures.push(format!("{metric}: {error:#}"));
                0.0
            }
        };
        let figure = Figure::new(SCENARIO, metric, Unit::PerSecond, rate)
            .against("10-row INSERT commits, events/s", raw_events);
        outcome.figures.push(match target {
            true => figure.target(Target::RatioAtLeast(0.5)),
            false => figure,
        });
    }
    Ok(outcome)
}

/// Takes the employees relay's lease for an hour, so that a service started
/// now stands by instead of publishing.
async fn hold_relay_lease(infra: &Infra) -> anyhow::Result<()> {
    let root = infra.nats.subject_root();
    let lease = RelaySettings::new("employees", &root).lease_name();
    let pool = infra.pool(1).await?;
    sqlx::query(
        "INSERT INTO employees.leases (name, holder, expires_at) \
         VALUES ($1, $2, now() + interval '1 hour') \
         ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at",
    )
    .bind(lease)
    .bind(Uuid::now_v7())
    .execute(&pool)
    .await?;
    Ok(())
}

/// What one import call did.
struct Imported {
    events: u64,
    /// From the first request to the totals.
    elapsed: Duration,
    tenant: Tenant,
}

/// Imports `people` histories in one call, for a tenant of its own.
async fn import(service: &Employees, people: usize) -> anyhow::Result<Imported> {
    let tenant = Tenant::random();
    let run = Uuid::now_v7().simple().to_string();
    let records: Vec<proto::ImportRecord> = (0..people)
        .flat_map(|person| history(&run, person))
        .collect();
    let requests: Vec<proto::ImportEmployeesRequest> = records
        .chunks(RECORDS_PER_REQUEST)
        .map(|chunk| proto::ImportEmployeesRequest {
            records: chunk.to_vec(),
        })
        .collect();
    let mut client = service.client().await?;
    let started = Instant::now();
    let mut responses = client
        .import_employees(tenant.request(futures::stream::iter(requests)))
        .await?
        .into_inner();
    let mut summary = None;
    let mut first_problem = None;
    while let Some(response) = responses.message().await? {
        for result in &response.results {
            if result.status() != proto::ImportRecordStatus::Imported && first_problem.is_none() {
                first_problem = Some(format!("{result:?}"));
            }
        }
        summary = summary.or(response.summary);
    }
    let elapsed = started.elapsed();
    let summary = summary.ok_or_else(|| anyhow::anyhow!("the import ended without totals"))?;
    if let Some(problem) = first_problem {
        anyhow::bail!("import: {summary:?}; first record not imported: {problem}");
    }
    anyhow::ensure!(
        summary.events == (people * EVENTS_PER_PERSON) as u64,
        "import appended {} events, not {}",
        summary.events,
        people * EVENTS_PER_PERSON
    );
    Ok(Imported {
        events: summary.events,
        elapsed,
        tenant,
    })
}

/// How many transactions stored the tenant's events, and how many events.
async fn commits(infra: &Infra, tenant: Tenant) -> anyhow::Result<(i64, i64)> {
    let pool = infra.pool(1).await?;
    let counts = sqlx::query_as(
        "SELECT count(DISTINCT tx_id), count(*) FROM employees.events WHERE tenant_id = $1",
    )
    .bind(tenant.0)
    .fetch_one(&pool)
    .await?;
    Ok(counts)
}

/// A person's ten records, oldest first.
fn history(run: &str, person: usize) -> Vec<proto::ImportRecord> {
    let employee_id = Uuid::now_v7().to_string();
    let contract = |start: &str, hours: f64| proto::Contract {
        kind: proto::ContractKind::Permanent as i32,
        start_date: start.to_owned(),
        end_date: None,
        hours_per_week: hours,
        season_window: None,
    };
    let role = |title: &str, on: &str| {
        Change::ChangeRole(proto::ChangeRoleRequest {
            role_title: title.to_owned(),
            department: "Engineering".to_owned(),
            effective_date: on.to_owned(),
            ..Default::default()
        })
    };
    let hours = |start: &str, hours: f64, on: &str| {
        Change::ChangeContract(proto::ChangeContractRequest {
            change_kind: proto::ContractChangeKind::ChangeHours as i32,
            contract: Some(contract(start, hours)),
            effective_date: on.to_owned(),
            ..Default::default()
        })
    };
    let changes = [
        (
            "",
            Change::Hire(proto::HireEmployeeRequest {
                given_name: "Ada".to_owned(),
                family_name: format!("Import{person}"),
                work_email: format!("ada.import{person}.{run}@example.com"),
                department: "Engineering".to_owned(),
                role_title: "Engineer".to_owned(),
                contract: Some(contract("2015-01-05", 40.0)),
                start_date: "2015-01-05".to_owned(),
                ..Default::default()
            }),
        ),
        ("", role("Senior Engineer", "2016-03-01")),
        ("", hours("2015-01-05", 32.0, "2016-06-01")),
        ("", role("Staff Engineer", "2017-01-01")),
        (
            "2017-05-01",
            Change::SetInterests(proto::SetInterestsRequest {
                tags: vec!["rust".to_owned(), "chess".to_owned()],
                ..Default::default()
            }),
        ),
        (
            "2018-03-01",
            Change::AnnounceDeparture(proto::AnnounceDepartureRequest {
                separation_type: proto::SeparationType::Voluntary as i32,
                reason_code: "relocation".to_owned(),
                regrettable: Some(true),
                last_working_day: "2018-04-30".to_owned(),
                ..Default::default()
            }),
        ),
        (
            "",
            Change::EndEmployment(proto::EndEmploymentRequest {
                ended_on: "2018-04-30".to_owned(),
                reason: "moved abroad".to_owned(),
                ..Default::default()
            }),
        ),
        (
            "",
            Change::Rehire(proto::RehireEmployeeRequest {
                contract: Some(contract("2019-09-02", 40.0)),
                start_date: "2019-09-02".to_owned(),
                ..Default::default()
            }),
        ),
        ("", role("Principal Engineer", "2020-01-01")),
        ("", hours("2019-09-02", 36.0, "2021-01-01")),
    ];
    changes
        .into_iter()
        .enumerate()
        .map(|(n, (recorded_on, change))| proto::ImportRecord {
            record_key: format!("{run}-{person}-{n}"),
            employee_id: employee_id.clone(),
            recorded_on: recorded_on.to_owned(),
            change: Some(change),
        })
        .collect()
}

/// The baseline: a new stream of ten events in one INSERT and one commit per
/// call, prepared, on a connection of its own.
struct RawHistory {
    conn: PoolConnection<Postgres>,
    statement: String,
    tenant_id: Uuid,
    payload: Vec<u8>,
}

/// `INSERT ... VALUES` of ten rows of one stream, each with its own type,
/// payload and metadata.
fn insert_ten() -> String {
    let rows: Vec<String> = (0..EVENTS_PER_PERSON)
        .map(|n| {
            let p = 2 + 3 * n;
            format!("($1, {}, ${p}, ${}, ${})", n + 1, p + 1, p + 2)
        })
        .collect();
    format!(
        "INSERT INTO bench_raw.events (stream_id, version, event_type, payload, metadata) VALUES {}",
        rows.join(", ")
    )
}

impl Client for RawHistory {
    async fn call(&mut self) -> anyhow::Result<()> {
        let correlation_id = Uuid::now_v7();
        let mut query = sqlx::query(&self.statement).bind(Uuid::now_v7());
        for _ in 0..EVENTS_PER_PERSON {
            let metadata = json!({
                "event_id": Uuid::now_v7(),
                "tenant_id": self.tenant_id,
                "actor": "hr:bench",
                "correlation_id": correlation_id,
                "schema_version": 1,
            });
            query = query
                .bind("EmployeeHired")
                .bind(self.payload.as_slice())
                .bind(metadata);
        }
        query.execute(&mut *self.conn).await?;
        Ok(())
    }
}
