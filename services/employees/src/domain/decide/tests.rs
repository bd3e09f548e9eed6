//! Given/when/then tests of every command and rule of the employee aggregate.

use chrono::Weekday;

use crate::domain::testing::fixtures::*;
use crate::domain::testing::given;
use crate::domain::*;

// ----- events and commands used across the scenarios -----

fn hire_ada(manager: Option<ManagerFacts>) -> EmployeeCommand {
    EmployeeCommand::Hire(HireEmployee {
        employee_id: ada_id(),
        given_name: name("Ada"),
        family_name: name("Lovelace"),
        work_email: email("ada@example.com"),
        department: department("Platform"),
        role_title: role("Engineer"),
        manager,
        contract: permanent("2026-03-01"),
    })
}

fn hired() -> EmployeeEvent {
    ada_hired("2026-03-01")
}

fn announced(on: &str, last_working_day: &str) -> EmployeeEvent {
    EmployeeEvent::DepartureAnnounced(DepartureAnnounced {
        employee_id: ada_id(),
        effective_date: date(on),
        separation_type: SeparationType::Voluntary,
        reason_code: ReasonCode::parse("reason_code", "better_offer").unwrap(),
        regrettable: Some(true),
        last_working_day: date(last_working_day),
        note: None,
        backdate_reason: None,
        contract_kind: ContractKind::Permanent,
        department: department("Platform"),
        role_title: role("Engineer"),
    })
}

fn ended(on: &str) -> EmployeeEvent {
    EmployeeEvent::EmploymentEnded(EmploymentEnded {
        employee_id: ada_id(),
        effective_date: date(on),
        reason: text("offboarding completed"),
        separation_type: SeparationType::Voluntary,
        reason_code: ReasonCode::parse("reason_code", "better_offer").unwrap(),
        regrettable: Some(true),
        period_start_date: date("2026-03-01"),
        contract: permanent("2026-03-01"),
        role_title: role("Engineer"),
        department: department("Platform"),
    })
}

fn left() -> Vec<EmployeeEvent> {
    vec![
        hired(),
        announced("2026-05-01", "2026-06-30"),
        ended("2026-06-30"),
    ]
}

fn text(raw: &str) -> FreeText {
    FreeText::parse("text", raw).unwrap()
}

fn announce(last_working_day: &str, today: &str) -> AnnounceDeparture {
    AnnounceDeparture {
        separation_type: SeparationType::Voluntary,
        reason_code: ReasonCode::parse("reason_code", "better_offer").unwrap(),
        regrettable: Some(true),
        last_working_day: date(last_working_day),
        note: None,
        backdate_reason: None,
        today: date(today),
        reason_codes: None,
    }
}

fn rehire(start: &str) -> RehireEmployee {
    RehireEmployee {
        contract: contract(ContractKind::Freelance, start, None),
        role_title: None,
        department: None,
        manager: None,
    }
}

fn agreement(agreed_on: &str) -> WorkAgreement {
    WorkAgreement::parse(
        "agreement",
        WorkAgreementTerms {
            office_days: &[Weekday::Tue, Weekday::Thu],
            remote_days: &[Weekday::Mon, Weekday::Wed, Weekday::Fri],
            core_hours_start: "10:00",
            core_hours_end: "15:00",
            agreements: &["team day on Tuesday".to_owned()],
            agreed_on,
            review_date: None,
        },
    )
    .unwrap()
}

fn interests(tags: &[&str]) -> Interests {
    Interests::parse(
        "tags",
        &tags.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>(),
    )
    .unwrap()
}

fn has_left() -> RuleViolation {
    RuleViolation::HasLeft {
        name: "Ada Lovelace".into(),
    }
}

// ----- hire -----

#[test]
fn hiring_starts_the_first_tenure_period() {
    let state = given([])
        .when(hire_ada(Some(manager(grace_id(), vec![linus_id()]))))
        .then([EmployeeEvent::Hired(EmployeeHired {
            manager_id: Some(grace_id()),
            ..hired_event()
        })]);
    assert_eq!(state.status(), Some(EmployeeStatus::Active));
    assert_eq!(state.hired_on(), Some(date("2026-03-01")));
    assert_eq!(state.tenure_periods.len(), 1);
    assert_eq!(state.manager_id, Some(grace_id()));
}

fn hired_event() -> EmployeeHired {
    match hired() {
        EmployeeEvent::Hired(event) => event,
        _ => unreachable!(),
    }
}

#[test]
fn hiring_without_a_manager() {
    given([]).when(hire_ada(None)).then([hired()]);
}

