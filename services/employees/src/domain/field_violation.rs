//! A malformed field of a request or of a stored event, named by its proto
//! field path, and a collector so a client learns all its mistakes at once.

use std::fmt;

/// One malformed field: where it is (the proto field path, e.g.
/// `contract.end_date` or `tags[2]`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

impl fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// A malformed field inside a message from another service is an error of
/// that message (it ends in the dead-letter table with this text).
impl std::error::Error for FieldViolation {}

/// Collects the violations of a whole message while its fields are parsed one
/// by one. Every `None` that [`FieldViolations::check`] returns comes with a
/// recorded violation, so "all values present and nothing recorded" is the
/// only success.
#[derive(Debug, Default)]
pub struct FieldViolations(Vec<FieldViolation>);

impl FieldViolations {
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of an `Ok`; records the violation of an `Err`.
    pub fn check<T>(&mut self, result: Result<T, FieldViolation>) -> Option<T> {
        result.map_err(|violation| self.0.push(violation)).ok()
    }

    /// The value of an `Ok`; records every violation of an `Err`.
    pub fn check_all<T>(&mut self, result: Result<T, Vec<FieldViolation>>) -> Option<T> {
        result.map_err(|violations| self.0.extend(violations)).ok()
    }

    /// Records a violation.
    pub fn push(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The recorded violations.
    pub fn into_vec(self) -> Vec<FieldViolation> {
        self.0
    }
}

/// The path of `child` inside the message at `parent` (`""` is the top level).
pub fn field_path(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_owned()
    } else {
        format!("{parent}.{child}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_violation_and_keeps_good_values() {
        let mut violations = FieldViolations::new();
        let good: Option<u8> = violations.check(Ok(1));
        let bad: Option<u8> = violations.check(Err(FieldViolation::new("a", "wrong")));
        let more: Option<u8> = violations.check_all(Err(vec![
            FieldViolation::new("b", "x"),
            FieldViolation::new("c", "y"),
        ]));
        assert_eq!((good, bad, more), (Some(1), None, None));
        let fields: Vec<_> = violations.into_vec().into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["a", "b", "c"]);
    }

    #[test]
    fn nests_field_paths() {
        assert_eq!(field_path("", "end_date"), "end_date");
        assert_eq!(field_path("contract", "end_date"), "contract.end_date");
    }
}
