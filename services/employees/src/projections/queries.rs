//! Queries over the directory: lookups for commands, lists with filters and
//! pages for the API.

use chrono::NaiveDate;
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::ManagerFacts;

/// An employee as the directory lists them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DirectoryRow {
    pub employee_id: Uuid,
    pub given_name: String,
    pub family_name: String,
    pub work_email: String,
    pub department: String,
    pub role_title: String,
    pub manager_id: Option<Uuid>,
    pub status: String,
    pub contract_kind: String,
    pub hired_on: NaiveDate,
    pub version: i64,
}

/// Filters of a directory listing; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct DirectoryFilter {
    pub department: Option<String>,
    pub manager_id: Option<Uuid>,
    pub status: Option<String>,
    pub contract_kind: Option<String>,
    /// Matches given name, family name or both, case-insensitively, anywhere.
    pub name_query: Option<String>,
}

/// The employee's status in the directory, if the tenant has such an employee.
pub async fn employee_status(
    pool: &PgPool,
    tenant_id: Uuid,
    employee_id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT status FROM employee_directory WHERE tenant_id = $1 AND employee_id = $2",
    )
    .bind(tenant_id)
    .bind(employee_id)
    .fetch_optional(pool)
    .await
}

/// The managers above `employee_id`, nearest first (bounded, so a corrupt
/// cycle in the data cannot loop forever).
pub async fn management_chain(
    pool: &PgPool,
    tenant_id: Uuid,
    employee_id: Uuid,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "WITH RECURSIVE chain(manager_id, depth) AS ( \
             SELECT manager_id, 1 FROM employee_directory WHERE tenant_id = $1 AND employee_id = $2 \
             UNION ALL \
             SELECT d.manager_id, c.depth + 1 FROM employee_directory d \
             JOIN chain c ON d.tenant_id = $1 AND d.employee_id = c.manager_id \
             WHERE c.depth < 1000 \
         ) SELECT manager_id FROM chain WHERE manager_id IS NOT NULL ORDER BY depth",
    )
    .bind(tenant_id)
    .bind(employee_id)
    .fetch_all(pool)
    .await
}

/// Where a page starts: after this `(family name, given name, id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageKey {
    pub family_name: String,
    pub given_name: String,
    pub employee_id: Uuid,
}

impl PageKey {
    pub fn of(row: &DirectoryRow) -> Self {
        Self {
            family_name: row.family_name.clone(),
            given_name: row.given_name.clone(),
            employee_id: row.employee_id,
        }
    }
}

/// One page of the directory ordered by family name, given name and id,
/// after `after`.
pub async fn list(
    pool: &PgPool,
    tenant_id: Uuid,
    filter: &DirectoryFilter,
    after: Option<&PageKey>,
    limit: i64,
) -> Result<Vec<DirectoryRow>, sqlx::Error> {
    let name_pattern = filter
        .name_query
        .as_ref()
        .map(|q| format!("%{}%", escape_like(q)));
    sqlx::query_as(
        "SELECT employee_id, given_name, family_name, work_email, department, role_title, manager_id, status, \
                contract_kind, hired_on, version \
         FROM employee_directory \
         WHERE tenant_id = $1 \
           AND ($2::uuid IS NULL OR (family_name, given_name, employee_id) > ($9, $10, $2)) \
           AND ($3::text IS NULL OR department = $3) \
           AND ($4::uuid IS NULL OR manager_id = $4) \
           AND ($5::text IS NULL OR status = $5) \
           AND ($6::text IS NULL OR contract_kind = $6) \
           AND ($7::text IS NULL OR (given_name || ' ' || family_name) ILIKE $7) \
         ORDER BY family_name, given_name, employee_id LIMIT $8",
    )
    .bind(tenant_id)
    .bind(after.map(|k| k.employee_id))
    .bind(&filter.department)
    .bind(filter.manager_id)
    .bind(&filter.status)
    .bind(&filter.contract_kind)
    .bind(name_pattern)
    .bind(limit)
    .bind(after.map(|k| k.family_name.as_str()))
    .bind(after.map(|k| k.given_name.as_str()))
    .fetch_all(pool)
    .await
}

