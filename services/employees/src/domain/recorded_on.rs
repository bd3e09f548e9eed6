//! The day an imported record stands on: when the source system recorded the
//! change. It takes the place of "today" in the commands that are otherwise
//! effective the day they are made, so that a history can be replayed through
//! the same rules as live commands.

use chrono::NaiveDate;

use super::{FieldViolation, parse_date};

/// The day a record was recorded: `today` when `raw` is empty, else a date
/// not after `today` (a source system cannot have recorded the future).
pub fn parse_recorded_on(
    field: &str,
    raw: &str,
    today: NaiveDate,
) -> Result<NaiveDate, FieldViolation> {
    if raw.trim().is_empty() {
        return Ok(today);
    }
    let day = parse_date(field, raw)?;
    if day > today {
        return Err(FieldViolation::new(
            field,
            format!("{day} is after today ({today}); a change cannot have been recorded yet"),
        ));
    }
    Ok(day)
}

#[cfg(test)]
mod tests;
