//! `EmployeesService`: each RPC translates its request (convert.rs,
//! listing.rs), calls the app or a query, and translates the result back.
//! Codes are chosen in status.rs only.

use chrono::NaiveDate;
use tenure_kernel::{DomainEvent, Recorded};
use tenure_proto::tenure::employees::v1 as proto;
use tenure_proto::tenure::employees::v1::employees_service_server::EmployeesService;
use tenure_runtime::{Caller, RequestId};
use tonic::{Request, Response, Status, Streaming};
use uuid::Uuid;

use super::convert::{self, ParsedCommand};
use super::fingerprint::{CommandRequest, fingerprint};
use super::import::{ImportStream, import};
use super::{listing, queries, status};
use crate::app::{CommandOptions, EmployeesApp};
use crate::domain::{EmployeeEvent, employee_as_of};
use crate::projections::queries as directory;

/// The employees service's gRPC API; cheap to clone.
#[derive(Clone)]
pub struct EmployeesApi {
    app: EmployeesApp,
}

impl EmployeesApi {
    pub fn new(app: EmployeesApp) -> Self {
        Self { app }
    }

    /// Runs a command request: reads the caller and options, parses the
    /// request (given the tenant's today), executes, answers `(employee, version)`.
    async fn command<R: CommandRequest>(
        &self,
        request: Request<R>,
        parse: impl FnOnce(&R, NaiveDate) -> ParsedCommand,
    ) -> Result<(String, i64), Status> {
        let caller = Caller::from_metadata(request.metadata())?;
        let request = request.into_inner();
        let options = command_options(&request)?;
        let today = self.app.today(caller.tenant_id);
        let (employee_id, command) = parse(&request, today).map_err(status::invalid)?;
        let executed = self
            .app
            .execute(&caller, options, employee_id, command)
            .await
            .map_err(|error| status::from_app(error, employee_id))?;
        Ok((executed.stream_id.to_string(), executed.version))
    }

    /// The employee's recorded events, decoded, after `after_version`.
    async fn events(
        &self,
        tenant_id: Uuid,
        employee_id: Uuid,
        after_version: i64,
        limit: i64,
    ) -> Result<Vec<Recorded<EmployeeEvent>>, Status> {
        let raw = self
            .app
            .history(tenant_id, employee_id, after_version, limit)
            .await
            .map_err(status::from_store)?;
        raw.into_iter()
            .map(|record| {
                let (stream_id, version) = (record.stream_id, record.version);
                record
                    .try_map(EmployeeEvent::from_stored)
                    .map_err(|source| {
                        status::from_store(tenure_kernel::StoreError::Codec {
                            stream_id,
                            version,
                            source,
                        })
                    })
            })
            .collect()
    }
}

/// The options of a command request; with a request id, the fingerprint the
/// request log compares when the id comes again.
fn command_options<R: CommandRequest>(request: &R) -> Result<CommandOptions, Status> {
    let expected_version = request.expected_version();
    if expected_version.is_some_and(|v| v < 0) {
        return Err(status::invalid_field(
            "expected_version",
            "must not be negative",
        ));
    }
    let request_id = RequestId::parse(request.request_id())
        .map_err(|error| status::invalid_field("request_id", &error.to_string()))?;
    Ok(CommandOptions {
        expected_version,
        fingerprint: request_id.as_ref().map(|_| fingerprint(request)),
        request_id: request_id.map(RequestId::into_string),
    })
}

/// The response of a command, which every command RPC shapes alike.
macro_rules! command_response {
    ($response:ident, $result:expr) => {{
        let (employee_id, version) = $result;
        Ok(Response::new(proto::$response {
            employee_id,
            version,
        }))
    }};
}

#[tonic::async_trait]
impl EmployeesService for EmployeesApi {
    async fn hire_employee(
        &self,
        request: Request<proto::HireEmployeeRequest>,
    ) -> Result<Response<proto::HireEmployeeResponse>, Status> {
        let employee_id = Uuid::now_v7();
        let result = self
            .command(request, |r, _| {
                convert::hire_employee_from_proto(r, employee_id)
            })
            .await?;
        command_response!(HireEmployeeResponse, result)
    }

    async fn change_personal_details(
        &self,
        request: Request<proto::ChangePersonalDetailsRequest>,
    ) -> Result<Response<proto::ChangePersonalDetailsResponse>, Status> {
        let result = self
            .command(request, convert::change_personal_details_from_proto)
            .await?;
        command_response!(ChangePersonalDetailsResponse, result)
    }

