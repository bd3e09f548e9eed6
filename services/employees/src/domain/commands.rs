//! What can be asked of an employee: one command per RPC of the service,
//! with parsed fields and the facts the domain cannot look up itself (the
//! tenant's today, the manager, the tenant's reason codes), which the app
//! layer fills before `decide`.

use chrono::NaiveDate;
use uuid::Uuid;

use super::{
    Contract, ContractChangeKind, Department, FreeText, Interests, PersonName, ReasonCode,
    RoleTitle, SeparationType, WorkAgreement, WorkEmail,
};

/// A command to the employee aggregate.
#[derive(Debug, Clone, PartialEq)]
pub enum EmployeeCommand {
    Hire(HireEmployee),
    ChangePersonalDetails(ChangePersonalDetails),
    ChangeContract(ChangeContract),
    ChangeRole(ChangeRole),
    AssignManager(AssignManager),
    RecordWorkAgreement(RecordWorkAgreement),
    SetInterests(SetInterests),
    AnnounceDeparture(AnnounceDeparture),
    WithdrawDeparture(WithdrawDeparture),
    EndEmployment(EndEmployment),
    Rehire(RehireEmployee),
}

impl EmployeeCommand {
    /// The slot for the requested manager's facts, for the commands that name
    /// a manager (hire, assign manager, rehire) and only when one is named.
    /// The app layer looks the manager up and replaces the
    /// [`ManagerFacts::unverified`] placeholder that `grpc::convert` leaves.
    pub fn manager_mut(&mut self) -> Option<&mut ManagerFacts> {
        match self {
            Self::Hire(command) => command.manager.as_mut(),
            Self::AssignManager(command) => command.manager.as_mut(),
            Self::Rehire(command) => command.manager.as_mut(),
            _ => None,
        }
    }
}

/// What the app layer knows about a requested manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagerFacts {
    pub id: Uuid,
    /// Whether the manager still works here (active, or leaving but not yet left).
    pub active: bool,
    /// Whether the manager is an employee of the command's tenant.
    pub same_tenant: bool,
    /// The manager's chain of managers upward: their manager, that one's
    /// manager, and so on. The employee in it means a management cycle.
    pub reports_chain: Vec<Uuid>,
}

impl ManagerFacts {
    /// Facts not yet looked up: inactive and of no known tenant, so a command
    /// whose manager was never verified is refused rather than accepted.
    pub fn unverified(id: Uuid) -> Self {
        Self {
            id,
            active: false,
            same_tenant: false,
            reports_chain: Vec::new(),
        }
    }
}

/// Hire a new employee; the first tenure period starts on the contract's start.
#[derive(Debug, Clone, PartialEq)]
pub struct HireEmployee {
    /// Chosen by the app layer; the stream id.
    pub employee_id: Uuid,
    pub given_name: PersonName,
    pub family_name: PersonName,
    pub work_email: WorkEmail,
    pub department: Department,
    pub role_title: RoleTitle,
    /// `None` for no manager.
    pub manager: Option<ManagerFacts>,
    /// Its start is the hire date.
    pub contract: Contract,
}

/// Change the name and/or work email; `None` keeps the current value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangePersonalDetails {
    pub given_name: Option<PersonName>,
    pub family_name: Option<PersonName>,
    pub work_email: Option<WorkEmail>,
    /// The tenant's today: the change's effective date.
    pub today: NaiveDate,
}

/// Replace the current contract.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeContract {
    pub change_kind: ContractChangeKind,
    pub contract: Contract,
    pub effective_date: NaiveDate,
}

/// Change the role title and department.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRole {
    pub role_title: RoleTitle,
    pub department: Department,
    pub effective_date: NaiveDate,
}

/// Assign a manager, or remove the manager with `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignManager {
    pub manager: Option<ManagerFacts>,
    pub effective_date: NaiveDate,
}

/// Record a new version of the hybrid-work agreement, effective on its `agreed_on`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordWorkAgreement {
    pub agreement: WorkAgreement,
}

/// Replace the interest tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetInterests {
    pub tags: Interests,
    /// The tenant's today: the change's effective date.
    pub today: NaiveDate,
}

/// Announce a departure, effective today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceDeparture {
    pub separation_type: SeparationType,
    pub reason_code: ReasonCode,
    pub regrettable: Option<bool>,
    pub last_working_day: NaiveDate,
    pub note: Option<FreeText>,
    /// Required when the last working day lies before today.
    pub backdate_reason: Option<FreeText>,
    /// The tenant's today: the announcement's effective date.
    pub today: NaiveDate,
    /// The tenant's departure reason codes; `None` when the tenant has not
    /// configured a list (any well-formed code is accepted then).
    pub reason_codes: Option<Vec<String>>,
}

/// Withdraw the announced departure, effective today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawDeparture {
    pub reason: FreeText,
    /// The tenant's today: the withdrawal's effective date.
    pub today: NaiveDate,
}

/// End the employment on `ended_on`, its last day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndEmployment {
    pub ended_on: NaiveDate,
    pub reason: FreeText,
}

/// Hire a former employee again; the new tenure period starts on the
/// contract's start.
#[derive(Debug, Clone, PartialEq)]
pub struct RehireEmployee {
    pub contract: Contract,
    /// `None` keeps the previous role title.
    pub role_title: Option<RoleTitle>,
    /// `None` keeps the previous department.
    pub department: Option<Department>,
    /// `None` for no manager.
    pub manager: Option<ManagerFacts>,
}
