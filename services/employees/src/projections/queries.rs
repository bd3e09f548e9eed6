//! Queries over the directory: lookups for commands, lists with filters and
//! pages for the API.

use chrono::NaiveDate;
use sqlx::PgPool;
use uuid::Uuid;

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

/// One page of the directory in hire order (employee ids are UUIDv7), after
/// the employee `after`.
pub async fn list(
    pool: &PgPool,
    tenant_id: Uuid,
    filter: &DirectoryFilter,
    after: Option<Uuid>,
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
           AND ($2::uuid IS NULL OR employee_id > $2) \
           AND ($3::text IS NULL OR department = $3) \
           AND ($4::uuid IS NULL OR manager_id = $4) \
           AND ($5::text IS NULL OR status = $5) \
           AND ($6::text IS NULL OR contract_kind = $6) \
           AND ($7::text IS NULL OR (given_name || ' ' || family_name) ILIKE $7) \
         ORDER BY employee_id LIMIT $8",
    )
    .bind(tenant_id)
    .bind(after)
    .bind(&filter.department)
    .bind(filter.manager_id)
    .bind(&filter.status)
    .bind(&filter.contract_kind)
    .bind(name_pattern)
    .bind(limit)
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
/// leaving), in hire order.
pub async fn team(
    pool: &PgPool,
    tenant_id: Uuid,
    manager_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<DirectoryRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT employee_id, given_name, family_name, work_email, department, role_title, manager_id, status, \
                contract_kind, hired_on, version \
         FROM employee_directory \
         WHERE tenant_id = $1 AND manager_id = $2 AND status <> 'left' \
           AND ($3::uuid IS NULL OR employee_id > $3) \
         ORDER BY employee_id LIMIT $4",
    )
    .bind(tenant_id)
    .bind(manager_id)
    .bind(after)
    .bind(limit)
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
