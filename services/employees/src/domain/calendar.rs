//! Calendar dates as the contract writes them: `YYYY-MM-DD` dates in the
//! tenant's time zone, and `MM-DD` days of a recurring yearly window.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::FieldViolation;
use super::text::shorten;

/// Parses an ISO 8601 calendar date, exactly `YYYY-MM-DD`; a date that does
/// not exist (`2026-02-30`) is refused.
pub fn parse_date(field: &str, raw: &str) -> Result<NaiveDate, FieldViolation> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(FieldViolation::new(
            field,
            "is required (a date YYYY-MM-DD)",
        ));
    }
    let [year, month, day] = split_digits::<3>(raw, &[4, 2, 2]).ok_or_else(|| {
        FieldViolation::new(
            field,
            format!("{:?} is not a date in the form YYYY-MM-DD", shorten(raw)),
        )
    })?;
    NaiveDate::from_ymd_opt(year as i32, month, day)
        .filter(|_| year >= 1)
        .ok_or_else(|| FieldViolation::new(field, format!("{raw} is not a day in the calendar")))
}

/// The text form of a date, `YYYY-MM-DD`.
pub fn format_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// A day of the year without a year, e.g. `03-01`; the 29th of February is
/// allowed (it exists in leap years).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MonthDay {
    month: u32,
    day: u32,
}

impl MonthDay {
    /// Parses `MM-DD`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldViolation> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(FieldViolation::new(field, "is required (a day MM-DD)"));
        }
        let [month, day] = split_digits::<2>(raw, &[2, 2]).ok_or_else(|| {
            FieldViolation::new(
                field,
                format!(
                    "{:?} is not a day of the year in the form MM-DD",
                    shorten(raw)
                ),
            )
        })?;
        // 2000 is a leap year, so every day that exists in some year is accepted.
        NaiveDate::from_ymd_opt(2000, month, day)
            .map(|_| Self { month, day })
            .ok_or_else(|| FieldViolation::new(field, format!("{raw} is not a day of the year")))
    }

    pub fn month(self) -> u32 {
        self.month
    }

    pub fn day(self) -> u32 {
        self.day
    }
}

impl fmt::Display for MonthDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

/// Splits `raw` at `-` into `N` groups of exactly the given numbers of ASCII
/// digits, or `None`.
fn split_digits<const N: usize>(raw: &str, widths: &[usize; N]) -> Option<[u32; N]> {
    let mut parts = raw.split('-');
    let mut values = [0; N];
    for (value, width) in values.iter_mut().zip(widths) {
        let part = parts.next()?;
        if part.len() != *width || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *value = part.parse().ok()?;
    }
    parts.next().is_none().then_some(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iso_dates_and_formats_them_back() {
        let date = parse_date("start_date", " 2026-03-01 ").unwrap();
        assert_eq!(date, NaiveDate::from_ymd_opt(2026, 3, 1).unwrap());
        assert_eq!(format_date(date), "2026-03-01");
        assert!(parse_date("d", "2028-02-29").is_ok());
    }

    #[test]
    fn refuses_impossible_and_malformed_dates() {
        for raw in [
            "",
            "2026-02-30",
            "2027-02-29",
            "2026-13-01",
            "2026-3-1",
            "26-03-01",
            "2026/03/01",
            "+2026-03-01",
            "2026-03-01T00:00",
            "0000-01-01",
            "2026-03-01-01",
        ] {
            let violation = parse_date("start_date", raw).unwrap_err();
            assert_eq!(violation.field, "start_date", "{raw:?}");
        }
        assert!(
            parse_date("d", "2026-02-30")
                .unwrap_err()
                .description
                .contains("not a day in the calendar")
        );
    }

    #[test]
    fn parses_days_of_the_year() {
        let day = MonthDay::parse("season_window.start", "02-29").unwrap();
        assert_eq!((day.month(), day.day()), (2, 29));
        assert_eq!(day.to_string(), "02-29");
        for raw in ["", "02-30", "13-01", "3-01", "03-1", "2026-03-01", "0301"] {
            assert!(MonthDay::parse("s", raw).is_err(), "{raw:?}");
        }
    }
}
