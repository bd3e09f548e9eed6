//! Employment periods: one row per tenure period, opened by a hire or a
//! rehire and closed when employment ends. Turnover is counted from here.
//!
//! Like the directory, events are folded in memory over the periods they
//! touch: for a command, from the last period its employee's state implies
//! (earlier periods never change); for a rebuild, from the stored rows.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::NaiveDate;
use serde::Serialize;
use sqlx::PgConnection;
use tenure_kernel::projection::{Appending, ProjectedRow, RowUpsert};
use tenure_kernel::{InlineProjection, Recorded};
use uuid::Uuid;

use super::directory::{contract_kind_code, touched_before};
use crate::domain::{Employee, EmployeeEvent, SeparationType};

/// How commands write periods: one whole row per changed period.
const UPSERTS: &[RowUpsert] = &[RowUpsert {
    table: "employment_periods",
    key: &["tenant_id", "employee_id", "period_no"],
    columns: &[
        "tenant_id",
        "employee_id",
        "period_no",
        "started_on",
        "ended_on",
        "separation_type",
        "department",
        "contract_kind",
    ],
}];

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

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize)]
struct Period {
    tenant_id: Uuid,
    employee_id: Uuid,
    period_no: i32,
    started_on: NaiveDate,
    ended_on: Option<NaiveDate>,
    separation_type: Option<String>,
    department: String,
    contract_kind: String,
}

impl Period {
    /// An employee's last period as their state says; `None` before the hire.
    fn last_of(employee: &Employee, tenant_id: Uuid, employee_id: Uuid) -> Option<Period> {
        let last = employee.current_period()?;
        Some(Period {
            tenant_id,
            employee_id,
            period_no: employee.tenure_periods.len() as i32,
            started_on: last.start,
            ended_on: last.end,
            separation_type: last
                .separation_type
                .map(|separation| separation_type_code(separation).to_owned()),
            department: employee.department.as_str().to_owned(),
            contract_kind: contract_kind_code(last.contract.kind()).to_owned(),
        })
    }
}

#[async_trait]
impl InlineProjection<Employee> for EmploymentPeriods {
    fn name(&self) -> &'static str {
        "employment_periods"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["employment_periods"]
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
        let mut periods: Vec<Period> = Period::last_of(before, first.tenant_id, first.stream_id)
            .into_iter()
            .collect();
        let unchanged = periods.clone();
        for event in events {
            fold(&mut periods, event);
        }
        periods
            .into_iter()
            .filter(|period| !unchanged.contains(period))
            .map(|period| ProjectedRow::new(0, &period))
            .collect()
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[Recorded<EmployeeEvent>],
    ) -> Result<(), sqlx::Error> {
        let mut periods = existing_periods(conn, events).await?;
        let mut changed = HashSet::new();
        for recorded in events {
            let key = (recorded.metadata.tenant_id, recorded.stream_id);
            let employee = periods.entry(key).or_default();
            if fold(employee, &recorded.appending()) {
                changed.insert(key);
            }
        }
        let rows: Vec<Period> = changed
            .into_iter()
            .flat_map(|key| periods.remove(&key).unwrap_or_default())
            .collect();
        upsert(conn, rows).await
    }
}

async fn existing_periods(
    conn: &mut PgConnection,
    events: &[Recorded<EmployeeEvent>],
) -> Result<HashMap<(Uuid, Uuid), Vec<Period>>, sqlx::Error> {
    let (tenants, employees) = touched_before(events);
    if employees.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<Period> = sqlx::query_as(
        "SELECT p.* FROM employment_periods p \
         JOIN unnest($1::uuid[], $2::uuid[]) AS k(tenant_id, employee_id) \
           ON p.tenant_id = k.tenant_id AND p.employee_id = k.employee_id \
         ORDER BY p.period_no",
    )
    .bind(&tenants)
    .bind(&employees)
    .fetch_all(conn)
    .await?;
    let mut periods: HashMap<(Uuid, Uuid), Vec<Period>> = HashMap::new();
    for period in rows {
        periods
            .entry((period.tenant_id, period.employee_id))
            .or_default()
            .push(period);
    }
    Ok(periods)
}

/// Applies one event to an employee's periods (all of them, or the last
/// ones: numbers follow the last); false when nothing changed.
fn fold(periods: &mut Vec<Period>, recorded: &Appending<'_, EmployeeEvent>) -> bool {
    let next_number = periods.last().map_or(1, |period| period.period_no + 1);
    let open = |department: &str, contract_kind: &str, started_on: NaiveDate| Period {
        tenant_id: recorded.tenant_id,
        employee_id: recorded.stream_id,
        period_no: next_number,
        started_on,
        ended_on: None,
        separation_type: None,
        department: department.to_owned(),
        contract_kind: contract_kind.to_owned(),
    };
    let current = periods.last_mut().filter(|p| p.ended_on.is_none());
    match (recorded.event, current) {
        (EmployeeEvent::Hired(e), _) => {
            let period = open(
                e.department.as_str(),
                contract_kind_code(e.contract.kind()),
                e.effective_date,
            );
            periods.push(period);
        }
        (EmployeeEvent::Rehired(e), _) => {
            let period = open(
                e.department.as_str(),
                contract_kind_code(e.contract.kind()),
                e.effective_date,
            );
            periods.push(period);
        }
        (EmployeeEvent::EmploymentEnded(e), Some(period)) => {
            period.ended_on = Some(e.effective_date);
            period.separation_type = Some(separation_type_code(e.separation_type).to_owned());
            period.department = e.department.as_str().to_owned();
            period.contract_kind = contract_kind_code(e.contract.kind()).to_owned();
        }
        (EmployeeEvent::RoleChanged(e), Some(period)) => {
            period.department = e.department.as_str().to_owned()
        }
        (EmployeeEvent::ContractChanged(e), Some(period)) => {
            period.contract_kind = contract_kind_code(e.contract.kind()).to_owned()
        }
        _ => return false,
    }
    true
}

async fn upsert(conn: &mut PgConnection, rows: Vec<Period>) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO employment_periods (tenant_id, employee_id, period_no, started_on, ended_on, separation_type, \
                department, contract_kind) \
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::date[], $5::date[], $6::text[], $7::text[], \
                $8::text[]) \
         ON CONFLICT (tenant_id, employee_id, period_no) DO UPDATE SET \
           started_on = EXCLUDED.started_on, ended_on = EXCLUDED.ended_on, \
           separation_type = EXCLUDED.separation_type, department = EXCLUDED.department, \
           contract_kind = EXCLUDED.contract_kind",
    )
    .bind(rows.iter().map(|r| r.tenant_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.employee_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.period_no).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.started_on).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.ended_on).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.separation_type.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.department.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.contract_kind.clone()).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}