    async fn change_contract(
        &self,
        request: Request<proto::ChangeContractRequest>,
    ) -> Result<Response<proto::ChangeContractResponse>, Status> {
        let result = self
            .command(request, |r, _| convert::change_contract_from_proto(r))
            .await?;
        command_response!(ChangeContractResponse, result)
    }

    async fn change_role(
        &self,
        request: Request<proto::ChangeRoleRequest>,
    ) -> Result<Response<proto::ChangeRoleResponse>, Status> {
        let result = self
            .command(request, |r, _| convert::change_role_from_proto(r))
            .await?;
        command_response!(ChangeRoleResponse, result)
    }

    async fn assign_manager(
        &self,
        request: Request<proto::AssignManagerRequest>,
    ) -> Result<Response<proto::AssignManagerResponse>, Status> {
        let result = self
            .command(request, |r, _| convert::assign_manager_from_proto(r))
            .await?;
        command_response!(AssignManagerResponse, result)
    }

    async fn record_work_agreement(
        &self,
        request: Request<proto::RecordWorkAgreementRequest>,
    ) -> Result<Response<proto::RecordWorkAgreementResponse>, Status> {
        let result = self
            .command(request, |r, _| convert::record_work_agreement_from_proto(r))
            .await?;
        command_response!(RecordWorkAgreementResponse, result)
    }

    async fn set_interests(
        &self,
        request: Request<proto::SetInterestsRequest>,
    ) -> Result<Response<proto::SetInterestsResponse>, Status> {
        let result = self
            .command(request, convert::set_interests_from_proto)
            .await?;
        command_response!(SetInterestsResponse, result)
    }

    async fn announce_departure(
        &self,
        request: Request<proto::AnnounceDepartureRequest>,
    ) -> Result<Response<proto::AnnounceDepartureResponse>, Status> {
        // Tenants cannot configure their own reason codes yet: any
        // well-formed code is accepted.
        let result = self
            .command(request, |r, today| {
                convert::announce_departure_from_proto(r, today, None)
            })
            .await?;
        command_response!(AnnounceDepartureResponse, result)
    }

    async fn withdraw_departure(
        &self,
        request: Request<proto::WithdrawDepartureRequest>,
    ) -> Result<Response<proto::WithdrawDepartureResponse>, Status> {
        let result = self
            .command(request, convert::withdraw_departure_from_proto)
            .await?;
        command_response!(WithdrawDepartureResponse, result)
    }

    async fn end_employment(
        &self,
        request: Request<proto::EndEmploymentRequest>,
    ) -> Result<Response<proto::EndEmploymentResponse>, Status> {
        let result = self
            .command(request, |r, _| convert::end_employment_from_proto(r))
            .await?;
        command_response!(EndEmploymentResponse, result)
    }

    async fn rehire_employee(
        &self,
        request: Request<proto::RehireEmployeeRequest>,
    ) -> Result<Response<proto::RehireEmployeeResponse>, Status> {
        let result = self
            .command(request, |r, _| convert::rehire_employee_from_proto(r))
            .await?;
        command_response!(RehireEmployeeResponse, result)
    }

    type ImportEmployeesStream = ImportStream;

    async fn import_employees(
        &self,
        request: Request<Streaming<proto::ImportEmployeesRequest>>,
    ) -> Result<Response<ImportStream>, Status> {
        let caller = Caller::from_metadata(request.metadata())?;
        let inbound = request.into_inner();
        Ok(Response::new(import(self.app.clone(), caller, inbound)))
    }

    async fn get_employee(
        &self,
        request: Request<proto::GetEmployeeRequest>,
    ) -> Result<Response<proto::GetEmployeeResponse>, Status> {
        let caller = Caller::from_metadata(request.metadata())?;
        let (employee_id, as_of) =
            convert::get_employee_from_proto(request.get_ref()).map_err(status::invalid)?;
        let employee = match as_of {
            None => {
                let loaded = self
                    .app
                    .load(caller.tenant_id, employee_id)
                    .await
                    .map_err(status::from_store)?;
                if loaded.version == 0 {
                    return Err(status::not_found(employee_id));
                }
                convert::employee_to_proto(
                    &loaded.state,
                    loaded.version,
                    self.app.today(caller.tenant_id),
                )
            }
            Some(date) => {
                let recorded = self
                    .events(caller.tenant_id, employee_id, 0, i64::MAX)
                    .await?;
                let version = recorded
                    .last()
                    .map(|r| r.version)
                    .ok_or_else(|| status::not_found(employee_id))?;
                let events: Vec<EmployeeEvent> = recorded.into_iter().map(|r| r.event).collect();
                let state = employee_as_of(&events, date).ok_or_else(|| {
                    Status::not_found(format!(
                        "employee {employee_id} was not yet hired on {date}"
                    ))
                })?;
                convert::employee_to_proto(&state, version, date)
            }
        };
        Ok(Response::new(proto::GetEmployeeResponse {
            employee: Some(employee),
        }))
    }

