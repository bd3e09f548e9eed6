//! The state of an employee on a past (or present) date, replayed from the
//! events as they are known now.
//!
//! The events whose effective date is on or before the date are applied in
//! stream order (the order they were recorded); the others are left out. So
//! on a given date an employee is:
//! - not yet hired (`None`) before the first day of their first employment;
//! - `leaving` from the day the departure was announced, even though the last
//!   working day lies later, and still `leaving` after the last working day
//!   until the day employment ended;
//! - `left` from the day employment ended (its last day, `EmploymentEnded`'s
//!   effective date) on, as the events contract states; service-day counts
//!   still include that day;
//! - `active` again from the day a departure was withdrawn or a rehire started.
//!
//! A backdated departure (announced after its last working day) shows as
//! `active` up to the day it was announced, unless the employment had
//! already ended by then: what was known to take effect, not what was
//! recorded later about an earlier day.

use chrono::NaiveDate;
use tenure_kernel::Aggregate;

use super::{Employee, EmployeeEvent};

/// The employee on `date`, or `None` when they were not yet hired on it.
pub fn employee_as_of(events: &[EmployeeEvent], date: NaiveDate) -> Option<Employee> {
    let mut employee = Employee::default();
    for event in events.iter().filter(|event| event.effective_date() <= date) {
        employee.evolve(event);
    }
    employee.is_hired().then_some(employee)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::testing::fixtures::*;
    use crate::domain::testing::given;
    use crate::domain::*;

    /// Hired 2026-03-01, role change from 2026-09-01, departure announced
    /// 2026-11-01 for 2026-12-31, ended 2026-12-31, rehired 2027-06-01.
    fn boomerang() -> Vec<EmployeeEvent> {
        let reason = |raw: &str| FreeText::parse("reason", raw).unwrap();
        vec![
            ada_hired("2026-03-01"),
            EmployeeEvent::RoleChanged(RoleChanged {
                employee_id: ada_id(),
                effective_date: date("2026-09-01"),
                role_title: role("Team Lead"),
                department: department("Platform"),
            }),
            EmployeeEvent::DepartureAnnounced(DepartureAnnounced {
                employee_id: ada_id(),
                effective_date: date("2026-11-01"),
                separation_type: SeparationType::Voluntary,
                reason_code: ReasonCode::parse("reason_code", "better_offer").unwrap(),
                regrettable: Some(true),
                last_working_day: date("2026-12-31"),
                note: None,
                backdate_reason: None,
                contract_kind: ContractKind::Permanent,
                department: department("Platform"),
                role_title: role("Team Lead"),
            }),
            EmployeeEvent::EmploymentEnded(EmploymentEnded {
                employee_id: ada_id(),
                effective_date: date("2026-12-31"),
                reason: reason("offboarding completed"),
                separation_type: SeparationType::Voluntary,
                reason_code: ReasonCode::parse("reason_code", "better_offer").unwrap(),
                regrettable: Some(true),
                period_start_date: date("2026-03-01"),
                contract: permanent("2026-03-01"),
                role_title: role("Team Lead"),
                department: department("Platform"),
            }),
            EmployeeEvent::Rehired(EmployeeRehired {
                employee_id: ada_id(),
                effective_date: date("2027-06-01"),
                contract: contract(ContractKind::Freelance, "2027-06-01", None),
                role_title: role("Consultant"),
                department: department("Platform"),
                manager_id: None,
            }),
        ]
    }

    fn on(raw: &str) -> Option<Employee> {
        employee_as_of(&boomerang(), date(raw))
    }

    #[test]
    fn nobody_before_the_first_day() {
        assert_eq!(on("2026-02-28"), None);
        assert_eq!(employee_as_of(&[], date("2030-01-01")), None);
    }

    #[test]
    fn the_state_on_each_day_of_the_story() {
        let status = |raw: &str| on(raw).and_then(|employee| employee.status());
        assert_eq!(status("2026-03-01"), Some(EmployeeStatus::Active));
        assert_eq!(on("2026-08-31").unwrap().role_title.as_str(), "Engineer");
        assert_eq!(on("2026-09-01").unwrap().role_title.as_str(), "Team Lead");
        assert_eq!(status("2026-10-31"), Some(EmployeeStatus::Active));
        // Announced, last working day still ahead: leaving.
        assert_eq!(status("2026-11-01"), Some(EmployeeStatus::Leaving));
        assert_eq!(status("2026-12-30"), Some(EmployeeStatus::Leaving));
        // Employment ended on its last day: left from that day.
        assert_eq!(status("2026-12-31"), Some(EmployeeStatus::Left));
        assert_eq!(status("2027-05-31"), Some(EmployeeStatus::Left));
        let back = on("2027-06-01").unwrap();
        assert_eq!(back.status(), Some(EmployeeStatus::Active));
        assert_eq!(back.tenure_periods.len(), 2);
        assert_eq!(back.role_title.as_str(), "Consultant");
    }

    #[test]
    fn the_latest_date_gives_the_current_state() {
        let events = boomerang();
        let mut current = Employee::default();
        for event in &events {
            current.evolve(event);
        }
        assert_eq!(employee_as_of(&events, date("2099-12-31")), Some(current));
    }

    #[test]
    fn a_backdated_departure_is_known_from_the_day_it_was_announced() {
        // Announced on 2026-05-10 with a last working day of 2026-04-30, then ended on that day.
        let hired = ada_hired("2026-03-01");
        let announced = given([hired.clone()])
            .when(EmployeeCommand::AnnounceDeparture(AnnounceDeparture {
                separation_type: SeparationType::Involuntary,
                reason_code: ReasonCode::parse("reason_code", "misconduct").unwrap(),
                regrettable: None,
                last_working_day: date("2026-04-30"),
                note: None,
                backdate_reason: Some(FreeText::parse("backdate_reason", "recorded late").unwrap()),
                today: date("2026-05-10"),
                reason_codes: None,
            }))
            .then_events();
        let mut events = vec![hired];
        events.extend(announced);
        let ended = given(events.clone())
            .when(EmployeeCommand::EndEmployment(EndEmployment {
                ended_on: date("2026-04-30"),
                reason: FreeText::parse("reason", "dismissed").unwrap(),
            }))
            .then_events();
        events.extend(ended);

        let status =
            |raw: &str| employee_as_of(&events, date(raw)).and_then(|employee| employee.status());
        assert_eq!(status("2026-04-29"), Some(EmployeeStatus::Active));
        // The end took effect on 2026-04-30, before the announcement was recorded.
        assert_eq!(status("2026-05-01"), Some(EmployeeStatus::Left));
        let on_may_first = employee_as_of(&events, date("2026-05-01")).unwrap();
        assert_eq!(
            on_may_first.tenure_periods[0].separation_type,
            Some(SeparationType::Involuntary)
        );
        assert_eq!(status("2026-05-10"), Some(EmployeeStatus::Left));
    }

    #[test]
    fn a_change_recorded_before_a_future_start_applies_from_the_start() {
        // Hired on 2026-01-15 to start on 2026-03-01; interests set on 2026-02-01.
        let interests = EmployeeEvent::InterestsChanged(InterestsChanged {
            employee_id: ada_id(),
            effective_date: date("2026-02-01"),
            tags: Interests::parse("tags", &["rust".to_owned()]).unwrap(),
        });
        let events = [ada_hired("2026-03-01"), interests];
        assert_eq!(employee_as_of(&events, date("2026-02-15")), None);
        assert_eq!(
            employee_as_of(&events, date("2026-03-01"))
                .unwrap()
                .interests
                .tags(),
            ["rust"]
        );
    }
}
