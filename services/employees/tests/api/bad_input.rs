//! Malformed requests over every RPC: each is INVALID_ARGUMENT naming the
//! field in its google.rpc.BadRequest details, writes nothing and leaves the
//! service answering. A call without a tenant is UNAUTHENTICATED.

use tenure_proto::tenure::employees::v1 as proto;
use tonic::{Code, Status};

use crate::helpers::{TestService, expect_code, hire_request, permanent, violated_fields};

/// One request to any RPC.
enum Call {
    Hire(proto::HireEmployeeRequest),
    ChangePersonalDetails(proto::ChangePersonalDetailsRequest),
    ChangeContract(proto::ChangeContractRequest),
    ChangeRole(proto::ChangeRoleRequest),
    AssignManager(proto::AssignManagerRequest),
    RecordWorkAgreement(proto::RecordWorkAgreementRequest),
    SetInterests(proto::SetInterestsRequest),
    AnnounceDeparture(proto::AnnounceDepartureRequest),
    WithdrawDeparture(proto::WithdrawDepartureRequest),
    EndEmployment(proto::EndEmploymentRequest),
    Rehire(proto::RehireEmployeeRequest),
    GetEmployee(proto::GetEmployeeRequest),
    ListEmployees(proto::ListEmployeesRequest),
    ListTeam(proto::ListTeamRequest),
    GetTurnover(proto::GetTurnoverRequest),
    GetEmployeeHistory(proto::GetEmployeeHistoryRequest),
}

/// Sends `call` as HR of the test's tenant; only the outcome's status matters.
async fn send(service: &mut TestService, call: Call) -> Result<(), Status> {
    let client = &mut service.client.clone();
    match call {
        Call::Hire(r) => client.hire_employee(service.request(r)).await.map(drop),
        Call::ChangePersonalDetails(r) => client
            .change_personal_details(service.request(r))
            .await
            .map(drop),
        Call::ChangeContract(r) => client.change_contract(service.request(r)).await.map(drop),
        Call::ChangeRole(r) => client.change_role(service.request(r)).await.map(drop),
        Call::AssignManager(r) => client.assign_manager(service.request(r)).await.map(drop),
        Call::RecordWorkAgreement(r) => client
            .record_work_agreement(service.request(r))
            .await
            .map(drop),
        Call::SetInterests(r) => client.set_interests(service.request(r)).await.map(drop),
        Call::AnnounceDeparture(r) => client
            .announce_departure(service.request(r))
            .await
            .map(drop),
        Call::WithdrawDeparture(r) => client
            .withdraw_departure(service.request(r))
            .await
            .map(drop),
        Call::EndEmployment(r) => client.end_employment(service.request(r)).await.map(drop),
        Call::Rehire(r) => client.rehire_employee(service.request(r)).await.map(drop),
        Call::GetEmployee(r) => client.get_employee(service.request(r)).await.map(drop),
        Call::ListEmployees(r) => client.list_employees(service.request(r)).await.map(drop),
        Call::ListTeam(r) => client.list_team(service.request(r)).await.map(drop),
        Call::GetTurnover(r) => client.get_turnover(service.request(r)).await.map(drop),
        Call::GetEmployeeHistory(r) => client
            .get_employee_history(service.request(r))
            .await
            .map(drop),
    }
}

fn hire(edit: impl FnOnce(&mut proto::HireEmployeeRequest)) -> Call {
    let mut request = hire_request("Bea", "bea@example.com", "2025-01-06");
    edit(&mut request);
    Call::Hire(request)
}

fn contract(edit: impl FnOnce(&mut proto::Contract)) -> Call {
    hire(|r| edit(r.contract.as_mut().unwrap()))
}

fn fixed_term(start: &str, end: Option<&str>) -> proto::Contract {
    proto::Contract {
        kind: proto::ContractKind::FixedTerm as i32,
        end_date: end.map(Into::into),
        ..permanent(start)
    }
}

fn change_role(ada: &str, edit: impl FnOnce(&mut proto::ChangeRoleRequest)) -> Call {
    let mut request = proto::ChangeRoleRequest {
        employee_id: ada.into(),
        role_title: "Lead".into(),
        department: "Engineering".into(),
        effective_date: "2025-06-01".into(),
        ..Default::default()
    };
    edit(&mut request);
    Call::ChangeRole(request)
}