#[test]
fn an_existing_employee_cannot_be_hired_again() {
    given([hired()])
        .when(hire_ada(None))
        .then_rejects(RuleViolation::AlreadyHired {
            name: "Ada Lovelace".into(),
        });
    // Not even after they left: that is a rehire.
    given(left())
        .when(hire_ada(None))
        .then_rejects(RuleViolation::AlreadyHired {
            name: "Ada Lovelace".into(),
        });
}

#[test]
fn the_manager_must_be_active() {
    let inactive = ManagerFacts {
        active: false,
        ..manager(grace_id(), vec![])
    };
    given([])
        .when(hire_ada(Some(inactive)))
        .then_rejects(RuleViolation::ManagerNotActive {
            manager_id: grace_id(),
        });
}

#[test]
fn the_manager_must_be_of_the_same_tenant() {
    let elsewhere = ManagerFacts {
        same_tenant: false,
        ..manager(grace_id(), vec![])
    };
    given([])
        .when(hire_ada(Some(elsewhere)))
        .then_rejects(RuleViolation::ManagerOfOtherTenant {
            manager_id: grace_id(),
        });
}

#[test]
fn an_unverified_manager_is_refused() {
    given([])
        .when(hire_ada(Some(ManagerFacts::unverified(grace_id()))))
        .then_rejects(RuleViolation::ManagerOfOtherTenant {
            manager_id: grace_id(),
        });
}

#[test]
fn nobody_is_hired_as_their_own_manager() {
    given([])
        .when(hire_ada(Some(manager(ada_id(), vec![]))))
        .then_rejects(RuleViolation::OwnManager {
            name: "Ada Lovelace".into(),
        });
}

// ----- commands on someone never hired -----

#[test]
fn every_command_but_hire_needs_a_hired_employee() {
    let commands = [
        EmployeeCommand::ChangeRole(ChangeRole {
            role_title: role("Lead"),
            department: department("Platform"),
            effective_date: date("2026-04-01"),
        }),
        EmployeeCommand::AnnounceDeparture(announce("2026-06-30", "2026-05-01")),
        EmployeeCommand::Rehire(rehire("2027-01-01")),
    ];
    for command in commands {
        given([])
            .when(command)
            .then_rejects(RuleViolation::NotHired);
    }
}

// ----- personal details -----

#[test]
fn personal_details_change_today_and_carry_all_details() {
    let command = EmployeeCommand::ChangePersonalDetails(ChangePersonalDetails {
        given_name: None,
        family_name: Some(name("King")),
        work_email: Some(email("ada.king@example.com")),
        today: date("2026-04-10"),
    });
    let state = given([hired()])
        .when(command)
        .then([EmployeeEvent::PersonalDetailsChanged(
            PersonalDetailsChanged {
                employee_id: ada_id(),
                effective_date: date("2026-04-10"),
                given_name: name("Ada"),
                family_name: name("King"),
                work_email: email("ada.king@example.com"),
            },
        )]);
    assert_eq!(state.full_name(), "Ada King");
}

#[test]
fn unchanged_personal_details_record_nothing() {
    let command = EmployeeCommand::ChangePersonalDetails(ChangePersonalDetails {
        given_name: Some(name("Ada")),
        family_name: None,
        work_email: Some(email("ADA@example.com")),
        today: date("2026-04-10"),
    });
    given([hired()]).when(command).then_nothing();
}

#[test]
fn a_former_employee_keeps_their_details() {
    let command = EmployeeCommand::ChangePersonalDetails(ChangePersonalDetails {
        given_name: Some(name("Augusta")),
        family_name: None,
        work_email: None,
        today: date("2026-08-01"),
    });
    given(left()).when(command).then_rejects(has_left());
}

// ----- contract -----

fn change_contract(
    kind: ContractChangeKind,
    contract: Contract,
    effective: &str,
) -> EmployeeCommand {
    EmployeeCommand::ChangeContract(ChangeContract {
        change_kind: kind,
        contract,
        effective_date: date(effective),
    })
}

fn fixed_term_hire() -> EmployeeEvent {
    match hired() {
        EmployeeEvent::Hired(event) => EmployeeEvent::Hired(EmployeeHired {
            contract: contract(ContractKind::FixedTerm, "2026-03-01", Some("2026-12-31")),
            ..event
        }),
        _ => unreachable!(),
    }
}

