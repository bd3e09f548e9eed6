//! The simplest gRPC write, run as `tenure-bench insert-service` in a child
//! process: tonic serving the employees API's `HireEmployee`, each call one
//! prepared one-row INSERT of the raw baseline ([`super::insert`]) in a commit
//! of its own, on a pool as large and configured as a service's. No domain
//! rules, no event store: what a hire costs when gRPC and one commit are all
//! there is. Every other method answers UNIMPLEMENTED.

use std::net::SocketAddr;

use anyhow::Context;
use prost::Message;
use sqlx::PgPool;
use tenure_proto::tenure::employees::v1::employees_service_server::{
    EmployeesService, EmployeesServiceServer,
};
use tenure_proto::tenure::employees::v1::*;
use tenure_runtime::CancellationToken;
use tenure_runtime::request::Caller;
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use super::insert::insert_first_event;

/// Serves until SIGTERM, configured by `DATABASE_URL`, `TENURE_GRPC_ADDR`
/// and `TENURE_DB_POOL_SIZE`; the table must exist.
pub async fn run() -> anyhow::Result<()> {
    let env = |name: &str| std::env::var(name).with_context(|| format!("{name} is not set"));
    let addr: SocketAddr = env("TENURE_GRPC_ADDR")?
        .parse()
        .context("TENURE_GRPC_ADDR")?;
    let pool_size: u32 = env("TENURE_DB_POOL_SIZE")?
        .parse()
        .context("TENURE_DB_POOL_SIZE")?;
    // The services' own pool settings (no ping on acquire, generic plans).
    let pool = tenure_kernel::store::connect(&env("DATABASE_URL")?, "bench_raw", pool_size).await?;
    let listener = TcpListener::bind(addr).await?;
    serve(listener, pool, tenure_runtime::shutdown::on_signal()).await
}

/// Serves on `listener` until `shutdown`.
async fn serve(
    listener: TcpListener,
    pool: PgPool,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    Server::builder()
        .add_service(EmployeesServiceServer::new(InsertService { pool }))
        .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
        .await?;
    Ok(())
}

struct InsertService {
    pool: PgPool,
}

impl InsertService {
    /// Stores the request itself as the event's payload: an encoding per
    /// call, as a service encodes its event.
    async fn hire(
        &self,
        request: Request<HireEmployeeRequest>,
    ) -> Result<Response<HireEmployeeResponse>, Status> {
        let caller = Caller::from_metadata(request.metadata())?;
        let payload = request.get_ref().encode_to_vec();
        let employee_id = insert_first_event(&self.pool, caller.tenant_id, &payload)
            .await
            .map_err(|error| Status::unavailable(format!("insert: {error}")))?;
        Ok(Response::new(HireEmployeeResponse {
            employee_id: employee_id.to_string(),
            version: 1,
        }))
    }
}

/// The trait impl with every method but `hire_employee` refused; generated
/// so that the list of methods is all there is to keep in step with the API.
macro_rules! only_hire_employee {
    ($($method:ident($request:ident) -> $response:ident;)*) => {
        #[tonic::async_trait]
        impl EmployeesService for InsertService {
            async fn hire_employee(
                &self,
                request: Request<HireEmployeeRequest>,
            ) -> Result<Response<HireEmployeeResponse>, Status> {
                self.hire(request).await
            }

            type ImportEmployeesStream = std::pin::Pin<Box<
                dyn futures::Stream<Item = Result<ImportEmployeesResponse, Status>> + Send,
            >>;

            async fn import_employees(
                &self,
                _: Request<tonic::Streaming<ImportEmployeesRequest>>,
            ) -> Result<Response<Self::ImportEmployeesStream>, Status> {
                Err(Status::unimplemented("the INSERT baseline serves HireEmployee only"))
            }

            $(
                async fn $method(
                    &self,
                    _: Request<$request>,
                ) -> Result<Response<$response>, Status> {
                    Err(Status::unimplemented("the INSERT baseline serves HireEmployee only"))
                }
            )*
        }
    };
}

only_hire_employee! {
    change_personal_details(ChangePersonalDetailsRequest) -> ChangePersonalDetailsResponse;
    change_contract(ChangeContractRequest) -> ChangeContractResponse;
    change_role(ChangeRoleRequest) -> ChangeRoleResponse;
    assign_manager(AssignManagerRequest) -> AssignManagerResponse;
    record_work_agreement(RecordWorkAgreementRequest) -> RecordWorkAgreementResponse;
    set_interests(SetInterestsRequest) -> SetInterestsResponse;
    announce_departure(AnnounceDepartureRequest) -> AnnounceDepartureResponse;
    withdraw_departure(WithdrawDepartureRequest) -> WithdrawDepartureResponse;
    end_employment(EndEmploymentRequest) -> EndEmploymentResponse;
    rehire_employee(RehireEmployeeRequest) -> RehireEmployeeResponse;
    get_employee(GetEmployeeRequest) -> GetEmployeeResponse;
    list_employees(ListEmployeesRequest) -> ListEmployeesResponse;
    list_team(ListTeamRequest) -> ListTeamResponse;
    get_workforce_mix(GetWorkforceMixRequest) -> GetWorkforceMixResponse;
    get_turnover(GetTurnoverRequest) -> GetTurnoverResponse;
    get_employee_history(GetEmployeeHistoryRequest) -> GetEmployeeHistoryResponse;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requests::{Tenant, hire, hired};
    use crate::stack::grpc_client;

    #[tokio::test]
    async fn a_hire_commits_one_row_and_nothing_else_is_served() {
        let database = tenure_testkit::TestDatabase::create().await.unwrap();
        let pool = database.pool().await;
        super::super::insert::create_table(&pool).await.unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(serve(listener, pool.clone(), shutdown.clone()));
        let mut client = grpc_client(addr).await.unwrap();
        let tenant = Tenant::random();

        let response = client.hire_employee(tenant.request(hire())).await.unwrap();
        let stream_id = hired(response.get_ref()).unwrap();
        let rows: i64 =
            sqlx::query_scalar("SELECT count(*) FROM bench_raw.events WHERE stream_id = $1")
                .bind(stream_id)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(rows, 1);
        let refused = client
            .get_employee(tenant.request(GetEmployeeRequest::default()))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unimplemented);
        let unknown_tenant = client
            .hire_employee(tonic::Request::new(hire()))
            .await
            .unwrap_err();
        assert_eq!(unknown_tenant.code(), tonic::Code::Unauthenticated);

        shutdown.cancel();
        server.await.unwrap().unwrap();
    }
}
