//! A running employees service per test: a fresh database, isolated
//! JetStream streams, gRPC on a free port.

#![allow(dead_code)]

use tenure_employees::config::Config;
use tenure_proto::tenure::employees::v1 as proto;
use tenure_proto::tenure::employees::v1::employees_service_client::EmployeesServiceClient;
use tenure_runtime::CancellationToken;
use tenure_testkit::{TestDatabase, TestNats};
use tonic::transport::Channel;
use uuid::Uuid;

pub struct TestService {
    pub client: EmployeesServiceClient<Channel>,
    pub tenant: Uuid,
    pub config: Config,
    pub db: TestDatabase,
    pub nats: TestNats,
    shutdown: CancellationToken,
}

impl TestService {
    pub async fn start() -> TestService {
        tenure_testkit::init_tracing();
        let db = TestDatabase::create().await.expect("database");
        let nats = TestNats::connect().await.expect("nats");
        let config = Config::new(&db.url, &nats.url, &nats.subject_root());
        // The streams of the services whose events employees reacts to.
        let js = async_nats::jetstream::new(nats.client().await);
        for service in ["offboarding", "alumni"] {
            let config = async_nats::jetstream::stream::Config {
                name: nats.stream_name(service),
                subjects: vec![format!("{}.{service}.>", nats.subject_root())],
                ..Default::default()
            };
            // The shared server answers JetStream requests slowly while many
            // tests run at once: a timed-out request is asked again.
            let mut attempts = 0;
            while let Err(error) = js.get_or_create_stream(config.clone()).await {
                attempts += 1;
                assert!(attempts < 5, "foreign stream {service}: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        }
        let shutdown = CancellationToken::new();
        let running = tenure_employees::start(&config, shutdown.clone())
            .await
            .expect("service starts");
        let client = EmployeesServiceClient::connect(format!("http://{}", running.grpc_addr))
            .await
            .unwrap();
        TestService {
            client,
            tenant: Uuid::now_v7(),
            config,
            db,
            nats,
            shutdown,
        }
    }

    /// A request from HR of this test's tenant.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request
            .metadata_mut()
            .insert("x-tenant-id", self.tenant.to_string().parse().unwrap());
        request
            .metadata_mut()
            .insert("x-actor", "hr:test".parse().unwrap());
        request
    }

    /// Hires someone with a permanent contract from `start`; returns the id.
    pub async fn hire(&mut self, given: &str, email: &str, start: &str) -> String {
        let request = self.request(hire_request(given, email, start));
        self.client
            .hire_employee(request)
            .await
            .expect("hire")
            .into_inner()
            .employee_id
    }

    pub async fn sql_rows(&self, sql: &str) -> Vec<String> {
        let pool = self.db.pool().await;
        let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
        rows.into_iter().map(|(row,)| row).collect()
    }
}

impl Drop for TestService {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub fn permanent(start: &str) -> proto::Contract {
    proto::Contract {
        kind: proto::ContractKind::Permanent as i32,
        start_date: start.into(),
        hours_per_week: 36.0,
        ..Default::default()
    }
}

pub fn hire_request(given: &str, email: &str, start: &str) -> proto::HireEmployeeRequest {
    proto::HireEmployeeRequest {
        given_name: given.into(),
        family_name: "Tester".into(),
        work_email: email.into(),
        department: "Engineering".into(),
        role_title: "Engineer".into(),
        start_date: start.into(),
        contract: Some(permanent(start)),
        ..Default::default()
    }
}

impl TestService {
    /// Publishes an event as another service's relay would.
    pub async fn publish_foreign(
        &self,
        stream_id: Uuid,
        version: i64,
        service: &str,
        event_type: &str,
        payload: Vec<u8>,
    ) {
        use tenure_kernel::relay::headers;
        let js = async_nats::jetstream::new(self.nats.client().await);
        let mut message_headers = async_nats::HeaderMap::new();
        message_headers.insert(headers::MSG_ID, Uuid::now_v7().to_string().as_str());
        message_headers.insert(headers::EVENT_TYPE, event_type);
        message_headers.insert(headers::TENANT, self.tenant.to_string().as_str());
        message_headers.insert(headers::CE_SUBJECT, stream_id.to_string().as_str());
        message_headers.insert(headers::STREAM_VERSION, version.to_string().as_str());
        let partition = tenure_kernel::partition::partition_of(stream_id);
        let subject = format!(
            "{}.{service}.{partition}.{event_type}",
            self.nats.subject_root()
        );
        js.publish_with_headers(subject, message_headers, payload.into())
            .await
            .expect("publish")
            .await
            .expect("ack");
    }

    /// The employee as GetEmployee shows them now.
    pub async fn employee(&mut self, employee_id: &str) -> proto::Employee {
        let request = self.request(proto::GetEmployeeRequest {
            employee_id: employee_id.into(),
            as_of: None,
        });
        self.client
            .get_employee(request)
            .await
            .expect("get employee")
            .into_inner()
            .employee
            .expect("employee")
    }

    /// Waits (at most 20 s) until the employee satisfies `done`.
    pub async fn eventually(
        &mut self,
        employee_id: &str,
        done: impl Fn(&proto::Employee) -> bool,
    ) -> proto::Employee {
        let started = std::time::Instant::now();
        loop {
            let employee = self.employee(employee_id).await;
            if done(&employee) {
                return employee;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "never reached: {employee:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// A request made by HR of `tenant` (another organisation than the test's own).
pub fn request_for<T>(tenant: Uuid, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-tenant-id", tenant.to_string().parse().unwrap());
    request
        .metadata_mut()
        .insert("x-actor", "hr:other".parse().unwrap());
    request
}

/// The fields an INVALID_ARGUMENT names in its google.rpc.BadRequest details.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    let details = status.get_error_details();
    details
        .bad_request()
        .map(|bad| {
            bad.field_violations
                .iter()
                .map(|violation| violation.field.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// The date `days` from today (UTC, as the service counts), `YYYY-MM-DD`.
pub fn days_from_today(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// Asserts `result` failed with `code`; returns the status.
#[track_caller]
pub fn expect_code<T: std::fmt::Debug>(
    result: Result<tonic::Response<T>, tonic::Status>,
    code: tonic::Code,
) -> tonic::Status {
    match result {
        Ok(response) => panic!("expected {code:?}, got OK: {:?}", response.into_inner()),
        Err(status) => {
            assert_eq!(status.code(), code, "{status:?}");
            status
        }
    }
}

impl TestService {
    /// How many events the service has stored, over every stream and tenant.
    pub async fn event_count(&self) -> i64 {
        let rows = self
            .sql_rows("SELECT count(*)::text FROM employees.events")
            .await;
        rows[0].parse().unwrap()
    }

    /// The event types of one employee's stream, oldest first.
    pub async fn event_types(&self, employee_id: &str) -> Vec<String> {
        let pool = self.db.pool().await;
        let id = Uuid::parse_str(employee_id).unwrap();
        sqlx::query_scalar(
            "SELECT event_type FROM employees.events WHERE stream_id = $1 ORDER BY version",
        )
        .bind(id)
        .fetch_all(&pool)
        .await
        .unwrap()
    }

    /// Hires someone from `start` with `contract` into `department`.
    pub async fn hire_with(
        &mut self,
        given: &str,
        department: &str,
        contract: proto::Contract,
    ) -> String {
        let start = contract.start_date.clone();
        let email = format!("{}@example.com", given.to_lowercase());
        let request = self.request(proto::HireEmployeeRequest {
            department: department.into(),
            contract: Some(contract),
            ..hire_request(given, &email, &start)
        });
        self.client
            .hire_employee(request)
            .await
            .expect("hire")
            .into_inner()
            .employee_id
    }

    /// Announces a departure on `last_working_day` (backdated with a reason
    /// when it lies before today).
    pub async fn announce(
        &mut self,
        employee_id: &str,
        separation_type: proto::SeparationType,
        last_working_day: &str,
    ) -> i64 {
        let backdated = last_working_day < days_from_today(0).as_str();
        let request = self.request(proto::AnnounceDepartureRequest {
            employee_id: employee_id.into(),
            separation_type: separation_type as i32,
            reason_code: "relocation".into(),
            regrettable: (separation_type == proto::SeparationType::Voluntary).then_some(false),
            last_working_day: last_working_day.into(),
            backdate_reason: backdated.then(|| "recorded late".to_owned()),
            ..Default::default()
        });
        self.client
            .announce_departure(request)
            .await
            .expect("announce departure")
            .into_inner()
            .version
    }

    /// Ends an announced employment on `ended_on`.
    pub async fn end(&mut self, employee_id: &str, ended_on: &str) -> i64 {
        let request = self.request(proto::EndEmploymentRequest {
            employee_id: employee_id.into(),
            ended_on: ended_on.into(),
            reason: "offboarding completed".into(),
            ..Default::default()
        });
        self.client
            .end_employment(request)
            .await
            .expect("end employment")
            .into_inner()
            .version
    }

    /// Announces and ends an employment on `last_day`: the employee has left.
    pub async fn leave(
        &mut self,
        employee_id: &str,
        separation_type: proto::SeparationType,
        last_day: &str,
    ) {
        self.announce(employee_id, separation_type, last_day).await;
        self.end(employee_id, last_day).await;
    }

    /// Rehires a former employee on a permanent contract from `start`.
    pub async fn rehire(&mut self, employee_id: &str, start: &str) -> i64 {
        let request = self.request(proto::RehireEmployeeRequest {
            employee_id: employee_id.into(),
            contract: Some(permanent(start)),
            start_date: start.into(),
            ..Default::default()
        });
        self.client
            .rehire_employee(request)
            .await
            .expect("rehire")
            .into_inner()
            .version
    }

    /// Makes `manager_id` the manager of `employee_id` (None removes it).
    pub async fn assign_manager(
        &mut self,
        employee_id: &str,
        manager_id: Option<&str>,
    ) -> Result<tonic::Response<proto::AssignManagerResponse>, tonic::Status> {
        let request = self.request(proto::AssignManagerRequest {
            employee_id: employee_id.into(),
            manager_id: manager_id.map(Into::into),
            effective_date: days_from_today(0),
            ..Default::default()
        });
        self.client.assign_manager(request).await
    }
}
