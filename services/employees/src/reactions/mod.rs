//! Other services' events turned into commands on employees, applied exactly
//! once: each runs in the consumer's batch transaction, with the message id
//! in the inbox, and carries the message as its causation.
//!
//! - `OffboardingCompleted` (offboarding) → the employment ends.
//! - `AlumnusRehired` (alumni) → the former employee is rehired.

mod alumni;
mod offboarding;

use std::sync::Arc;

use sqlx::PgConnection;
use tenure_kernel::consumer::{ConsumerSettings, HandlerError, Incoming};
use tenure_kernel::relay::stream_name;
use tenure_kernel::{CommandContext, CommandError, EventMetadata, Repository};
use uuid::Uuid;

pub use alumni::AlumniReaction;
pub use offboarding::OffboardingReaction;

use crate::domain::{Employee, EmployeeCommand};

/// The consumer of another service's events: `<root>.<service>.<event>`.
pub fn consumer_settings(subject_root: &str, service: &str, event: &str) -> ConsumerSettings {
    ConsumerSettings::new(
        &format!("employees-on-{service}"),
        &stream_name(subject_root, service),
        &format!("{subject_root}.{service}.{event}"),
    )
}

/// Executes a reaction's command in the consumer's transaction.
pub(crate) async fn react(
    repository: &Arc<Repository<Employee>>,
    conn: &mut PgConnection,
    message: &Incoming,
    actor: &str,
    employee_id: Uuid,
    command: EmployeeCommand,
) -> Result<(), HandlerError> {
    let tenant_id = message.tenant_id.ok_or("the event names no tenant")?;
    let ctx = CommandContext {
        metadata: EventMetadata {
            tenant_id,
            actor: actor.to_owned(),
            correlation_id: message.correlation_id.unwrap_or(message.message_id),
            causation_id: Some(message.message_id),
            traceparent: message.traceparent.clone(),
        },
        expected_version: None,
        request_id: None,
        fingerprint: None,
    };
    match repository
        .execute_in(conn, &ctx, employee_id, &command)
        .await
    {
        Ok(_) => Ok(()),
        Err(CommandError::Rejected(rule)) => Err(format!("employee {employee_id}: {rule}").into()),
        Err(error) => Err(Box::new(error)),
    }
}