#[test]
fn a_fixed_term_contract_is_extended() {
    let longer = contract(ContractKind::FixedTerm, "2026-03-01", Some("2027-12-31"));
    let state = given([fixed_term_hire()])
        .when(change_contract(
            ContractChangeKind::Extend,
            longer.clone(),
            "2026-10-01",
        ))
        .then([EmployeeEvent::ContractChanged(ContractChanged {
            employee_id: ada_id(),
            effective_date: date("2026-10-01"),
            change_kind: ContractChangeKind::Extend,
            contract: longer.clone(),
        })]);
    assert_eq!(state.contract(), Some(&longer));
}

#[test]
fn a_shorter_contract_is_not_an_extension() {
    let shorter = contract(ContractKind::FixedTerm, "2026-03-01", Some("2026-09-30"));
    given([fixed_term_hire()])
        .when(change_contract(ContractChangeKind::Extend, shorter, "2026-06-01"))
        .then_rejects(RuleViolation::ContractChangeMismatch {
            change_kind: ContractChangeKind::Extend,
            reason: "an extension moves the end date later than 2026-12-31 (or removes it), not to 2026-09-30".into(),
        });
}

#[test]
fn a_fixed_term_contract_is_converted_to_permanent() {
    let permanent = permanent("2026-10-01");
    given([fixed_term_hire()])
        .when(change_contract(
            ContractChangeKind::Convert,
            permanent.clone(),
            "2026-10-01",
        ))
        .then([EmployeeEvent::ContractChanged(ContractChanged {
            employee_id: ada_id(),
            effective_date: date("2026-10-01"),
            change_kind: ContractChangeKind::Convert,
            contract: permanent,
        })]);
}

#[test]
fn a_conversion_changes_the_kind() {
    given([hired()])
        .when(change_contract(
            ContractChangeKind::Convert,
            permanent("2026-10-01"),
            "2026-10-01",
        ))
        .then_rejects(RuleViolation::ContractChangeMismatch {
            change_kind: ContractChangeKind::Convert,
            reason: "a conversion changes the contract kind, but it stays permanent".into(),
        });
}

#[test]
fn a_change_of_hours_changes_only_the_hours() {
    let part_time = Contract::parse(
        "contract",
        ContractTerms {
            kind: Some(ContractKind::Permanent),
            start_date: "2026-03-01",
            end_date: None,
            hours_per_week: 32.0,
            season_window: None,
        },
    )
    .unwrap();
    given([hired()])
        .when(change_contract(
            ContractChangeKind::ChangeHours,
            part_time,
            "2026-09-01",
        ))
        .then([EmployeeEvent::ContractChanged(ContractChanged {
            employee_id: ada_id(),
            effective_date: date("2026-09-01"),
            change_kind: ContractChangeKind::ChangeHours,
            contract: Contract::parse(
                "contract",
                ContractTerms {
                    kind: Some(ContractKind::Permanent),
                    start_date: "2026-03-01",
                    end_date: None,
                    hours_per_week: 32.0,
                    season_window: None,
                },
            )
            .unwrap(),
        })]);
    given([hired()])
        .when(change_contract(
            ContractChangeKind::ChangeHours,
            permanent("2026-09-01"),
            "2026-09-01",
        ))
        .then_rejects(RuleViolation::ContractChangeMismatch {
            change_kind: ContractChangeKind::ChangeHours,
            reason: "a change of hours changes only the hours per week".into(),
        });
}

#[test]
fn the_same_contract_records_nothing() {
    given([hired()])
        .when(change_contract(
            ContractChangeKind::Other,
            permanent("2026-03-01"),
            "2026-04-01",
        ))
        .then_nothing();
}

#[test]
fn a_contract_change_takes_effect_within_the_current_employment() {
    given([hired()])
        .when(change_contract(
            ContractChangeKind::Other,
            permanent("2026-02-01"),
            "2026-02-01",
        ))
        .then_rejects(RuleViolation::BeforeCurrentEmployment {
            name: "Ada Lovelace".into(),
            what: "a contract change",
            date: date("2026-02-01"),
            period_start: date("2026-03-01"),
        });
}

#[test]
fn a_former_employees_contract_does_not_change() {
    given(left())
        .when(change_contract(
            ContractChangeKind::Other,
            permanent("2026-08-01"),
            "2026-08-01",
        ))
        .then_rejects(has_left());
}

// ----- role -----

fn change_role(title: &str, dept: &str, effective: &str) -> EmployeeCommand {
    EmployeeCommand::ChangeRole(ChangeRole {
        role_title: role(title),
        department: department(dept),
        effective_date: date(effective),
    })
}

