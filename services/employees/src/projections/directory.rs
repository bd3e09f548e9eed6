//! The employee directory: one row per employee with what lists and filters
//! need, updated inside every append. Its unique (tenant, work email) is what
//! keeps work emails unique per tenant.

use async_trait::async_trait;
use sqlx::PgConnection;
use sqlx::Postgres;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use tenure_kernel::{InlineProjection, Recorded};

use crate::domain::{ContractKind, EmployeeEvent};

/// The constraint that refuses a second employee with the same work email.
pub const EMAIL_TAKEN: &str = "employee_directory_email_key";

pub struct Directory;

#[async_trait]
impl InlineProjection<EmployeeEvent> for Directory {
    fn name(&self) -> &'static str {
        "employee_directory"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["employee_directory"]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[Recorded<EmployeeEvent>],
    ) -> Result<(), sqlx::Error> {
        for recorded in events {
            apply_one(conn, recorded).await?;
        }
        Ok(())
    }
}

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

/// An UPDATE of one directory row: `$1` tenant, `$2` employee, `$3` version,
/// then the event's values from `$4`.
fn update<'q>(
    sql: &'q str,
    recorded: &Recorded<EmployeeEvent>,
) -> Query<'q, Postgres, PgArguments> {
    sqlx::query(sql)
        .bind(recorded.metadata.tenant_id)
        .bind(recorded.stream_id)
        .bind(recorded.version)
}

async fn apply_one(
    conn: &mut PgConnection,
    recorded: &Recorded<EmployeeEvent>,
) -> Result<(), sqlx::Error> {
    let query = match &recorded.event {
        EmployeeEvent::Hired(e) => update(
            "INSERT INTO employee_directory (tenant_id, employee_id, version, given_name, family_name, work_email, \
             department, role_title, manager_id, status, contract_kind, hired_on) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active', $10, $11)",
            recorded,
        )
        .bind(e.given_name.as_str())
        .bind(e.family_name.as_str())
        .bind(e.work_email.as_str())
        .bind(e.department.as_str())
        .bind(e.role_title.as_str())
        .bind(e.manager_id)
        .bind(contract_kind_code(e.contract.kind()))
        .bind(e.effective_date),
        EmployeeEvent::PersonalDetailsChanged(e) => update(
            "UPDATE employee_directory SET version = $3, given_name = $4, family_name = $5, work_email = $6 \
             WHERE tenant_id = $1 AND employee_id = $2",
            recorded,
        )
        .bind(e.given_name.as_str())
        .bind(e.family_name.as_str())
        .bind(e.work_email.as_str()),
        EmployeeEvent::ContractChanged(e) => update(
            "UPDATE employee_directory SET version = $3, contract_kind = $4 WHERE tenant_id = $1 AND employee_id = $2",
            recorded,
        )
        .bind(contract_kind_code(e.contract.kind())),
        EmployeeEvent::RoleChanged(e) => update(
            "UPDATE employee_directory SET version = $3, role_title = $4, department = $5 \
             WHERE tenant_id = $1 AND employee_id = $2",
            recorded,
        )
        .bind(e.role_title.as_str())
        .bind(e.department.as_str()),
        EmployeeEvent::ManagerAssigned(e) => update(
            "UPDATE employee_directory SET version = $3, manager_id = $4 WHERE tenant_id = $1 AND employee_id = $2",
            recorded,
        )
        .bind(e.manager_id),
        EmployeeEvent::DepartureAnnounced(_) => update(
            "UPDATE employee_directory SET version = $3, status = 'leaving' WHERE tenant_id = $1 AND employee_id = $2",
            recorded,
        ),
        EmployeeEvent::DepartureWithdrawn(_) => update(
            "UPDATE employee_directory SET version = $3, status = 'active' WHERE tenant_id = $1 AND employee_id = $2",
            recorded,
        ),
        EmployeeEvent::EmploymentEnded(_) => update(
            "UPDATE employee_directory SET version = $3, status = 'left' WHERE tenant_id = $1 AND employee_id = $2",
            recorded,
        ),
        EmployeeEvent::Rehired(e) => update(
            "UPDATE employee_directory SET version = $3, status = 'active', contract_kind = $4, role_title = $5, \
             department = $6, manager_id = $7 WHERE tenant_id = $1 AND employee_id = $2",
            recorded,
        )
        .bind(contract_kind_code(e.contract.kind()))
        .bind(e.role_title.as_str())
        .bind(e.department.as_str())
        .bind(e.manager_id),
        EmployeeEvent::WorkAgreementRecorded(_) | EmployeeEvent::InterestsChanged(_) => update(
            "UPDATE employee_directory SET version = $3 WHERE tenant_id = $1 AND employee_id = $2",
            recorded,
        ),
    };
    query.execute(conn).await?;
    Ok(())
}