/// `%`, `_` and `\` match themselves in a name search.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// One page of a manager's direct reports who still work here (active or
/// leaving), ordered like the directory.
pub async fn team(
    pool: &PgPool,
    tenant_id: Uuid,
    manager_id: Uuid,
    after: Option<&PageKey>,
    limit: i64,
) -> Result<Vec<DirectoryRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT employee_id, given_name, family_name, work_email, department, role_title, manager_id, status, \
                contract_kind, hired_on, version \
         FROM employee_directory \
         WHERE tenant_id = $1 AND manager_id = $2 AND status <> 'left' \
           AND ($3::uuid IS NULL OR (family_name, given_name, employee_id) > ($5, $6, $3)) \
         ORDER BY family_name, given_name, employee_id LIMIT $4",
    )
    .bind(tenant_id)
    .bind(manager_id)
    .bind(after.map(|k| k.employee_id))
    .bind(limit)
    .bind(after.map(|k| k.family_name.as_str()))
    .bind(after.map(|k| k.given_name.as_str()))
    .fetch_all(pool)
    .await
}

/// Employees who work here now (active or leaving) per department and contract kind.
pub async fn contract_mix(
    pool: &PgPool,
    tenant_id: Uuid,
) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT department, contract_kind, count(*) FROM employee_directory \
         WHERE tenant_id = $1 AND status <> 'left' \
         GROUP BY department, contract_kind ORDER BY department, contract_kind",
    )
    .bind(tenant_id)
    .fetch_all(pool)
    .await
}

/// One month of turnover as counted from the employment periods.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MonthRow {
    pub month: NaiveDate,
    pub hires: i64,
    pub rehires: i64,
    pub leavers: i64,
    pub headcount_start: i64,
    pub headcount_end: i64,
}

/// Hires (first periods), rehires (later periods), leavers and headcount at
/// the start and end of each month from `from` to `to` (first days of months):
/// those employed on its first and on its last day. A period ending on
/// `ended_on` counts its last day as employed.
pub async fn turnover(
    pool: &PgPool,
    tenant_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<MonthRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT m.month::date AS month, \
           count(*) FILTER (WHERE p.period_no = 1 AND p.started_on >= m.month AND p.started_on < m.next) AS hires, \
           count(*) FILTER (WHERE p.period_no > 1 AND p.started_on >= m.month AND p.started_on < m.next) AS rehires, \
           count(*) FILTER (WHERE p.ended_on >= m.month AND p.ended_on < m.next) AS leavers, \
           count(*) FILTER (WHERE p.started_on <= m.month AND (p.ended_on IS NULL OR p.ended_on >= m.month)) \
             AS headcount_start, \
           count(*) FILTER (WHERE p.started_on < m.next \
                              AND (p.ended_on IS NULL OR p.ended_on >= (m.next - interval '1 day'))) \
             AS headcount_end \
         FROM (SELECT month, month + interval '1 month' AS next \
               FROM generate_series($2::date, $3::date, interval '1 month') AS month) m \
         LEFT JOIN employment_periods p ON p.tenant_id = $1 \
           AND p.started_on < m.next AND (p.ended_on IS NULL OR p.ended_on >= m.month) \
         GROUP BY m.month ORDER BY m.month",
    )
    .bind(tenant_id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
}

/// Leavers per month and separation type, for the months from `from` to `to`.
pub async fn leavers_by_type(
    pool: &PgPool,
    tenant_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(NaiveDate, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT date_trunc('month', ended_on)::date, separation_type, count(*) FROM employment_periods \
         WHERE tenant_id = $1 AND ended_on >= $2 AND ended_on < ($3::date + interval '1 month') \
         GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .bind(tenant_id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
}

/// What the directory says about a prospective manager: unverified (of no
/// known tenant) when the tenant has no such employee.
pub async fn manager_facts(
    pool: &PgPool,
    tenant_id: Uuid,
    manager_id: Uuid,
) -> Result<ManagerFacts, sqlx::Error> {
    let Some(status) = employee_status(pool, tenant_id, manager_id).await? else {
        return Ok(ManagerFacts::unverified(manager_id));
    };
    let reports_chain = management_chain(pool, tenant_id, manager_id).await?;
    Ok(ManagerFacts {
        id: manager_id,
        active: status != "left",
        same_tenant: true,
        reports_chain,
    })
}
