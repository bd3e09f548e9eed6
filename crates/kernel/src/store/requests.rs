//! Idempotency: the outcome of each command that carried a request id, and
//! what that request asked for.

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::EventStore;
use crate::error::StoreError;
use crate::fingerprint::RequestFingerprint;

/// What a request id did the first time, and what it asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousOutcome {
    pub stream_id: Uuid,
    pub version: i64,
    /// The aggregate's stream type; `None` in rows logged before it was kept.
    pub stream_type: Option<String>,
    /// `None` in rows logged before fingerprints were kept, or when the
    /// caller gave none.
    pub fingerprint: Option<RequestFingerprint>,
}

impl PreviousOutcome {
    /// Whether a request on `stream_type` with `fingerprint` is the request
    /// logged here, so its outcome may be returned. What either side does not
    /// know (rows logged before, callers without a fingerprint) is not
    /// compared: such a reuse answers with the first outcome, as it always did.
    pub fn is_same_request(
        &self,
        stream_type: &str,
        fingerprint: Option<&RequestFingerprint>,
    ) -> bool {
        let same_type = self
            .stream_type
            .as_deref()
            .is_none_or(|logged| logged == stream_type);
        let same_content = match (&self.fingerprint, fingerprint) {
            (Some(logged), Some(now)) => logged == now,
            _ => true,
        };
        same_type && same_content
    }
}

type RequestRow = (Uuid, i64, Option<String>, Option<String>, Option<Vec<u8>>);

impl EventStore {
    /// The first outcome of `request_id`, if it was executed before.
    pub async fn find_request(
        &self,
        tenant_id: Uuid,
        request_id: &str,
    ) -> Result<Option<PreviousOutcome>, StoreError> {
        find(self.pool(), tenant_id, request_id).await
    }

    /// Like [`Self::find_request`], in the caller's transaction: it sees the
    /// requests this transaction logged.
    pub async fn find_request_in(
        &self,
        conn: &mut PgConnection,
        tenant_id: Uuid,
        request_id: &str,
    ) -> Result<Option<PreviousOutcome>, StoreError> {
        find(conn, tenant_id, request_id).await
    }
}

async fn find<'c>(
    executor: impl PgExecutor<'c>,
    tenant_id: Uuid,
    request_id: &str,
) -> Result<Option<PreviousOutcome>, StoreError> {
    let row: Option<RequestRow> = sqlx::query_as(
        "SELECT stream_id, version, stream_type, command_kind, fingerprint \
         FROM command_log WHERE tenant_id = $1 AND request_id = $2",
    )
    .bind(tenant_id)
    .bind(request_id)
    .fetch_optional(executor)
    .await?;
    Ok(row.map(
        |(stream_id, version, stream_type, kind, digest)| PreviousOutcome {
            stream_id,
            version,
            stream_type,
            fingerprint: kind
                .zip(digest)
                .map(|(kind, digest)| RequestFingerprint::from_stored(kind, digest)),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logged(
        stream_type: Option<&str>,
        fingerprint: Option<RequestFingerprint>,
    ) -> PreviousOutcome {
        PreviousOutcome {
            stream_id: Uuid::nil(),
            version: 1,
            stream_type: stream_type.map(str::to_owned),
            fingerprint,
        }
    }

    #[test]
    fn a_retry_is_the_same_request() {
        let open = RequestFingerprint::new("Open", b"ada");
        let row = logged(Some("ledger"), Some(open.clone()));
        assert!(row.is_same_request("ledger", Some(&open)));
    }

    #[test]
    fn another_stream_type_kind_or_content_is_another_request() {
        let open = RequestFingerprint::new("Open", b"ada");
        let row = logged(Some("ledger"), Some(open.clone()));
        assert!(!row.is_same_request("account", Some(&open)));
        assert!(!row.is_same_request("account", None));
        assert!(!row.is_same_request("ledger", Some(&RequestFingerprint::new("Open", b"bob"))));
        assert!(!row.is_same_request("ledger", Some(&RequestFingerprint::new("Close", b"ada"))));
    }

    #[test]
    fn what_either_side_does_not_know_is_not_compared() {
        let open = RequestFingerprint::new("Open", b"ada");
        // A row logged before fingerprints were kept.
        assert!(logged(None, None).is_same_request("ledger", Some(&open)));
        // A caller that gives no fingerprint.
        assert!(logged(Some("ledger"), Some(open.clone())).is_same_request("ledger", None));
        // A row whose caller gave none.
        assert!(logged(Some("ledger"), None).is_same_request("ledger", Some(&open)));
    }
}
