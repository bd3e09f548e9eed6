//! Employment contracts: their kinds, the recurring window of seasonal work,
//! the rules every contract keeps, and the kinds of contract change.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::FieldViolation;
use super::calendar::{MonthDay, parse_date};
use super::field_violation::{FieldViolations, field_path};
use super::text::shorten;

/// The kind of an employment contract. Permanent contracts form the core
/// workforce; every other kind is flexible capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ContractKind {
    Permanent,
    FixedTerm,
    Freelance,
    Project,
    Seasonal,
}

impl ContractKind {
    /// Every kind, in the order of the contract's enum.
    pub const ALL: [ContractKind; 5] = [
        Self::Permanent,
        Self::FixedTerm,
        Self::Freelance,
        Self::Project,
        Self::Seasonal,
    ];

    /// Whether a contract of this kind must have an end date.
    pub fn requires_end(self) -> bool {
        matches!(self, Self::FixedTerm | Self::Project | Self::Seasonal)
    }

    /// Whether this kind belongs to the core workforce (only permanent does).
    pub fn is_core(self) -> bool {
        self == Self::Permanent
    }
}

impl fmt::Display for ContractKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Permanent => "permanent",
            Self::FixedTerm => "fixed-term",
            Self::Freelance => "freelance",
            Self::Project => "project",
            Self::Seasonal => "seasonal",
        })
    }
}

/// What kind of change a contract change is; see [`ContractChangeKind::explain_mismatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ContractChangeKind {
    /// Same kind, a later end date or none.
    Extend,
    /// Another kind, e.g. freelance to permanent.
    Convert,
    /// Only the hours per week change.
    ChangeHours,
    /// Any other change.
    Other,
}

impl ContractChangeKind {
    /// Why going from `old` to `new` is not a change of this kind, or `None`
    /// when it is. (`old` and `new` differ.)
    pub fn explain_mismatch(self, old: &Contract, new: &Contract) -> Option<String> {
        match self {
            Self::Extend if new.kind != old.kind => Some(format!(
                "an extension keeps the contract kind ({}), it does not make it {}",
                old.kind, new.kind
            )),
            Self::Extend => match (old.end, new.end) {
                (None, _) => Some("an open-ended contract cannot be extended".to_owned()),
                (Some(old_end), Some(new_end)) if new_end <= old_end => Some(format!(
                    "an extension moves the end date later than {old_end} (or removes it), not to {new_end}"
                )),
                _ => None,
            },
            Self::Convert if new.kind == old.kind => Some(format!(
                "a conversion changes the contract kind, but it stays {}",
                old.kind
            )),
            Self::ChangeHours
                if new.kind != old.kind
                    || new.start != old.start
                    || new.end != old.end
                    || new.season != old.season =>
            {
                Some("a change of hours changes only the hours per week".to_owned())
            }
            Self::ChangeHours if new.hours_per_week == old.hours_per_week => {
                Some("a change of hours changes the hours per week".to_owned())
            }
            Self::Convert | Self::ChangeHours | Self::Other => None,
        }
    }
}

impl fmt::Display for ContractChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Extend => "extension",
            Self::Convert => "conversion",
            Self::ChangeHours => "change of hours",
            Self::Other => "change",
        })
    }
}

/// The recurring window of seasonal work, the same every year; it may wrap
/// the new year (`11-15` to `02-28`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SeasonWindow {
    start: MonthDay,
    end: MonthDay,
}

impl SeasonWindow {
    /// Parses the `MM-DD` first and last days of the season (the violations
    /// name `<field>.start` and `<field>.end`).
    pub fn parse(field: &str, start: &str, end: &str) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = FieldViolations::new();
        let start = violations.check(MonthDay::parse(&field_path(field, "start"), start));
        let end = violations.check(MonthDay::parse(&field_path(field, "end"), end));
        match (start, end) {
            (Some(start), Some(end)) => Ok(Self { start, end }),
            _ => Err(violations.into_vec()),
        }
    }

    pub fn start(self) -> MonthDay {
        self.start
    }

    pub fn end(self) -> MonthDay {
        self.end
    }

    /// Whether the season runs over the new year.
    pub fn wraps_new_year(self) -> bool {
        self.start > self.end
    }
}

impl fmt::Display for SeasonWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} to {}", self.start, self.end)
    }
}

/// The parts of a contract as a client or a stored event gives them, before
/// the rules are checked. Text is in the contract's forms (`YYYY-MM-DD`,
/// `MM-DD`).
#[derive(Debug, Clone, Copy)]
pub struct ContractTerms<'a> {
    /// `None` when the kind is missing or not one this code knows.
    pub kind: Option<ContractKind>,
    pub start_date: &'a str,
    pub end_date: Option<&'a str>,
    pub hours_per_week: f64,
    /// The season's first and last day, `MM-DD`.
    pub season_window: Option<(&'a str, &'a str)>,
}

