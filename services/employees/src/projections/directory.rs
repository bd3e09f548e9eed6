//! The employee directory: one row per employee with what lists and filters
//! need, updated inside every append. Its unique (tenant, work email) is what
//! keeps work emails unique per tenant.
//!
//! Events are folded into rows in memory. A command starts the fold from the
//! row its employee's state implies, so it reads nothing and the kernel
//! writes the row with the events; a rebuild page of thousands of events
//! reads the rows it touches once and writes them back with one upsert.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::NaiveDate;
use serde::Serialize;
use sqlx::PgConnection;
use tenure_kernel::projection::{Appending, ProjectedRow, RowUpsert};
use tenure_kernel::{InlineProjection, Recorded};
use uuid::Uuid;

use crate::domain::{ContractKind, Employee, EmployeeEvent, EmployeeStatus};

/// The constraint that refuses a second employee with the same work email.
pub const EMAIL_TAKEN: &str = "employee_directory_email_key";

pub struct Directory;

/// The stored name of a contract kind, as the proto enum spells it.
pub fn contract_kind_code(kind: ContractKind) -> &'static str {
    match kind {
        ContractKind::Permanent => "permanent",
        ContractKind::FixedTerm => "fixed_term",
        ContractKind::Freelance => "freelance",
        ContractKind::Project => "project",
        ContractKind::Seasonal => "seasonal",
    }
}

/// How commands write the directory: one whole row per employee.
const UPSERTS: &[RowUpsert] = &[RowUpsert {
    table: "employee_directory",
    key: &["tenant_id", "employee_id"],
    columns: &[
        "tenant_id",
        "employee_id",
        "given_name",
        "family_name",
        "work_email",
        "department",
        "role_title",
        "manager_id",
        "status",
        "contract_kind",
        "hired_on",
        "version",
    ],
}];

/// The stored name of an employee status.
fn status_code(status: EmployeeStatus) -> &'static str {
    match status {
        EmployeeStatus::Active => "active",
        EmployeeStatus::Leaving => "leaving",
        EmployeeStatus::Left => "left",
    }
}

/// One directory row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize)]
struct Row {
    tenant_id: Uuid,
    employee_id: Uuid,
    given_name: String,
    family_name: String,
    work_email: String,
    department: String,
    role_title: String,
    manager_id: Option<Uuid>,
    status: String,
    contract_kind: String,
    hired_on: NaiveDate,
    version: i64,
}

impl Row {
    /// The row of an employee as their state says, at `version`; `None`
    /// before the hire.
    fn of(employee: &Employee, tenant_id: Uuid, employee_id: Uuid, version: i64) -> Option<Row> {
        let status = employee.status()?;
        Some(Row {
            tenant_id,
            employee_id,
            given_name: employee.given_name.as_str().to_owned(),
            family_name: employee.family_name.as_str().to_owned(),
            work_email: employee.work_email.as_str().to_owned(),
            department: employee.department.as_str().to_owned(),
            role_title: employee.role_title.as_str().to_owned(),
            manager_id: employee.manager_id,
            status: status_code(status).to_owned(),
            contract_kind: contract_kind_code(employee.contract()?.kind()).to_owned(),
            hired_on: employee.hired_on()?,
            version,
        })
    }
}

#[async_trait]
impl InlineProjection<Employee> for Directory {
    fn name(&self) -> &'static str {
        "employee_directory"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["employee_directory"]
    }

    fn upserts(&self) -> &'static [RowUpsert] {
        UPSERTS
    }

    fn rows(
        &self,
        before: &Employee,
        events: &[Appending<'_, EmployeeEvent>],
    ) -> Result<Vec<ProjectedRow>, serde_json::Error> {
        let Some(first) = events.first() else {
            return Ok(Vec::new());
        };
        let start = Row::of(before, first.tenant_id, first.stream_id, first.version - 1);
        let row = events.iter().fold(start, |row, event| fold(row, event));
        row.iter().map(|row| ProjectedRow::new(0, row)).collect()
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[Recorded<EmployeeEvent>],
    ) -> Result<(), sqlx::Error> {
        let mut rows = existing_rows(conn, events).await?;
        for recorded in events {
            let key = (recorded.metadata.tenant_id, recorded.stream_id);
            if let Some(row) = fold(rows.remove(&key), &recorded.appending()) {
                rows.insert(key, row);
            }
        }
        upsert(conn, rows.into_values().collect()).await
    }
}

/// The rows of the employees `events` touch that existed before them.
async fn existing_rows(
    conn: &mut PgConnection,
    events: &[Recorded<EmployeeEvent>],
) -> Result<HashMap<(Uuid, Uuid), Row>, sqlx::Error> {
    let (tenants, employees) = touched_before(events);
    if employees.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT d.* FROM employee_directory d \
         JOIN unnest($1::uuid[], $2::uuid[]) AS k(tenant_id, employee_id) \
           ON d.tenant_id = k.tenant_id AND d.employee_id = k.employee_id",
    )
    .bind(&tenants)
    .bind(&employees)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| ((row.tenant_id, row.employee_id), row))
        .collect())
}

