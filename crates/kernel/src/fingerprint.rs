//! What a request asked for, kept with its outcome in the request log, so a
//! request id reused for a different request is refused instead of answered
//! with another request's outcome.

use sha2::{Digest, Sha256};

/// The kind of a request and a SHA-256 digest of its content.
///
/// The caller chooses the content: it must be a stable encoding of what the
/// client asked for, the same bytes for a retry in any later release, and
/// must leave out whatever the server fills in itself (drawn ids, today's
/// date, facts looked up), or a retry would look like a different request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFingerprint {
    kind: String,
    digest: Vec<u8>,
}

impl RequestFingerprint {
    /// The fingerprint of a request of `kind` (e.g. `"HireEmployee"`) whose
    /// canonical encoding is `content`.
    pub fn new(kind: impl Into<String>, content: &[u8]) -> Self {
        let kind = kind.into();
        let mut hasher = Sha256::new();
        // The kind's length first, so no kind and content can be shifted
        // into another pair with the same bytes.
        hasher.update((kind.len() as u64).to_le_bytes());
        hasher.update(kind.as_bytes());
        hasher.update(content);
        Self {
            kind,
            digest: hasher.finalize().to_vec(),
        }
    }

    /// A fingerprint as the request log stored it.
    pub fn from_stored(kind: String, digest: Vec<u8>) -> Self {
        Self { kind, digest }
    }

    /// The kind of request, e.g. `"HireEmployee"`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The digest of kind and content; equal digests mean the same request.
    pub fn digest(&self) -> &[u8] {
        &self.digest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_requests_have_equal_fingerprints() {
        let first = RequestFingerprint::new("Open", b"ada");
        assert_eq!(first, RequestFingerprint::new("Open", b"ada"));
        assert_eq!(first.digest().len(), 32);
        assert_eq!(first.kind(), "Open");
    }

    #[test]
    fn another_kind_or_content_is_another_request() {
        let first = RequestFingerprint::new("Open", b"ada");
        assert_ne!(first, RequestFingerprint::new("Open", b"bob"));
        assert_ne!(first, RequestFingerprint::new("Close", b"ada"));
        // The kind's boundary is part of the digest.
        assert_ne!(
            RequestFingerprint::new("ab", b"c").digest(),
            RequestFingerprint::new("a", b"bc").digest()
        );
    }

    #[test]
    fn the_digest_is_pinned() {
        // Stored fingerprints must match those a later release computes.
        let digest = RequestFingerprint::new("Open", b"ada").digest().to_vec();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "2db7ba3fd05b832dc05e83a01504da20e44874edab87cd7fa9398b1bc5768a2c"
        );
    }
}