/// An employment contract that keeps the rules: a kind; an end date for
/// fixed-term, project and seasonal contracts, never before the start;
/// 0 < hours per week <= 60; a season window for seasonal contracts only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contract {
    kind: ContractKind,
    start: NaiveDate,
    end: Option<NaiveDate>,
    hours_per_week: f64,
    season: Option<SeasonWindow>,
}

impl Contract {
    pub const MAX_HOURS_PER_WEEK: f64 = 60.0;

    /// Checks every rule and reports every broken one, each named by its
    /// field under `field` (e.g. `contract.end_date`).
    pub fn parse(field: &str, terms: ContractTerms<'_>) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = FieldViolations::new();
        let path = |child: &str| field_path(field, child);

        let kind = terms.kind;
        if kind.is_none() {
            violations.push(
                path("kind"),
                "must be one of permanent, fixed_term, freelance, project or seasonal",
            );
        }
        let start = violations.check(parse_date(&path("start_date"), terms.start_date));
        let end = match terms.end_date {
            Some(raw) => violations
                .check(parse_date(&path("end_date"), raw))
                .map(Some),
            None => Some(None),
        };
        if let (Some(kind), Some(None)) = (kind, end)
            && kind.requires_end()
        {
            violations.push(
                path("end_date"),
                format!("is required for a {kind} contract"),
            );
        }
        if let (Some(start), Some(Some(end))) = (start, end)
            && end < start
        {
            violations.push(
                path("end_date"),
                format!("{end} is before the start date {start}"),
            );
        }

        let hours = terms.hours_per_week;
        if !(hours > 0.0 && hours <= Self::MAX_HOURS_PER_WEEK) {
            violations.push(
                path("hours_per_week"),
                format!("must be more than 0 and at most 60, not {hours}"),
            );
        }

        let season = match (kind, terms.season_window) {
            (Some(ContractKind::Seasonal), Some((first, last))) => violations
                .check_all(SeasonWindow::parse(&path("season_window"), first, last))
                .map(Some),
            (Some(ContractKind::Seasonal), None) => {
                violations.push(path("season_window"), "is required for a seasonal contract");
                None
            }
            (Some(kind), Some((first, last))) => {
                violations.push(
                    path("season_window"),
                    format!(
                        "is only for seasonal contracts, not {kind} ({}-{})",
                        shorten(first),
                        shorten(last)
                    ),
                );
                None
            }
            (_, None) => Some(None),
            (None, Some(_)) => None,
        };

        match (kind, start, end, season) {
            (Some(kind), Some(start), Some(end), Some(season)) if violations.is_empty() => {
                Ok(Self {
                    kind,
                    start,
                    end,
                    hours_per_week: hours,
                    season,
                })
            }
            _ => Err(violations.into_vec()),
        }
    }

    pub fn kind(&self) -> ContractKind {
        self.kind
    }

    /// The first day of the contract.
    pub fn start(&self) -> NaiveDate {
        self.start
    }

    /// The last day of the contract; `None` when open-ended.
    pub fn end(&self) -> Option<NaiveDate> {
        self.end
    }

    pub fn hours_per_week(&self) -> f64 {
        self.hours_per_week
    }

    /// The season window; set only for seasonal contracts.
    pub fn season(&self) -> Option<SeasonWindow> {
        self.season
    }
}

