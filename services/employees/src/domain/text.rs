//! Text a person typed: single-line labels (names, titles) and free text
//! (notes, reasons), trimmed and bounded so nothing unreadable is stored.

use serde::{Deserialize, Serialize};

use super::FieldViolation;

/// Trims `raw` and checks it is a single line of 1..=`max_chars` characters
/// without control characters.
pub(crate) fn parse_line(
    field: &str,
    raw: &str,
    max_chars: usize,
) -> Result<String, FieldViolation> {
    parse_text(field, raw, max_chars, |c| c.is_control())
}

/// Trims `raw` and checks it holds 1..=`max_chars` characters; line breaks
/// and tabs are allowed, other control characters are not.
pub(crate) fn parse_paragraphs(
    field: &str,
    raw: &str,
    max_chars: usize,
) -> Result<String, FieldViolation> {
    parse_text(field, raw, max_chars, |c| {
        c.is_control() && !matches!(c, '\n' | '\r' | '\t')
    })
}

fn parse_text(
    field: &str,
    raw: &str,
    max_chars: usize,
    forbidden: fn(char) -> bool,
) -> Result<String, FieldViolation> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(FieldViolation::new(field, "must not be empty"));
    }
    let length = text.chars().count();
    if length > max_chars {
        return Err(FieldViolation::new(
            field,
            format!("must be at most {max_chars} characters, not {length}"),
        ));
    }
    if text.chars().any(forbidden) {
        return Err(FieldViolation::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(text.to_owned())
}

/// The start of a long client value, so an error message stays readable.
pub(crate) fn shorten(raw: &str) -> String {
    const MAX: usize = 40;
    if raw.chars().count() <= MAX {
        raw.to_owned()
    } else {
        format!("{}…", raw.chars().take(MAX).collect::<String>())
    }
}

/// Free text: a note, or the reason a departure was withdrawn, backdated or
/// ended. Trimmed, 1..=2000 characters, may span lines.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FreeText(String);

impl FreeText {
    pub const MAX_CHARS: usize = 2000;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldViolation> {
        parse_paragraphs(field, raw, Self::MAX_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for FreeText {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_trimmed_bounded_and_printable() {
        assert_eq!(parse_line("f", "  Platform \t", 10).unwrap(), "Platform");
        assert!(parse_line("f", "   ", 10).is_err());
        assert!(parse_line("f", "elevenchars", 10).is_err());
        assert!(parse_line("f", "two\nlines", 10).is_err());
        // Characters, not bytes, are counted.
        assert!(parse_line("f", "éééééééééé", 10).is_ok());
    }

    #[test]
    fn free_text_may_span_lines() {
        let text = FreeText::parse("note", " Moving abroad.\nWill stay in touch. ").unwrap();
        assert_eq!(text.as_str(), "Moving abroad.\nWill stay in touch.");
        assert!(FreeText::parse("note", "bell\u{7}").is_err());
        assert!(FreeText::parse("note", &"x".repeat(2001)).is_err());
    }
}