    async fn list_employees(
        &self,
        request: Request<proto::ListEmployeesRequest>,
    ) -> Result<Response<proto::ListEmployeesResponse>, Status> {
        let caller = Caller::from_metadata(request.metadata())?;
        let (filter, page) =
            listing::list_employees_from_proto(request.get_ref()).map_err(status::invalid)?;
        let rows = directory::list(
            self.app.pool(),
            caller.tenant_id,
            &filter,
            page.after.as_ref(),
            page.size,
        )
        .await
        .map_err(status::from_database)?;
        let next_page_token = listing::next_page_token(&rows, &page);
        let employees = rows.into_iter().map(listing::summary_to_proto).collect();
        Ok(Response::new(proto::ListEmployeesResponse {
            employees,
            next_page_token,
        }))
    }

    async fn list_team(
        &self,
        request: Request<proto::ListTeamRequest>,
    ) -> Result<Response<proto::ListTeamResponse>, Status> {
        let caller = Caller::from_metadata(request.metadata())?;
        let (manager_id, page) =
            listing::list_team_from_proto(request.get_ref()).map_err(status::invalid)?;
        let manager = directory::employee_status(self.app.pool(), caller.tenant_id, manager_id)
            .await
            .map_err(status::from_database)?;
        if manager.is_none() {
            return Err(status::not_found(manager_id));
        }
        let rows = directory::team(
            self.app.pool(),
            caller.tenant_id,
            manager_id,
            page.after.as_ref(),
            page.size,
        )
        .await
        .map_err(status::from_database)?;
        let next_page_token = listing::next_page_token(&rows, &page);
        let members = rows.into_iter().map(listing::summary_to_proto).collect();
        Ok(Response::new(proto::ListTeamResponse {
            members,
            next_page_token,
        }))
    }

    async fn get_workforce_mix(
        &self,
        request: Request<proto::GetWorkforceMixRequest>,
    ) -> Result<Response<proto::GetWorkforceMixResponse>, Status> {
        let caller = Caller::from_metadata(request.metadata())?;
        queries::workforce_mix(&self.app, caller.tenant_id)
            .await
            .map(Response::new)
    }

    async fn get_turnover(
        &self,
        request: Request<proto::GetTurnoverRequest>,
    ) -> Result<Response<proto::GetTurnoverResponse>, Status> {
        let caller = Caller::from_metadata(request.metadata())?;
        queries::turnover(&self.app, caller.tenant_id, request.get_ref())
            .await
            .map(Response::new)
    }

    async fn get_employee_history(
        &self,
        request: Request<proto::GetEmployeeHistoryRequest>,
    ) -> Result<Response<proto::GetEmployeeHistoryResponse>, Status> {
        let caller = Caller::from_metadata(request.metadata())?;
        let request = request.into_inner();
        let employee_id = Uuid::parse_str(request.employee_id.trim())
            .map_err(|_| status::invalid_field("employee_id", "must be a UUID"))?;
        let size = match request.page_size {
            n if n < 0 => return Err(status::invalid_field("page_size", "must not be negative")),
            0 => listing::DEFAULT_PAGE_SIZE,
            n => i64::from(n).min(listing::MAX_PAGE_SIZE),
        };
        let after_version = match request.page_token.trim() {
            "" => 0,
            token => token
                .parse::<i64>()
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| {
                    status::invalid_field("page_token", "is not a token this service issued")
                })?,
        };
        let events = self
            .events(caller.tenant_id, employee_id, after_version, size)
            .await?;
        if events.is_empty() && after_version == 0 {
            return Err(status::not_found(employee_id));
        }
        let next_page_token = match events.last() {
            Some(last) if events.len() as i64 == size => last.version.to_string(),
            _ => String::new(),
        };
        let entries = events.iter().map(convert::history_entry_to_proto).collect();
        Ok(Response::new(proto::GetEmployeeHistoryResponse {
            entries,
            next_page_token,
        }))
    }
}
