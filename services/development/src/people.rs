//! The people read model: what development knows of each employee, from the
//! employees service's events.
//!
//! Events of one employee must apply in stream order. A redelivered event
//! (version already applied) is skipped; an event that arrives before its
//! predecessor fails, is delivered again later, and applies once the gap is
//! filled — or is dead-lettered if it never is.

use async_nats::jetstream;
use async_trait::async_trait;
use chrono::NaiveDate;
use prost::Message;
use sqlx::{PgConnection, PgPool};
use tenure_kernel::EventStore;
use tenure_kernel::consumer::{ConsumerSettings, HandlerError, Incoming, MessageHandler};
use tenure_kernel::relay::stream_name;
use tenure_proto::tenure::employees::v1 as employees;
use uuid::Uuid;

/// The durable consumer feeding this read model.
pub const CONSUMER: &str = "development-people";

/// Reads every event of the employees service.
pub fn consumer_settings(subject_root: &str) -> ConsumerSettings {
    ConsumerSettings::new(
        CONSUMER,
        &stream_name(subject_root, "employees"),
        &format!("{subject_root}.employees.>"),
    )
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
    ) -> Result<(), HandlerError> {
        let tenant = message.tenant_id.ok_or("event has no tenant header")?;
        let employee = message
            .stream_id
            .ok_or("event has no ce-subject (employee id)")?;
        let version = message
            .stream_version
            .ok_or("event has no stream version")?;

        let applied: Option<i64> = sqlx::query_scalar(
            "SELECT last_event_version FROM people WHERE tenant_id = $1 AND employee_id = $2",
        )
        .bind(tenant)
        .bind(employee)
        .fetch_optional(&mut *conn)
        .await?;
        let expected = applied.unwrap_or(0) + 1;
        if version < expected {
            return Ok(()); // applied before
        }
        if version > expected {
            return Err(format!(
                "event version {version} of employee {employee} arrived before version {expected}"
            )
            .into());
        }
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
            "EmploymentEnded" => {
                update(conn, "active = $4", tenant, employee, version, false).await?
            }
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

fn optional_uuid(value: Option<&str>) -> Result<Option<Uuid>, HandlerError> {
    match value.filter(|v| !v.is_empty()) {
        Some(v) => Ok(Some(Uuid::parse_str(v)?)),
        None => Ok(None),
    }
}

fn date(value: &str) -> Result<NaiveDate, HandlerError> {
    Ok(NaiveDate::parse_from_str(value, "%Y-%m-%d")?)
}

#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error("cannot empty the read model")]
    Database(#[from] sqlx::Error),
    #[error("cannot reset the JetStream consumer")]
    Consumer(#[source] async_nats::Error),
}

/// Empties `people` and this consumer's inbox, and deletes the durable
/// consumer, so the next run consumes the employees stream from its start.
pub async fn rebuild(
    store: &EventStore,
    nats: async_nats::Client,
    settings: &ConsumerSettings,
) -> Result<(), RebuildError> {
    let js = jetstream::new(nats);
    let stream = js
        .get_stream(&settings.stream)
        .await
        .map_err(|e| RebuildError::Consumer(e.into()))?;
    if stream.consumer_info(&settings.name).await.is_ok() {
        stream
            .delete_consumer(&settings.name)
            .await
            .map_err(|e| RebuildError::Consumer(e.into()))?;
    }
    let mut tx = store.pool().begin().await?;
    sqlx::query("DELETE FROM people").execute(&mut *tx).await?;
    sqlx::query("DELETE FROM inbox WHERE consumer = $1")
        .bind(&settings.name)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
