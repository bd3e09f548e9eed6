//! Hybrid-work agreements: when, where and how an employee and their manager
//! work together. Every new version replaces the previous one as a whole.

use std::fmt;

use chrono::{NaiveDate, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

use super::FieldViolation;
use super::calendar::parse_date;
use super::field_violation::{FieldViolations, field_path};
use super::text::parse_paragraphs;
use super::text::shorten;

/// The hours in which the employee is reachable, start before end, in the
/// tenant's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CoreHours {
    start: NaiveTime,
    end: NaiveTime,
}

impl CoreHours {
    pub fn start(self) -> NaiveTime {
        self.start
    }

    pub fn end(self) -> NaiveTime {
        self.end
    }
}

impl fmt::Display for CoreHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}–{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

/// The parts of an agreement as a client or a stored event gives them.
/// Weekdays a caller could not read are left out (and reported by it).
#[derive(Debug, Clone, Copy)]
pub struct WorkAgreementTerms<'a> {
    pub office_days: &'a [Weekday],
    pub remote_days: &'a [Weekday],
    /// `HH:MM`, or empty when no core hours are agreed.
    pub core_hours_start: &'a str,
    /// `HH:MM`, or empty when no core hours are agreed.
    pub core_hours_end: &'a str,
    pub agreements: &'a [String],
    /// `YYYY-MM-DD`.
    pub agreed_on: &'a str,
    /// `YYYY-MM-DD`, when a review is planned.
    pub review_date: Option<&'a str>,
}

/// A hybrid-work agreement that keeps the rules: no day is both an office and
/// a remote day or listed twice; core hours both set or both empty, start
/// before end; at most 20 agreements of 1..=500 characters; the review date,
/// when set, is not before the date it was agreed on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkAgreement {
    office_days: Vec<Weekday>,
    remote_days: Vec<Weekday>,
    core_hours: Option<CoreHours>,
    agreements: Vec<String>,
    agreed_on: NaiveDate,
    review_date: Option<NaiveDate>,
}

impl WorkAgreement {
    pub const MAX_AGREEMENTS: usize = 20;
    pub const MAX_AGREEMENT_CHARS: usize = 500;

    /// Checks every rule and reports every broken one, each named by its
    /// field under `field` (e.g. `agreement.remote_days[1]`).
    pub fn parse(field: &str, terms: WorkAgreementTerms<'_>) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = FieldViolations::new();
        let path = |child: &str| field_path(field, child);

        let mut seen: Vec<Weekday> = Vec::new();
        for (list, days) in [
            ("office_days", terms.office_days),
            ("remote_days", terms.remote_days),
        ] {
            for (index, day) in days.iter().enumerate() {
                if seen.contains(day) {
                    let other = if terms.office_days.contains(day) {
                        "an office day"
                    } else {
                        "a remote day"
                    };
                    let what = if days.iter().take(index).any(|d| d == day) {
                        "listed twice".to_owned()
                    } else {
                        format!("already {other}")
                    };
                    violations.push(
                        path(&format!("{list}[{index}]")),
                        format!("{} is {what}", weekday_name(*day)),
                    );
                }
                seen.push(*day);
            }
        }

        let core_hours = violations.check_all(parse_core_hours(
            field,
            terms.core_hours_start,
            terms.core_hours_end,
        ));

        if terms.agreements.len() > Self::MAX_AGREEMENTS {
            violations.push(
                path("agreements"),
                format!(
                    "must hold at most {} agreements, not {}",
                    Self::MAX_AGREEMENTS,
                    terms.agreements.len()
                ),
            );
        }
        let agreements: Vec<String> = terms
            .agreements
            .iter()
            .enumerate()
            .filter_map(|(index, raw)| {
                violations.check(parse_paragraphs(
                    &path(&format!("agreements[{index}]")),
                    raw,
                    Self::MAX_AGREEMENT_CHARS,
                ))
            })
            .collect();

        let agreed_on = violations.check(parse_date(&path("agreed_on"), terms.agreed_on));
        let review_date = match terms.review_date {
            Some(raw) => violations
                .check(parse_date(&path("review_date"), raw))
                .map(Some),
            None => Some(None),
        };
        if let (Some(agreed_on), Some(Some(review))) = (agreed_on, review_date)
            && review < agreed_on
        {
            violations.push(
                path("review_date"),
                format!("{review} is before the agreement date {agreed_on}"),
            );
        }

        match (core_hours, agreed_on, review_date) {
            (Some(core_hours), Some(agreed_on), Some(review_date)) if violations.is_empty() => {
                Ok(Self {
                    office_days: terms.office_days.to_vec(),
                    remote_days: terms.remote_days.to_vec(),
                    core_hours,
                    agreements,
                    agreed_on,
                    review_date,
                })
            }
            _ => Err(violations.into_vec()),
        }
    }

