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
            js.get_or_create_stream(async_nats::jetstream::stream::Config {
                name: nats.stream_name(service),
                subjects: vec![format!("{}.{service}.>", nats.subject_root())],
                ..Default::default()
            })
            .await
            .expect("foreign stream");
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
    pub async fn publish_foreign(&self, service: &str, event_type: &str, payload: Vec<u8>) {
        use tenure_kernel::relay::headers;
        let js = async_nats::jetstream::new(self.nats.client().await);
        let mut message_headers = async_nats::HeaderMap::new();
        message_headers.insert(headers::MSG_ID, Uuid::now_v7().to_string().as_str());
        message_headers.insert(headers::EVENT_TYPE, event_type);
        message_headers.insert(headers::TENANT, self.tenant.to_string().as_str());
        let subject = format!("{}.{service}.{event_type}", self.nats.subject_root());
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
