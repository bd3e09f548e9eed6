//! Translation between the gRPC messages of `employees_service.proto` and the
//! domain: requests into commands, the aggregate and its events into
//! responses. Nothing is decided here.
//!
//! How a request becomes a command:
//! - every malformed field is reported at once, as [`FieldViolation`]s named
//!   by their proto field path (`contract.end_date`, `tags[2]`), for an
//!   INVALID_ARGUMENT with google.rpc.BadRequest details;
//! - tenant facts that do not depend on the request are parameters: the
//!   tenant's `today` (for the commands effective today) and the tenant's
//!   departure reason codes (`None` when it has no list);
//! - the facts about a named manager depend on the request, so they cannot be
//!   parameters: the command carries [`ManagerFacts::unverified`] (inactive,
//!   of no known tenant, so a command whose manager is never looked up is
//!   refused, not accepted) and the app layer replaces it through
//!   [`EmployeeCommand::manager_mut`] before `decide`;
//! - `expected_version` and `request_id` are not part of commands: the handler
//!   passes them to the app as they are. Only for a hire is
//!   `expected_version` checked here (unset or 0);
//! - unique work emails are not a command fact: the directory's unique index
//!   refuses a taken address in the append transaction.
//!
//! The contract, work agreement and enum shapes shared with the events are
//! converted by [`crate::domain::codec`], once for both.

use chrono::{DateTime, NaiveDate, Utc, Weekday};
use tenure_kernel::Recorded;
use tenure_proto::tenure::employees::v1::{self as proto, history_entry};
use uuid::Uuid;

use crate::domain::codec::{
    contract_change_kind_from_proto, contract_from_proto, contract_to_proto,
    employee_status_to_proto, separation_type_from_proto, separation_type_to_proto,
    work_agreement_from_proto, work_agreement_to_proto,
};
use crate::domain::{
    AnnounceDeparture, AssignManager, ChangeContract, ChangePersonalDetails, ChangeRole,
    ContractChangeKind, Department, Employee, EmployeeCommand, EmployeeEvent, EndEmployment,
    FieldViolation, FieldViolations, FreeText, HireEmployee, Interests, ManagerFacts, PersonName,
    ReasonCode, RecordWorkAgreement, RehireEmployee, RoleTitle, SetInterests, WithdrawDeparture,
    WorkEmail, continuous_service_days, cumulative_service_days, format_date, parse_date, parse_id,
};

/// A parsed command request: the employee (the stream id) and the command.
pub type ParsedCommand = Result<(Uuid, EmployeeCommand), Vec<FieldViolation>>;

/// HireEmployee. `employee_id` is the id the app chose for the new employee.
pub fn hire_employee_from_proto(
    request: &proto::HireEmployeeRequest,
    employee_id: Uuid,
) -> ParsedCommand {
    let mut v = FieldViolations::new();
    let given_name = v.check(PersonName::parse("given_name", &request.given_name));
    let family_name = v.check(PersonName::parse("family_name", &request.family_name));
    let work_email = v.check(WorkEmail::parse("work_email", &request.work_email));
    let department = v.check(Department::parse("department", &request.department));
    let role_title = v.check(RoleTitle::parse("role_title", &request.role_title));
    let manager = optional_manager(&mut v, request.manager_id.as_deref());
    let contract = v.check_all(contract_from_proto("contract", request.contract.as_ref()));
    let start_date = v.check(parse_date("start_date", &request.start_date));
    if let (Some(contract), Some(start_date)) = (&contract, start_date)
        && contract.start() != start_date
    {
        v.push(
            "contract.start_date",
            format!("must equal start_date ({start_date})"),
        );
    }
    if let Some(expected) = request.expected_version
        && expected != 0
    {
        v.push(
            "expected_version",
            "a new employee's stream is empty, so the only valid value is 0",
        );
    }
    match (
        given_name,
        family_name,
        work_email,
        department,
        role_title,
        manager,
        contract,
    ) {
        (
            Some(given_name),
            Some(family_name),
            Some(work_email),
            Some(department),
            Some(role_title),
            Some(manager),
            Some(contract),
        ) if v.is_empty() => {
            let command = HireEmployee {
                employee_id,
                given_name,
                family_name,
                work_email,
                department,
                role_title,
                manager,
                contract,
            };
            Ok((employee_id, EmployeeCommand::Hire(command)))
        }
        _ => Err(v.into_vec()),
    }
}

/// ChangePersonalDetails, effective `today`. At least one field must be set.
pub fn change_personal_details_from_proto(
    request: &proto::ChangePersonalDetailsRequest,
    today: NaiveDate,
) -> ParsedCommand {
    let mut v = FieldViolations::new();
    let employee_id = v.check(parse_id("employee_id", &request.employee_id));
    let given_name = optional(&mut v, request.given_name.as_deref(), |raw| {
        PersonName::parse("given_name", raw)
    });
    let family_name = optional(&mut v, request.family_name.as_deref(), |raw| {
        PersonName::parse("family_name", raw)
    });
    let work_email = optional(&mut v, request.work_email.as_deref(), |raw| {
        WorkEmail::parse("work_email", raw)
    });
    if request.given_name.is_none() && request.family_name.is_none() && request.work_email.is_none()
    {
        v.push(
            "given_name",
            "set at least one of given_name, family_name and work_email",
        );
    }
    match (employee_id, given_name, family_name, work_email) {
        (Some(employee_id), Some(given_name), Some(family_name), Some(work_email))
            if v.is_empty() =>
        {
            let command = ChangePersonalDetails {
                given_name,
                family_name,
                work_email,
                today,
            };
            Ok((employee_id, EmployeeCommand::ChangePersonalDetails(command)))
        }
        _ => Err(v.into_vec()),
    }
}

