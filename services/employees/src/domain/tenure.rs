//! Tenure periods (one per employment; a boomerang has two or more) and the
//! length of service they add up to.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{Contract, Employee, SeparationType};

/// One employment of a person, from a hire or rehire to its end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenurePeriod {
    /// The first day of the employment.
    pub start: NaiveDate,
    /// The last day of the employment; `None` while it lasts.
    pub end: Option<NaiveDate>,
    /// The contract at the end of the employment, or the current one while it lasts.
    pub contract: Contract,
    /// Why the employment ended; `None` while it lasts.
    pub separation_type: Option<SeparationType>,
}

impl TenurePeriod {
    /// The days of this period up to and including `reference`, the first and
    /// the last day both counted; 0 when it starts after `reference`. A
    /// recorded end after `reference` is not counted beyond `reference`.
    pub fn days_served(&self, reference: NaiveDate) -> i64 {
        let last = self.end.map_or(reference, |end| end.min(reference));
        if last < self.start {
            0
        } else {
            (last - self.start).num_days() + 1
        }
    }
}

/// Days of continuous service on `reference` (as_of, or the tenant's today):
/// the length of the current tenure period, or of the last one for a left
/// employee, both ends included. 0 for someone not (yet) hired.
pub fn continuous_service_days(employee: &Employee, reference: NaiveDate) -> i64 {
    employee
        .tenure_periods
        .last()
        .map_or(0, |period| period.days_served(reference))
}

/// Days of cumulative service on `reference`: the sum of all tenure periods,
/// the open one counted up to and including `reference`.
pub fn cumulative_service_days(employee: &Employee, reference: NaiveDate) -> i64 {
    employee
        .tenure_periods
        .iter()
        .map(|period| period.days_served(reference))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::testing::fixtures::*;
    use crate::domain::{
        ContractKind, EmployeeEvent, EmployeeRehired, EmploymentEnded, FreeText, ReasonCode,
        employee_as_of,
    };

    fn period(start: &str, end: Option<&str>) -> TenurePeriod {
        TenurePeriod {
            start: date(start),
            end: end.map(date),
            contract: permanent(start),
            separation_type: None,
        }
    }

    #[test]
    fn both_the_first_and_the_last_day_count() {
        assert_eq!(
            period("2026-03-01", None).days_served(date("2026-03-01")),
            1
        );
        assert_eq!(
            period("2026-03-01", None).days_served(date("2026-03-31")),
            31
        );
        assert_eq!(
            period("2026-01-01", Some("2026-12-31")).days_served(date("2030-01-01")),
            365
        );
        // A leap year has 366 days.
        assert_eq!(
            period("2028-01-01", Some("2028-12-31")).days_served(date("2030-01-01")),
            366
        );
    }

    #[test]
    fn nothing_counts_before_the_start_or_after_the_reference() {
        assert_eq!(
            period("2026-03-01", None).days_served(date("2026-02-28")),
            0
        );
        assert_eq!(
            period("2026-03-01", Some("2026-12-31")).days_served(date("2026-03-10")),
            10
        );
    }

    fn boomerang() -> Vec<EmployeeEvent> {
        vec![
            ada_hired("2026-01-01"),
            EmployeeEvent::EmploymentEnded(EmploymentEnded {
                employee_id: ada_id(),
                effective_date: date("2026-01-31"),
                reason: FreeText::parse("reason", "moved").unwrap(),
                separation_type: crate::domain::SeparationType::Voluntary,
                reason_code: ReasonCode::parse("reason_code", "relocation").unwrap(),
                regrettable: Some(false),
                period_start_date: date("2026-01-01"),
                contract: permanent("2026-01-01"),
                role_title: role("Engineer"),
                department: department("Platform"),
            }),
            EmployeeEvent::Rehired(EmployeeRehired {
                employee_id: ada_id(),
                effective_date: date("2026-03-01"),
                contract: contract(ContractKind::Seasonal, "2026-03-01", Some("2026-10-31")),
                role_title: role("Engineer"),
                department: department("Platform"),
                manager_id: None,
            }),
        ]
    }

    #[test]
    fn continuous_service_is_the_current_period() {
        let events = boomerang();
        let now = employee_as_of(&events, date("2026-03-10")).unwrap();
        assert_eq!(continuous_service_days(&now, date("2026-03-10")), 10);
        // A left employee: the length of the last period.
        let between = employee_as_of(&events, date("2026-02-15")).unwrap();
        assert_eq!(continuous_service_days(&between, date("2026-02-15")), 31);
    }

    #[test]
    fn cumulative_service_adds_every_period() {
        let events = boomerang();
        let now = employee_as_of(&events, date("2026-03-10")).unwrap();
        assert_eq!(cumulative_service_days(&now, date("2026-03-10")), 31 + 10);
        let between = employee_as_of(&events, date("2026-02-15")).unwrap();
        assert_eq!(cumulative_service_days(&between, date("2026-02-15")), 31);
    }

    #[test]
    fn someone_not_hired_has_no_service() {
        let nobody = Employee::default();
        assert_eq!(continuous_service_days(&nobody, date("2026-03-10")), 0);
        assert_eq!(cumulative_service_days(&nobody, date("2026-03-10")), 0);
    }
}
