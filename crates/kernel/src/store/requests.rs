//! Idempotency: the outcome of each command that carried a request id.

use sqlx::PgConnection;
use uuid::Uuid;

use super::EventStore;
use crate::error::{AppendError, StoreError};

/// What a request id did the first time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviousOutcome {
    pub stream_id: Uuid,
    pub version: i64,
}

const REQUEST_GUARD: &str = "command_log_pkey";

impl EventStore {
    /// The first outcome of `request_id`, if it was executed before.
    pub async fn find_request(
        &self,
        tenant_id: Uuid,
        request_id: &str,
    ) -> Result<Option<PreviousOutcome>, StoreError> {
        let row: Option<(Uuid, i64)> = sqlx::query_as(
            "SELECT stream_id, version FROM command_log WHERE tenant_id = $1 AND request_id = $2",
        )
        .bind(tenant_id)
        .bind(request_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(stream_id, version)| PreviousOutcome { stream_id, version }))
    }

    /// Records the outcome of `request_id` in the append transaction; a second
    /// execution racing this one fails with [`AppendError::DuplicateRequest`].
    pub async fn record_request(
        &self,
        conn: &mut PgConnection,
        tenant_id: Uuid,
        request_id: &str,
        outcome: PreviousOutcome,
    ) -> Result<(), AppendError> {
        sqlx::query("INSERT INTO command_log (tenant_id, request_id, stream_id, version) VALUES ($1, $2, $3, $4)")
            .bind(tenant_id)
            .bind(request_id)
            .bind(outcome.stream_id)
            .bind(outcome.version)
            .execute(conn)
            .await
            .map_err(|error| {
                if error.as_database_error().and_then(|db| db.constraint()) == Some(REQUEST_GUARD) {
                    AppendError::DuplicateRequest { request_id: request_id.to_owned() }
                } else {
                    AppendError::from(error)
                }
            })?;
        Ok(())
    }
}
