//! The one place this service chooses gRPC codes.

use tonic::Status;
use tonic_types::{ErrorDetails, StatusExt};
use tracing::error;

/// A malformed request field: `INVALID_ARGUMENT` with a field violation.
pub fn invalid_field(field: &str, description: &str) -> Status {
    let details = ErrorDetails::with_bad_request_violation(field, description);
    Status::with_error_details(
        tonic::Code::InvalidArgument,
        format!("{field}: {description}"),
        details,
    )
}

/// An infrastructure failure: logged with its cause, never sent to the client.
pub fn unavailable(error: sqlx::Error) -> Status {
    error!(error = %error, "database failure");
    Status::unavailable("the service cannot reach its database; retry later")
}
