//! A work email address, unique within a tenant and compared without case.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::FieldViolation;
use super::text::shorten;

/// A work email address: trimmed and lowercased, `local@domain` with an ASCII
/// local part (dot-atom) and a domain of at least two DNS labels. Quoted local
/// parts, IP-literal domains and internationalised addresses are refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WorkEmail(String);

impl WorkEmail {
    pub const MAX_CHARS: usize = 254;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldViolation> {
        let email = raw.trim().to_ascii_lowercase();
        if email.is_empty() {
            return Err(FieldViolation::new(field, "must not be empty"));
        }
        let invalid = |why: &str| {
            FieldViolation::new(
                field,
                format!("{:?} is not a valid email address: {why}", shorten(&email)),
            )
        };
        if email.len() > Self::MAX_CHARS {
            return Err(FieldViolation::new(
                field,
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err(invalid("it has no @"));
        };
        if !valid_local_part(local) {
            return Err(invalid("the part before the @ is not a plain address"));
        }
        if !valid_domain(domain) {
            return Err(invalid("the part after the @ is not a domain name"));
        }
        Ok(Self(email))
    }

    /// The placeholder of an employee not yet hired; `parse` never returns it.
    pub(crate) fn unset() -> Self {
        Self(String::new())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for WorkEmail {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WorkEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An RFC 5322 dot-atom of at most 64 characters.
fn valid_local_part(local: &str) -> bool {
    const SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-";
    (1..=64).contains(&local.len())
        && local.split('.').all(|atom| {
            !atom.is_empty()
                && atom
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || SPECIALS.contains(c))
        })
}

/// Two or more DNS labels of letters, digits and inner hyphens; the top-level
/// label is not all digits.
fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|label| {
            (1..=63).contains(&label.len())
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
        && labels
            .last()
            .is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lowercased() {
        let email = WorkEmail::parse("work_email", " Ada.Lovelace+hr@Example.CO.uk ").unwrap();
        assert_eq!(email.as_str(), "ada.lovelace+hr@example.co.uk");
    }

    #[test]
    fn malformed_addresses_are_refused() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        for raw in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "ada@exa mple.com",
            "a da@example.com",
            ".ada@example.com",
            "ada.@example.com",
            "ada..l@example.com",
            "ada@-example.com",
            "ada@example-.com",
            "ada@example..com",
            "ada@1.2.3.4",
            "\"ada\"@example.com",
            "adä@example.com",
            long_local.as_str(),
        ] {
            let violation = WorkEmail::parse("work_email", raw).unwrap_err();
            assert_eq!(violation.field, "work_email", "{raw:?}");
        }
    }
}
