//! The people read model: what development knows of each employee, from the
//! employees service's events.
//!
//! The kernel's consumer hands over each employee's events exactly once and
//! in version order (an early one waits, parked, for its predecessor), so
//! every event here is the next one of its employee.

use async_nats::jetstream;
use async_trait::async_trait;
use chrono::NaiveDate;
use prost::Message;
use sqlx::{PgConnection, PgPool};
use tenure_kernel::EventStore;
use tenure_kernel::consumer::{
    ConsumerSettings, Failure, Incoming, MessageHandler, Outcome, operations,
};
use tenure_kernel::relay::stream_name;
use tenure_proto::tenure::employees::v1 as employees;
use uuid::Uuid;

mod fold;

/// The durable consumer feeding this read model.
pub const CONSUMER: &str = "development-people";

/// Reads every event of the employees service; appends nothing.
pub fn consumer_settings(subject_root: &str) -> ConsumerSettings {
    ConsumerSettings {
        appends: false,
        ..ConsumerSettings::new(
            CONSUMER,
            &stream_name(subject_root, "employees"),
            &format!("{subject_root}.employees"),
        )
    }
}

/// A person as the development service knows them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Person {
    pub employee_id: Uuid,
    pub display_name: String,
    pub department: String,
    pub role_title: String,
    pub manager_id: Option<Uuid>,
    pub active: bool,
    pub hired_on: NaiveDate,
    pub last_event_version: i64,
}

pub async fn get_person(
    pool: &PgPool,
    tenant_id: Uuid,
    employee_id: Uuid,
) -> Result<Option<Person>, sqlx::Error> {
    sqlx::query_as(
        "SELECT employee_id, display_name, department, role_title, manager_id, active, hired_on, last_event_version \
         FROM people WHERE tenant_id = $1 AND employee_id = $2",
    )
    .bind(tenant_id)
    .bind(employee_id)
    .fetch_optional(pool)
    .await
}

/// Applies employees events to `people`.
pub struct PeopleProjection;

#[async_trait]
impl MessageHandler for PeopleProjection {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        message: &Incoming,
    ) -> Result<Outcome, Failure> {
        let tenant = message
            .tenant_id
            .ok_or_else(|| Failure::Rejected("event has no tenant header".into()))?;
        let employee = message.stream_id;
        let version = message.stream_version;
        apply(conn, message, tenant, employee, version).await?;
        Ok(Outcome::Applied)
    }

    /// Folds the batch into one row per employee in memory, then writes them
    /// all in one statement.
    async fn handle_batch(
        &self,
        conn: &mut PgConnection,
        messages: &[&Incoming],
    ) -> Result<(), Failure> {
        let people = fold::fold(messages)?;
        fold::write(conn, &people).await?;
        Ok(())
    }
}

/// Why an event was not applied.
enum ApplyError {
    Database(sqlx::Error),
    /// The event cannot be read: retrying will not help.
    Malformed(String),
}

impl From<ApplyError> for Failure {
    fn from(error: ApplyError) -> Self {
        match error {
            ApplyError::Database(error) => Failure::from(error),
            ApplyError::Malformed(reason) => Failure::Rejected(reason),
        }
    }
}

impl From<sqlx::Error> for ApplyError {
    fn from(error: sqlx::Error) -> Self {
        ApplyError::Database(error)
    }
}

impl From<prost::DecodeError> for ApplyError {
    fn from(error: prost::DecodeError) -> Self {
        ApplyError::Malformed(error.to_string())
    }
}