#[test]
fn a_role_changes_from_its_effective_date() {
    let state = given([hired()])
        .when(change_role("Team Lead", "Sales", "2026-09-01"))
        .then([EmployeeEvent::RoleChanged(RoleChanged {
            employee_id: ada_id(),
            effective_date: date("2026-09-01"),
            role_title: role("Team Lead"),
            department: department("Sales"),
        })]);
    assert_eq!(
        (state.role_title.as_str(), state.department.as_str()),
        ("Team Lead", "Sales")
    );
}

#[test]
fn the_same_role_records_nothing() {
    given([hired()])
        .when(change_role("Engineer", "Platform", "2026-09-01"))
        .then_nothing();
}

#[test]
fn a_role_change_takes_effect_within_the_current_employment() {
    given([hired()])
        .when(change_role("Lead", "Platform", "2026-02-28"))
        .then_rejects(RuleViolation::BeforeCurrentEmployment {
            name: "Ada Lovelace".into(),
            what: "a role change",
            date: date("2026-02-28"),
            period_start: date("2026-03-01"),
        });
}

#[test]
fn a_former_employees_role_does_not_change() {
    given(left())
        .when(change_role("Lead", "Platform", "2026-08-01"))
        .then_rejects(has_left());
}

// ----- manager -----

fn assign(manager: Option<ManagerFacts>, effective: &str) -> EmployeeCommand {
    EmployeeCommand::AssignManager(AssignManager {
        manager,
        effective_date: date(effective),
    })
}

#[test]
fn a_manager_is_assigned_and_removed() {
    let state = given([hired()])
        .when(assign(Some(manager(grace_id(), vec![])), "2026-04-01"))
        .then([EmployeeEvent::ManagerAssigned(ManagerAssigned {
            employee_id: ada_id(),
            effective_date: date("2026-04-01"),
            manager_id: Some(grace_id()),
        })]);
    assert_eq!(state.manager_id, Some(grace_id()));

    let with_manager = EmployeeEvent::ManagerAssigned(ManagerAssigned {
        employee_id: ada_id(),
        effective_date: date("2026-04-01"),
        manager_id: Some(grace_id()),
    });
    let state = given([hired(), with_manager])
        .when(assign(None, "2026-05-01"))
        .then([EmployeeEvent::ManagerAssigned(ManagerAssigned {
            employee_id: ada_id(),
            effective_date: date("2026-05-01"),
            manager_id: None,
        })]);
    assert_eq!(state.manager_id, None);
}

#[test]
fn the_same_manager_records_nothing() {
    given([hired()])
        .when(assign(None, "2026-05-01"))
        .then_nothing();
}

#[test]
fn an_employee_does_not_manage_themself() {
    given([hired()])
        .when(assign(Some(manager(ada_id(), vec![])), "2026-04-01"))
        .then_rejects(RuleViolation::OwnManager {
            name: "Ada Lovelace".into(),
        });
}

#[test]
fn no_management_cycles() {
    // Grace reports to Linus, who reports to Ada: Ada cannot report to Grace.
    given([hired()])
        .when(assign(
            Some(manager(grace_id(), vec![linus_id(), ada_id()])),
            "2026-04-01",
        ))
        .then_rejects(RuleViolation::ManagementCycle {
            name: "Ada Lovelace".into(),
            manager_id: grace_id(),
        });
}

#[test]
fn an_assigned_manager_is_an_active_employee_of_the_tenant() {
    let leaving = ManagerFacts {
        active: false,
        ..manager(grace_id(), vec![])
    };
    given([hired()])
        .when(assign(Some(leaving), "2026-04-01"))
        .then_rejects(RuleViolation::ManagerNotActive {
            manager_id: grace_id(),
        });
    let elsewhere = ManagerFacts {
        same_tenant: false,
        ..manager(grace_id(), vec![])
    };
    given([hired()])
        .when(assign(Some(elsewhere), "2026-04-01"))
        .then_rejects(RuleViolation::ManagerOfOtherTenant {
            manager_id: grace_id(),
        });
}

#[test]
fn a_manager_is_assigned_within_the_current_employment() {
    given([hired()])
        .when(assign(Some(manager(grace_id(), vec![])), "2026-01-01"))
        .then_rejects(RuleViolation::BeforeCurrentEmployment {
            name: "Ada Lovelace".into(),
            what: "a manager assignment",
            date: date("2026-01-01"),
            period_start: date("2026-03-01"),
        });
}

#[test]
fn a_former_employee_gets_no_manager() {
    given(left())
        .when(assign(Some(manager(grace_id(), vec![])), "2026-08-01"))
        .then_rejects(has_left());
}

// ----- work agreement -----