/// ChangeContract.
pub fn change_contract_from_proto(request: &proto::ChangeContractRequest) -> ParsedCommand {
    let mut v = FieldViolations::new();
    let employee_id = v.check(parse_id("employee_id", &request.employee_id));
    let change_kind = v.check(contract_change_kind_from_proto(
        "change_kind",
        request.change_kind,
    ));
    let contract = v.check_all(contract_from_proto("contract", request.contract.as_ref()));
    let effective_date = v.check(parse_date("effective_date", &request.effective_date));
    match (employee_id, change_kind, contract, effective_date) {
        (Some(employee_id), Some(change_kind), Some(contract), Some(effective_date))
            if v.is_empty() =>
        {
            let command = ChangeContract {
                change_kind,
                contract,
                effective_date,
            };
            Ok((employee_id, EmployeeCommand::ChangeContract(command)))
        }
        _ => Err(v.into_vec()),
    }
}

/// ChangeRole.
pub fn change_role_from_proto(request: &proto::ChangeRoleRequest) -> ParsedCommand {
    let mut v = FieldViolations::new();
    let employee_id = v.check(parse_id("employee_id", &request.employee_id));
    let role_title = v.check(RoleTitle::parse("role_title", &request.role_title));
    let department = v.check(Department::parse("department", &request.department));
    let effective_date = v.check(parse_date("effective_date", &request.effective_date));
    match (employee_id, role_title, department, effective_date) {
        (Some(employee_id), Some(role_title), Some(department), Some(effective_date))
            if v.is_empty() =>
        {
            let command = ChangeRole {
                role_title,
                department,
                effective_date,
            };
            Ok((employee_id, EmployeeCommand::ChangeRole(command)))
        }
        _ => Err(v.into_vec()),
    }
}

/// AssignManager; an unset manager_id removes the manager.
pub fn assign_manager_from_proto(request: &proto::AssignManagerRequest) -> ParsedCommand {
    let mut v = FieldViolations::new();
    let employee_id = v.check(parse_id("employee_id", &request.employee_id));
    let manager = optional_manager(&mut v, request.manager_id.as_deref());
    let effective_date = v.check(parse_date("effective_date", &request.effective_date));
    match (employee_id, manager, effective_date) {
        (Some(employee_id), Some(manager), Some(effective_date)) if v.is_empty() => Ok((
            employee_id,
            EmployeeCommand::AssignManager(AssignManager {
                manager,
                effective_date,
            }),
        )),
        _ => Err(v.into_vec()),
    }
}

/// RecordWorkAgreement, effective on the agreement's agreed_on.
pub fn record_work_agreement_from_proto(
    request: &proto::RecordWorkAgreementRequest,
) -> ParsedCommand {
    let mut v = FieldViolations::new();
    let employee_id = v.check(parse_id("employee_id", &request.employee_id));
    let agreement = v.check_all(work_agreement_from_proto(
        "agreement",
        request.agreement.as_ref(),
    ));
    match (employee_id, agreement) {
        (Some(employee_id), Some(agreement)) if v.is_empty() => Ok((
            employee_id,
            EmployeeCommand::RecordWorkAgreement(RecordWorkAgreement { agreement }),
        )),
        _ => Err(v.into_vec()),
    }
}

/// SetInterests, effective `today`.
pub fn set_interests_from_proto(
    request: &proto::SetInterestsRequest,
    today: NaiveDate,
) -> ParsedCommand {
    let mut v = FieldViolations::new();
    let employee_id = v.check(parse_id("employee_id", &request.employee_id));
    let tags = v.check_all(Interests::parse("tags", &request.tags));
    match (employee_id, tags) {
        (Some(employee_id), Some(tags)) if v.is_empty() => Ok((
            employee_id,
            EmployeeCommand::SetInterests(SetInterests { tags, today }),
        )),
        _ => Err(v.into_vec()),
    }
}

/// AnnounceDeparture, effective `today`. `reason_codes` is the tenant's list
/// of departure reasons, `None` when it has none. Whether the caller may
/// backdate (HR only) is the handler's check, not this one's.
pub fn announce_departure_from_proto(
    request: &proto::AnnounceDepartureRequest,
    today: NaiveDate,
    reason_codes: Option<Vec<String>>,
) -> ParsedCommand {
    let mut v = FieldViolations::new();
    let employee_id = v.check(parse_id("employee_id", &request.employee_id));
    let separation_type = v.check(separation_type_from_proto(
        "separation_type",
        request.separation_type,
    ));
    let reason_code = v.check(ReasonCode::parse("reason_code", &request.reason_code));
    if let (Some(separation_type), Some(_)) = (separation_type, request.regrettable)
        && !separation_type.allows_regrettable()
    {
        v.push(
            "regrettable",
            format!("is only for voluntary departures, not for {separation_type}; leave it unset"),
        );
    }
    let last_working_day = v.check(parse_date("last_working_day", &request.last_working_day));
    let note = optional(&mut v, request.note.as_deref(), |raw| {
        FreeText::parse("note", raw)
    });
    let backdate_reason = optional(&mut v, request.backdate_reason.as_deref(), |raw| {
        FreeText::parse("backdate_reason", raw)
    });
    match (
        employee_id,
        separation_type,
        reason_code,
        last_working_day,
        note,
        backdate_reason,
    ) {
        (
            Some(employee_id),
            Some(separation_type),
            Some(reason_code),
            Some(last_working_day),
            Some(note),
            Some(backdate_reason),
        ) if v.is_empty() => {
            let command = AnnounceDeparture {
                separation_type,
                reason_code,
                regrettable: request.regrettable,
                last_working_day,
                note,
                backdate_reason,
                today,
                reason_codes,
            };
            Ok((employee_id, EmployeeCommand::AnnounceDeparture(command)))
        }
        _ => Err(v.into_vec()),
    }
}

/// WithdrawDeparture, effective `today`.
pub fn withdraw_departure_from_proto(
    request: &proto::WithdrawDepartureRequest,
    today: NaiveDate,
) -> ParsedCommand {
    let mut v = FieldViolations::new();
    let employee_id = v.check(parse_id("employee_id", &request.employee_id));
    let reason = v.check(FreeText::parse("reason", &request.reason));
    match (employee_id, reason) {
        (Some(employee_id), Some(reason)) if v.is_empty() => Ok((
            employee_id,
            EmployeeCommand::WithdrawDeparture(WithdrawDeparture { reason, today }),
        )),
        _ => Err(v.into_vec()),
    }
}

