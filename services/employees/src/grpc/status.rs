//! The one place the employees service chooses gRPC codes. Causes of
//! infrastructure failures are logged here with their chain, never sent.
//!
//! Bad input is never UNAVAILABLE or INTERNAL: the edge refuses what the
//! store cannot keep (`convert.rs`, `listing.rs`, the request id), and a
//! value PostgreSQL still refuses as data (SQLSTATE class 22) is
//! INVALID_ARGUMENT here. Only a database that cannot be reached is UNAVAILABLE.

use tenure_kernel::{CommandError, StoreError};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};
use tracing::{error, warn};
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

/// Why an imported record was refused, in words, or the status that ends
/// the import when the record failed instead (the store, or a race lost
/// through every retry): refusals are reported per record, failures are not.
pub fn import_refusal(error: AppError, employee_id: Uuid) -> Result<String, Status> {
    match error {
        // Only a hire expects a version (0): its employee exists.
        AppError::Command(CommandError::Conflict { actual, .. }) => Ok(format!(
            "employee {employee_id} exists already (with {actual} events); a hire must be an employee's first record"
        )),
        AppError::Command(CommandError::RequestMismatch { request_id }) => Ok(format!(
            "record_key {request_id:?} was already used for a different record; \
             a changed record needs a new record_key"
        )),
        error => {
            let status = from_app(error, employee_id);
            match status.code() {
                Code::NotFound | Code::FailedPrecondition | Code::InvalidArgument => {
                    Ok(status.message().to_owned())
                }
                _ => Err(status),
            }
        }
    }
}

/// A failure of the store: unavailable while the database cannot be reached,
/// invalid when it refused a value of the request, internal otherwise.
pub fn from_store(error: StoreError) -> Status {
    let chain = tenure_kernel::error::chain(&error);
    match &error {
        StoreError::Database(database) => match DatabaseFailure::of(database) {
            DatabaseFailure::Unreachable => {
                error!(error = %chain, "database unreachable");
                Status::unavailable("the service cannot reach its database; retry later")
            }
            DatabaseFailure::RefusedValue => {
                warn!(error = %chain, "the database refused a value of a request");
                Status::invalid_argument("a value in the request cannot be stored")
            }
            DatabaseFailure::Contended => {
                warn!(error = %chain, "the database rolled a transaction back");
                Status::aborted("the request collided with another one; retry it")
            }
            DatabaseFailure::Broken => {
                error!(error = %chain, "database failure");
                Status::internal("the service failed; the operators have been told")
            }
        },
        StoreError::Codec { .. }
        | StoreError::Snapshot { .. }
        | StoreError::ProjectionRows { .. } => {
            error!(error = %chain, "store failure");
            Status::internal("stored data could not be read; the operators have been told")
        }
    }
}

/// What a database error says about whose fault it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DatabaseFailure {
    /// No connection: the network, the pool, or a server shutting down or
    /// out of connections. Retrying later may succeed.
    Unreachable,
    /// A data exception (SQLSTATE class 22: a NUL byte in text, a value too
    /// long, a malformed literal): the request carried a value the store
    /// cannot keep, and retrying cannot help.
    RefusedValue,
    /// A serialization failure or deadlock (class 40): retrying may succeed.
    Contended,
    /// Anything else is a fault of the service.
    Broken,
}

impl DatabaseFailure {
    fn of(error: &sqlx::Error) -> Self {
        match error {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Self::Unreachable,
            sqlx::Error::Database(database) => match database.code().as_deref() {
                Some(code) => Self::of_sqlstate(code),
                None => Self::Broken,
            },
            _ => Self::Broken,
        }
    }

    fn of_sqlstate(code: &str) -> Self {
        match code.get(..2) {
            // Connection exception, insufficient resources, operator intervention.
            Some("08" | "53" | "57") => Self::Unreachable,
            Some("22") => Self::RefusedValue,
            Some("40") => Self::Contended,
            _ => Self::Broken,
        }
    }
}

pub fn from_database(error: sqlx::Error) -> Status {
    from_store(StoreError::Database(error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_are_sorted_by_whose_fault_they_are() {
        for (code, failure) in [
            ("22021", DatabaseFailure::RefusedValue),
            ("22001", DatabaseFailure::RefusedValue),
            ("22P02", DatabaseFailure::RefusedValue),
            ("08006", DatabaseFailure::Unreachable),
            ("53300", DatabaseFailure::Unreachable),
            ("57P01", DatabaseFailure::Unreachable),
            ("40001", DatabaseFailure::Contended),
            ("40P01", DatabaseFailure::Contended),
            ("42601", DatabaseFailure::Broken),
            ("23505", DatabaseFailure::Broken),
            ("X", DatabaseFailure::Broken),
        ] {
            assert_eq!(DatabaseFailure::of_sqlstate(code), failure, "{code}");
        }
        assert_eq!(
            DatabaseFailure::of(&sqlx::Error::PoolTimedOut),
            DatabaseFailure::Unreachable
        );
        assert_eq!(
            DatabaseFailure::of(&sqlx::Error::RowNotFound),
            DatabaseFailure::Broken
        );
    }
}
