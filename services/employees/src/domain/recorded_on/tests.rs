//! The recorded day, and a whole past decided by the ordinary rules with each
//! record's recorded day as its "today".

use tenure_kernel::Aggregate;

use crate::domain::testing::fixtures::*;
use crate::domain::testing::given;
use crate::domain::*;

#[test]
fn an_empty_recorded_day_is_today_and_a_later_one_is_refused() {
    let today = date("2026-12-03");
    assert_eq!(parse_recorded_on("recorded_on", " ", today), Ok(today));
    assert_eq!(
        parse_recorded_on("recorded_on", "2019-04-30", today),
        Ok(date("2019-04-30"))
    );
    let later = parse_recorded_on("recorded_on", "2026-12-04", today).unwrap_err();
    assert_eq!(later.field, "recorded_on");
    assert!(later.description.contains("after today"), "{later}");
    let malformed = parse_recorded_on("recorded_on", "30.04.2019", today).unwrap_err();
    assert_eq!(malformed.field, "recorded_on");
}

fn departure(recorded_on: &str, last_working_day: &str) -> EmployeeCommand {
    EmployeeCommand::AnnounceDeparture(AnnounceDeparture {
        separation_type: SeparationType::Voluntary,
        reason_code: ReasonCode::parse("reason_code", "relocation").unwrap(),
        regrettable: Some(false),
        last_working_day: date(last_working_day),
        note: None,
        backdate_reason: None,
        today: date(recorded_on),
        reason_codes: None,
    })
}

#[test]
fn a_departure_of_the_past_announced_on_its_recorded_day_needs_no_backdate_reason() {
    let events = given([ada_hired("2018-01-02")])
        .when(departure("2019-03-01", "2019-04-30"))
        .then_events();
    let [EmployeeEvent::DepartureAnnounced(announced)] = events.as_slice() else {
        panic!("{events:?}");
    };
    assert_eq!(announced.effective_date, date("2019-03-01"));
    assert_eq!(announced.backdate_reason, None);
}

#[test]
fn a_last_working_day_before_the_recorded_day_is_still_a_backdate() {
    given([ada_hired("2018-01-02")])
        .when(departure("2019-05-10", "2019-04-30"))
        .then_rejects(RuleViolation::LastWorkingDayInPast {
            last_working_day: date("2019-04-30"),
            today: date("2019-05-10"),
        });
}

#[test]
fn a_whole_past_folds_through_the_ordinary_rules() {
    let history = [
        EmployeeCommand::ChangeRole(ChangeRole {
            role_title: role("Senior Engineer"),
            department: department("Platform"),
            effective_date: date("2018-07-01"),
        }),
        EmployeeCommand::ChangeContract(ChangeContract {
            change_kind: ContractChangeKind::Convert,
            contract: contract(ContractKind::FixedTerm, "2018-01-02", Some("2020-12-31")),
            effective_date: date("2018-09-01"),
        }),
        departure("2019-03-01", "2019-04-30"),
        EmployeeCommand::EndEmployment(EndEmployment {
            ended_on: date("2019-04-30"),
            reason: FreeText::parse("reason", "imported").unwrap(),
        }),
        EmployeeCommand::Rehire(RehireEmployee {
            contract: permanent("2021-02-01"),
            role_title: None,
            department: None,
            manager: None,
        }),
    ];
    let mut past = vec![ada_hired("2018-01-02")];
    for command in history {
        let events = given(past.clone()).when(command).then_events();
        assert_eq!(events.len(), 1, "{events:?}");
        past.extend(events);
    }
    let mut state = Employee::default();
    for event in &past {
        state.evolve(event);
    }
    assert_eq!(state.status(), Some(EmployeeStatus::Active));
    assert_eq!(state.hired_on(), Some(date("2018-01-02")));
    assert_eq!(
        state.current_period().map(|p| p.start),
        Some(date("2021-02-01"))
    );
    assert_eq!(state.role_title, role("Senior Engineer"));
}

#[test]
fn a_change_dated_before_the_imported_hire_is_refused() {
    given([ada_hired("2018-01-02")])
        .when(EmployeeCommand::ChangeRole(ChangeRole {
            role_title: role("Lead"),
            department: department("Platform"),
            effective_date: date("2017-12-31"),
        }))
        .then_rejects(RuleViolation::BeforeCurrentEmployment {
            name: "Ada Lovelace".into(),
            what: "a role change",
            date: date("2017-12-31"),
            period_start: date("2018-01-02"),
        });
}
