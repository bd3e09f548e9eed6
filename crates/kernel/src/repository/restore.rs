//! Whether a stored snapshot can stand in for the events before it.
//!
//! A snapshot is used only if it decodes into the aggregate's state and that
//! state encodes back to the same JSON value: a field added, removed or
//! renamed since the snapshot was written then means "replay the events",
//! without anyone bumping [`crate::Aggregate::SNAPSHOT_VERSION`]. Values are
//! compared as [`serde_json::Value`], so the order of keys does not matter.

use serde_json::Value;

use crate::aggregate::Aggregate;

/// Why a stored snapshot was not used. The text names the state's fields,
/// never a stored value, so it may be logged: states hold personal data.
#[derive(Debug, thiserror::Error)]
pub enum UnusableSnapshot {
    #[error("it is not JSON ({category} error at line {line}, column {column})")]
    NotJson {
        category: &'static str,
        line: usize,
        column: usize,
    },
    #[error("it does not decode into the state: {difference}")]
    Undecodable { difference: String },
    #[error("another version of the state wrote it: {difference}")]
    ShapeChanged { difference: String },
}

impl UnusableSnapshot {
    /// True when the snapshot is damaged or unreadable, rather than merely
    /// written by a state of another shape (which a deploy makes expected).
    pub fn is_undecodable(&self) -> bool {
        !matches!(self, UnusableSnapshot::ShapeChanged { .. })
    }
}

/// The state in a stored snapshot, if the snapshot can be used. A state that
/// does not survive this round trip would be replayed on every load, so an
/// aggregate's tests can check with it that a snapshot of its state is used.
pub fn restore<A: Aggregate>(bytes: &[u8]) -> Result<A, UnusableSnapshot> {
    let stored: Value =
        serde_json::from_slice(bytes).map_err(|error| UnusableSnapshot::NotJson {
            category: category(&error),
            line: error.line(),
            column: error.column(),
        })?;
    // Only when the snapshot is refused: the fields the code knows.
    let reference = || serde_json::to_value(A::default()).unwrap_or(Value::Null);
    // Against the default state only the types of values can be compared.
    let state = A::deserialize(&stored).map_err(|_| {
        let default = reference();
        UnusableSnapshot::Undecodable {
            difference: difference(&stored, &default, &default, |stored, default| {
                !default.is_null() && json_type(stored) != json_type(default)
            }),
        }
    })?;
    match serde_json::to_value(&state) {
        Ok(encoded) if encoded == stored => Ok(state),
        Ok(encoded) => Err(UnusableSnapshot::ShapeChanged {
            difference: difference(&stored, &encoded, &reference(), |stored, encoded| {
                stored != encoded
            }),
        }),
        Err(_) => Err(UnusableSnapshot::ShapeChanged {
            difference: "the state cannot be encoded as JSON".to_owned(),
        }),
    }
}

fn category(error: &serde_json::Error) -> &'static str {
    match error.classify() {
        serde_json::error::Category::Io => "read",
        serde_json::error::Category::Syntax => "syntax",
        serde_json::error::Category::Data => "data",
        serde_json::error::Category::Eof => "end of input",
    }
}

