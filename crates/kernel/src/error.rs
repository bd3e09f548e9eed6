//! The kernel's errors: refused (a rule), conflicted (a version race) and
//! failed (infrastructure) are different cases, so callers can choose codes.

use uuid::Uuid;

use crate::aggregate::CodecError;

/// The store could not do its job: the database failed or data is unreadable.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database operation failed")]
    Database(#[from] sqlx::Error),
    #[error("stored event {version} of stream {stream_id} cannot be read")]
    Codec {
        stream_id: Uuid,
        version: i64,
        #[source]
        source: CodecError,
    },
    #[error("snapshot of stream {stream_id} cannot be read or written")]
    Snapshot {
        stream_id: Uuid,
        #[source]
        source: serde_json::Error,
    },
    #[error("read-model rows of stream {stream_id} cannot be encoded")]
    ProjectionRows {
        stream_id: Uuid,
        #[source]
        source: serde_json::Error,
    },
}

/// Why an append did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// Another append got the version first; nothing was written.
    #[error("stream {stream_id} is no longer at version {expected}")]
    Conflict { stream_id: Uuid, expected: i64 },
    /// The request id was already used; nothing was written.
    #[error("request {request_id:?} was already executed")]
    DuplicateRequest { request_id: String },
    /// The stream's last version was appended by a transaction that started
    /// after this one: appending now would put the new version before it in
    /// the global order. Nothing was written; only a new transaction can append.
    #[error("stream {stream_id} was appended by a newer transaction; retry in a new one")]
    OutOfOrder { stream_id: Uuid },
    /// A unique or check constraint of an inline projection refused the change.
    #[error("constraint {constraint} refused the change")]
    Constraint {
        constraint: String,
        #[source]
        source: sqlx::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AppendError {
    fn from(error: sqlx::Error) -> Self {
        classify(error)
    }
}

/// Sorts a database error from an append into conflict, constraint or failure.
fn classify(error: sqlx::Error) -> AppendError {
    let constraint = error
        .as_database_error()
        .filter(|db| {
            db.is_unique_violation() || db.is_check_violation() || db.is_foreign_key_violation()
        })
        .and_then(|db| db.constraint().map(str::to_owned));
    match constraint {
        Some(constraint) => AppendError::Constraint {
            constraint,
            source: error,
        },
        None => AppendError::Store(StoreError::Database(error)),
    }
}

/// Why a command did not produce its events.
#[derive(Debug, thiserror::Error)]
pub enum CommandError<R: std::error::Error + 'static> {
    /// The command breaks a business rule.
    #[error(transparent)]
    Rejected(R),
    /// The stream is not at the version the client expected, or stayed
    /// contended through every retry.
    #[error("stream {stream_id} is at version {actual}, not the expected {expected}")]
    Conflict {
        stream_id: Uuid,
        expected: i64,
        actual: i64,
    },
    /// A constraint of a read model refused the change (e.g. a unique email).
    #[error("constraint {constraint} refused the change")]
    Constraint { constraint: String },
    /// The request id was used before for a different request: one on
    /// another stream type, of another kind or with other content (its
    /// [`crate::RequestFingerprint`] differs). Nothing was written.
    #[error("request id {request_id:?} was already used for a different request")]
    RequestMismatch { request_id: String },
    /// Only from [`crate::Repository::execute_in`]: the caller's transaction
    /// is older than the stream's last append, so the command cannot append
    /// in it without breaking the global order. Roll the whole transaction
    /// back and run it again.
    #[error("stream {stream_id} was appended by a newer transaction; run the transaction again")]
    OutOfOrder { stream_id: Uuid },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl<R: std::error::Error + 'static> From<sqlx::Error> for CommandError<R> {
    fn from(error: sqlx::Error) -> Self {
        CommandError::Store(StoreError::Database(error))
    }
}

/// An error and its causes on one line, `outer: inner: root`, for logs and
/// the dead-letter table.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
