//! A bounded command load from the test itself: a few concurrent gRPC
//! clients, each hiring people (a unique work email each) and changing the
//! role of every hire a few times, so that streams have several versions
//! whose order can be checked downstream.
//!
//! Every command carries a request id and is retried with the same id while
//! the service is away (UNAVAILABLE, a broken connection): a command whose
//! answer was lost is answered from the request log, never applied twice.
//! A command still failing at its deadline is given up and recorded as such.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tenure_proto::tenure::employees::v1 as proto;
use tenure_proto::tenure::employees::v1::employees_service_client::EmployeesServiceClient;
use tenure_runtime::CancellationToken;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};
use uuid::Uuid;

/// How the load runs.
#[derive(Debug, Clone)]
pub struct LoadSettings {
    /// The employees service, `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// The tenant every command is made for.
    pub tenant: Uuid,
    /// Concurrent clients, each with a connection of its own.
    pub clients: usize,
    /// Most hires per client: the load ends by itself after them.
    pub hires_per_client: usize,
    /// Role changes after each hire.
    pub changes_per_hire: usize,
    /// Most hires per client and second, so the load leaves the two cores
    /// some room for the relay, the consumer and the fault.
    pub hires_per_second: f64,
    /// How long one command is retried while the service is away.
    pub retry_for: Duration,
}

impl LoadSettings {
    /// Six clients, at most 1,800 hires with two role changes each.
    pub fn new(endpoint: String) -> Self {
        Self {
            endpoint,
            tenant: Uuid::now_v7(),
            clients: 6,
            hires_per_client: 300,
            changes_per_hire: 2,
            hires_per_second: 25.0,
            retry_for: Duration::from_secs(20),
        }
    }
}

/// A hire the service confirmed.
#[derive(Debug, Clone)]
pub struct Hired {
    pub employee_id: Uuid,
    pub work_email: String,
}

/// What the clients did and what they were told.
#[derive(Debug, Default)]
pub struct Report {
    /// Hires answered OK.
    pub hired: Vec<Hired>,
    /// Work emails of hires given up on: they may or may not have happened.
    pub hires_given_up: Vec<String>,
    /// Per employee: role changes sent (each with its own request id).
    pub changes_sent: BTreeMap<Uuid, usize>,
    /// Per employee: the versions role changes were answered OK with.
    pub changes_ok: BTreeMap<Uuid, Vec<i64>>,
    /// Role changes given up on.
    pub changes_given_up: usize,
    /// Every failed attempt, by gRPC code (a retried command counts each time).
    pub failures: BTreeMap<String, usize>,
    /// A few failure messages per code, to show what a client saw.
    pub samples: BTreeMap<String, Vec<String>>,
}

impl Report {
    /// Hire requests sent (answered or given up on).
    pub fn hires_sent(&self) -> usize {
        self.hired.len() + self.hires_given_up.len()
    }

    /// Failed attempts whose code is not one a client retries.
    pub fn unexpected_failures(&self) -> BTreeMap<String, usize> {
        self.failures
            .iter()
            .filter(|(code, _)| {
                !RETRIED
                    .iter()
                    .any(|retried| format!("{retried:?}") == **code)
            })
            .map(|(code, count)| (code.clone(), *count))
            .collect()
    }

    fn merge(&mut self, other: Report) {
        self.hired.extend(other.hired);
        self.hires_given_up.extend(other.hires_given_up);
        self.changes_sent.extend(other.changes_sent);
        self.changes_ok.extend(other.changes_ok);
        self.changes_given_up += other.changes_given_up;
        for (code, count) in other.failures {
            *self.failures.entry(code).or_default() += count;
        }
        for (code, messages) in other.samples {
            let samples = self.samples.entry(code).or_default();
            for message in messages {
                if samples.len() < 3 {
                    samples.push(message);
                }
            }
        }
    }

    /// One line for the test's output.
    pub fn summary(&self) -> String {
        format!(
            "{} hires OK, {} given up; {} role changes OK, {} given up; failed attempts {:?}",
            self.hired.len(),
            self.hires_given_up.len(),
            self.changes_ok.values().map(Vec::len).sum::<usize>(),
            self.changes_given_up,
            self.failures
        )
    }
}

/// The codes a client retries: the service or its database is away, or the
/// connection broke (the process died, a proxy reset it), or a transaction
/// was rolled back and may go through now.
const RETRIED: [Code; 5] = [
    Code::Unavailable,
    Code::Unknown,
    Code::Cancelled,
    Code::DeadlineExceeded,
    Code::Aborted,
];

/// The running clients.
pub struct Load {
    stop: CancellationToken,
    clients: Vec<JoinHandle<Report>>,
    started: Instant,
}

impl Load {
    /// Starts the clients; they connect lazily, so the service may still be down.
    pub fn start(settings: LoadSettings) -> anyhow::Result<Load> {
        let stop = CancellationToken::new();
        let settings = Arc::new(settings);
        let mut clients = Vec::with_capacity(settings.clients);
        for number in 0..settings.clients {
            let channel = Endpoint::from_shared(settings.endpoint.clone())?
                .connect_timeout(Duration::from_secs(2))
                .timeout(Duration::from_secs(10))
                .connect_lazy();
            let client = Client {
                number,
                api: EmployeesServiceClient::new(channel),
                settings: settings.clone(),
                stop: stop.clone(),
                report: Report::default(),
            };
            clients.push(tokio::spawn(client.run()));
        }
        Ok(Load {
            stop,
            clients,
            started: Instant::now(),
        })
    }

