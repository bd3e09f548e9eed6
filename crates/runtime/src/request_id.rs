//! The idempotency key a client sends with a command, checked where the
//! request is read: the store keeps it as text, which must be printable and
//! bounded (PostgreSQL refuses a NUL byte in text, for one).

use std::fmt;

/// A client's request id: trimmed, 1..=200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(String);

/// Why a request id was refused; the text completes "request_id …".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestIdError {
    #[error("must be at most {max} characters, not {length}", max = RequestId::MAX_CHARS)]
    TooLong { length: usize },
    #[error("must hold only printable characters, no control characters")]
    NotPrintable,
}

impl RequestId {
    pub const MAX_CHARS: usize = 200;

    /// The request id in `raw`; `None` when blank (the client sent none).
    pub fn parse(raw: &str) -> Result<Option<Self>, RequestIdError> {
        let id = raw.trim();
        if id.is_empty() {
            return Ok(None);
        }
        let length = id.chars().count();
        if length > Self::MAX_CHARS {
            return Err(RequestIdError::TooLong { length });
        }
        if id.chars().any(char::is_control) {
            return Err(RequestIdError::NotPrintable);
        }
        Ok(Some(Self(id.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_id_is_trimmed_and_blank_means_none() {
        let id = RequestId::parse("  order-42 ").unwrap().unwrap();
        assert_eq!(id.as_str(), "order-42");
        assert_eq!(RequestId::parse("").unwrap(), None);
        assert_eq!(RequestId::parse(" \t ").unwrap(), None);
        // Characters, not bytes, are counted.
        assert!(RequestId::parse(&"é".repeat(200)).unwrap().is_some());
    }

    #[test]
    fn long_or_unprintable_request_ids_are_refused() {
        assert_eq!(
            RequestId::parse(&"x".repeat(201)),
            Err(RequestIdError::TooLong { length: 201 })
        );
        for raw in [
            "a\u{0}b",
            "\u{0}",
            "a\nb",
            "a\u{7f}",
            "a\u{85}b",
            "a\u{1b}[31m",
        ] {
            assert_eq!(
                RequestId::parse(raw),
                Err(RequestIdError::NotPrintable),
                "{raw:?}"
            );
        }
        assert_eq!(
            RequestIdError::TooLong { length: 201 }.to_string(),
            "must be at most 200 characters, not 201"
        );
    }
}