#[test]
fn work_agreements_are_versioned() {
    let record = |on: &str| {
        EmployeeCommand::RecordWorkAgreement(RecordWorkAgreement {
            agreement: agreement(on),
        })
    };
    let first = EmployeeEvent::WorkAgreementRecorded(WorkAgreementRecorded {
        employee_id: ada_id(),
        effective_date: date("2026-03-01"),
        agreement: agreement("2026-03-01"),
    });
    let state = given([hired()])
        .when(record("2026-03-01"))
        .then([first.clone()]);
    assert_eq!(state.work_agreement_versions, 1);

    let state = given([hired(), first.clone()])
        .when(record("2026-09-01"))
        .then([EmployeeEvent::WorkAgreementRecorded(
            WorkAgreementRecorded {
                employee_id: ada_id(),
                effective_date: date("2026-09-01"),
                agreement: agreement("2026-09-01"),
            },
        )]);
    assert_eq!(state.work_agreement_versions, 2);
    assert_eq!(
        state.work_agreement.map(|a| a.agreed_on()),
        Some(date("2026-09-01"))
    );

    given([hired(), first])
        .when(record("2026-03-01"))
        .then_nothing();
}

#[test]
fn a_former_employee_records_no_work_agreement() {
    given(left())
        .when(EmployeeCommand::RecordWorkAgreement(RecordWorkAgreement {
            agreement: agreement("2026-08-01"),
        }))
        .then_rejects(has_left());
}

// ----- interests -----

fn set_interests(tags: &[&str]) -> EmployeeCommand {
    EmployeeCommand::SetInterests(SetInterests {
        tags: interests(tags),
        today: date("2026-04-01"),
    })
}

#[test]
fn interests_are_replaced_as_a_whole() {
    let changed = EmployeeEvent::InterestsChanged(InterestsChanged {
        employee_id: ada_id(),
        effective_date: date("2026-04-01"),
        tags: interests(&["rust", "running"]),
    });
    let state = given([hired()])
        .when(set_interests(&["rust", "running"]))
        .then([changed.clone()]);
    assert_eq!(state.interests.tags(), ["rust", "running"]);
    // The same tags in another order change nothing; clearing them does.
    given([hired(), changed.clone()])
        .when(set_interests(&["running", "rust"]))
        .then_nothing();
    let state =
        given([hired(), changed])
            .when(set_interests(&[]))
            .then([EmployeeEvent::InterestsChanged(InterestsChanged {
                employee_id: ada_id(),
                effective_date: date("2026-04-01"),
                tags: interests(&[]),
            })]);
    assert!(state.interests.is_empty());
}

#[test]
fn a_former_employee_sets_no_interests() {
    given(left())
        .when(set_interests(&["rust"]))
        .then_rejects(has_left());
}

// ----- announce departure -----

#[test]
fn a_departure_is_announced_effective_today() {
    let state = given([hired()])
        .when(EmployeeCommand::AnnounceDeparture(AnnounceDeparture {
            note: Some(text("moving abroad")),
            ..announce("2026-06-30", "2026-05-01")
        }))
        .then([EmployeeEvent::DepartureAnnounced(DepartureAnnounced {
            note: Some(text("moving abroad")),
            ..match announced("2026-05-01", "2026-06-30") {
                EmployeeEvent::DepartureAnnounced(event) => event,
                _ => unreachable!(),
            }
        })]);
    assert_eq!(state.status(), Some(EmployeeStatus::Leaving));
    let departure = state.departure.unwrap();
    assert_eq!(
        (departure.announced_on, departure.last_working_day),
        (date("2026-05-01"), date("2026-06-30"))
    );
}

#[test]
fn a_leaving_employee_cannot_announce_again() {
    given([hired(), announced("2026-05-01", "2026-06-30")])
        .when(EmployeeCommand::AnnounceDeparture(announce(
            "2026-07-31",
            "2026-05-02",
        )))
        .then_rejects(RuleViolation::NotActive {
            name: "Ada Lovelace".into(),
            status: EmployeeStatus::Leaving,
        });
}

#[test]
fn a_former_employee_cannot_announce_a_departure() {
    given(left())
        .when(EmployeeCommand::AnnounceDeparture(announce(
            "2026-09-30",
            "2026-08-01",
        )))
        .then_rejects(has_left());
}