fn announce(ada: &str, edit: impl FnOnce(&mut proto::AnnounceDepartureRequest)) -> Call {
    let mut request = proto::AnnounceDepartureRequest {
        employee_id: ada.into(),
        separation_type: proto::SeparationType::Voluntary as i32,
        reason_code: "better_offer".into(),
        last_working_day: "2099-06-30".into(),
        ..Default::default()
    };
    edit(&mut request);
    Call::AnnounceDeparture(request)
}

fn agreement(ada: &str, edit: impl FnOnce(&mut proto::WorkAgreement)) -> Call {
    let mut agreement = proto::WorkAgreement {
        office_days: vec![proto::Weekday::Tuesday as i32],
        remote_days: vec![proto::Weekday::Friday as i32],
        core_hours_start: "10:00".into(),
        core_hours_end: "15:00".into(),
        agreed_on: "2025-03-01".into(),
        ..Default::default()
    };
    edit(&mut agreement);
    Call::RecordWorkAgreement(proto::RecordWorkAgreementRequest {
        employee_id: ada.into(),
        agreement: Some(agreement),
        ..Default::default()
    })
}

fn turnover(from: &str, to: &str) -> Call {
    Call::GetTurnover(proto::GetTurnoverRequest {
        from_month: from.into(),
        to_month: to.into(),
    })
}