/// EndEmployment.
pub fn end_employment_from_proto(request: &proto::EndEmploymentRequest) -> ParsedCommand {
    let mut v = FieldViolations::new();
    let employee_id = v.check(parse_id("employee_id", &request.employee_id));
    let ended_on = v.check(parse_date("ended_on", &request.ended_on));
    let reason = v.check(FreeText::parse("reason", &request.reason));
    match (employee_id, ended_on, reason) {
        (Some(employee_id), Some(ended_on), Some(reason)) if v.is_empty() => Ok((
            employee_id,
            EmployeeCommand::EndEmployment(EndEmployment { ended_on, reason }),
        )),
        _ => Err(v.into_vec()),
    }
}

/// RehireEmployee; unset role_title and department keep the previous ones.
pub fn rehire_employee_from_proto(request: &proto::RehireEmployeeRequest) -> ParsedCommand {
    let mut v = FieldViolations::new();
    let employee_id = v.check(parse_id("employee_id", &request.employee_id));
    let contract = v.check_all(contract_from_proto("contract", request.contract.as_ref()));
    let start_date = v.check(parse_date("start_date", &request.start_date));
    if let (Some(contract), Some(start_date)) = (&contract, start_date)
        && contract.start() != start_date
    {
        v.push(
            "contract.start_date",
            format!("must equal start_date ({start_date})"),
        );
    }
    let role_title = optional(&mut v, request.role_title.as_deref(), |raw| {
        RoleTitle::parse("role_title", raw)
    });
    let department = optional(&mut v, request.department.as_deref(), |raw| {
        Department::parse("department", raw)
    });
    let manager = optional_manager(&mut v, request.manager_id.as_deref());
    match (employee_id, contract, role_title, department, manager) {
        (Some(employee_id), Some(contract), Some(role_title), Some(department), Some(manager))
            if v.is_empty() =>
        {
            let command = RehireEmployee {
                contract,
                role_title,
                department,
                manager,
            };
            Ok((employee_id, EmployeeCommand::Rehire(command)))
        }
        _ => Err(v.into_vec()),
    }
}

/// GetEmployee: the employee and the optional as-of date.
pub fn get_employee_from_proto(
    request: &proto::GetEmployeeRequest,
) -> Result<(Uuid, Option<NaiveDate>), Vec<FieldViolation>> {
    let mut v = FieldViolations::new();
    let employee_id = v.check(parse_id("employee_id", &request.employee_id));
    let as_of = optional(&mut v, request.as_of.as_deref(), |raw| {
        parse_date("as_of", raw)
    });
    match (employee_id, as_of) {
        (Some(employee_id), Some(as_of)) if v.is_empty() => Ok((employee_id, as_of)),
        _ => Err(v.into_vec()),
    }
}

/// An optional field: `Some(None)` when unset, `Some(Some(value))` when set
/// and well-formed, `None` (violation recorded) when set and malformed.
fn optional<T>(
    violations: &mut FieldViolations,
    raw: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, FieldViolation>,
) -> Option<Option<T>> {
    match raw {
        Some(raw) => violations.check(parse(raw)).map(Some),
        None => Some(None),
    }
}

/// An optional manager_id, as facts still to be looked up by the app layer.
fn optional_manager(
    violations: &mut FieldViolations,
    raw: Option<&str>,
) -> Option<Option<ManagerFacts>> {
    optional(violations, raw, |raw| {
        parse_id("manager_id", raw).map_err(|violation| FieldViolation {
            description: format!("{}; leave it unset for no manager", violation.description),
            ..violation
        })
    })
    .map(|id| id.map(ManagerFacts::unverified))
}

// ---------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------

/// The employee as the API shows them. `version` is the stream's current
/// version; `reference` is the date service days are counted to (as_of, or
/// the tenant's today).
pub fn employee_to_proto(
    employee: &Employee,
    version: i64,
    reference: NaiveDate,
) -> proto::Employee {
    proto::Employee {
        employee_id: employee.id.to_string(),
        given_name: employee.given_name.to_string(),
        family_name: employee.family_name.to_string(),
        work_email: employee.work_email.to_string(),
        department: employee.department.to_string(),
        role_title: employee.role_title.to_string(),
        manager_id: employee.manager_id.map(|id| id.to_string()),
        status: employee
            .status()
            .map_or(proto::EmployeeStatus::Unspecified, employee_status_to_proto)
            .into(),
        tenure_periods: employee
            .tenure_periods
            .iter()
            .map(|period| proto::TenurePeriod {
                start_date: format_date(period.start),
                end_date: period.end.map(format_date),
                contract: Some(contract_to_proto(&period.contract)),
                separation_type: period
                    .separation_type
                    .map(|t| separation_type_to_proto(t).into()),
            })
            .collect(),
        contract: employee.contract().map(contract_to_proto),
        work_agreement: employee
            .work_agreement
            .as_ref()
            .map(work_agreement_to_proto),
        interests: employee.interests.tags().to_vec(),
        departure: employee
            .departure
            .as_ref()
            .map(|departure| proto::Departure {
                separation_type: separation_type_to_proto(departure.separation_type).into(),
                reason_code: departure.reason_code.to_string(),
                regrettable: departure.regrettable,
                last_working_day: format_date(departure.last_working_day),
                announced_on: format_date(departure.announced_on),
                note: departure.note.as_ref().map(|note| note.as_str().to_owned()),
                backdate_reason: departure
                    .backdate_reason
                    .as_ref()
                    .map(|reason| reason.as_str().to_owned()),
            }),
        version,
        continuous_service_days: continuous_service_days(employee, reference),
        cumulative_service_days: cumulative_service_days(employee, reference),
    }
}