#[test]
fn only_a_voluntary_departure_is_regrettable() {
    let command = AnnounceDeparture {
        separation_type: SeparationType::Involuntary,
        ..announce("2026-06-30", "2026-05-01")
    };
    given([hired()])
        .when(EmployeeCommand::AnnounceDeparture(command.clone()))
        .then_rejects(RuleViolation::RegrettableNotVoluntary {
            separation_type: SeparationType::Involuntary,
        });
    // Without the flag an involuntary departure is fine.
    let state = given([hired()])
        .when(EmployeeCommand::AnnounceDeparture(AnnounceDeparture {
            regrettable: None,
            ..command
        }))
        .then([EmployeeEvent::DepartureAnnounced(DepartureAnnounced {
            separation_type: SeparationType::Involuntary,
            regrettable: None,
            ..match announced("2026-05-01", "2026-06-30") {
                EmployeeEvent::DepartureAnnounced(event) => event,
                _ => unreachable!(),
            }
        })]);
    assert_eq!(state.status(), Some(EmployeeStatus::Leaving));
}

#[test]
fn the_reason_code_is_from_the_tenants_list_when_there_is_one() {
    let with_list = |codes: &[&str]| AnnounceDeparture {
        reason_codes: Some(codes.iter().map(|c| (*c).to_owned()).collect()),
        ..announce("2026-06-30", "2026-05-01")
    };
    given([hired()])
        .when(EmployeeCommand::AnnounceDeparture(with_list(&[
            "relocation",
            "career_change",
        ])))
        .then_rejects(RuleViolation::UnknownReasonCode {
            reason_code: "better_offer".into(),
        });
    given([hired()])
        .when(EmployeeCommand::AnnounceDeparture(with_list(&[
            "relocation",
            "better_offer",
        ])))
        .then([announced("2026-05-01", "2026-06-30")]);
    // No list configured: any well-formed code.
    given([hired()])
        .when(EmployeeCommand::AnnounceDeparture(announce(
            "2026-06-30",
            "2026-05-01",
        )))
        .then([announced("2026-05-01", "2026-06-30")]);
}

#[test]
fn the_last_working_day_is_not_in_the_past_without_a_backdate_reason() {
    given([hired()])
        .when(EmployeeCommand::AnnounceDeparture(announce(
            "2026-04-30",
            "2026-05-01",
        )))
        .then_rejects(RuleViolation::LastWorkingDayInPast {
            last_working_day: date("2026-04-30"),
            today: date("2026-05-01"),
        });
    // Today itself is fine.
    given([hired()])
        .when(EmployeeCommand::AnnounceDeparture(announce(
            "2026-05-01",
            "2026-05-01",
        )))
        .then([announced("2026-05-01", "2026-05-01")]);
}

#[test]
fn hr_backdates_a_departure_with_a_reason() {
    let command = AnnounceDeparture {
        backdate_reason: Some(text("resignation letter found late")),
        ..announce("2026-04-30", "2026-05-01")
    };
    given([hired()])
        .when(EmployeeCommand::AnnounceDeparture(command))
        .then([EmployeeEvent::DepartureAnnounced(DepartureAnnounced {
            backdate_reason: Some(text("resignation letter found late")),
            ..match announced("2026-05-01", "2026-04-30") {
                EmployeeEvent::DepartureAnnounced(event) => event,
                _ => unreachable!(),
            }
        })]);
}

#[test]
fn a_backdate_reason_is_kept_only_for_a_backdated_departure() {
    let command = AnnounceDeparture {
        backdate_reason: Some(text("not needed")),
        ..announce("2026-06-30", "2026-05-01")
    };
    given([hired()])
        .when(EmployeeCommand::AnnounceDeparture(command))
        .then([announced("2026-05-01", "2026-06-30")]);
}

#[test]
fn the_last_working_day_is_within_the_current_employment() {
    let command = AnnounceDeparture {
        backdate_reason: Some(text("never started")),
        ..announce("2026-02-15", "2026-02-20")
    };
    given([hired()])
        .when(EmployeeCommand::AnnounceDeparture(command))
        .then_rejects(RuleViolation::BeforeCurrentEmployment {
            name: "Ada Lovelace".into(),
            what: "the last working day",
            date: date("2026-02-15"),
            period_start: date("2026-03-01"),
        });
}

// ----- withdraw departure -----

fn withdraw(today: &str) -> EmployeeCommand {
    EmployeeCommand::WithdrawDeparture(WithdrawDeparture {
        reason: text("stays after all"),
        today: date(today),
    })
}

#[test]
fn a_departure_is_withdrawn_before_the_last_working_day() {
    let state = given([hired(), announced("2026-05-01", "2026-06-30")])
        .when(withdraw("2026-06-29"))
        .then([EmployeeEvent::DepartureWithdrawn(DepartureWithdrawn {
            employee_id: ada_id(),
            effective_date: date("2026-06-29"),
            reason: text("stays after all"),
        })]);
    // Active again in the same tenure period: not a rehire.
    assert_eq!(state.status(), Some(EmployeeStatus::Active));
    assert_eq!(state.tenure_periods.len(), 1);
    assert_eq!(state.departure, None);
}

