//! A given/when/then harness for the employee aggregate, after
//! disintegrate's `TestHarness`: given past events, when a command, then the
//! events it produces or the rule it breaks. Plus fixtures for the tests.

use chrono::NaiveDate;
use tenure_kernel::Aggregate;
use uuid::Uuid;

use super::{
    Contract, ContractKind, ContractTerms, Department, Employee, EmployeeCommand, EmployeeEvent,
    EmployeeHired, ManagerFacts, PersonName, RoleTitle, RuleViolation, WorkEmail,
};

/// Starts a scenario from the events already in the stream.
pub fn given(events: impl IntoIterator<Item = EmployeeEvent>) -> Given {
    Given {
        events: events.into_iter().collect(),
    }
}

pub struct Given {
    events: Vec<EmployeeEvent>,
}

impl Given {
    /// Folds the given events and decides `command` on the resulting state.
    pub fn when(self, command: EmployeeCommand) -> When {
        let mut state = Employee::default();
        for event in &self.events {
            state.evolve(event);
        }
        let outcome = state.decide(&command);
        When { state, outcome }
    }
}

pub struct When {
    state: Employee,
    outcome: Result<Vec<EmployeeEvent>, RuleViolation>,
}

impl When {
    /// Asserts the command produced exactly `expected`, and returns the state
    /// after them for further assertions.
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = EmployeeEvent>) -> Employee {
        let expected: Vec<_> = expected.into_iter().collect();
        match self.outcome {
            Ok(events) => {
                assert_eq!(events, expected, "the command produced other events");
                let mut state = self.state;
                for event in &events {
                    state.evolve(event);
                }
                state
            }
            Err(violation) => {
                panic!("expected events {expected:?}, but the command was refused: {violation}")
            }
        }
    }

    /// The events the command produced; panics if it was refused.
    #[track_caller]
    pub fn then_events(self) -> Vec<EmployeeEvent> {
        match self.outcome {
            Ok(events) => events,
            Err(violation) => panic!("expected events, but the command was refused: {violation}"),
        }
    }

    /// Asserts the command changed nothing (no events, no refusal).
    #[track_caller]
    pub fn then_nothing(self) {
        self.then([]);
    }

    /// Asserts the command was refused with `expected`.
    #[track_caller]
    pub fn then_rejects(self, expected: RuleViolation) {
        match self.outcome {
            Ok(events) => {
                panic!("expected the refusal {expected:?}, but the command produced {events:?}")
            }
            Err(violation) => assert_eq!(violation, expected),
        }
    }
}

/// Fixtures shared by the tests of the domain and its conversions.
pub mod fixtures {
    use super::*;

    pub fn date(raw: &str) -> NaiveDate {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap()
    }

    pub fn ada_id() -> Uuid {
        Uuid::parse_str("0190a5b8-0000-7000-8000-00000000ada0").unwrap()
    }

    pub fn grace_id() -> Uuid {
        Uuid::parse_str("0190a5b8-0000-7000-8000-000000006ace").unwrap()
    }

    pub fn linus_id() -> Uuid {
        Uuid::parse_str("0190a5b8-0000-7000-8000-0000000011a5").unwrap()
    }

    pub fn name(raw: &str) -> PersonName {
        PersonName::parse("name", raw).unwrap()
    }

    pub fn email(raw: &str) -> WorkEmail {
        WorkEmail::parse("work_email", raw).unwrap()
    }

    pub fn department(raw: &str) -> Department {
        Department::parse("department", raw).unwrap()
    }

    pub fn role(raw: &str) -> RoleTitle {
        RoleTitle::parse("role_title", raw).unwrap()
    }

    /// A 40-hour contract of `kind` from `start` to `end`.
    pub fn contract(kind: ContractKind, start: &str, end: Option<&str>) -> Contract {
        let season_window = (kind == ContractKind::Seasonal).then_some(("03-01", "10-31"));
        Contract::parse(
            "contract",
            ContractTerms {
                kind: Some(kind),
                start_date: start,
                end_date: end,
                hours_per_week: 40.0,
                season_window,
            },
        )
        .unwrap()
    }

    pub fn permanent(start: &str) -> Contract {
        contract(ContractKind::Permanent, start, None)
    }

    /// An active manager of the tenant with the given chain above them.
    pub fn manager(id: Uuid, reports_chain: Vec<Uuid>) -> ManagerFacts {
        ManagerFacts {
            id,
            active: true,
            same_tenant: true,
            reports_chain,
        }
    }

    /// Ada Lovelace, Engineer in Platform on a permanent contract from `start`.
    pub fn ada_hired(start: &str) -> EmployeeEvent {
        EmployeeEvent::Hired(EmployeeHired {
            employee_id: ada_id(),
            effective_date: date(start),
            given_name: name("Ada"),
            family_name: name("Lovelace"),
            work_email: email("ada@example.com"),
            department: department("Platform"),
            role_title: role("Engineer"),
            manager_id: None,
            contract: permanent(start),
        })
    }
}