/// How `stored` differs from `expected` at the top level, naming only the
/// fields the code knows (those of `reference`, the default state): a state
/// may be a map keyed by personal data, whose keys must not be logged.
/// `differs` tells whether a field's stored value differs from the expected.
fn difference(
    stored: &Value,
    expected: &Value,
    reference: &Value,
    differs: fn(&Value, &Value) -> bool,
) -> String {
    let (Value::Object(stored), Value::Object(expected)) = (stored, expected) else {
        return format!(
            "it holds a JSON {}, the state is a JSON {}",
            json_type(stored),
            json_type(expected)
        );
    };
    let known = |key: &String| reference.get(key).is_some();
    let missing: Vec<&str> = expected
        .keys()
        .filter(|key| !stored.contains_key(*key) && known(key))
        .map(String::as_str)
        .collect();
    let unknown = stored
        .keys()
        .filter(|key| !expected.contains_key(*key))
        .count();
    let changed: Vec<&str> = expected
        .iter()
        .filter(|(key, value)| known(key) && stored.get(*key).is_some_and(|s| differs(s, value)))
        .map(|(key, _)| key.as_str())
        .collect();
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing fields {}", missing.join(", ")));
    }
    if unknown > 0 {
        parts.push(format!("fields the state does not have: {unknown}"));
    }
    if parts.is_empty() && !changed.is_empty() {
        parts.push(format!("fields of another shape {}", changed.join(", ")));
    }
    if parts.is_empty() {
        "a value of another shape".to_owned()
    } else {
        parts.join("; ")
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    struct Counter {
        name: String,
        count: u32,
        #[serde(default)]
        tags: Vec<String>,
    }

    impl Aggregate for Counter {
        const STREAM_TYPE: &'static str = "counter";
        type Event = Never;
        type Command = ();
        type Rejection = std::io::Error;

        fn decide(&self, _: &()) -> Result<Vec<Never>, std::io::Error> {
            Ok(Vec::new())
        }

        fn evolve(&mut self, _: &Never) {}
    }

    #[derive(Debug, Clone)]
    enum Never {}

    impl crate::DomainEvent for Never {
        fn event_type(&self) -> &'static str {
            match *self {}
        }
        fn encode(&self) -> Vec<u8> {
            match *self {}
        }
        fn decode(data: &crate::EventData) -> Result<Self, crate::CodecError> {
            Err(crate::CodecError::UnknownType {
                event_type: data.event_type.clone(),
            })
        }
    }

    fn restored(json: &str) -> Result<Counter, UnusableSnapshot> {
        restore::<Counter>(json.as_bytes())
    }

    #[test]
    fn a_snapshot_of_the_current_shape_is_used_whatever_its_key_order() {
        let state = restored(r#"{"count": 3, "tags": ["x"], "name": "a"}"#).unwrap();
        assert_eq!(state.count, 3);
        assert_eq!(state.tags, ["x"]);
    }

    #[test]
    fn damaged_snapshots_are_not_used() {
        let not_json = restored("{\"name\": ").unwrap_err();
        assert!(
            matches!(not_json, UnusableSnapshot::NotJson { .. }),
            "{not_json}"
        );
        assert!(not_json.is_undecodable());
        let wrong_type = restored(r#"{"name": "a", "count": "three", "tags": []}"#).unwrap_err();
        assert_eq!(
            wrong_type.to_string(),
            "it does not decode into the state: fields of another shape count"
        );
        let array = restored("[1, 2]").unwrap_err();
        assert_eq!(
            array.to_string(),
            "it does not decode into the state: it holds a JSON array, the state is a JSON object"
        );
    }

    #[test]
    fn a_snapshot_missing_a_required_field_names_it() {
        let missing = restored(r#"{"name": "a", "tags": []}"#).unwrap_err();
        assert!(missing.is_undecodable());
        assert_eq!(
            missing.to_string(),
            "it does not decode into the state: missing fields count"
        );
    }

    #[test]
    fn a_nested_change_names_the_top_level_field() {
        // `tags` held numbers in an older shape; they decode as nothing else.
        let nested = restored(r#"{"name": "a", "count": 1, "tags": [1]}"#).unwrap_err();
        assert_eq!(
            nested.to_string(),
            "it does not decode into the state: a value of another shape"
        );
    }

    #[test]
    fn a_field_added_or_removed_since_the_snapshot_means_replay() {
        // `tags` has a default: the old snapshot decodes, but is not the
        // current shape.
        let added = restored(r#"{"name": "a", "count": 1}"#).unwrap_err();
        assert!(!added.is_undecodable());
        assert_eq!(
            added.to_string(),
            "another version of the state wrote it: missing fields tags"
        );
        // A field the state no longer has, named by count only.
        let removed = restored(r#"{"name": "a", "count": 1, "tags": [], "ada": 2}"#).unwrap_err();
        assert_eq!(
            removed.to_string(),
            "another version of the state wrote it: fields the state does not have: 1"
        );
        assert!(!removed.to_string().contains("ada"));
    }
}