#[test]
fn a_departure_is_not_withdrawn_on_or_after_the_last_working_day() {
    for today in ["2026-06-30", "2026-07-01"] {
        given([hired(), announced("2026-05-01", "2026-06-30")])
            .when(withdraw(today))
            .then_rejects(RuleViolation::LastWorkingDayReached {
                name: "Ada Lovelace".into(),
                last_working_day: date("2026-06-30"),
            });
    }
}

#[test]
fn only_an_announced_departure_is_withdrawn() {
    given([hired()]).when(withdraw("2026-05-01")).then_rejects(
        RuleViolation::NoDepartureToWithdraw {
            name: "Ada Lovelace".into(),
        },
    );
    given(left())
        .when(withdraw("2026-07-01"))
        .then_rejects(has_left());
}

// ----- end employment -----

fn end(on: &str) -> EmployeeCommand {
    EmployeeCommand::EndEmployment(EndEmployment {
        ended_on: date(on),
        reason: text("offboarding completed"),
    })
}

#[test]
fn employment_ends_on_or_after_the_last_working_day() {
    let state = given([hired(), announced("2026-05-01", "2026-06-30")])
        .when(end("2026-06-30"))
        .then([ended("2026-06-30")]);
    assert_eq!(state.status(), Some(EmployeeStatus::Left));
    assert_eq!(state.departure, None);
    let period = &state.tenure_periods[0];
    assert_eq!(
        (period.end, period.separation_type),
        (Some(date("2026-06-30")), Some(SeparationType::Voluntary))
    );

    given([hired(), announced("2026-05-01", "2026-06-30")])
        .when(end("2026-07-02"))
        .then([ended("2026-07-02")]);
}

#[test]
fn employment_does_not_end_before_the_last_working_day() {
    given([hired(), announced("2026-05-01", "2026-06-30")])
        .when(end("2026-06-29"))
        .then_rejects(RuleViolation::EndBeforeLastWorkingDay {
            ended_on: date("2026-06-29"),
            last_working_day: date("2026-06-30"),
        });
}

#[test]
fn only_a_leaving_employees_employment_ends() {
    given([hired()])
        .when(end("2026-06-30"))
        .then_rejects(RuleViolation::NotLeaving {
            name: "Ada Lovelace".into(),
        });
    given(left())
        .when(end("2026-07-30"))
        .then_rejects(has_left());
}

// ----- rehire -----

#[test]
fn a_former_employee_is_rehired_in_a_new_tenure_period() {
    let state = given(left())
        .when(EmployeeCommand::Rehire(rehire("2027-01-01")))
        .then([EmployeeEvent::Rehired(EmployeeRehired {
            employee_id: ada_id(),
            effective_date: date("2027-01-01"),
            contract: contract(ContractKind::Freelance, "2027-01-01", None),
            role_title: role("Engineer"),
            department: department("Platform"),
            manager_id: None,
        })]);
    assert_eq!(state.status(), Some(EmployeeStatus::Active));
    assert_eq!(state.tenure_periods.len(), 2);
    assert_eq!(
        state.tenure_periods[0].end,
        Some(date("2026-06-30")),
        "the old period is kept"
    );
    assert_eq!(state.tenure_periods[1].start, date("2027-01-01"));
    assert_eq!(
        state.contract().map(Contract::kind),
        Some(ContractKind::Freelance)
    );
}

#[test]
fn a_rehire_may_bring_a_new_role_and_manager() {
    let command = RehireEmployee {
        role_title: Some(role("Staff Engineer")),
        department: Some(department("Research")),
        manager: Some(manager(grace_id(), vec![])),
        ..rehire("2027-01-01")
    };
    let state =
        given(left())
            .when(EmployeeCommand::Rehire(command))
            .then([EmployeeEvent::Rehired(EmployeeRehired {
                employee_id: ada_id(),
                effective_date: date("2027-01-01"),
                contract: contract(ContractKind::Freelance, "2027-01-01", None),
                role_title: role("Staff Engineer"),
                department: department("Research"),
                manager_id: Some(grace_id()),
            })]);
    assert_eq!(state.department.as_str(), "Research");
}