/// One recorded event as an entry of the employee's history.
pub fn history_entry_to_proto(recorded: &Recorded<EmployeeEvent>) -> proto::HistoryEntry {
    use tenure_kernel::DomainEvent;

    let event = &recorded.event;
    let mut entry = proto::HistoryEntry {
        version: recorded.version,
        event_id: recorded.event_id.to_string(),
        event_type: event.event_type().to_owned(),
        // prost-types is not a dependency of this crate; the Timestamp is
        // reached through the field's type and filled in below.
        recorded_at: Some(Default::default()),
        effective_date: format_date(event.effective_date()),
        actor: recorded.metadata.actor.clone(),
        summary: event_summary(event),
        event: Some(history_event_to_proto(event)),
    };
    if let Some(timestamp) = entry.recorded_at.as_mut() {
        let (seconds, nanos) = timestamp_parts(recorded.recorded_at);
        timestamp.seconds = seconds;
        timestamp.nanos = nanos;
    }
    entry
}

/// Seconds and nanoseconds since the Unix epoch, as google.protobuf.Timestamp has them.
fn timestamp_parts(at: DateTime<Utc>) -> (i64, i32) {
    // Sub-second nanoseconds are below 2e9 (a leap second), so they fit an i32.
    (
        at.timestamp(),
        i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(999_999_999),
    )
}

/// The event as the typed oneof of a history entry.
pub fn history_event_to_proto(event: &EmployeeEvent) -> history_entry::Event {
    match event {
        EmployeeEvent::Hired(e) => history_entry::Event::EmployeeHired(e.into()),
        EmployeeEvent::PersonalDetailsChanged(e) => {
            history_entry::Event::PersonalDetailsChanged(e.into())
        }
        EmployeeEvent::ContractChanged(e) => history_entry::Event::ContractChanged(e.into()),
        EmployeeEvent::RoleChanged(e) => history_entry::Event::RoleChanged(e.into()),
        EmployeeEvent::ManagerAssigned(e) => history_entry::Event::ManagerAssigned(e.into()),
        EmployeeEvent::WorkAgreementRecorded(e) => {
            history_entry::Event::WorkAgreementRecorded(e.into())
        }
        EmployeeEvent::InterestsChanged(e) => history_entry::Event::InterestsChanged(e.into()),
        EmployeeEvent::DepartureAnnounced(e) => history_entry::Event::DepartureAnnounced(e.into()),
        EmployeeEvent::DepartureWithdrawn(e) => history_entry::Event::DepartureWithdrawn(e.into()),
        EmployeeEvent::EmploymentEnded(e) => history_entry::Event::EmploymentEnded(e.into()),
        EmployeeEvent::Rehired(e) => history_entry::Event::EmployeeRehired(e.into()),
    }
}

