//! Who did something, for which tenant, and why: carried by every event.

use uuid::Uuid;

use crate::fingerprint::RequestFingerprint;

/// Metadata stored with every event, so the event store is also the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMetadata {
    pub tenant_id: Uuid,
    /// Who caused the event: a user's subject, or `service:<name>` for reactions.
    pub actor: String,
    /// Shared by everything one original request caused, across services.
    pub correlation_id: Uuid,
    /// The message (event or request) that directly caused this event.
    pub causation_id: Option<Uuid>,
    /// W3C trace context of the command, so one trace can follow it everywhere.
    pub traceparent: Option<String>,
}

/// Everything a command carries besides its own fields.
#[derive(Debug, Clone)]
pub struct CommandContext {
    pub metadata: EventMetadata,
    /// The version the client last saw; a different current version is a conflict.
    pub expected_version: Option<i64>,
    /// Idempotency key: a retried request returns the first outcome and appends nothing.
    pub request_id: Option<String>,
    /// What the request asked for, logged with the request id's outcome: a
    /// later use of the id with another fingerprint, or for another stream
    /// type, is [`crate::CommandError::RequestMismatch`], never the first
    /// outcome. The caller computes it because only the caller knows which
    /// parts of a request the client chose (see [`RequestFingerprint`]).
    /// `None`: only the stream type is compared.
    pub fingerprint: Option<RequestFingerprint>,
}

impl CommandContext {
    /// A context with fresh correlation, no expectations and no request id.
    pub fn new(tenant_id: Uuid, actor: impl Into<String>) -> Self {
        Self {
            metadata: EventMetadata {
                tenant_id,
                actor: actor.into(),
                correlation_id: Uuid::now_v7(),
                causation_id: None,
                traceparent: None,
            },
            expected_version: None,
            request_id: None,
            fingerprint: None,
        }
    }

    pub fn tenant_id(&self) -> Uuid {
        self.metadata.tenant_id
    }
}
