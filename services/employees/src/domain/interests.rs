//! The interest tags an employee chose, so colleagues across teams can find
//! each other around what they share.

use serde::{Deserialize, Serialize};

use super::FieldViolation;
use super::field_violation::FieldViolations;
use super::text::parse_line;

/// An employee's interest tags: each trimmed, 1..=50 characters; duplicates
/// (compared without case) dropped, the first spelling kept; at most 50.
/// The order the employee gave is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Interests(Vec<String>);

impl Interests {
    pub const MAX_TAGS: usize = 50;
    pub const MAX_TAG_CHARS: usize = 50;

    /// Parses the tags at `field` (violations name `field[i]`).
    pub fn parse(field: &str, raw: &[String]) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = FieldViolations::new();
        let mut tags: Vec<String> = Vec::new();
        for (index, raw) in raw.iter().enumerate() {
            let Some(tag) = violations.check(parse_line(
                &format!("{field}[{index}]"),
                raw,
                Self::MAX_TAG_CHARS,
            )) else {
                continue;
            };
            if !tags
                .iter()
                .any(|kept| kept.to_lowercase() == tag.to_lowercase())
            {
                tags.push(tag);
            }
        }
        if tags.len() > Self::MAX_TAGS {
            violations.push(
                field,
                format!(
                    "must hold at most {} different tags, not {}",
                    Self::MAX_TAGS,
                    tags.len()
                ),
            );
        }
        if violations.is_empty() {
            Ok(Self(tags))
        } else {
            Err(violations.into_vec())
        }
    }

    pub fn tags(&self) -> &[String] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether both hold exactly the same tags, in any order.
    pub fn same_tags_as(&self, other: &Interests) -> bool {
        let mut mine = self.0.clone();
        let mut theirs = other.0.clone();
        mine.sort();
        theirs.sort();
        mine == theirs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(tags: &[&str]) -> Vec<String> {
        tags.iter().map(|t| (*t).to_owned()).collect()
    }

    #[test]
    fn tags_are_trimmed_and_deduplicated_keeping_order() {
        let interests = Interests::parse(
            "tags",
            &strings(&[" rust", "Running ", "rust", "RUST", "photography"]),
        )
        .unwrap();
        assert_eq!(interests.tags(), ["rust", "Running", "photography"]);
        assert!(Interests::parse("tags", &[]).unwrap().is_empty());
    }

    #[test]
    fn empty_or_long_tags_are_refused_by_position() {
        let violations =
            Interests::parse("tags", &strings(&["rust", "  ", &"x".repeat(51)])).unwrap_err();
        let fields: Vec<_> = violations.into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["tags[1]", "tags[2]"]);
    }

    #[test]
    fn at_most_fifty_different_tags() {
        let fifty: Vec<String> = (0..50).map(|i| format!("tag{i}")).collect();
        assert!(Interests::parse("tags", &fifty).is_ok());
        let mut fifty_one = fifty.clone();
        fifty_one.push("one more".to_owned());
        assert_eq!(
            Interests::parse("tags", &fifty_one).unwrap_err()[0].field,
            "tags"
        );
        // Duplicates do not count against the limit.
        let mut with_duplicates = fifty;
        with_duplicates.push("TAG0".to_owned());
        assert!(Interests::parse("tags", &with_duplicates).is_ok());
    }

    #[test]
    fn the_same_tags_in_another_order_are_the_same() {
        let a = Interests::parse("tags", &strings(&["rust", "running"])).unwrap();
        let b = Interests::parse("tags", &strings(&["running", "rust"])).unwrap();
        let c = Interests::parse("tags", &strings(&["Rust", "running"])).unwrap();
        assert!(a.same_tags_as(&b));
        assert!(!a.same_tags_as(&c));
    }
}