    pub fn office_days(&self) -> &[Weekday] {
        &self.office_days
    }

    pub fn remote_days(&self) -> &[Weekday] {
        &self.remote_days
    }

    pub fn core_hours(&self) -> Option<CoreHours> {
        self.core_hours
    }

    pub fn agreements(&self) -> &[String] {
        &self.agreements
    }

    /// The date the agreement was made and from which it applies.
    pub fn agreed_on(&self) -> NaiveDate {
        self.agreed_on
    }

    pub fn review_date(&self) -> Option<NaiveDate> {
        self.review_date
    }
}

/// Both empty: no core hours; otherwise both `HH:MM` with start before end.
fn parse_core_hours(
    field: &str,
    start: &str,
    end: &str,
) -> Result<Option<CoreHours>, Vec<FieldViolation>> {
    let (start_field, end_field) = (
        field_path(field, "core_hours_start"),
        field_path(field, "core_hours_end"),
    );
    let (start, end) = (start.trim(), end.trim());
    match (start.is_empty(), end.is_empty()) {
        (true, true) => return Ok(None),
        (false, true) => {
            return Err(vec![FieldViolation::new(
                end_field,
                "is required when core_hours_start is set",
            )]);
        }
        (true, false) => {
            return Err(vec![FieldViolation::new(
                start_field,
                "is required when core_hours_end is set",
            )]);
        }
        (false, false) => {}
    }
    let mut violations = FieldViolations::new();
    let start = violations.check(parse_clock_time(&start_field, start));
    let end = violations.check(parse_clock_time(&end_field, end));
    match (start, end) {
        (Some(start), Some(end)) if start < end => Ok(Some(CoreHours { start, end })),
        (Some(start), Some(end)) => Err(vec![FieldViolation::new(
            end_field,
            format!(
                "{} is not after the start {}",
                end.format("%H:%M"),
                start.format("%H:%M")
            ),
        )]),
        _ => Err(violations.into_vec()),
    }
}

/// Parses `HH:MM` on a 24-hour clock, exactly two digits each.
fn parse_clock_time(field: &str, raw: &str) -> Result<NaiveTime, FieldViolation> {
    let invalid = || {
        FieldViolation::new(
            field,
            format!("{:?} is not a time of day in the form HH:MM", shorten(raw)),
        )
    };
    let (hours, minutes) = raw.split_once(':').ok_or_else(invalid)?;
    let two_digits = |part: &str| part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(hours) || !two_digits(minutes) {
        return Err(invalid());
    }
    let (hours, minutes) = (
        hours.parse().map_err(|_| invalid())?,
        minutes.parse().map_err(|_| invalid())?,
    );
    NaiveTime::from_hms_opt(hours, minutes, 0).ok_or_else(invalid)
}

