//! The one place the employees service chooses gRPC codes. Causes of
//! infrastructure failures are logged here with their chain, never sent.

use tenure_kernel::{CommandError, StoreError};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};
use tracing::error;
use uuid::Uuid;

use crate::app::AppError;
use crate::domain::{FieldViolation, RuleViolation};
use crate::projections::directory::EMAIL_TAKEN;

/// Malformed fields: `INVALID_ARGUMENT` with every violation as a
/// google.rpc.BadRequest field violation, and the first named in the message.
pub fn invalid(violations: Vec<FieldViolation>) -> Status {
    let message = match violations.as_slice() {
        [] => "the request is malformed".to_owned(),
        [only] => format!("{}: {}", only.field, only.description),
        [first, rest @ ..] => format!(
            "{}: {} (and {} more)",
            first.field,
            first.description,
            rest.len()
        ),
    };
    let mut details = ErrorDetails::new();
    for violation in violations {
        details.add_bad_request_violation(violation.field, violation.description);
    }
    Status::with_error_details(Code::InvalidArgument, message, details)
}

/// One malformed field.
pub fn invalid_field(field: &str, description: &str) -> Status {
    invalid(vec![FieldViolation::new(field, description)])
}

pub fn not_found(employee_id: Uuid) -> Status {
    Status::not_found(format!("no employee {employee_id} in this organisation"))
}

/// A command's failure as the client should see it.
pub fn from_app(error: AppError, employee_id: Uuid) -> Status {
    match error {
        AppError::Command(CommandError::Rejected(RuleViolation::NotHired)) => {
            not_found(employee_id)
        }
        AppError::Command(CommandError::Rejected(rule)) => {
            Status::failed_precondition(rule.to_string())
        }
        AppError::Command(CommandError::Conflict {
            expected, actual, ..
        }) => Status::aborted(format!(
            "the employee is at version {actual}, not the expected {expected}; read it again and retry"
        )),
        AppError::Command(CommandError::Constraint { constraint }) if constraint == EMAIL_TAKEN => {
            Status::failed_precondition(
                "the work email is already used by another employee of this organisation",
            )
        }
        AppError::Command(CommandError::Constraint { constraint }) => {
            error!(
                constraint,
                "a read model constraint refused a command the domain accepted"
            );
            Status::failed_precondition("the change conflicts with existing data")
        }
        AppError::Command(CommandError::RequestMismatch { request_id }) => {
            Status::failed_precondition(format!(
                "request_id {request_id:?} was already used for a different request; \
                 send a new request_id for a new request"
            ))
        }
        AppError::Command(CommandError::OutOfOrder { .. }) => Status::aborted(
            "the employee was changed concurrently through every retry; retry the request",
        ),
        AppError::UnknownManager(manager_id) => Status::not_found(format!(
            "no employee {manager_id} in this organisation to be the manager"
        )),
        AppError::Command(CommandError::Store(error)) | AppError::Store(error) => from_store(error),
    }
}

/// A failure of the store: unavailable while the database is, internal when
/// stored data cannot be read.
pub fn from_store(error: StoreError) -> Status {
    error!(error = %tenure_kernel::error::chain(&error), "store failure");
    match error {
        StoreError::Database(_) => {
            Status::unavailable("the service cannot reach its database; retry later")
        }
        StoreError::Codec { .. } | StoreError::Snapshot { .. } => {
            Status::internal("stored data could not be read; the operators have been told")
        }
    }
}

pub fn from_database(error: sqlx::Error) -> Status {
    from_store(StoreError::Database(error))
}
