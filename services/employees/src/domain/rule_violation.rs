//! The business rules a command can break, said so a person understands.

use chrono::NaiveDate;
use uuid::Uuid;

use super::{ContractChangeKind, EmployeeStatus, SeparationType};

/// A command refused because it breaks a rule of employment. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleViolation {
    /// The stream holds no hire (the gRPC layer answers NOT_FOUND).
    #[error("no employee with this id has been hired")]
    NotHired,
    #[error("{name} is already an employee; a person is hired once and rehired after they left")]
    AlreadyHired { name: String },
    #[error("{name} has left; only a rehire can change a former employee")]
    HasLeft { name: String },
    #[error("{name} cannot be their own manager")]
    OwnManager { name: String },
    #[error("the manager {manager_id} is not an active employee")]
    ManagerNotActive { manager_id: Uuid },
    #[error("the manager {manager_id} is not an employee of this organisation")]
    ManagerOfOtherTenant { manager_id: Uuid },
    #[error(
        "{name} cannot report to {manager_id}: that manager already reports to {name}, directly or indirectly"
    )]
    ManagementCycle { name: String, manager_id: Uuid },
    #[error("{what} on {date} is before {name}'s current employment started on {period_start}")]
    BeforeCurrentEmployment {
        name: String,
        what: &'static str,
        date: NaiveDate,
        period_start: NaiveDate,
    },
    #[error("the contract change is not a {change_kind}: {reason}")]
    ContractChangeMismatch {
        change_kind: ContractChangeKind,
        reason: String,
    },
    #[error("{name} is {status}; only an active employee's departure can be announced")]
    NotActive {
        name: String,
        status: EmployeeStatus,
    },
    #[error("only a voluntary departure can be regrettable, not one of type {separation_type}")]
    RegrettableNotVoluntary { separation_type: SeparationType },
    #[error("the reason code {reason_code:?} is not one of this organisation's departure reasons")]
    UnknownReasonCode { reason_code: String },
    #[error(
        "the last working day {last_working_day} is before today ({today}); give a backdate reason to record it"
    )]
    LastWorkingDayInPast {
        last_working_day: NaiveDate,
        today: NaiveDate,
    },
    #[error("{name} has no announced departure to withdraw")]
    NoDepartureToWithdraw { name: String },
    #[error("{name} is not leaving; announce the departure before ending the employment")]
    NotLeaving { name: String },
    #[error(
        "{name}'s last working day {last_working_day} has come; a departure can only be withdrawn before it"
    )]
    LastWorkingDayReached {
        name: String,
        last_working_day: NaiveDate,
    },
    #[error(
        "the employment cannot end on {ended_on}, before the last working day {last_working_day}"
    )]
    EndBeforeLastWorkingDay {
        ended_on: NaiveDate,
        last_working_day: NaiveDate,
    },
    #[error("{name} is {status}; only a former employee can be rehired")]
    NotLeft {
        name: String,
        status: EmployeeStatus,
    },
    #[error(
        "the new employment must start after the previous one ended on {previous_end}, not on {start}"
    )]
    RehireBeforePreviousEnd {
        start: NaiveDate,
        previous_end: NaiveDate,
    },
}
