//! Other services' events turned into commands on employees, applied exactly
//! once and in order: each runs in the consumer's batch transaction, which
//! also records the message's stream version, and carries the message as its
//! causation.
//!
//! - `OffboardingCompleted` (offboarding) → the employment ends.
//! - `AlumnusRehired` (alumni) → the former employee is rehired.

mod alumni;
mod offboarding;

use std::sync::Arc;

use sqlx::PgConnection;
use tenure_kernel::consumer::{ConsumerSettings, Failure, Incoming, Outcome};
use tenure_kernel::relay::stream_name;
use tenure_kernel::{CommandContext, CommandError, EventMetadata, Repository};
use uuid::Uuid;

pub use alumni::AlumniReaction;
pub use offboarding::OffboardingReaction;

use crate::domain::{Employee, EmployeeCommand};

/// The consumer of another service's events: all of `<root>.<service>`, so
/// that each stream's events apply in order; the reaction skips the types it
/// does not react to.
pub fn consumer_settings(subject_root: &str, service: &str) -> ConsumerSettings {
    ConsumerSettings::new(
        &format!("employees-on-{service}"),
        &stream_name(subject_root, service),
        &format!("{subject_root}.{service}"),
    )
}

/// A message a reaction can never act on: malformed, or naming what is not there.
pub(crate) fn poison(reason: impl std::fmt::Display) -> Failure {
    Failure::Rejected(reason.to_string())
}

/// Turns any error into a poison verdict: for parsing a message's fields.
pub(crate) trait OrPoison<T> {
    fn or_poison(self, what: &str) -> Result<T, Failure>;
}

impl<T, E: std::fmt::Display> OrPoison<T> for Result<T, E> {
    fn or_poison(self, what: &str) -> Result<T, Failure> {
        self.map_err(|e| poison(format!("{what}: {e}")))
    }
}

/// Executes a reaction's command in the consumer's transaction.
pub(crate) async fn react(
    repository: &Arc<Repository<Employee>>,
    conn: &mut PgConnection,
    message: &Incoming,
    actor: &str,
    employee_id: Uuid,
    command: EmployeeCommand,
) -> Result<Outcome, Failure> {
    let tenant_id = message
        .tenant_id
        .ok_or_else(|| poison("the event names no tenant"))?;
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
        Ok(_) => Ok(Outcome::Applied),
        Err(CommandError::Rejected(rule)) => Err(poison(format!("employee {employee_id}: {rule}"))),
        Err(error @ CommandError::Constraint { .. }) => Err(poison(&error)),
        // A lost race, an older transaction, the database: all pass.
        Err(error) => Err(Failure::retry(&error)),
    }
}