/// The English name of a weekday, e.g. "Monday".
pub fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms() -> WorkAgreementTerms<'static> {
        WorkAgreementTerms {
            office_days: &[Weekday::Mon, Weekday::Tue],
            remote_days: &[Weekday::Wed, Weekday::Thu, Weekday::Fri],
            core_hours_start: "10:00",
            core_hours_end: "15:00",
            agreements: &[],
            agreed_on: "2026-03-01",
            review_date: Some("2026-09-01"),
        }
    }

    fn fields(terms: WorkAgreementTerms<'_>) -> Vec<String> {
        WorkAgreement::parse("agreement", terms)
            .unwrap_err()
            .into_iter()
            .map(|v| v.field)
            .collect()
    }

    #[test]
    fn a_valid_agreement_keeps_its_parts() {
        let agreements = ["  team day on Tuesday ".to_owned()];
        let agreement = WorkAgreement::parse(
            "agreement",
            WorkAgreementTerms {
                agreements: &agreements,
                ..terms()
            },
        )
        .unwrap();
        assert_eq!(agreement.office_days(), [Weekday::Mon, Weekday::Tue]);
        assert_eq!(agreement.core_hours().unwrap().to_string(), "10:00–15:00");
        assert_eq!(agreement.agreements(), ["team day on Tuesday"]);
        assert_eq!(agreement.review_date(), NaiveDate::from_ymd_opt(2026, 9, 1));
    }

    #[test]
    fn a_day_is_not_both_office_and_remote_nor_listed_twice() {
        let overlap = WorkAgreementTerms {
            remote_days: &[Weekday::Wed, Weekday::Mon],
            ..terms()
        };
        assert_eq!(fields(overlap), ["agreement.remote_days[1]"]);
        let twice = WorkAgreementTerms {
            office_days: &[Weekday::Mon, Weekday::Mon],
            ..terms()
        };
        assert_eq!(fields(twice), ["agreement.office_days[1]"]);
    }

    #[test]
    fn core_hours_are_both_set_or_both_empty_and_start_before_end() {
        let none = WorkAgreementTerms {
            core_hours_start: "",
            core_hours_end: "",
            ..terms()
        };
        assert_eq!(
            WorkAgreement::parse("agreement", none)
                .unwrap()
                .core_hours(),
            None
        );
        assert_eq!(
            fields(WorkAgreementTerms {
                core_hours_end: "",
                ..terms()
            }),
            ["agreement.core_hours_end"]
        );
        assert_eq!(
            fields(WorkAgreementTerms {
                core_hours_start: "",
                ..terms()
            }),
            ["agreement.core_hours_start"]
        );
        assert_eq!(
            fields(WorkAgreementTerms {
                core_hours_end: "09:00",
                ..terms()
            }),
            ["agreement.core_hours_end"]
        );
        assert_eq!(
            fields(WorkAgreementTerms {
                core_hours_end: "10:00",
                ..terms()
            }),
            ["agreement.core_hours_end"]
        );
        for bad in ["24:00", "9:00", "10:60", "10h", "10:00:00"] {
            assert_eq!(
                fields(WorkAgreementTerms {
                    core_hours_start: bad,
                    ..terms()
                }),
                ["agreement.core_hours_start"]
            );
        }
    }

    #[test]
    fn agreements_are_bounded() {
        let too_many = vec!["x".to_owned(); 21];
        assert_eq!(
            fields(WorkAgreementTerms {
                agreements: &too_many,
                ..terms()
            }),
            ["agreement.agreements"]
        );
        let bad = ["ok".to_owned(), " ".to_owned(), "y".repeat(501)];
        assert_eq!(
            fields(WorkAgreementTerms {
                agreements: &bad,
                ..terms()
            }),
            ["agreement.agreements[1]", "agreement.agreements[2]"]
        );
    }

    #[test]
    fn the_review_is_not_before_the_agreement() {
        assert_eq!(
            fields(WorkAgreementTerms {
                review_date: Some("2026-02-28"),
                ..terms()
            }),
            ["agreement.review_date"]
        );
        assert!(
            WorkAgreement::parse(
                "agreement",
                WorkAgreementTerms {
                    review_date: Some("2026-03-01"),
                    ..terms()
                }
            )
            .is_ok()
        );
        assert_eq!(
            fields(WorkAgreementTerms {
                agreed_on: "",
                ..terms()
            }),
            ["agreement.agreed_on"]
        );
    }
}
