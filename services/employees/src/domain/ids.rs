//! Identifiers in their canonical text form: employee ids are UUIDs.

use uuid::Uuid;

use super::FieldViolation;
use super::text::shorten;

/// Parses a UUID in its canonical hyphenated form
/// (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`); the nil UUID names no one.
pub fn parse_id(field: &str, raw: &str) -> Result<Uuid, FieldViolation> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(FieldViolation::new(field, "is required"));
    }
    match Uuid::try_parse(raw) {
        Ok(id) if raw.len() == 36 && !id.is_nil() => Ok(id),
        Ok(id) if id.is_nil() => Err(FieldViolation::new(field, "must not be the nil UUID")),
        _ => Err(FieldViolation::new(
            field,
            format!(
                "{:?} is not a UUID in canonical form (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                shorten(raw)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_canonical_uuids_in_either_case() {
        let id = parse_id("employee_id", "0190A5B8-6C2E-7D3A-9F10-0123456789AB").unwrap();
        assert_eq!(id.to_string(), "0190a5b8-6c2e-7d3a-9f10-0123456789ab");
    }

    #[test]
    fn rejects_empty_nil_and_other_forms() {
        for raw in [
            "",
            "nope",
            "0190a5b86c2e7d3a9f100123456789ab",
            "{0190a5b8-6c2e-7d3a-9f10-0123456789ab}",
            "00000000-0000-0000-0000-000000000000",
        ] {
            let violation = parse_id("employee_id", raw).unwrap_err();
            assert_eq!(violation.field, "employee_id", "{raw}");
        }
    }
}
