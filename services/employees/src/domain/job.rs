//! Where and as what someone works: their department and role title.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::FieldViolation;
use super::text::parse_line;

/// The department an employee works in, e.g. "Platform": 1..=200 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Department(String);

/// A role title, e.g. "Senior Nurse": 1..=200 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoleTitle(String);

macro_rules! single_line_label {
    ($name:ident) => {
        impl $name {
            pub const MAX_CHARS: usize = 200;

            /// Trims `raw` and checks it is one line of 1..=200 characters.
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

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

single_line_label!(Department);
single_line_label!(RoleTitle);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_trimmed_and_bounded() {
        assert_eq!(
            Department::parse("department", " Platform ")
                .unwrap()
                .as_str(),
            "Platform"
        );
        assert_eq!(
            RoleTitle::parse("role_title", "Senior Nurse")
                .unwrap()
                .to_string(),
            "Senior Nurse"
        );
        assert!(Department::parse("department", "").is_err());
        assert!(RoleTitle::parse("role_title", &"r".repeat(201)).is_err());
        assert!(RoleTitle::parse("role_title", "Lead\u{1b}[31m").is_err());
    }
}
