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