/// Every malformed request and the fields its violations must name.
fn cases(ada: &str) -> Vec<(&'static str, Call, Vec<&'static str>)> {
    let long = "x".repeat(10_000);
    let long_request_id = "r".repeat(201);
    vec![
        // HireEmployee
        (
            "empty given name",
            hire(|r| r.given_name = "  ".into()),
            vec!["given_name"],
        ),
        (
            "10,000-character given name",
            hire(|r| r.given_name = long.clone()),
            vec!["given_name"],
        ),
        (
            "10,000-character family name",
            hire(|r| r.family_name = long.clone()),
            vec!["family_name"],
        ),
        (
            "a name with a line break",
            hire(|r| r.given_name = "Bea\nTrix".into()),
            vec!["given_name"],
        ),
        (
            "email without @",
            hire(|r| r.work_email = "bea.example.com".into()),
            vec!["work_email"],
        ),
        (
            "email without a domain",
            hire(|r| r.work_email = "bea@example".into()),
            vec!["work_email"],
        ),
        (
            "empty email",
            hire(|r| r.work_email.clear()),
            vec!["work_email"],
        ),
        (
            "10,000-character email",
            hire(|r| r.work_email = format!("{long}@example.com")),
            vec!["work_email"],
        ),
        (
            "empty department",
            hire(|r| r.department.clear()),
            vec!["department"],
        ),
        (
            "empty role title",
            hire(|r| r.role_title.clear()),
            vec!["role_title"],
        ),
        (
            "manager id not a UUID",
            hire(|r| r.manager_id = Some("grace".into())),
            vec!["manager_id"],
        ),
        (
            "nil manager id",
            hire(|r| r.manager_id = Some(uuid::Uuid::nil().to_string())),
            vec!["manager_id"],
        ),
        ("no contract", hire(|r| r.contract = None), vec!["contract"]),
        (
            "unknown contract kind 99",
            contract(|c| c.kind = 99),
            vec!["contract.kind"],
        ),
        (
            "unspecified contract kind",
            contract(|c| c.kind = 0),
            vec!["contract.kind"],
        ),
        (
            "impossible start date 2026-02-30",
            hire(|r| r.start_date = "2026-02-30".into()),
            vec!["start_date"],
        ),
        (
            "start date in another form",
            hire(|r| r.start_date = "06/01/2025".into()),
            vec!["start_date"],
        ),
        (
            "no start date",
            hire(|r| r.start_date.clear()),
            vec!["start_date"],
        ),
        (
            "contract start not the start date",
            contract(|c| c.start_date = "2025-01-07".into()),
            vec!["contract.start_date"],
        ),
        (
            "impossible contract start",
            contract(|c| c.start_date = "2025-13-01".into()),
            vec!["contract.start_date"],
        ),
        (
            "negative hours",
            contract(|c| c.hours_per_week = -8.0),
            vec!["contract.hours_per_week"],
        ),
        (
            "zero hours",
            contract(|c| c.hours_per_week = 0.0),
            vec!["contract.hours_per_week"],
        ),
        (
            "hours over 60",
            contract(|c| c.hours_per_week = 60.5),
            vec!["contract.hours_per_week"],
        ),
        (
            "NaN hours",
            contract(|c| c.hours_per_week = f64::NAN),
            vec!["contract.hours_per_week"],
        ),
        (
            "fixed term without an end",
            hire(|r| r.contract = Some(fixed_term("2025-01-06", None))),
            vec!["contract.end_date"],
        ),
        (
            "fixed term ending before its start",
            hire(|r| r.contract = Some(fixed_term("2025-01-06", Some("2025-01-05")))),
            vec!["contract.end_date"],
        ),
        (
            "project without an end",
            contract(|c| c.kind = proto::ContractKind::Project as i32),
            vec!["contract.end_date"],
        ),
        (
            "seasonal without a window",
            hire(|r| {
                r.contract = Some(proto::Contract {
                    kind: proto::ContractKind::Seasonal as i32,
                    ..fixed_term("2025-01-06", Some("2025-10-31"))
                })
            }),
            vec!["contract.season_window"],
        ),
        (
            "a season window on a permanent contract",
            contract(|c| {
                c.season_window = Some(proto::SeasonWindow {
                    start: "03-01".into(),
                    end: "10-31".into(),
                })
            }),
            vec!["contract.season_window"],
        ),
        (
            "request id over 200 characters",
            hire(|r| r.request_id = long_request_id.clone()),
            vec!["request_id"],
        ),
        (
            "a hire expecting version 1",
            hire(|r| r.expected_version = Some(1)),
            vec!["expected_version"],
        ),
        // ChangePersonalDetails
        (
            "personal details of a bad UUID",
            Call::ChangePersonalDetails(proto::ChangePersonalDetailsRequest {
                employee_id: "ada".into(),
                given_name: Some("Ada".into()),
                ..Default::default()
            }),
            vec!["employee_id"],
        ),
        (
            "personal details without a change",
            Call::ChangePersonalDetails(proto::ChangePersonalDetailsRequest {
                employee_id: ada.into(),
                ..Default::default()
            }),
            vec!["given_name"],
        ),
        (
            "personal details with an empty family name",
            Call::ChangePersonalDetails(proto::ChangePersonalDetailsRequest {
                employee_id: ada.into(),
                family_name: Some(String::new()),
                ..Default::default()
            }),
            vec!["family_name"],
        ),
        (
            "personal details with a bad email",
            Call::ChangePersonalDetails(proto::ChangePersonalDetailsRequest {
                employee_id: ada.into(),
                work_email: Some("ada@@example.com".into()),
                ..Default::default()
            }),
            vec!["work_email"],
        ),
        // ChangeContract
        (
            "unspecified change kind",
            Call::ChangeContract(proto::ChangeContractRequest {
                employee_id: ada.into(),
                change_kind: 0,
                contract: Some(permanent("2025-01-06")),
                effective_date: "2025-06-01".into(),
                ..Default::default()
            }),
            vec!["change_kind"],
        ),
        (
            "unknown change kind 99",
            Call::ChangeContract(proto::ChangeContractRequest {
                employee_id: ada.into(),
                change_kind: 99,
                contract: Some(permanent("2025-01-06")),
                effective_date: "2025-06-01".into(),
                ..Default::default()
            }),
            vec!["change_kind"],
        ),
        (
            "contract change to 61 hours",
            Call::ChangeContract(proto::ChangeContractRequest {
                employee_id: ada.into(),
                change_kind: proto::ContractChangeKind::ChangeHours as i32,
                contract: Some(proto::Contract {
                    hours_per_week: 61.0,
                    ..permanent("2025-01-06")
                }),
                effective_date: "2025-06-01".into(),
                ..Default::default()
            }),
            vec!["contract.hours_per_week"],
        ),
        // ChangeRole
        (
            "role change of a bad UUID",
            change_role(ada, |r| r.employee_id = "not-a-uuid".into()),
            vec!["employee_id"],
        ),
        (
            "role change to an empty title",
            change_role(ada, |r| r.role_title.clear()),
            vec!["role_title"],
        ),
        (
            "role change on 2025-02-30",
            change_role(ada, |r| r.effective_date = "2025-02-30".into()),
            vec!["effective_date"],
        ),
        (
            "negative expected version",
            change_role(ada, |r| r.expected_version = Some(-1)),
            vec!["expected_version"],
        ),
        (
            "role change with a long request id",
            change_role(ada, |r| r.request_id = long_request_id.clone()),
            vec!["request_id"],
        ),
        // AssignManager
        (
            "manager not a UUID",
            Call::AssignManager(proto::AssignManagerRequest {
                employee_id: ada.into(),
                manager_id: Some("{grace}".into()),
                effective_date: "2025-06-01".into(),
                ..Default::default()
            }),
            vec!["manager_id"],
        ),
        // RecordWorkAgreement
        (
            "unknown weekday 99",
            agreement(ada, |a| a.office_days = vec![99]),
            vec!["agreement.office_days[0]"],
        ),
        (
            "a day both at the office and remote",
            agreement(ada, |a| {
                a.remote_days = vec![proto::Weekday::Tuesday as i32]
            }),
            vec!["agreement.remote_days[0]"],
        ),
        (
            "core hours ending before they start",
            agreement(ada, |a| a.core_hours_end = "09:00".into()),
            vec!["agreement.core_hours_end"],
        ),
        (
            "review before the agreement",
            agreement(ada, |a| a.review_date = Some("2025-02-01".into())),
            vec!["agreement.review_date"],
        ),
        (
            "impossible agreement date",
            agreement(ada, |a| a.agreed_on = "2025-04-31".into()),
            vec!["agreement.agreed_on"],
        ),
        (
            "no agreement",
            Call::RecordWorkAgreement(proto::RecordWorkAgreementRequest {
                employee_id: ada.into(),
                ..Default::default()
            }),
            vec!["agreement"],
        ),
        // SetInterests
        (
            "an empty interest tag",
            Call::SetInterests(proto::SetInterestsRequest {
                employee_id: ada.into(),
                tags: vec!["rust".into(), " ".into()],
                ..Default::default()
            }),
            vec!["tags[1]"],
        ),
        // AnnounceDeparture
        (
            "unspecified separation type",
            announce(ada, |r| r.separation_type = 0),
            vec!["separation_type"],
        ),
        (
            "unknown separation type 99",
            announce(ada, |r| r.separation_type = 99),
            vec!["separation_type"],
        ),
        (
            "no reason code",
            announce(ada, |r| r.reason_code.clear()),
            vec!["reason_code"],
        ),
        (
            "regrettable for an involuntary departure",
            announce(ada, |r| {
                r.separation_type = proto::SeparationType::Involuntary as i32;
                r.regrettable = Some(true);
            }),
            vec!["regrettable"],
        ),
        (
            "impossible last working day",
            announce(ada, |r| r.last_working_day = "2099-02-30".into()),
            vec!["last_working_day"],
        ),
        (
            "a blank backdate reason",
            announce(ada, |r| r.backdate_reason = Some(" ".into())),
            vec!["backdate_reason"],
        ),
        // WithdrawDeparture, EndEmployment, RehireEmployee
        (
            "withdrawal without a reason",
            Call::WithdrawDeparture(proto::WithdrawDepartureRequest {
                employee_id: ada.into(),
                reason: String::new(),
                ..Default::default()
            }),
            vec!["reason"],
        ),
        (
            "end on a date in another form",
            Call::EndEmployment(proto::EndEmploymentRequest {
                employee_id: ada.into(),
                ended_on: "30-06-2099".into(),
                reason: "done".into(),
                ..Default::default()
            }),
            vec!["ended_on"],
        ),
        (
            "rehire whose contract starts on another day",
            Call::Rehire(proto::RehireEmployeeRequest {
                employee_id: ada.into(),
                contract: Some(permanent("2099-01-01")),
                start_date: "2099-01-02".into(),
                ..Default::default()
            }),
            vec!["contract.start_date"],
        ),
        (
            "rehire on a fixed term without an end",
            Call::Rehire(proto::RehireEmployeeRequest {
                employee_id: ada.into(),
                contract: Some(fixed_term("2099-01-01", None)),
                start_date: "2099-01-01".into(),
                ..Default::default()
            }),
            vec!["contract.end_date"],
        ),
        // Queries
        (
            "get a bad UUID",
            Call::GetEmployee(proto::GetEmployeeRequest {
                employee_id: "12345".into(),
                as_of: None,
            }),
            vec!["employee_id"],
        ),
        (
            "get as of 2026-02-30",
            Call::GetEmployee(proto::GetEmployeeRequest {
                employee_id: ada.into(),
                as_of: Some("2026-02-30".into()),
            }),
            vec!["as_of"],
        ),
        (
            "get as of an empty date",
            Call::GetEmployee(proto::GetEmployeeRequest {
                employee_id: ada.into(),
                as_of: Some(String::new()),
            }),
            vec!["as_of"],
        ),
        (
            "list with a bad page token",
            Call::ListEmployees(proto::ListEmployeesRequest {
                page_token: "page-2".into(),
                ..Default::default()
            }),
            vec!["page_token"],
        ),
        (
            "list with a negative page size",
            Call::ListEmployees(proto::ListEmployeesRequest {
                page_size: -1,
                ..Default::default()
            }),
            vec!["page_size"],
        ),
        (
            "list by an unknown status",
            Call::ListEmployees(proto::ListEmployeesRequest {
                status: 99,
                ..Default::default()
            }),
            vec!["status"],
        ),
        (
            "list by an unknown contract kind",
            Call::ListEmployees(proto::ListEmployeesRequest {
                contract_kind: 99,
                ..Default::default()
            }),
            vec!["contract_kind"],
        ),
        (
            "list by a bad manager id",
            Call::ListEmployees(proto::ListEmployeesRequest {
                manager_id: Some("boss".into()),
                ..Default::default()
            }),
            vec!["manager_id"],
        ),
        (
            "list by a 10,000-character name",
            Call::ListEmployees(proto::ListEmployeesRequest {
                name_query: long.clone(),
                ..Default::default()
            }),
            vec!["name_query"],
        ),
        (
            "team of a bad manager id",
            Call::ListTeam(proto::ListTeamRequest {
                manager_id: "boss".into(),
                ..Default::default()
            }),
            vec!["manager_id"],
        ),
        (
            "team page of negative size",
            Call::ListTeam(proto::ListTeamRequest {
                manager_id: ada.into(),
                page_size: -5,
                ..Default::default()
            }),
            vec!["page_size"],
        ),
        (
            "turnover from month 13",
            turnover("2025-13", "2026-01"),
            vec!["from_month"],
        ),
        (
            "turnover to a date, not a month",
            turnover("2025-01", "2025-03-01"),
            vec!["to_month"],
        ),
        (
            "turnover from an empty month",
            turnover("", "2025-03"),
            vec!["from_month"],
        ),
        (
            "turnover ending before it starts",
            turnover("2025-06", "2025-01"),
            vec!["to_month"],
        ),
        (
            "turnover over 121 months",
            turnover("2015-01", "2025-01"),
            vec!["to_month"],
        ),
        (
            "history with a bad page token",
            Call::GetEmployeeHistory(proto::GetEmployeeHistoryRequest {
                employee_id: ada.into(),
                page_token: "next".into(),
                ..Default::default()
            }),
            vec!["page_token"],
        ),
        (
            "history with a negative page size",
            Call::GetEmployeeHistory(proto::GetEmployeeHistoryRequest {
                employee_id: ada.into(),
                page_size: -1,
                ..Default::default()
            }),
            vec!["page_size"],
        ),
        (
            "history of a bad UUID",
            Call::GetEmployeeHistory(proto::GetEmployeeHistoryRequest {
                employee_id: "ada".into(),
                ..Default::default()
            }),
            vec!["employee_id"],
        ),
    ]
    .into_iter()
    .chain(unstorable_cases(ada))
    .collect()
}

