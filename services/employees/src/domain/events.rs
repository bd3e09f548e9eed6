//! What happened to an employee: one event per fact of employment, each with
//! the date it takes effect. Stored and published as the protobuf messages of
//! `events.proto` (see `codec`).

use chrono::NaiveDate;
use uuid::Uuid;

use super::{
    Contract, ContractChangeKind, ContractKind, Department, FreeText, Interests, PersonName,
    ReasonCode, RoleTitle, SeparationType, WorkAgreement, WorkEmail,
};

/// Everything that can happen to an employee.
#[derive(Debug, Clone, PartialEq)]
pub enum EmployeeEvent {
    Hired(EmployeeHired),
    PersonalDetailsChanged(PersonalDetailsChanged),
    ContractChanged(ContractChanged),
    RoleChanged(RoleChanged),
    ManagerAssigned(ManagerAssigned),
    WorkAgreementRecorded(WorkAgreementRecorded),
    InterestsChanged(InterestsChanged),
    DepartureAnnounced(DepartureAnnounced),
    DepartureWithdrawn(DepartureWithdrawn),
    EmploymentEnded(EmploymentEnded),
    Rehired(EmployeeRehired),
}

impl EmployeeEvent {
    /// The employee the event belongs to (the stream id).
    pub fn employee_id(&self) -> Uuid {
        match self {
            Self::Hired(e) => e.employee_id,
            Self::PersonalDetailsChanged(e) => e.employee_id,
            Self::ContractChanged(e) => e.employee_id,
            Self::RoleChanged(e) => e.employee_id,
            Self::ManagerAssigned(e) => e.employee_id,
            Self::WorkAgreementRecorded(e) => e.employee_id,
            Self::InterestsChanged(e) => e.employee_id,
            Self::DepartureAnnounced(e) => e.employee_id,
            Self::DepartureWithdrawn(e) => e.employee_id,
            Self::EmploymentEnded(e) => e.employee_id,
            Self::Rehired(e) => e.employee_id,
        }
    }

    /// The calendar date (tenant's time zone) on which the change takes effect.
    pub fn effective_date(&self) -> NaiveDate {
        match self {
            Self::Hired(e) => e.effective_date,
            Self::PersonalDetailsChanged(e) => e.effective_date,
            Self::ContractChanged(e) => e.effective_date,
            Self::RoleChanged(e) => e.effective_date,
            Self::ManagerAssigned(e) => e.effective_date,
            Self::WorkAgreementRecorded(e) => e.effective_date,
            Self::InterestsChanged(e) => e.effective_date,
            Self::DepartureAnnounced(e) => e.effective_date,
            Self::DepartureWithdrawn(e) => e.effective_date,
            Self::EmploymentEnded(e) => e.effective_date,
            Self::Rehired(e) => e.effective_date,
        }
    }
}

/// A person was hired: the first tenure period starts on `effective_date`,
/// which is also the contract's start.
#[derive(Debug, Clone, PartialEq)]
pub struct EmployeeHired {
    pub employee_id: Uuid,
    pub effective_date: NaiveDate,
    pub given_name: PersonName,
    pub family_name: PersonName,
    pub work_email: WorkEmail,
    pub department: Department,
    pub role_title: RoleTitle,
    pub manager_id: Option<Uuid>,
    pub contract: Contract,
}

/// The complete personal details after a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalDetailsChanged {
    pub employee_id: Uuid,
    pub effective_date: NaiveDate,
    pub given_name: PersonName,
    pub family_name: PersonName,
    pub work_email: WorkEmail,
}

/// The complete contract after a change of the given kind.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractChanged {
    pub employee_id: Uuid,
    pub effective_date: NaiveDate,
    pub change_kind: ContractChangeKind,
    pub contract: Contract,
}

/// The role title and department after a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleChanged {
    pub employee_id: Uuid,
    pub effective_date: NaiveDate,
    pub role_title: RoleTitle,
    pub department: Department,
}

/// A (new) manager, or `None` when the manager was removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagerAssigned {
    pub employee_id: Uuid,
    pub effective_date: NaiveDate,
    pub manager_id: Option<Uuid>,
}

/// A new version of the hybrid-work agreement, effective on its `agreed_on`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkAgreementRecorded {
    pub employee_id: Uuid,
    pub effective_date: NaiveDate,
    pub agreement: WorkAgreement,
}

/// The complete set of interest tags after a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterestsChanged {
    pub employee_id: Uuid,
    pub effective_date: NaiveDate,
    pub tags: Interests,
}

/// A departure was announced on `effective_date`; the employee is leaving.
/// The contract kind, department and role title are context for consumers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartureAnnounced {
    pub employee_id: Uuid,
    pub effective_date: NaiveDate,
    pub separation_type: SeparationType,
    pub reason_code: ReasonCode,
    pub regrettable: Option<bool>,
    pub last_working_day: NaiveDate,
    pub note: Option<FreeText>,
    pub backdate_reason: Option<FreeText>,
    pub contract_kind: ContractKind,
    pub department: Department,
    pub role_title: RoleTitle,
}

/// The announced departure was withdrawn; the tenure period continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartureWithdrawn {
    pub employee_id: Uuid,
    pub effective_date: NaiveDate,
    pub reason: FreeText,
}

/// The employment ended; `effective_date` is its last day and closes the
/// current tenure period. The rest is the departure and employment that
/// ended, as context for consumers.
#[derive(Debug, Clone, PartialEq)]
pub struct EmploymentEnded {
    pub employee_id: Uuid,
    pub effective_date: NaiveDate,
    pub reason: FreeText,
    pub separation_type: SeparationType,
    pub reason_code: ReasonCode,
    pub regrettable: Option<bool>,
    pub period_start_date: NaiveDate,
    pub contract: Contract,
    pub role_title: RoleTitle,
    pub department: Department,
}

/// A former employee was hired again: a new tenure period starts on
/// `effective_date`, the new contract's start.
#[derive(Debug, Clone, PartialEq)]
pub struct EmployeeRehired {
    pub employee_id: Uuid,
    pub effective_date: NaiveDate,
    pub contract: Contract,
    pub role_title: RoleTitle,
    pub department: Department,
    pub manager_id: Option<Uuid>,
}
