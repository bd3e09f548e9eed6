//! The employee aggregate: the state of one person at work, folded from their
//! events, and the `Aggregate` implementation that decides and evolves it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tenure_kernel::Aggregate;
use uuid::Uuid;

use super::{
    Contract, Department, Departure, EmployeeCommand, EmployeeEvent, EmployeeStatus, Interests,
    PersonName, RoleTitle, RuleViolation, TenurePeriod, WorkAgreement, WorkEmail, decide,
};

/// One employee as known from their events. The default is the state before
/// the hire: no tenure period, placeholder names (see [`Employee::is_hired`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Employee {
    /// The employee's id; nil until hired.
    pub id: Uuid,
    pub given_name: PersonName,
    pub family_name: PersonName,
    pub work_email: WorkEmail,
    /// The department they work (or last worked) in.
    pub department: Department,
    /// Their (or their last) role title.
    pub role_title: RoleTitle,
    pub manager_id: Option<Uuid>,
    /// Every employment, oldest first; the last is the current or most recent one.
    pub tenure_periods: Vec<TenurePeriod>,
    /// The current hybrid-work agreement; cleared by a rehire.
    pub work_agreement: Option<WorkAgreement>,
    /// How many agreement versions were ever recorded.
    pub work_agreement_versions: u32,
    pub interests: Interests,
    /// The announced departure; set only while leaving.
    pub departure: Option<Departure>,
}

impl Default for Employee {
    fn default() -> Self {
        Self {
            id: Uuid::nil(),
            given_name: PersonName::unset(),
            family_name: PersonName::unset(),
            work_email: WorkEmail::unset(),
            department: Department::unset(),
            role_title: RoleTitle::unset(),
            manager_id: None,
            tenure_periods: Vec::new(),
            work_agreement: None,
            work_agreement_versions: 0,
            interests: Interests::default(),
            departure: None,
        }
    }
}

impl Employee {
    /// Whether a hire has been applied (every other field is meaningful only then).
    pub fn is_hired(&self) -> bool {
        !self.tenure_periods.is_empty()
    }

    /// Active, leaving or left; `None` before the hire. Derived from the
    /// tenure periods and the pending departure, so it cannot disagree with them.
    pub fn status(&self) -> Option<EmployeeStatus> {
        let period = self.tenure_periods.last()?;
        Some(if period.end.is_some() {
            EmployeeStatus::Left
        } else if self.departure.is_some() {
            EmployeeStatus::Leaving
        } else {
            EmployeeStatus::Active
        })
    }

    /// "Given Family", for messages.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }

    /// The first day of the first employment.
    pub fn hired_on(&self) -> Option<NaiveDate> {
        self.tenure_periods.first().map(|period| period.start)
    }

    /// The current tenure period (or the last one, for a left employee).
    pub fn current_period(&self) -> Option<&TenurePeriod> {
        self.tenure_periods.last()
    }

    /// The current contract (for a left employee: the one at the end of the
    /// last employment).
    pub fn contract(&self) -> Option<&Contract> {
        self.current_period().map(|period| &period.contract)
    }

    fn current_period_mut(&mut self) -> Option<&mut TenurePeriod> {
        self.tenure_periods.last_mut()
    }
}

impl Aggregate for Employee {
    const STREAM_TYPE: &'static str = "employee";

    type Event = EmployeeEvent;
    type Command = EmployeeCommand;
    type Rejection = RuleViolation;

    fn decide(&self, command: &EmployeeCommand) -> Result<Vec<EmployeeEvent>, RuleViolation> {
        decide::decide(self, command)
    }

    /// Events before the hire are ignored: they only reach a state without a
    /// hire when an as-of replay leaves out a hire that takes effect later.
    fn evolve(&mut self, event: &EmployeeEvent) {
        if !self.is_hired() && !matches!(event, EmployeeEvent::Hired(_)) {
            return;
        }
        match event {
            EmployeeEvent::Hired(e) => {
                *self = Self {
                    id: e.employee_id,
                    given_name: e.given_name.clone(),
                    family_name: e.family_name.clone(),
                    work_email: e.work_email.clone(),
                    department: e.department.clone(),
                    role_title: e.role_title.clone(),
                    manager_id: e.manager_id,
                    tenure_periods: vec![TenurePeriod {
                        start: e.effective_date,
                        end: None,
                        contract: e.contract.clone(),
                        separation_type: None,
                    }],
                    ..Self::default()
                };
            }
            EmployeeEvent::PersonalDetailsChanged(e) => {
                self.given_name = e.given_name.clone();
                self.family_name = e.family_name.clone();
                self.work_email = e.work_email.clone();
            }
            EmployeeEvent::ContractChanged(e) => {
                if let Some(period) = self.current_period_mut() {
                    period.contract = e.contract.clone();
                }
            }
            EmployeeEvent::RoleChanged(e) => {
                self.role_title = e.role_title.clone();
                self.department = e.department.clone();
            }
            EmployeeEvent::ManagerAssigned(e) => self.manager_id = e.manager_id,
            EmployeeEvent::WorkAgreementRecorded(e) => {
                self.work_agreement = Some(e.agreement.clone());
                self.work_agreement_versions += 1;
            }
            EmployeeEvent::InterestsChanged(e) => self.interests = e.tags.clone(),
            EmployeeEvent::DepartureAnnounced(e) => {
                self.departure = Some(Departure {
                    separation_type: e.separation_type,
                    reason_code: e.reason_code.clone(),
                    regrettable: e.regrettable,
                    last_working_day: e.last_working_day,
                    announced_on: e.effective_date,
                    note: e.note.clone(),
                    backdate_reason: e.backdate_reason.clone(),
                });
            }
            EmployeeEvent::DepartureWithdrawn(_) => self.departure = None,
            // The event carries everything it needs, so it also closes the
            // period in an as-of replay that has not yet seen the announcement.
            EmployeeEvent::EmploymentEnded(e) => {
                self.departure = None;
                self.role_title = e.role_title.clone();
                self.department = e.department.clone();
                if let Some(period) = self.current_period_mut() {
                    period.end = Some(e.effective_date);
                    period.separation_type = Some(e.separation_type);
                    period.contract = e.contract.clone();
                }
            }
            EmployeeEvent::Rehired(e) => {
                self.departure = None;
                self.work_agreement = None;
                self.role_title = e.role_title.clone();
                self.department = e.department.clone();
                self.manager_id = e.manager_id;
                self.tenure_periods.push(TenurePeriod {
                    start: e.effective_date,
                    end: None,
                    contract: e.contract.clone(),
                    separation_type: None,
                });
            }
        }
    }
}
