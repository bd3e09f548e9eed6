//! Translation for the directory queries: filters and page tokens in,
//! summaries out.

use tenure_proto::tenure::employees::v1 as proto;
use uuid::Uuid;

use crate::domain::{FieldViolation, FieldViolations, format_date, parse_id};
use crate::projections::queries::{DirectoryFilter, DirectoryRow, PageKey};

/// Page size when the request leaves it 0.
pub const DEFAULT_PAGE_SIZE: i64 = 50;
/// The largest page served.
pub const MAX_PAGE_SIZE: i64 = 500;

/// A page request: size and the employee after which it starts.
#[derive(Debug, Clone)]
pub struct Page {
    pub size: i64,
    pub after: Option<PageKey>,
}

/// The opaque token of a page key: hex of `[family, given, id]` as JSON.
fn encode_token(key: &PageKey) -> String {
    let json = serde_json::json!([key.family_name, key.given_name, key.employee_id]).to_string();
    json.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_token(token: &str) -> Option<PageKey> {
    if !token.len().is_multiple_of(2) || token.len() > 4096 {
        return None;
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    let (family_name, given_name, employee_id): (String, String, Uuid) =
        serde_json::from_slice(&bytes).ok()?;
    // Names this service stored hold no control characters; a token that
    // does was not issued here (and a NUL could not even be sent to the store).
    if [&family_name, &given_name]
        .iter()
        .any(|name| name.chars().any(char::is_control))
    {
        return None;
    }
    Some(PageKey {
        family_name,
        given_name,
        employee_id,
    })
}

pub fn page(violations: &mut FieldViolations, page_size: i32, page_token: &str) -> Option<Page> {
    let size = match page_size {
        0 => Some(DEFAULT_PAGE_SIZE),
        n if n < 0 => {
            violations.push("page_size", "must not be negative");
            None
        }
        n => Some(i64::from(n).min(MAX_PAGE_SIZE)),
    };
    let after = match page_token.trim() {
        "" => Some(None),
        token => match decode_token(token) {
            Some(key) => Some(Some(key)),
            None => {
                violations.push("page_token", "is not a token this service issued");
                None
            }
        },
    };
    Some(Page {
        size: size?,
        after: after?,
    })
}

/// The token of the page after `rows`, empty when `rows` was the last page.
pub fn next_page_token(rows: &[DirectoryRow], page: &Page) -> String {
    match rows.last() {
        Some(last) if rows.len() as i64 == page.size => encode_token(&PageKey::of(last)),
        _ => String::new(),
    }
}

/// `CONTRACT_KIND_FIXED_TERM` → `fixed_term`: the directory's spelling.
fn stored_name(proto_name: &str, prefix: &str) -> String {
    proto_name.trim_start_matches(prefix).to_ascii_lowercase()
}

/// `fixed_term` → `CONTRACT_KIND_FIXED_TERM` as the enum's number.
fn proto_value(stored: &str, prefix: &str, from_name: impl Fn(&str) -> Option<i32>) -> i32 {
    from_name(&format!("{prefix}{}", stored.to_ascii_uppercase())).unwrap_or_default()
}

pub fn list_employees_from_proto(
    request: &proto::ListEmployeesRequest,
) -> Result<(DirectoryFilter, Page), Vec<FieldViolation>> {
    let mut v = FieldViolations::new();
    let manager_id = match request.manager_id.as_deref() {
        Some(raw) => v.check(parse_id("manager_id", raw)).map(Some),
        None => Some(None),
    };
    let status = match proto::EmployeeStatus::try_from(request.status) {
        Ok(proto::EmployeeStatus::Unspecified) => Some(None),
        Ok(status) => Some(Some(stored_name(status.as_str_name(), "EMPLOYEE_STATUS_"))),
        Err(_) => {
            v.push("status", "is not a known employee status");
            None
        }
    };
    let contract_kind = match proto::ContractKind::try_from(request.contract_kind) {
        Ok(proto::ContractKind::Unspecified) => Some(None),
        Ok(kind) => Some(Some(stored_name(kind.as_str_name(), "CONTRACT_KIND_"))),
        Err(_) => {
            v.push("contract_kind", "is not a known contract kind");
            None
        }
    };
    let name_query = request.name_query.trim();
    if name_query.chars().count() > 200 {
        v.push("name_query", "must be at most 200 characters");
    } else if name_query.chars().any(char::is_control) {
        v.push("name_query", "must not contain control characters");
    }
    let department = request.department.trim();
    if department.chars().any(char::is_control) {
        v.push("department", "must not contain control characters");
    }
    let page = page(&mut v, request.page_size, &request.page_token);
    match (manager_id, status, contract_kind, page) {
        (Some(manager_id), Some(status), Some(contract_kind), Some(page)) if v.is_empty() => {
            let department = Some(department.to_owned()).filter(|d| !d.is_empty());
            let name_query = Some(name_query.to_owned()).filter(|q| !q.is_empty());
            Ok((
                DirectoryFilter {
                    department,
                    manager_id,
                    status,
                    contract_kind,
                    name_query,
                },
                page,
            ))
        }
        _ => Err(v.into_vec()),
    }
}

pub fn list_team_from_proto(
    request: &proto::ListTeamRequest,
) -> Result<(Uuid, Page), Vec<FieldViolation>> {
    let mut v = FieldViolations::new();
    let manager_id = v.check(parse_id("manager_id", &request.manager_id));
    let page = page(&mut v, request.page_size, &request.page_token);
    match (manager_id, page) {
        (Some(manager_id), Some(page)) if v.is_empty() => Ok((manager_id, page)),
        _ => Err(v.into_vec()),
    }
}

pub fn summary_to_proto(row: DirectoryRow) -> proto::EmployeeSummary {
    proto::EmployeeSummary {
        employee_id: row.employee_id.to_string(),
        given_name: row.given_name,
        family_name: row.family_name,
        work_email: row.work_email,
        department: row.department,
        role_title: row.role_title,
        manager_id: row.manager_id.map(|id| id.to_string()),
        status: proto_value(&row.status, "EMPLOYEE_STATUS_", |n| {
            proto::EmployeeStatus::from_str_name(n).map(Into::into)
        }),
        contract_kind: proto_value(&row.contract_kind, "CONTRACT_KIND_", |n| {
            proto::ContractKind::from_str_name(n).map(Into::into)
        }),
        employed_since: format_date(row.hired_on),
    }
}

/// The contract kind stored in the directory as the proto enum.
pub fn contract_kind_to_proto(stored: &str) -> i32 {
    proto_value(stored, "CONTRACT_KIND_", |n| {
        proto::ContractKind::from_str_name(n).map(Into::into)
    })
}

/// The separation type stored in the periods as the proto enum.
pub fn separation_type_to_proto(stored: &str) -> i32 {
    proto_value(stored, "SEPARATION_TYPE_", |n| {
        proto::SeparationType::from_str_name(n).map(Into::into)
    })
}

/// Every contract kind in enum order (UNSPECIFIED left out), as numbers.
pub fn all_contract_kinds() -> impl Iterator<Item = i32> {
    (1..).map_while(|n| proto::ContractKind::try_from(n).ok().map(|k| k as i32))
}

/// Every separation type in enum order (UNSPECIFIED left out), as numbers.
pub fn all_separation_types() -> impl Iterator<Item = i32> {
    (1..).map_while(|n| proto::SeparationType::try_from(n).ok().map(|t| t as i32))
}