#[test]
fn a_rehire_starts_after_the_previous_employment_ended() {
    for start in ["2026-06-30", "2026-06-01"] {
        given(left())
            .when(EmployeeCommand::Rehire(rehire(start)))
            .then_rejects(RuleViolation::RehireBeforePreviousEnd {
                start: date(start),
                previous_end: date("2026-06-30"),
            });
    }
    given(left())
        .when(EmployeeCommand::Rehire(rehire("2026-07-01")))
        .then([EmployeeEvent::Rehired(EmployeeRehired {
            employee_id: ada_id(),
            effective_date: date("2026-07-01"),
            contract: contract(ContractKind::Freelance, "2026-07-01", None),
            role_title: role("Engineer"),
            department: department("Platform"),
            manager_id: None,
        })]);
}

#[test]
fn only_a_former_employee_is_rehired() {
    given([hired()])
        .when(EmployeeCommand::Rehire(rehire("2027-01-01")))
        .then_rejects(RuleViolation::NotLeft {
            name: "Ada Lovelace".into(),
            status: EmployeeStatus::Active,
        });
    given([hired(), announced("2026-05-01", "2026-06-30")])
        .when(EmployeeCommand::Rehire(rehire("2027-01-01")))
        .then_rejects(RuleViolation::NotLeft {
            name: "Ada Lovelace".into(),
            status: EmployeeStatus::Leaving,
        });
}

#[test]
fn a_rehire_checks_the_manager() {
    let command = RehireEmployee {
        manager: Some(manager(grace_id(), vec![ada_id()])),
        ..rehire("2027-01-01")
    };
    given(left())
        .when(EmployeeCommand::Rehire(command))
        .then_rejects(RuleViolation::ManagementCycle {
            name: "Ada Lovelace".into(),
            manager_id: grace_id(),
        });
}

#[test]
fn a_rehired_employee_can_change_again() {
    let mut events = left();
    events.push(EmployeeEvent::Rehired(EmployeeRehired {
        employee_id: ada_id(),
        effective_date: date("2027-01-01"),
        contract: permanent("2027-01-01"),
        role_title: role("Engineer"),
        department: department("Platform"),
        manager_id: None,
    }));
    // The rule "within the current employment" now means the new period.
    given(events.clone())
        .when(change_role("Lead", "Platform", "2026-12-31"))
        .then_rejects(RuleViolation::BeforeCurrentEmployment {
            name: "Ada Lovelace".into(),
            what: "a role change",
            date: date("2026-12-31"),
            period_start: date("2027-01-01"),
        });
    given(events)
        .when(change_role("Lead", "Platform", "2027-02-01"))
        .then([EmployeeEvent::RoleChanged(RoleChanged {
            employee_id: ada_id(),
            effective_date: date("2027-02-01"),
            role_title: role("Lead"),
            department: department("Platform"),
        })]);
}

#[test]
fn rule_violations_read_as_sentences() {
    assert_eq!(
        has_left().to_string(),
        "Ada Lovelace has left; only a rehire can change a former employee"
    );
    assert_eq!(
        RuleViolation::LastWorkingDayInPast {
            last_working_day: date("2026-04-30"),
            today: date("2026-05-01")
        }
        .to_string(),
        "the last working day 2026-04-30 is before today (2026-05-01); give a backdate reason to record it"
    );
}

// ----- snapshots -----

/// The kernel uses a snapshot only if the state decodes from it and encodes
/// back to the same JSON; a state that did not would be replayed on every load.
#[test]
fn a_snapshot_of_an_employee_is_used_as_written() {
    use tenure_kernel::Aggregate;

    let commands = [
        hire_ada(Some(manager(grace_id(), vec![linus_id()]))),
        EmployeeCommand::RecordWorkAgreement(RecordWorkAgreement {
            agreement: agreement("2026-03-02"),
        }),
        EmployeeCommand::SetInterests(SetInterests {
            tags: interests(&["rust", "chess"]),
            today: date("2026-04-01"),
        }),
        EmployeeCommand::AnnounceDeparture(announce("2026-06-30", "2026-05-01")),
    ];
    let mut employee = Employee::default();
    let mut states = vec![employee.clone()];
    for command in &commands {
        for event in employee.decide(command).unwrap() {
            employee.evolve(&event);
        }
        states.push(employee.clone());
    }
    let mut former = Employee::default();
    for event in left() {
        former.evolve(&event);
    }
    states.push(former.clone());
    for event in former
        .decide(&EmployeeCommand::Rehire(rehire("2027-01-01")))
        .unwrap()
    {
        former.evolve(&event);
    }
    states.push(former);

    for state in states {
        let written = serde_json::to_vec(&state).unwrap();
        let restored = tenure_kernel::repository::restore::<Employee>(&written)
            .unwrap_or_else(|unusable| panic!("{unusable}: {state:?}"));
        assert_eq!(restored, state);
    }
}