/// The row after one event; `None` only while no hire was seen.
fn fold(row: Option<Row>, recorded: &Appending<'_, EmployeeEvent>) -> Option<Row> {
    if let EmployeeEvent::Hired(e) = recorded.event {
        return Some(Row {
            tenant_id: recorded.tenant_id,
            employee_id: recorded.stream_id,
            given_name: e.given_name.as_str().to_owned(),
            family_name: e.family_name.as_str().to_owned(),
            work_email: e.work_email.as_str().to_owned(),
            department: e.department.as_str().to_owned(),
            role_title: e.role_title.as_str().to_owned(),
            manager_id: e.manager_id,
            status: "active".to_owned(),
            contract_kind: contract_kind_code(e.contract.kind()).to_owned(),
            hired_on: e.effective_date,
            version: recorded.version,
        });
    }
    let mut row = row?;
    row.version = recorded.version;
    match recorded.event {
        EmployeeEvent::Hired(_) => {}
        EmployeeEvent::PersonalDetailsChanged(e) => {
            row.given_name = e.given_name.as_str().to_owned();
            row.family_name = e.family_name.as_str().to_owned();
            row.work_email = e.work_email.as_str().to_owned();
        }
        EmployeeEvent::ContractChanged(e) => {
            row.contract_kind = contract_kind_code(e.contract.kind()).to_owned()
        }
        EmployeeEvent::RoleChanged(e) => {
            row.role_title = e.role_title.as_str().to_owned();
            row.department = e.department.as_str().to_owned();
        }
        EmployeeEvent::ManagerAssigned(e) => row.manager_id = e.manager_id,
        EmployeeEvent::DepartureAnnounced(_) => row.status = "leaving".to_owned(),
        EmployeeEvent::DepartureWithdrawn(_) => row.status = "active".to_owned(),
        EmployeeEvent::EmploymentEnded(e) => {
            row.status = "left".to_owned();
            row.role_title = e.role_title.as_str().to_owned();
            row.department = e.department.as_str().to_owned();
            row.contract_kind = contract_kind_code(e.contract.kind()).to_owned();
        }
        EmployeeEvent::Rehired(e) => {
            row.status = "active".to_owned();
            row.contract_kind = contract_kind_code(e.contract.kind()).to_owned();
            row.role_title = e.role_title.as_str().to_owned();
            row.department = e.department.as_str().to_owned();
            row.manager_id = e.manager_id;
        }
        EmployeeEvent::WorkAgreementRecorded(_) | EmployeeEvent::InterestsChanged(_) => {}
    }
    Some(row)
}

/// Writes the rows back in one statement.
async fn upsert(conn: &mut PgConnection, rows: Vec<Row>) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&Row) -> String| rows.iter().map(f).collect::<Vec<_>>();
    sqlx::query(
        "INSERT INTO employee_directory (tenant_id, employee_id, given_name, family_name, work_email, department, \
                role_title, manager_id, status, contract_kind, hired_on, version) \
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
                $8::uuid[], $9::text[], $10::text[], $11::date[], $12::bigint[]) \
         ON CONFLICT (tenant_id, employee_id) DO UPDATE SET \
           given_name = EXCLUDED.given_name, family_name = EXCLUDED.family_name, \
           work_email = EXCLUDED.work_email, department = EXCLUDED.department, \
           role_title = EXCLUDED.role_title, manager_id = EXCLUDED.manager_id, status = EXCLUDED.status, \
           contract_kind = EXCLUDED.contract_kind, hired_on = EXCLUDED.hired_on, version = EXCLUDED.version",
    )
    .bind(rows.iter().map(|r| r.tenant_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.employee_id).collect::<Vec<_>>())
    .bind(column(|r| r.given_name.clone()))
    .bind(column(|r| r.family_name.clone()))
    .bind(column(|r| r.work_email.clone()))
    .bind(column(|r| r.department.clone()))
    .bind(column(|r| r.role_title.clone()))
    .bind(rows.iter().map(|r| r.manager_id).collect::<Vec<_>>())
    .bind(column(|r| r.status.clone()))
    .bind(column(|r| r.contract_kind.clone()))
    .bind(rows.iter().map(|r| r.hired_on).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.version).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// The `(tenants, employees)` that `events` touch and that existed before
/// them: a stream whose first event here is version 1 starts here.
pub(super) fn touched_before(events: &[Recorded<EmployeeEvent>]) -> (Vec<Uuid>, Vec<Uuid>) {
    let mut seen = HashSet::new();
    let (mut tenants, mut employees) = (Vec::new(), Vec::new());
    for recorded in events {
        let key = (recorded.metadata.tenant_id, recorded.stream_id);
        if seen.insert(key) && recorded.version > 1 {
            tenants.push(key.0);
            employees.push(key.1);
        }
    }
    (tenants, employees)
}
