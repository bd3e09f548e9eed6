//! `DevelopmentService` over the people read model.

use sqlx::PgPool;
use tenure_proto::tenure::development::v1::development_service_server::DevelopmentService;
use tenure_proto::tenure::development::v1::{GetPersonRequest, GetPersonResponse};
use tenure_runtime::Caller;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::status;
use crate::people;

pub struct DevelopmentApi {
    pool: PgPool,
}

impl DevelopmentApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[tonic::async_trait]
impl DevelopmentService for DevelopmentApi {
    async fn get_person(
        &self,
        request: Request<GetPersonRequest>,
    ) -> Result<Response<GetPersonResponse>, Status> {
        let caller = Caller::from_metadata(request.metadata())?;
        let employee_id = Uuid::parse_str(request.get_ref().employee_id.trim())
            .map_err(|_| status::invalid_field("employee_id", "must be a UUID"))?;
        let person = people::get_person(&self.pool, caller.tenant_id, employee_id)
            .await
            .map_err(status::unavailable)?
            .ok_or_else(|| {
                Status::not_found(format!(
                    "no employee {employee_id} is known to the development service"
                ))
            })?;
        Ok(Response::new(GetPersonResponse {
            employee_id: person.employee_id.to_string(),
            display_name: person.display_name,
            department: person.department,
            role_title: person.role_title,
            manager_id: person.manager_id.map(|id| id.to_string()),
            active: person.active,
            hired_on: person.hired_on.format("%Y-%m-%d").to_string(),
            last_event_version: person.last_event_version,
        }))
    }
}
