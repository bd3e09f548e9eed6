//! Employment periods: one row per tenure period, opened by a hire or a
//! rehire and closed when employment ends. Turnover is counted from here.

use async_trait::async_trait;
use sqlx::PgConnection;
use tenure_kernel::{InlineProjection, Recorded};

use super::directory::contract_kind_code;
use crate::domain::{EmployeeEvent, SeparationType};

pub struct EmploymentPeriods;

/// The stored name of a separation type, as the proto enum spells it.
pub fn separation_type_code(separation_type: SeparationType) -> &'static str {
    match separation_type {
        SeparationType::Voluntary => "voluntary",
        SeparationType::Involuntary => "involuntary",
        SeparationType::ContractEnd => "contract_end",
        SeparationType::Retirement => "retirement",
        SeparationType::Mutual => "mutual",
        SeparationType::Other => "other",
    }
}

#[async_trait]
impl InlineProjection<EmployeeEvent> for EmploymentPeriods {
    fn name(&self) -> &'static str {
        "employment_periods"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["employment_periods"]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[Recorded<EmployeeEvent>],
    ) -> Result<(), sqlx::Error> {
        for recorded in events {
            let (tenant, employee) = (recorded.metadata.tenant_id, recorded.stream_id);
            match &recorded.event {
                EmployeeEvent::Hired(e) => {
                    open(
                        conn,
                        tenant,
                        employee,
                        e.effective_date,
                        e.department.as_str(),
                        contract_kind_code(e.contract.kind()),
                    )
                    .await?
                }
                EmployeeEvent::Rehired(e) => {
                    open(
                        conn,
                        tenant,
                        employee,
                        e.effective_date,
                        e.department.as_str(),
                        contract_kind_code(e.contract.kind()),
                    )
                    .await?
                }
                EmployeeEvent::EmploymentEnded(e) => {
                    sqlx::query(
                        "UPDATE employment_periods SET ended_on = $3, separation_type = $4, department = $5, \
                         contract_kind = $6 \
                         WHERE tenant_id = $1 AND employee_id = $2 AND ended_on IS NULL",
                    )
                    .bind(tenant)
                    .bind(employee)
                    .bind(e.effective_date)
                    .bind(separation_type_code(e.separation_type))
                    .bind(e.department.as_str())
                    .bind(contract_kind_code(e.contract.kind()))
                    .execute(&mut *conn)
                    .await?;
                }
                EmployeeEvent::RoleChanged(e) => {
                    sqlx::query(
                        "UPDATE employment_periods SET department = $3 \
                         WHERE tenant_id = $1 AND employee_id = $2 AND ended_on IS NULL",
                    )
                    .bind(tenant)
                    .bind(employee)
                    .bind(e.department.as_str())
                    .execute(&mut *conn)
                    .await?;
                }
                EmployeeEvent::ContractChanged(e) => {
                    sqlx::query(
                        "UPDATE employment_periods SET contract_kind = $3 \
                         WHERE tenant_id = $1 AND employee_id = $2 AND ended_on IS NULL",
                    )
                    .bind(tenant)
                    .bind(employee)
                    .bind(contract_kind_code(e.contract.kind()))
                    .execute(&mut *conn)
                    .await?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Opens the employee's next period.
async fn open(
    conn: &mut PgConnection,
    tenant: uuid::Uuid,
    employee: uuid::Uuid,
    started_on: chrono::NaiveDate,
    department: &str,
    contract_kind: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO employment_periods (tenant_id, employee_id, period_no, started_on, department, contract_kind) \
         SELECT $1, $2, COALESCE(max(period_no), 0) + 1, $3, $4, $5 FROM employment_periods \
         WHERE tenant_id = $1 AND employee_id = $2",
    )
    .bind(tenant)
    .bind(employee)
    .bind(started_on)
    .bind(department)
    .bind(contract_kind)
    .execute(conn)
    .await?;
    Ok(())
}