/// Text PostgreSQL cannot store (a NUL byte) or that is not printable, in
/// every free-text field: refused at the edge, never sent to the store.
fn unstorable_cases(ada: &str) -> Vec<(&'static str, Call, Vec<&'static str>)> {
    // A page token as the service issues them, around a name with a NUL.
    let token_json = r#"["\u0000","Ada","0190f5c4-0000-7000-8000-000000000001"]"#;
    let nul_token: String = token_json.bytes().map(|b| format!("{b:02x}")).collect();
    vec![
        (
            "NUL in a request id",
            hire(|r| r.request_id = "retry\0-1".into()),
            vec!["request_id"],
        ),
        (
            "a request id that is only a NUL",
            change_role(ada, |r| r.request_id = "\0".into()),
            vec!["request_id"],
        ),
        (
            "a request id with a line break",
            change_role(ada, |r| r.request_id = "retry\n1".into()),
            vec!["request_id"],
        ),
        (
            "a request id with an escape sequence",
            Call::SetInterests(proto::SetInterestsRequest {
                employee_id: ada.into(),
                tags: vec!["rust".into()],
                request_id: "\u{1b}[2J".into(),
                ..Default::default()
            }),
            vec!["request_id"],
        ),
        (
            "NUL in a given name",
            hire(|r| r.given_name = "Bea\0".into()),
            vec!["given_name"],
        ),
        (
            "NUL in a family name",
            Call::ChangePersonalDetails(proto::ChangePersonalDetailsRequest {
                employee_id: ada.into(),
                family_name: Some("Love\0lace".into()),
                ..Default::default()
            }),
            vec!["family_name"],
        ),
        (
            "NUL in an email",
            hire(|r| r.work_email = "bea\0@example.com".into()),
            vec!["work_email"],
        ),
        (
            "NUL in a department",
            hire(|r| r.department = "Engineering\0".into()),
            vec!["department"],
        ),
        (
            "NUL in a role title",
            change_role(ada, |r| r.role_title = "Lead\0".into()),
            vec!["role_title"],
        ),
        (
            "NUL in a manager id",
            hire(|r| r.manager_id = Some("\0".into())),
            vec!["manager_id"],
        ),
        (
            "NUL in an employee id",
            change_role(ada, |r| r.employee_id = format!("{ada}\0")),
            vec!["employee_id"],
        ),
        (
            "NUL in a date",
            change_role(ada, |r| r.effective_date = "2025-06-01\0".into()),
            vec!["effective_date"],
        ),
        (
            "NUL in an interest tag",
            Call::SetInterests(proto::SetInterestsRequest {
                employee_id: ada.into(),
                tags: vec!["ru\0st".into()],
                ..Default::default()
            }),
            vec!["tags[0]"],
        ),
        (
            "NUL in core hours",
            agreement(ada, |a| a.core_hours_start = "10:00\0".into()),
            vec!["agreement.core_hours_start"],
        ),
        (
            "NUL in a reason code",
            announce(ada, |r| r.reason_code = "better\0offer".into()),
            vec!["reason_code"],
        ),
        (
            "NUL in a departure note",
            announce(ada, |r| r.note = Some("moving\0abroad".into())),
            vec!["note"],
        ),
        (
            "NUL in a withdrawal reason",
            Call::WithdrawDeparture(proto::WithdrawDepartureRequest {
                employee_id: ada.into(),
                reason: "stays\0".into(),
                ..Default::default()
            }),
            vec!["reason"],
        ),
        (
            "NUL in an end reason",
            Call::EndEmployment(proto::EndEmploymentRequest {
                employee_id: ada.into(),
                ended_on: "2099-06-30".into(),
                reason: "\0".into(),
                ..Default::default()
            }),
            vec!["reason"],
        ),
        (
            "NUL in a rehire role title",
            Call::Rehire(proto::RehireEmployeeRequest {
                employee_id: ada.into(),
                contract: Some(permanent("2099-01-01")),
                start_date: "2099-01-01".into(),
                role_title: Some("Lead\0".into()),
                ..Default::default()
            }),
            vec!["role_title"],
        ),
        (
            "NUL in a name query",
            Call::ListEmployees(proto::ListEmployeesRequest {
                name_query: "Ada\0".into(),
                ..Default::default()
            }),
            vec!["name_query"],
        ),
        (
            "NUL in a department filter",
            Call::ListEmployees(proto::ListEmployeesRequest {
                department: "\0".into(),
                ..Default::default()
            }),
            vec!["department"],
        ),
        (
            "a page token around a NUL",
            Call::ListEmployees(proto::ListEmployeesRequest {
                page_token: nul_token.clone(),
                ..Default::default()
            }),
            vec!["page_token"],
        ),
        (
            "a team page token around a NUL",
            Call::ListTeam(proto::ListTeamRequest {
                manager_id: ada.into(),
                page_token: nul_token,
                ..Default::default()
            }),
            vec!["page_token"],
        ),
        (
            "NUL in an as-of date",
            Call::GetEmployee(proto::GetEmployeeRequest {
                employee_id: ada.into(),
                as_of: Some("2026-01-01\0".into()),
            }),
            vec!["as_of"],
        ),
        (
            "NUL in a turnover month",
            turnover("2025-01\0", "2025-03"),
            vec!["from_month"],
        ),
        (
            "NUL in a history page token",
            Call::GetEmployeeHistory(proto::GetEmployeeHistoryRequest {
                employee_id: ada.into(),
                page_token: "1\0".into(),
                ..Default::default()
            }),
            vec!["page_token"],
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_malformed_request_is_invalid_argument_naming_its_field_and_writes_nothing() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2025-01-06").await;
    let events_before = service.event_count().await;

    let mut failures = Vec::new();
    for (case, call, expected) in cases(&ada) {
        match send(&mut service, call).await {
            Ok(()) => failures.push(format!("{case}: accepted")),
            Err(status) if status.code() != Code::InvalidArgument => {
                failures.push(format!("{case}: {:?} {}", status.code(), status.message()));
            }
            Err(status) => {
                let mut fields = violated_fields(&status);
                fields.sort();
                if fields != expected {
                    failures.push(format!("{case}: fields {fields:?}, expected {expected:?}"));
                }
                if status.message().is_empty() {
                    failures.push(format!("{case}: no message"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    assert_eq!(
        service.event_count().await,
        events_before,
        "nothing written"
    );
    let logged = service
        .sql_rows("SELECT count(*)::text FROM employees.command_log")
        .await;
    assert_eq!(logged, ["0"], "no request logged");
    // The service still answers, and Ada is as she was.
    let employee = service.employee(&ada).await;
    assert_eq!(
        (employee.version, employee.role_title.as_str()),
        (1, "Engineer")
    );
}

#[tokio::test]
async fn every_violation_of_a_request_is_reported_at_once() {
    let mut service = TestService::start().await;
    let request = proto::HireEmployeeRequest {
        given_name: String::new(),
        family_name: "x".repeat(10_000),
        work_email: "nobody".into(),
        department: "Engineering".into(),
        role_title: "Engineer".into(),
        start_date: "2026-02-30".into(),
        contract: Some(proto::Contract {
            kind: 99,
            start_date: "2026-02-28".into(),
            hours_per_week: -1.0,
            ..Default::default()
        }),
        ..Default::default()
    };
    let status = expect_code(
        service.client.hire_employee(service.request(request)).await,
        Code::InvalidArgument,
    );
    let mut fields = violated_fields(&status);
    fields.sort();
    assert_eq!(
        fields,
        [
            "contract.hours_per_week",
            "contract.kind",
            "family_name",
            "given_name",
            "start_date",
            "work_email"
        ]
    );
    assert!(
        status.message().contains("and 5 more"),
        "{}",
        status.message()
    );
    assert_eq!(service.event_count().await, 0);
}

#[tokio::test]
async fn a_call_without_a_tenant_is_unauthenticated() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2025-01-06").await;

    let hire = tonic::Request::new(hire_request("Bea", "bea@example.com", "2025-01-06"));
    expect_code(
        service.client.hire_employee(hire).await,
        Code::Unauthenticated,
    );
    let get = tonic::Request::new(proto::GetEmployeeRequest {
        employee_id: ada.clone(),
        as_of: None,
    });
    expect_code(
        service.client.get_employee(get).await,
        Code::Unauthenticated,
    );
    let list = tonic::Request::new(proto::ListEmployeesRequest::default());
    expect_code(
        service.client.list_employees(list).await,
        Code::Unauthenticated,
    );
    let mut malformed = tonic::Request::new(proto::ChangeRoleRequest {
        employee_id: ada.clone(),
        role_title: "Lead".into(),
        department: "Engineering".into(),
        effective_date: "2025-06-01".into(),
        ..Default::default()
    });
    malformed
        .metadata_mut()
        .insert("x-tenant-id", "acme".parse().unwrap());
    expect_code(
        service.client.change_role(malformed).await,
        Code::Unauthenticated,
    );

    assert_eq!(service.event_count().await, 1, "only Ada's hire");
    assert_eq!(service.employee(&ada).await.role_title, "Engineer");
}

#[tokio::test]
async fn extreme_but_wellformed_values_are_answered() {
    let mut service = TestService::start().await;
    let ada = service.hire("Ada", "ada@example.com", "2025-01-06").await;

    // A huge page size is capped, not refused.
    let request = service.request(proto::ListEmployeesRequest {
        page_size: i32::MAX,
        name_query: "%_\\".into(),
        ..Default::default()
    });
    let listed = service.client.list_employees(request).await.unwrap();
    assert!(
        listed.into_inner().employees.is_empty(),
        "wildcards match themselves"
    );

    // The far future and the first year of the calendar.
    for (as_of, found) in [("9999-12-31", true), ("0001-01-01", false)] {
        let request = service.request(proto::GetEmployeeRequest {
            employee_id: ada.clone(),
            as_of: Some(as_of.into()),
        });
        let result = service.client.get_employee(request).await;
        assert_eq!(result.is_ok(), found, "{as_of}: {result:?}");
    }
    let request = service.request(proto::GetTurnoverRequest {
        from_month: "9999-01".into(),
        to_month: "9999-12".into(),
    });
    let months = service.client.get_turnover(request).await.unwrap();
    assert_eq!(months.into_inner().months.len(), 12);

    let request = service.request(proto::GetEmployeeHistoryRequest {
        employee_id: ada.clone(),
        page_size: i32::MAX,
        page_token: i64::MAX.to_string(),
    });
    let history = service.client.get_employee_history(request).await.unwrap();
    assert!(history.into_inner().entries.is_empty());
    assert_eq!(service.event_count().await, 1);
}

/// The second wall, against PostgreSQL's own refusals: a value it refuses as
/// data (SQLSTATE class 22) is the request's fault, INVALID_ARGUMENT; only a
/// database out of reach is UNAVAILABLE; anything else is INTERNAL.
#[tokio::test]
async fn a_value_the_database_refuses_is_invalid_argument_not_unavailable() {
    use tenure_employees::grpc::status::from_store;
    use tenure_kernel::StoreError;

    let service = TestService::start().await;
    let pool = service.db.pool().await;
    let refused = [
        ("SELECT $1::text", "NUL\0byte", "22021"),
        ("SELECT $1::text::uuid", "not-a-uuid", "22P02"),
        ("SELECT $1::text::int2", "99999", "22003"),
    ];
    for (sql, value, sqlstate) in refused {
        let error = sqlx::query(sql)
            .bind(value)
            .execute(&pool)
            .await
            .unwrap_err();
        let code = error.as_database_error().and_then(|db| db.code());
        assert_eq!(code.as_deref(), Some(sqlstate), "{sql}: {error}");
        let status = from_store(StoreError::Database(error));
        assert_eq!(status.code(), Code::InvalidArgument, "{sql}: {status:?}");
        assert_eq!(status.message(), "a value in the request cannot be stored");
    }

    let broken = sqlx::query("SELEKT 1").execute(&pool).await.unwrap_err();
    let status = from_store(StoreError::Database(broken));
    assert_eq!(status.code(), Code::Internal, "{status:?}");

    pool.close().await;
    let closed = sqlx::query("SELECT 1").execute(&pool).await.unwrap_err();
    let status = from_store(StoreError::Database(closed));
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
}