/// A one-line English summary of the event, e.g. "Hired as Engineer in
/// Platform from 2026-03-01".
pub fn event_summary(event: &EmployeeEvent) -> String {
    match event {
        EmployeeEvent::Hired(e) => format!(
            "Hired as {} in {} from {} ({} contract)",
            e.role_title,
            e.department,
            e.effective_date,
            e.contract.kind()
        ),
        EmployeeEvent::PersonalDetailsChanged(e) => {
            format!(
                "Personal details changed to {} {} <{}>",
                e.given_name, e.family_name, e.work_email
            )
        }
        EmployeeEvent::ContractChanged(e) => {
            let what = match e.change_kind {
                ContractChangeKind::Extend => "Contract extended",
                ContractChangeKind::Convert => "Contract converted",
                ContractChangeKind::ChangeHours => "Contract hours changed",
                ContractChangeKind::Other => "Contract changed",
            };
            format!("{what} from {}: {}", e.effective_date, e.contract)
        }
        EmployeeEvent::RoleChanged(e) => {
            format!(
                "Role changed to {} in {} from {}",
                e.role_title, e.department, e.effective_date
            )
        }
        EmployeeEvent::ManagerAssigned(e) => match e.manager_id {
            Some(manager_id) => format!("Manager set to {manager_id} from {}", e.effective_date),
            None => format!("Manager removed from {}", e.effective_date),
        },
        EmployeeEvent::WorkAgreementRecorded(e) => {
            let days = |days: &[Weekday]| {
                if days.is_empty() {
                    "none".to_owned()
                } else {
                    days.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            let agreement = &e.agreement;
            let mut summary = format!(
                "Work agreement recorded from {}: office {}; remote {}",
                agreement.agreed_on(),
                days(agreement.office_days()),
                days(agreement.remote_days())
            );
            if let Some(hours) = agreement.core_hours() {
                summary.push_str(&format!("; core hours {hours}"));
            }
            summary
        }
        EmployeeEvent::InterestsChanged(e) if e.tags.is_empty() => "Interests cleared".to_owned(),
        EmployeeEvent::InterestsChanged(e) => {
            format!("Interests set to {}", e.tags.tags().join(", "))
        }
        EmployeeEvent::DepartureAnnounced(e) => {
            let mut summary = format!(
                "Departure announced ({}, {}), last working day {}",
                e.separation_type, e.reason_code, e.last_working_day
            );
            if e.regrettable == Some(true) {
                summary.push_str("; regrettable");
            }
            if e.backdate_reason.is_some() {
                summary.push_str("; backdated");
            }
            summary
        }
        EmployeeEvent::DepartureWithdrawn(e) => {
            format!("Departure withdrawn: {}", first_line(e.reason.as_str()))
        }
        EmployeeEvent::EmploymentEnded(e) => format!(
            "Employment ended on {} ({}, {}) after starting on {}",
            e.effective_date, e.separation_type, e.reason_code, e.period_start_date
        ),
        EmployeeEvent::Rehired(e) => format!(
            "Rehired as {} in {} from {} ({} contract)",
            e.role_title,
            e.department,
            e.effective_date,
            e.contract.kind()
        ),
    }
}

/// The first line of free text, shortened, so a summary stays one line.
fn first_line(text: &str) -> String {
    const MAX: usize = 120;
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > MAX || text.lines().nth(1).is_some() {
        format!("{}…", line.chars().take(MAX).collect::<String>())
    } else {
        line.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use tenure_kernel::{EventMetadata, GlobalPosition};

    use super::*;
    use crate::domain::testing::fixtures::*;
    use crate::domain::testing::given;
    use crate::domain::{ContractKind, EmployeeStatus, SeparationType};

    const ADA: &str = "0190a5b8-0000-7000-8000-00000000ada0";
    const GRACE: &str = "0190a5b8-0000-7000-8000-000000006ace";

    fn today() -> NaiveDate {
        date("2026-05-01")
    }

    fn proto_contract() -> proto::Contract {
        proto::Contract {
            kind: proto::ContractKind::Permanent.into(),
            start_date: "2026-03-01".into(),
            end_date: None,
            hours_per_week: 40.0,
            season_window: None,
        }
    }

    fn hire_request() -> proto::HireEmployeeRequest {
        proto::HireEmployeeRequest {
            given_name: " Ada ".into(),
            family_name: "Lovelace".into(),
            work_email: "Ada@Example.com".into(),
            department: "Platform".into(),
            role_title: "Engineer".into(),
            manager_id: Some(GRACE.into()),
            contract: Some(proto_contract()),
            start_date: "2026-03-01".into(),
            expected_version: None,
            request_id: String::new(),
        }
    }

    fn fields(result: Result<impl std::fmt::Debug, Vec<FieldViolation>>) -> Vec<String> {
        let mut fields: Vec<_> = result.unwrap_err().into_iter().map(|v| v.field).collect();
        fields.sort();
        fields
    }

    #[test]
    fn a_hire_request_becomes_a_hire_command() {
        let (employee_id, command) = hire_employee_from_proto(&hire_request(), ada_id()).unwrap();
        assert_eq!(employee_id, ada_id());
        assert_eq!(
            command,
            EmployeeCommand::Hire(HireEmployee {
                employee_id: ada_id(),
                given_name: name("Ada"),
                family_name: name("Lovelace"),
                work_email: email("ada@example.com"),
                department: department("Platform"),
                role_title: role("Engineer"),
                manager: Some(ManagerFacts::unverified(grace_id())),
                contract: permanent("2026-03-01"),
            })
        );
    }

    #[test]
    fn every_bad_hire_field_is_reported() {
        type Edit = fn(&mut proto::HireEmployeeRequest);
        let cases: &[(&str, Edit, &[&str])] = &[
            (
                "empty given name",
                |r| r.given_name = "  ".into(),
                &["given_name"],
            ),
            (
                "10,000-char family name",
                |r| r.family_name = "x".repeat(10_000),
                &["family_name"],
            ),
            (
                "bad email",
                |r| r.work_email = "ada-at-example.com".into(),
                &["work_email"],
            ),
            ("no department", |r| r.department.clear(), &["department"]),
            (
                "control char in role",
                |r| r.role_title = "Eng\u{7}ineer".into(),
                &["role_title"],
            ),
            (
                "bad manager uuid",
                |r| r.manager_id = Some("grace".into()),
                &["manager_id"],
            ),
            (
                "empty manager id",
                |r| r.manager_id = Some(String::new()),
                &["manager_id"],
            ),
            ("no contract", |r| r.contract = None, &["contract"]),
            (
                "unspecified contract kind",
                |r| r.contract.as_mut().unwrap().kind = 0,
                &["contract.kind"],
            ),
            (
                "unknown contract kind",
                |r| r.contract.as_mut().unwrap().kind = 77,
                &["contract.kind"],
            ),
            (
                "negative hours",
                |r| r.contract.as_mut().unwrap().hours_per_week = -8.0,
                &["contract.hours_per_week"],
            ),
            (
                "too many hours",
                |r| r.contract.as_mut().unwrap().hours_per_week = 61.0,
                &["contract.hours_per_week"],
            ),
            (
                "fixed term without end",
                |r| r.contract.as_mut().unwrap().kind = proto::ContractKind::FixedTerm.into(),
                &["contract.end_date"],
            ),
            (
                "end before start",
                |r| r.contract.as_mut().unwrap().end_date = Some("2026-02-01".into()),
                &["contract.end_date"],
            ),
            (
                "season window on a permanent contract",
                |r| {
                    r.contract.as_mut().unwrap().season_window = Some(proto::SeasonWindow {
                        start: "03-01".into(),
                        end: "10-31".into(),
                    })
                },
                &["contract.season_window"],
            ),
            (
                "impossible date",
                |r| {
                    r.start_date = "2026-02-30".into();
                    r.contract.as_mut().unwrap().start_date = "2026-02-30".into();
                },
                &["contract.start_date", "start_date"],
            ),
            (
                "contract starts on another day",
                |r| r.start_date = "2026-03-02".into(),
                &["contract.start_date"],
            ),
            (
                "missing start date",
                |r| r.start_date.clear(),
                &["start_date"],
            ),
            (
                "expected version of an existing stream",
                |r| r.expected_version = Some(3),
                &["expected_version"],
            ),
        ];
        for (case, edit, expected) in cases {
            let mut request = hire_request();
            edit(&mut request);
            assert_eq!(
                fields(hire_employee_from_proto(&request, ada_id())),
                *expected,
                "{case}"
            );
        }
        // Version 0 is the one valid expectation of a new stream.
        let request = proto::HireEmployeeRequest {
            expected_version: Some(0),
            ..hire_request()
        };
        assert!(hire_employee_from_proto(&request, ada_id()).is_ok());
    }

    #[test]
    fn all_violations_of_one_request_come_together() {
        let request = proto::HireEmployeeRequest {
            given_name: String::new(),
            family_name: String::new(),
            work_email: "nope".into(),
            department: String::new(),
            role_title: String::new(),
            manager_id: None,
            contract: None,
            start_date: "yesterday".into(),
            expected_version: None,
            request_id: String::new(),
        };
        assert_eq!(
            fields(hire_employee_from_proto(&request, ada_id())),
            [
                "contract",
                "department",
                "family_name",
                "given_name",
                "role_title",
                "start_date",
                "work_email"
            ]
        );
    }

    #[test]
    fn personal_details_change_only_what_is_set() {
        let request = proto::ChangePersonalDetailsRequest {
            employee_id: ADA.into(),
            family_name: Some("King".into()),
            ..Default::default()
        };
        let (employee_id, command) = change_personal_details_from_proto(&request, today()).unwrap();
        assert_eq!(employee_id, ada_id());
        assert_eq!(
            command,
            EmployeeCommand::ChangePersonalDetails(ChangePersonalDetails {
                given_name: None,
                family_name: Some(name("King")),
                work_email: None,
                today: today(),
            })
        );

        let cases: &[(proto::ChangePersonalDetailsRequest, &[&str])] = &[
            (
                proto::ChangePersonalDetailsRequest {
                    employee_id: ADA.into(),
                    ..Default::default()
                },
                &["given_name"],
            ),
            (
                proto::ChangePersonalDetailsRequest {
                    employee_id: "42".into(),
                    given_name: Some("".into()),
                    ..Default::default()
                },
                &["employee_id", "given_name"],
            ),
            (
                proto::ChangePersonalDetailsRequest {
                    employee_id: ADA.into(),
                    work_email: Some("a@b".into()),
                    ..Default::default()
                },
                &["work_email"],
            ),
        ];
        for (request, expected) in cases {
            assert_eq!(
                fields(change_personal_details_from_proto(request, today())),
                *expected,
                "{request:?}"
            );
        }
    }

    #[test]
    fn contract_changes_need_a_kind_a_valid_contract_and_a_date() {
        let request = proto::ChangeContractRequest {
            employee_id: ADA.into(),
            change_kind: proto::ContractChangeKind::ChangeHours.into(),
            contract: Some(proto::Contract {
                hours_per_week: 32.0,
                ..proto_contract()
            }),
            effective_date: "2026-09-01".into(),
            ..Default::default()
        };
        let (_, command) = change_contract_from_proto(&request).unwrap();
        let EmployeeCommand::ChangeContract(command) = command else {
            panic!("{command:?}")
        };
        assert_eq!(command.change_kind, ContractChangeKind::ChangeHours);
        assert_eq!(command.contract.hours_per_week(), 32.0);
        assert_eq!(command.effective_date, date("2026-09-01"));

        let bad = proto::ChangeContractRequest {
            employee_id: String::new(),
            change_kind: 0,
            contract: Some(proto::Contract {
                kind: proto::ContractKind::Seasonal.into(),
                end_date: Some("2026-10-31".into()),
                ..proto_contract()
            }),
            effective_date: "2026-13-01".into(),
            ..Default::default()
        };
        assert_eq!(
            fields(change_contract_from_proto(&bad)),
            [
                "change_kind",
                "contract.season_window",
                "effective_date",
                "employee_id"
            ]
        );
    }

    #[test]
    fn role_and_manager_requests() {
        let role_request = proto::ChangeRoleRequest {
            employee_id: ADA.into(),
            role_title: "Team Lead".into(),
            department: "Sales".into(),
            effective_date: "2026-09-01".into(),
            ..Default::default()
        };
        assert_eq!(
            change_role_from_proto(&role_request).unwrap().1,
            EmployeeCommand::ChangeRole(ChangeRole {
                role_title: role("Team Lead"),
                department: department("Sales"),
                effective_date: date("2026-09-01"),
            })
        );
        let bad_role = proto::ChangeRoleRequest {
            role_title: "r".repeat(201),
            department: String::new(),
            ..role_request
        };
        assert_eq!(
            fields(change_role_from_proto(&bad_role)),
            ["department", "role_title"]
        );

        let assign = proto::AssignManagerRequest {
            employee_id: ADA.into(),
            manager_id: None,
            effective_date: "2026-04-01".into(),
            ..Default::default()
        };
        assert_eq!(
            assign_manager_from_proto(&assign).unwrap().1,
            EmployeeCommand::AssignManager(AssignManager {
                manager: None,
                effective_date: date("2026-04-01")
            })
        );
        let bad_assign = proto::AssignManagerRequest {
            manager_id: Some("{grace}".into()),
            effective_date: String::new(),
            ..assign
        };
        assert_eq!(
            fields(assign_manager_from_proto(&bad_assign)),
            ["effective_date", "manager_id"]
        );
    }

    #[test]
    fn work_agreement_requests() {
        let agreement = proto::WorkAgreement {
            office_days: vec![proto::Weekday::Tuesday.into()],
            remote_days: vec![proto::Weekday::Monday.into(), proto::Weekday::Friday.into()],
            core_hours_start: "10:00".into(),
            core_hours_end: "15:00".into(),
            agreements: vec!["team day on Tuesday".into()],
            agreed_on: "2026-03-01".into(),
            review_date: Some("2026-09-01".into()),
        };
        let request = proto::RecordWorkAgreementRequest {
            employee_id: ADA.into(),
            agreement: Some(agreement.clone()),
            ..Default::default()
        };
        let EmployeeCommand::RecordWorkAgreement(command) =
            record_work_agreement_from_proto(&request).unwrap().1
        else {
            panic!()
        };
        assert_eq!(
            work_agreement_to_proto(&command.agreement),
            agreement,
            "the agreement round-trips"
        );

        let bad = proto::RecordWorkAgreementRequest {
            agreement: Some(proto::WorkAgreement {
                office_days: vec![0, proto::Weekday::Monday.into()],
                core_hours_end: String::new(),
                review_date: Some("2026-02-01".into()),
                ..agreement
            }),
            ..request
        };
        assert_eq!(
            fields(record_work_agreement_from_proto(&bad)),
            [
                "agreement.core_hours_end",
                "agreement.office_days[0]",
                "agreement.remote_days[0]",
                "agreement.review_date"
            ]
        );
        let missing = proto::RecordWorkAgreementRequest {
            employee_id: ADA.into(),
            ..Default::default()
        };
        assert_eq!(
            fields(record_work_agreement_from_proto(&missing)),
            ["agreement"]
        );
    }

    #[test]
    fn interests_requests() {
        let request = proto::SetInterestsRequest {
            employee_id: ADA.into(),
            tags: vec![" rust ".into(), "Rust".into(), "running".into()],
            ..Default::default()
        };
        let EmployeeCommand::SetInterests(command) =
            set_interests_from_proto(&request, today()).unwrap().1
        else {
            panic!()
        };
        assert_eq!(command.tags.tags(), ["rust", "running"]);
        assert_eq!(command.today, today());
        let bad = proto::SetInterestsRequest {
            tags: vec!["rust".into(), "".into()],
            ..request
        };
        assert_eq!(fields(set_interests_from_proto(&bad, today())), ["tags[1]"]);
    }

    fn announce_request() -> proto::AnnounceDepartureRequest {
        proto::AnnounceDepartureRequest {
            employee_id: ADA.into(),
            separation_type: proto::SeparationType::Voluntary.into(),
            reason_code: "better_offer".into(),
            regrettable: Some(true),
            last_working_day: "2026-06-30".into(),
            note: Some("moving abroad".into()),
            backdate_reason: None,
            ..Default::default()
        }
    }

    #[test]
    fn a_departure_request_carries_the_tenant_facts() {
        let codes = Some(vec!["better_offer".to_owned()]);
        let (_, command) =
            announce_departure_from_proto(&announce_request(), today(), codes.clone()).unwrap();
        let EmployeeCommand::AnnounceDeparture(command) = command else {
            panic!()
        };
        assert_eq!(command.separation_type, SeparationType::Voluntary);
        assert_eq!(command.reason_code.as_str(), "better_offer");
        assert_eq!(command.regrettable, Some(true));
        assert_eq!(command.last_working_day, date("2026-06-30"));
        assert_eq!(
            command.note.as_ref().map(FreeText::as_str),
            Some("moving abroad")
        );
        assert_eq!((command.today, command.reason_codes), (today(), codes));
    }

    #[test]
    fn every_bad_departure_field_is_reported() {
        type Edit = fn(&mut proto::AnnounceDepartureRequest);
        let cases: &[(&str, Edit, &[&str])] = &[
            (
                "unspecified separation",
                |r| r.separation_type = 0,
                &["separation_type"],
            ),
            (
                "unknown separation",
                |r| r.separation_type = 99,
                &["separation_type"],
            ),
            (
                "regrettable and involuntary",
                |r| r.separation_type = proto::SeparationType::Involuntary.into(),
                &["regrettable"],
            ),
            (
                "reason code with spaces",
                |r| r.reason_code = "better offer".into(),
                &["reason_code"],
            ),
            (
                "no reason code",
                |r| r.reason_code.clear(),
                &["reason_code"],
            ),
            (
                "impossible last day",
                |r| r.last_working_day = "2026-06-31".into(),
                &["last_working_day"],
            ),
            ("blank note", |r| r.note = Some(" ".into()), &["note"]),
            (
                "blank backdate reason",
                |r| r.backdate_reason = Some(String::new()),
                &["backdate_reason"],
            ),
            (
                "bad employee",
                |r| r.employee_id = "ada".into(),
                &["employee_id"],
            ),
        ];
        for (case, edit, expected) in cases {
            let mut request = announce_request();
            edit(&mut request);
            assert_eq!(
                fields(announce_departure_from_proto(&request, today(), None)),
                *expected,
                "{case}"
            );
        }
    }

    #[test]
    fn withdraw_end_and_rehire_requests() {
        let withdraw = proto::WithdrawDepartureRequest {
            employee_id: ADA.into(),
            reason: "stays".into(),
            ..Default::default()
        };
        assert!(matches!(
            withdraw_departure_from_proto(&withdraw, today()).unwrap().1,
            EmployeeCommand::WithdrawDeparture(WithdrawDeparture { today: t, .. }) if t == today()
        ));
        let no_reason = proto::WithdrawDepartureRequest {
            reason: "  ".into(),
            ..withdraw
        };
        assert_eq!(
            fields(withdraw_departure_from_proto(&no_reason, today())),
            ["reason"]
        );

        let end = proto::EndEmploymentRequest {
            employee_id: ADA.into(),
            ended_on: "2026-06-30".into(),
            reason: "offboarding completed".into(),
            ..Default::default()
        };
        assert!(matches!(
            end_employment_from_proto(&end).unwrap().1,
            EmployeeCommand::EndEmployment(EndEmployment { ended_on, .. }) if ended_on == date("2026-06-30")
        ));
        let bad_end = proto::EndEmploymentRequest {
            ended_on: "30-06-2026".into(),
            reason: String::new(),
            ..end
        };
        assert_eq!(
            fields(end_employment_from_proto(&bad_end)),
            ["ended_on", "reason"]
        );

        let rehire = proto::RehireEmployeeRequest {
            employee_id: ADA.into(),
            contract: Some(proto::Contract {
                start_date: "2027-01-01".into(),
                ..proto_contract()
            }),
            start_date: "2027-01-01".into(),
            role_title: None,
            department: Some("Research".into()),
            manager_id: Some(GRACE.into()),
            ..Default::default()
        };
        assert_eq!(
            rehire_employee_from_proto(&rehire).unwrap().1,
            EmployeeCommand::Rehire(RehireEmployee {
                contract: permanent("2027-01-01"),
                role_title: None,
                department: Some(department("Research")),
                manager: Some(ManagerFacts::unverified(grace_id())),
            })
        );
        let bad_rehire = proto::RehireEmployeeRequest {
            start_date: "2027-01-02".into(),
            role_title: Some(String::new()),
            ..rehire
        };
        assert_eq!(
            fields(rehire_employee_from_proto(&bad_rehire)),
            ["contract.start_date", "role_title"]
        );
    }

    #[test]
    fn get_employee_requests() {
        let request = proto::GetEmployeeRequest {
            employee_id: ADA.into(),
            as_of: Some("2026-04-01".into()),
        };
        assert_eq!(
            get_employee_from_proto(&request).unwrap(),
            (ada_id(), Some(date("2026-04-01")))
        );
        let current = proto::GetEmployeeRequest {
            as_of: None,
            ..request.clone()
        };
        assert_eq!(get_employee_from_proto(&current).unwrap(), (ada_id(), None));
        let bad = proto::GetEmployeeRequest {
            employee_id: "x".into(),
            as_of: Some("2026-02-29".into()),
        };
        assert_eq!(
            fields(get_employee_from_proto(&bad)),
            ["as_of", "employee_id"]
        );
    }

    #[test]
    fn the_employee_as_the_api_shows_them() {
        let leaving = given([ada_hired("2026-03-01")])
            .when(EmployeeCommand::AnnounceDeparture(AnnounceDeparture {
                separation_type: SeparationType::Voluntary,
                reason_code: ReasonCode::parse("reason_code", "better_offer").unwrap(),
                regrettable: Some(true),
                last_working_day: date("2026-06-30"),
                note: None,
                backdate_reason: None,
                today: today(),
                reason_codes: None,
            }))
            .then_events();
        let mut employee = Employee::default();
        for event in [ada_hired("2026-03-01")].iter().chain(&leaving) {
            tenure_kernel::Aggregate::evolve(&mut employee, event);
        }
        let shown = employee_to_proto(&employee, 2, date("2026-03-31"));
        assert_eq!(shown.employee_id, ADA);
        assert_eq!(
            (shown.given_name.as_str(), shown.family_name.as_str()),
            ("Ada", "Lovelace")
        );
        assert_eq!(shown.status, proto::EmployeeStatus::Leaving as i32);
        assert_eq!(shown.version, 2);
        assert_eq!(shown.tenure_periods.len(), 1);
        assert_eq!(shown.tenure_periods[0].start_date, "2026-03-01");
        assert_eq!(shown.tenure_periods[0].end_date, None);
        assert_eq!(
            shown.contract.unwrap().kind,
            proto::ContractKind::Permanent as i32
        );
        assert_eq!(shown.work_agreement, None);
        let departure = shown.departure.unwrap();
        assert_eq!(
            (
                departure.announced_on.as_str(),
                departure.last_working_day.as_str()
            ),
            ("2026-05-01", "2026-06-30")
        );
        assert_eq!(departure.regrettable, Some(true));
        assert_eq!(
            (shown.continuous_service_days, shown.cumulative_service_days),
            (31, 31)
        );
        assert_eq!(employee.status(), Some(EmployeeStatus::Leaving));
    }

    #[test]
    fn every_event_has_a_one_line_summary() {
        let hired = ada_hired("2026-03-01");
        assert_eq!(
            event_summary(&hired),
            "Hired as Engineer in Platform from 2026-03-01 (permanent contract)"
        );
        let role_changed = EmployeeEvent::RoleChanged(crate::domain::RoleChanged {
            employee_id: ada_id(),
            effective_date: date("2026-09-01"),
            role_title: role("Team Lead"),
            department: department("Sales"),
        });
        assert_eq!(
            event_summary(&role_changed),
            "Role changed to Team Lead in Sales from 2026-09-01"
        );
        let extended = EmployeeEvent::ContractChanged(crate::domain::ContractChanged {
            employee_id: ada_id(),
            effective_date: date("2026-10-01"),
            change_kind: ContractChangeKind::Extend,
            contract: contract(ContractKind::FixedTerm, "2026-03-01", Some("2027-12-31")),
        });
        assert_eq!(
            event_summary(&extended),
            "Contract extended from 2026-10-01: fixed-term, 40 h/week, 2026-03-01 to 2027-12-31"
        );
        let withdrawn = EmployeeEvent::DepartureWithdrawn(crate::domain::DepartureWithdrawn {
            employee_id: ada_id(),
            effective_date: today(),
            reason: FreeText::parse("reason", "Counter-offer accepted\nDetails in the file")
                .unwrap(),
        });
        assert_eq!(
            event_summary(&withdrawn),
            "Departure withdrawn: Counter-offer accepted…"
        );
        assert!(!event_summary(&withdrawn).contains('\n'));
    }

    #[test]
    fn a_history_entry_carries_the_typed_event() {
        let recorded_at = DateTime::parse_from_rfc3339("2026-03-01T09:30:00.25Z")
            .unwrap()
            .with_timezone(&Utc);
        let recorded = Recorded {
            event_id: Uuid::now_v7(),
            global: GlobalPosition::START,
            stream_type: "employee".into(),
            stream_id: ada_id(),
            version: 1,
            recorded_at,
            metadata: EventMetadata {
                tenant_id: Uuid::now_v7(),
                actor: "hr:alice".into(),
                correlation_id: Uuid::now_v7(),
                causation_id: None,
                traceparent: None,
            },
            event: ada_hired("2026-03-01"),
        };
        let entry = history_entry_to_proto(&recorded);
        assert_eq!(entry.version, 1);
        assert_eq!(entry.event_id, recorded.event_id.to_string());
        assert_eq!(entry.event_type, "EmployeeHired");
        assert_eq!(entry.effective_date, "2026-03-01");
        assert_eq!(entry.actor, "hr:alice");
        let timestamp = entry.recorded_at.unwrap();
        assert_eq!(
            (timestamp.seconds, timestamp.nanos),
            (recorded_at.timestamp(), 250_000_000)
        );
        let Some(history_entry::Event::EmployeeHired(hired)) = entry.event else {
            panic!("{:?}", entry.event)
        };
        assert_eq!(hired.employee_id, ADA);
        assert_eq!(hired.role_title, "Engineer");
    }
}