    /// How long the load has run.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Whether every client has done all its hires.
    pub fn done(&self) -> bool {
        self.clients.iter().all(JoinHandle::is_finished)
    }

    /// Asks the clients to stop after their current command and collects
    /// their reports (within `retry_for` and a margin).
    pub async fn finish(self) -> anyhow::Result<Report> {
        self.stop.cancel();
        let mut report = Report::default();
        for client in self.clients {
            let one = tokio::time::timeout(Duration::from_secs(60), client)
                .await
                .map_err(|_| anyhow::anyhow!("a load client did not stop within 60 s"))??;
            report.merge(one);
        }
        Ok(report)
    }
}

/// One client: hires, and changes each hire's role, until stopped or done.
struct Client {
    number: usize,
    api: EmployeesServiceClient<Channel>,
    settings: Arc<LoadSettings>,
    stop: CancellationToken,
    report: Report,
}

impl Client {
    async fn run(mut self) -> Report {
        let period = Duration::from_secs_f64(1.0 / self.settings.hires_per_second);
        let mut pace = tokio::time::interval(period);
        pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        for index in 0..self.settings.hires_per_client {
            tokio::select! {
                _ = self.stop.cancelled() => break,
                _ = pace.tick() => {}
            }
            let work_email = format!(
                "c{}-{index}-{}@example.com",
                self.number,
                Uuid::new_v4().simple()
            );
            let Some(employee_id) = self.hire(&work_email).await else {
                self.report.hires_given_up.push(work_email);
                continue;
            };
            self.report.hired.push(Hired {
                employee_id,
                work_email,
            });
            for change in 0..self.settings.changes_per_hire {
                *self.report.changes_sent.entry(employee_id).or_default() += 1;
                match self.change_role(employee_id, change).await {
                    Some(version) => self
                        .report
                        .changes_ok
                        .entry(employee_id)
                        .or_default()
                        .push(version),
                    None => self.report.changes_given_up += 1,
                }
            }
        }
        self.report
    }

    async fn hire(&mut self, work_email: &str) -> Option<Uuid> {
        let message = proto::HireEmployeeRequest {
            given_name: "Grace".into(),
            family_name: "Hopper".into(),
            work_email: work_email.into(),
            department: "Engineering".into(),
            role_title: "Engineer".into(),
            start_date: "2026-03-01".into(),
            contract: Some(proto::Contract {
                kind: proto::ContractKind::Permanent as i32,
                start_date: "2026-03-01".into(),
                hours_per_week: 36.0,
                ..Default::default()
            }),
            request_id: Uuid::now_v7().to_string(),
            ..Default::default()
        };
        let response = self
            .retrying(message, |api, request| {
                Box::pin(async move { api.hire_employee(request).await })
            })
            .await?;
        Uuid::parse_str(&response.employee_id).ok()
    }

    async fn change_role(&mut self, employee_id: Uuid, change: usize) -> Option<i64> {
        let message = proto::ChangeRoleRequest {
            employee_id: employee_id.to_string(),
            role_title: format!("Engineer {}", change + 2),
            department: "Engineering".into(),
            effective_date: format!("2026-{:02}-01", 4 + change.min(8)),
            request_id: Uuid::now_v7().to_string(),
            ..Default::default()
        };
        let response = self
            .retrying(message, |api, request| {
                Box::pin(async move { api.change_role(request).await })
            })
            .await?;
        Some(response.version)
    }

    /// Sends `message` until it is answered OK, fails with a code that is
    /// not retried, or `retry_for` has passed; the same request id every time.
    async fn retrying<M, R>(
        &mut self,
        message: M,
        call: impl for<'a> Fn(
            &'a mut EmployeesServiceClient<Channel>,
            tonic::Request<M>,
        )
            -> futures::future::BoxFuture<'a, Result<tonic::Response<R>, Status>>,
    ) -> Option<R>
    where
        M: Clone,
    {
        let deadline = Instant::now() + self.settings.retry_for;
        let mut pause = Duration::from_millis(50);
        loop {
            let request = self.request(message.clone());
            let status = match call(&mut self.api, request).await {
                Ok(response) => return Some(response.into_inner()),
                Err(status) => status,
            };
            let code = format!("{:?}", status.code());
            *self.report.failures.entry(code.clone()).or_default() += 1;
            let samples = self.report.samples.entry(code).or_default();
            if samples.len() < 3 {
                samples.push(status.message().to_owned());
            }
            if !RETRIED.contains(&status.code()) || Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    /// A request of the load's tenant, by HR.
    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        let tenant = self.settings.tenant.to_string();
        request
            .metadata_mut()
            .insert("x-tenant-id", tenant.parse().expect("a UUID is ASCII"));
        request
            .metadata_mut()
            .insert("x-actor", "hr:faults".parse().expect("ASCII"));
        request
    }
}
