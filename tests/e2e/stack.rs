//! Both services in-process on free ports, sharing one fresh database (each
//! in its own schema) and an isolated set of JetStream streams.

use tenure_proto::tenure::development::v1::development_service_client::DevelopmentServiceClient;
use tenure_proto::tenure::employees::v1::employees_service_client::EmployeesServiceClient;
use tenure_runtime::CancellationToken;
use tenure_testkit::{TestDatabase, TestNats};
use tonic::transport::Channel;
use uuid::Uuid;

pub struct Stack {
    pub employees: EmployeesServiceClient<Channel>,
    /// A channel to the employees service, for other clients (health, reflection).
    pub employees_channel: Channel,
    pub development: DevelopmentServiceClient<Channel>,
    pub tenant: Uuid,
    shutdown: CancellationToken,
    _db: TestDatabase,
    _nats: TestNats,
}

impl Stack {
    pub async fn start() -> Stack {
        tenure_testkit::init_tracing();
        let db = TestDatabase::create().await.expect("database");
        let nats = TestNats::connect().await.expect("nats");
        let shutdown = CancellationToken::new();

        let config =
            tenure_employees::config::Config::new(&db.url, &nats.url, &nats.subject_root());
        let employees = tenure_employees::start(&config, shutdown.clone())
            .await
            .expect("employees starts");
        let config =
            tenure_development::config::Config::new(&db.url, &nats.url, &nats.subject_root());
        let development = tenure_development::start(&config, shutdown.clone())
            .await
            .expect("development starts");

        let employees_channel = Channel::from_shared(format!("http://{}", employees.grpc_addr))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let employees = EmployeesServiceClient::new(employees_channel.clone());
        let development =
            DevelopmentServiceClient::connect(format!("http://{}", development.grpc_addr))
                .await
                .unwrap();
        Stack {
            employees,
            employees_channel,
            development,
            tenant: Uuid::now_v7(),
            shutdown,
            _db: db,
            _nats: nats,
        }
    }

    /// A request carrying this stack's tenant.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request
            .metadata_mut()
            .insert("x-tenant-id", self.tenant.to_string().parse().unwrap());
        request
            .metadata_mut()
            .insert("x-actor", "hr:e2e".parse().unwrap());
        request
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