impl fmt::Display for Contract {
    /// E.g. "fixed-term, 32 h/week, 2026-03-01 to 2027-02-28".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, {} h/week, ", self.kind, self.hours_per_week)?;
        match self.end {
            Some(end) => write!(f, "{} to {end}", self.start)?,
            None => write!(f, "from {}", self.start)?,
        }
        match self.season {
            Some(season) => write!(f, ", season {season}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(kind: ContractKind) -> ContractTerms<'static> {
        ContractTerms {
            kind: Some(kind),
            start_date: "2026-03-01",
            end_date: None,
            hours_per_week: 40.0,
            season_window: None,
        }
    }

    fn fields(result: Result<Contract, Vec<FieldViolation>>) -> Vec<String> {
        result.unwrap_err().into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn a_permanent_contract_is_open_ended() {
        let contract = Contract::parse("contract", terms(ContractKind::Permanent)).unwrap();
        assert_eq!(contract.kind(), ContractKind::Permanent);
        assert_eq!(
            contract.start(),
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
        );
        assert_eq!(contract.end(), None);
        assert_eq!(
            contract.to_string(),
            "permanent, 40 h/week, from 2026-03-01"
        );
    }

    #[test]
    fn fixed_term_project_and_seasonal_need_an_end_date() {
        for kind in [ContractKind::FixedTerm, ContractKind::Project] {
            assert_eq!(
                fields(Contract::parse("contract", terms(kind))),
                ["contract.end_date"]
            );
        }
        let seasonal = ContractTerms {
            season_window: Some(("03-01", "10-31")),
            ..terms(ContractKind::Seasonal)
        };
        assert_eq!(
            fields(Contract::parse("contract", seasonal)),
            ["contract.end_date"]
        );
        let freelance = Contract::parse("contract", terms(ContractKind::Freelance));
        assert!(freelance.is_ok());
    }

    #[test]
    fn the_end_is_never_before_the_start() {
        let backwards = ContractTerms {
            end_date: Some("2026-02-28"),
            ..terms(ContractKind::FixedTerm)
        };
        assert_eq!(
            fields(Contract::parse("contract", backwards)),
            ["contract.end_date"]
        );
        let one_day = ContractTerms {
            end_date: Some("2026-03-01"),
            ..terms(ContractKind::FixedTerm)
        };
        assert!(Contract::parse("contract", one_day).is_ok());
    }

    #[test]
    fn hours_are_more_than_zero_and_at_most_sixty() {
        for hours in [0.0, -8.0, 60.5, f64::NAN, f64::INFINITY] {
            let contract = ContractTerms {
                hours_per_week: hours,
                ..terms(ContractKind::Permanent)
            };
            assert_eq!(
                fields(Contract::parse("contract", contract)),
                ["contract.hours_per_week"],
                "{hours}"
            );
        }
        for hours in [0.5, 60.0] {
            let contract = ContractTerms {
                hours_per_week: hours,
                ..terms(ContractKind::Permanent)
            };
            assert!(Contract::parse("contract", contract).is_ok(), "{hours}");
        }
    }

    #[test]
    fn only_seasonal_contracts_have_a_season_window() {
        let seasonal = ContractTerms {
            end_date: Some("2026-10-31"),
            season_window: Some(("11-15", "02-28")),
            ..terms(ContractKind::Seasonal)
        };
        let contract = Contract::parse("contract", seasonal).unwrap();
        assert!(contract.season().unwrap().wraps_new_year());

        let without = ContractTerms {
            season_window: None,
            ..seasonal
        };
        assert_eq!(
            fields(Contract::parse("contract", without)),
            ["contract.season_window"]
        );
        let permanent = ContractTerms {
            season_window: Some(("03-01", "10-31")),
            ..terms(ContractKind::Permanent)
        };
        assert_eq!(
            fields(Contract::parse("contract", permanent)),
            ["contract.season_window"]
        );
        let bad_days = ContractTerms {
            season_window: Some(("02-30", "13-01")),
            ..seasonal
        };
        assert_eq!(
            fields(Contract::parse("contract", bad_days)),
            ["contract.season_window.start", "contract.season_window.end"]
        );
    }

    #[test]
    fn every_broken_rule_is_reported_at_once() {
        let bad = ContractTerms {
            kind: None,
            start_date: "2026-02-30",
            end_date: Some("soon"),
            hours_per_week: -1.0,
            season_window: None,
        };
        assert_eq!(
            fields(Contract::parse("contract", bad)),
            [
                "contract.kind",
                "contract.start_date",
                "contract.end_date",
                "contract.hours_per_week"
            ]
        );
    }

    #[test]
    fn change_kinds_describe_what_changed() {
        let fixed = |end: &'static str, hours: f64| {
            Contract::parse(
                "c",
                ContractTerms {
                    end_date: Some(end),
                    hours_per_week: hours,
                    ..terms(ContractKind::FixedTerm)
                },
            )
            .unwrap()
        };
        let permanent = Contract::parse("c", terms(ContractKind::Permanent)).unwrap();
        let old = fixed("2026-12-31", 40.0);

        assert_eq!(
            ContractChangeKind::Extend.explain_mismatch(&old, &fixed("2027-12-31", 40.0)),
            None
        );
        assert!(
            ContractChangeKind::Extend
                .explain_mismatch(&old, &fixed("2026-06-30", 40.0))
                .is_some()
        );
        assert!(
            ContractChangeKind::Extend
                .explain_mismatch(&old, &permanent)
                .is_some()
        );
        assert!(
            ContractChangeKind::Extend
                .explain_mismatch(&permanent, &fixed("2027-12-31", 40.0))
                .is_some()
        );
        assert_eq!(
            ContractChangeKind::Convert.explain_mismatch(&old, &permanent),
            None
        );
        assert!(
            ContractChangeKind::Convert
                .explain_mismatch(&old, &fixed("2027-12-31", 40.0))
                .is_some()
        );
        assert_eq!(
            ContractChangeKind::ChangeHours.explain_mismatch(&old, &fixed("2026-12-31", 32.0)),
            None
        );
        assert!(
            ContractChangeKind::ChangeHours
                .explain_mismatch(&old, &fixed("2027-12-31", 32.0))
                .is_some()
        );
        assert_eq!(
            ContractChangeKind::Other.explain_mismatch(&old, &permanent),
            None
        );
    }
}
