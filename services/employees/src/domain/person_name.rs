//! A person's given or family name as they want it written.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::FieldViolation;
use super::text::parse_line;

/// A given or family name: trimmed, 1..=200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldViolation> {
        parse_line(field, raw, Self::MAX_CHARS).map(Self)
    }

    /// The placeholder of an employee not yet hired; `parse` never returns it.
    pub(crate) fn unset() -> Self {
        Self(String::new())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for PersonName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_trimmed() {
        assert_eq!(
            PersonName::parse("given_name", "  Ada ").unwrap().as_str(),
            "Ada"
        );
        assert_eq!(
            PersonName::parse("given_name", "Zoë-Anne O'Brien")
                .unwrap()
                .as_str(),
            "Zoë-Anne O'Brien"
        );
    }

    #[test]
    fn empty_long_or_control_names_are_refused() {
        for raw in ["", "   ", "Ada\u{0}", "Ada\nLovelace"] {
            assert!(PersonName::parse("given_name", raw).is_err(), "{raw:?}");
        }
        assert!(PersonName::parse("given_name", &"a".repeat(200)).is_ok());
        let violation = PersonName::parse("given_name", &"a".repeat(10_000)).unwrap_err();
        assert_eq!(violation.field, "given_name");
        assert!(violation.description.contains("at most 200"));
    }
}