/// Applies the next event of one employee.
async fn apply(
    conn: &mut PgConnection,
    message: &Incoming,
    tenant: Uuid,
    employee: Uuid,
    version: i64,
) -> Result<(), ApplyError> {
    let payload = &message.payload[..];
    match message.event_type.as_str() {
        "EmployeeHired" => {
            let e = employees::EmployeeHired::decode(payload)?;
            sqlx::query(
                    "INSERT INTO people (tenant_id, employee_id, display_name, department, role_title, manager_id, \
                     active, hired_on, last_event_version) VALUES ($1, $2, $3, $4, $5, $6, true, $7, $8)",
                )
                .bind(tenant)
                .bind(employee)
                .bind(display_name(&e.given_name, &e.family_name))
                .bind(&e.department)
                .bind(&e.role_title)
                .bind(optional_uuid(e.manager_id.as_deref())?)
                .bind(date(&e.effective_date)?)
                .bind(version)
                .execute(&mut *conn)
                .await?;
            return Ok(());
        }
        "PersonalDetailsChanged" => {
            let e = employees::PersonalDetailsChanged::decode(payload)?;
            update(
                conn,
                "display_name = $4",
                tenant,
                employee,
                version,
                display_name(&e.given_name, &e.family_name),
            )
            .await?;
        }
        "RoleChanged" => {
            let e = employees::RoleChanged::decode(payload)?;
            sqlx::query(
                    "UPDATE people SET role_title = $4, department = $5, last_event_version = $3, updated_at = now() \
                     WHERE tenant_id = $1 AND employee_id = $2",
                )
                .bind(tenant)
                .bind(employee)
                .bind(version)
                .bind(&e.role_title)
                .bind(&e.department)
                .execute(&mut *conn)
                .await?;
        }
        "ManagerAssigned" => {
            let e = employees::ManagerAssigned::decode(payload)?;
            update(
                conn,
                "manager_id = $4",
                tenant,
                employee,
                version,
                optional_uuid(e.manager_id.as_deref())?,
            )
            .await?;
        }
        "EmploymentEnded" => update(conn, "active = $4", tenant, employee, version, false).await?,
        "EmployeeRehired" => {
            let e = employees::EmployeeRehired::decode(payload)?;
            sqlx::query(
                    "UPDATE people SET active = true, role_title = COALESCE(NULLIF($4, ''), role_title), \
                     department = COALESCE(NULLIF($5, ''), department), \
                     manager_id = $6, last_event_version = $3, updated_at = now() \
                     WHERE tenant_id = $1 AND employee_id = $2",
                )
                .bind(tenant)
                .bind(employee)
                .bind(version)
                .bind(&e.role_title)
                .bind(&e.department)
                .bind(optional_uuid(e.manager_id.as_deref())?)
                .execute(&mut *conn)
                .await?;
        }
        // Events that change nothing here still advance the version.
        _ => {
            sqlx::query("UPDATE people SET last_event_version = $3 WHERE tenant_id = $1 AND employee_id = $2")
                    .bind(tenant)
                    .bind(employee)
                    .bind(version)
                    .execute(&mut *conn)
                    .await?;
        }
    }
    Ok(())
}

/// Sets one column (`assignment` uses `$4`) and the applied version.
async fn update<T>(
    conn: &mut PgConnection,
    assignment: &str,
    tenant: Uuid,
    employee: Uuid,
    version: i64,
    value: T,
) -> Result<(), sqlx::Error>
where
    T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
{
    let sql = format!(
        "UPDATE people SET {assignment}, last_event_version = $3, updated_at = now() \
         WHERE tenant_id = $1 AND employee_id = $2"
    );
    sqlx::query(&sql)
        .bind(tenant)
        .bind(employee)
        .bind(version)
        .bind(value)
        .execute(conn)
        .await?;
    Ok(())
}

fn display_name(given: &str, family: &str) -> String {
    format!("{given} {family}").trim().to_owned()
}

fn optional_uuid(value: Option<&str>) -> Result<Option<Uuid>, ApplyError> {
    match value.filter(|v| !v.is_empty()) {
        Some(v) => Uuid::parse_str(v)
            .map(Some)
            .map_err(|e| ApplyError::Malformed(format!("manager id: {e}"))),
        None => Ok(None),
    }
}

fn date(value: &str) -> Result<NaiveDate, ApplyError> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|e| ApplyError::Malformed(format!("effective date {value:?}: {e}")))
}

/// Empties `people` and makes its consumer start over from the beginning
/// of the employees stream, which the service does when it runs next.
/// Refused while the service runs (see [`operations::reset`]).
pub async fn rebuild(
    store: &EventStore,
    nats: async_nats::Client,
    settings: &ConsumerSettings,
) -> Result<(), operations::ResetError> {
    let js = jetstream::new(nats);
    operations::reset(store.pool(), &js, settings, async |tx| {
        sqlx::query("DELETE FROM people")
            .execute(tx)
            .await
            .map(drop)
    })
    .await
}
