//! Employee events as stored and published: the protobuf messages of
//! `events.proto`. This is the one part of the domain that knows the proto,
//! because the stored payload *is* the published message.
//!
//! Decoding parses every field with the same rules as a request, so a stored
//! event that breaks them is reported as malformed rather than trusted.

mod types;

use prost::Message;
use tenure_kernel::{CodecError, DomainEvent, EventData};
use tenure_proto::tenure::employees::v1 as proto;
use uuid::Uuid;

pub use self::types::*;
use super::calendar::{format_date, parse_date};
use super::events::{
    ContractChanged, DepartureAnnounced, DepartureWithdrawn, EmployeeHired, EmployeeRehired,
    EmploymentEnded, InterestsChanged, ManagerAssigned, PersonalDetailsChanged, RoleChanged,
    WorkAgreementRecorded,
};
use super::field_violation::FieldViolations;
use super::ids::parse_id;
use super::{
    Department, EmployeeEvent, FieldViolation, FreeText, Interests, PersonName, ReasonCode,
    RoleTitle, WorkEmail,
};

/// The schema version this code writes and reads.
const SCHEMA_VERSION: i32 = 1;

impl EmployeeEvent {
    /// Every event type name, as stored and in the JetStream subject.
    pub const EVENT_TYPES: [&'static str; 11] = [
        "EmployeeHired",
        "PersonalDetailsChanged",
        "ContractChanged",
        "RoleChanged",
        "ManagerAssigned",
        "WorkAgreementRecorded",
        "InterestsChanged",
        "DepartureAnnounced",
        "DepartureWithdrawn",
        "EmploymentEnded",
        "EmployeeRehired",
    ];
}

impl DomainEvent for EmployeeEvent {
    fn event_type(&self) -> &'static str {
        let index = match self {
            Self::Hired(_) => 0,
            Self::PersonalDetailsChanged(_) => 1,
            Self::ContractChanged(_) => 2,
            Self::RoleChanged(_) => 3,
            Self::ManagerAssigned(_) => 4,
            Self::WorkAgreementRecorded(_) => 5,
            Self::InterestsChanged(_) => 6,
            Self::DepartureAnnounced(_) => 7,
            Self::DepartureWithdrawn(_) => 8,
            Self::EmploymentEnded(_) => 9,
            Self::Rehired(_) => 10,
        };
        Self::EVENT_TYPES[index]
    }

    fn schema_version(&self) -> i32 {
        SCHEMA_VERSION
    }

    fn encode(&self) -> Vec<u8> {
        match self {
            Self::Hired(e) => proto::EmployeeHired::from(e).encode_to_vec(),
            Self::PersonalDetailsChanged(e) => {
                proto::PersonalDetailsChanged::from(e).encode_to_vec()
            }
            Self::ContractChanged(e) => proto::ContractChanged::from(e).encode_to_vec(),
            Self::RoleChanged(e) => proto::RoleChanged::from(e).encode_to_vec(),
            Self::ManagerAssigned(e) => proto::ManagerAssigned::from(e).encode_to_vec(),
            Self::WorkAgreementRecorded(e) => proto::WorkAgreementRecorded::from(e).encode_to_vec(),
            Self::InterestsChanged(e) => proto::InterestsChanged::from(e).encode_to_vec(),
            Self::DepartureAnnounced(e) => proto::DepartureAnnounced::from(e).encode_to_vec(),
            Self::DepartureWithdrawn(e) => proto::DepartureWithdrawn::from(e).encode_to_vec(),
            Self::EmploymentEnded(e) => proto::EmploymentEnded::from(e).encode_to_vec(),
            Self::Rehired(e) => proto::EmployeeRehired::from(e).encode_to_vec(),
        }
    }

    fn decode(data: &EventData) -> Result<Self, CodecError> {
        if data.schema_version != SCHEMA_VERSION {
            return Err(CodecError::UnknownVersion {
                event_type: data.event_type.clone(),
                schema_version: data.schema_version,
            });
        }
        match data.event_type.as_str() {
            "EmployeeHired" => decode_as::<proto::EmployeeHired, _>(data).map(Self::Hired),
            "PersonalDetailsChanged" => decode_as::<proto::PersonalDetailsChanged, _>(data)
                .map(Self::PersonalDetailsChanged),
            "ContractChanged" => {
                decode_as::<proto::ContractChanged, _>(data).map(Self::ContractChanged)
            }
            "RoleChanged" => decode_as::<proto::RoleChanged, _>(data).map(Self::RoleChanged),
            "ManagerAssigned" => {
                decode_as::<proto::ManagerAssigned, _>(data).map(Self::ManagerAssigned)
            }
            "WorkAgreementRecorded" => {
                decode_as::<proto::WorkAgreementRecorded, _>(data).map(Self::WorkAgreementRecorded)
            }
            "InterestsChanged" => {
                decode_as::<proto::InterestsChanged, _>(data).map(Self::InterestsChanged)
            }
            "DepartureAnnounced" => {
                decode_as::<proto::DepartureAnnounced, _>(data).map(Self::DepartureAnnounced)
            }
            "DepartureWithdrawn" => {
                decode_as::<proto::DepartureWithdrawn, _>(data).map(Self::DepartureWithdrawn)
            }
            "EmploymentEnded" => {
                decode_as::<proto::EmploymentEnded, _>(data).map(Self::EmploymentEnded)
            }
            "EmployeeRehired" => decode_as::<proto::EmployeeRehired, _>(data).map(Self::Rehired),
            other => Err(CodecError::UnknownType {
                event_type: other.to_owned(),
            }),
        }
    }
}

/// Decodes the payload as message `P` and parses it into the domain event `E`.
fn decode_as<P, E>(data: &EventData) -> Result<E, CodecError>
where
    P: Message + Default,
    E: for<'a> TryFrom<&'a P, Error = Vec<FieldViolation>>,
{
    let malformed = |reason: String| CodecError::Malformed {
        event_type: data.event_type.clone(),
        reason,
    };
    let message =
        P::decode(data.payload.as_slice()).map_err(|error| malformed(error.to_string()))?;
    E::try_from(&message).map_err(|violations| {
        malformed(
            violations
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )
    })
}

fn optional_id(id: Option<Uuid>) -> Option<String> {
    id.map(|id| id.to_string())
}

/// Parses the two fields every event has: `employee_id` and `effective_date`.
fn common(
    violations: &mut FieldViolations,
    employee_id: &str,
    effective_date: &str,
) -> (Option<Uuid>, Option<chrono::NaiveDate>) {
    (
        violations.check(parse_id("employee_id", employee_id)),
        violations.check(parse_date("effective_date", effective_date)),
    )
}

fn optional<T>(
    violations: &mut FieldViolations,
    raw: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, FieldViolation>,
) -> Option<Option<T>> {
    match raw {
        Some(raw) => violations.check(parse(raw)).map(Some),
        None => Some(None),
    }
}

/// Builds the event once every field parsed, or returns every violation.
macro_rules! parsed {
    ($violations:ident, ($($field:ident),+) => $build:expr) => {
        match ($($field),+) {
            ($(Some($field)),+) if $violations.is_empty() => Ok($build),
            _ => Err($violations.into_vec()),
        }
    };
}

impl From<&EmployeeHired> for proto::EmployeeHired {
    fn from(e: &EmployeeHired) -> Self {
        Self {
            employee_id: e.employee_id.to_string(),
            effective_date: format_date(e.effective_date),
            given_name: e.given_name.to_string(),
            family_name: e.family_name.to_string(),
            work_email: e.work_email.to_string(),
            department: e.department.to_string(),
            role_title: e.role_title.to_string(),
            manager_id: optional_id(e.manager_id),
            contract: Some(contract_to_proto(&e.contract)),
        }
    }
}

impl TryFrom<&proto::EmployeeHired> for EmployeeHired {
    type Error = Vec<FieldViolation>;

    fn try_from(m: &proto::EmployeeHired) -> Result<Self, Self::Error> {
        let mut v = FieldViolations::new();
        let (employee_id, effective_date) = common(&mut v, &m.employee_id, &m.effective_date);
        let given_name = v.check(PersonName::parse("given_name", &m.given_name));
        let family_name = v.check(PersonName::parse("family_name", &m.family_name));
        let work_email = v.check(WorkEmail::parse("work_email", &m.work_email));
        let department = v.check(Department::parse("department", &m.department));
        let role_title = v.check(RoleTitle::parse("role_title", &m.role_title));
        let manager_id = optional(&mut v, m.manager_id.as_deref(), |raw| {
            parse_id("manager_id", raw)
        });
        let contract = v.check_all(contract_from_proto("contract", m.contract.as_ref()));
        parsed!(v, (employee_id, effective_date, given_name, family_name, work_email, department, role_title, manager_id, contract) => Self {
            employee_id, effective_date, given_name, family_name, work_email, department, role_title, manager_id, contract,
        })
    }
}

impl From<&PersonalDetailsChanged> for proto::PersonalDetailsChanged {
    fn from(e: &PersonalDetailsChanged) -> Self {
        Self {
            employee_id: e.employee_id.to_string(),
            effective_date: format_date(e.effective_date),
            given_name: e.given_name.to_string(),
            family_name: e.family_name.to_string(),
            work_email: e.work_email.to_string(),
        }
    }
}

impl TryFrom<&proto::PersonalDetailsChanged> for PersonalDetailsChanged {
    type Error = Vec<FieldViolation>;

    fn try_from(m: &proto::PersonalDetailsChanged) -> Result<Self, Self::Error> {
        let mut v = FieldViolations::new();
        let (employee_id, effective_date) = common(&mut v, &m.employee_id, &m.effective_date);
        let given_name = v.check(PersonName::parse("given_name", &m.given_name));
        let family_name = v.check(PersonName::parse("family_name", &m.family_name));
        let work_email = v.check(WorkEmail::parse("work_email", &m.work_email));
        parsed!(v, (employee_id, effective_date, given_name, family_name, work_email) => Self {
            employee_id, effective_date, given_name, family_name, work_email,
        })
    }
}

impl From<&ContractChanged> for proto::ContractChanged {
    fn from(e: &ContractChanged) -> Self {
        Self {
            employee_id: e.employee_id.to_string(),
            effective_date: format_date(e.effective_date),
            change_kind: contract_change_kind_to_proto(e.change_kind).into(),
            contract: Some(contract_to_proto(&e.contract)),
        }
    }
}

impl TryFrom<&proto::ContractChanged> for ContractChanged {
    type Error = Vec<FieldViolation>;

    fn try_from(m: &proto::ContractChanged) -> Result<Self, Self::Error> {
        let mut v = FieldViolations::new();
        let (employee_id, effective_date) = common(&mut v, &m.employee_id, &m.effective_date);
        let change_kind = v.check(contract_change_kind_from_proto(
            "change_kind",
            m.change_kind,
        ));
        let contract = v.check_all(contract_from_proto("contract", m.contract.as_ref()));
        parsed!(v, (employee_id, effective_date, change_kind, contract) => Self {
            employee_id, effective_date, change_kind, contract,
        })
    }
}

impl From<&RoleChanged> for proto::RoleChanged {
    fn from(e: &RoleChanged) -> Self {
        Self {
            employee_id: e.employee_id.to_string(),
            effective_date: format_date(e.effective_date),
            role_title: e.role_title.to_string(),
            department: e.department.to_string(),
        }
    }
}

impl TryFrom<&proto::RoleChanged> for RoleChanged {
    type Error = Vec<FieldViolation>;

    fn try_from(m: &proto::RoleChanged) -> Result<Self, Self::Error> {
        let mut v = FieldViolations::new();
        let (employee_id, effective_date) = common(&mut v, &m.employee_id, &m.effective_date);
        let role_title = v.check(RoleTitle::parse("role_title", &m.role_title));
        let department = v.check(Department::parse("department", &m.department));
        parsed!(v, (employee_id, effective_date, role_title, department) => Self {
            employee_id, effective_date, role_title, department,
        })
    }
}

impl From<&ManagerAssigned> for proto::ManagerAssigned {
    fn from(e: &ManagerAssigned) -> Self {
        Self {
            employee_id: e.employee_id.to_string(),
            effective_date: format_date(e.effective_date),
            manager_id: optional_id(e.manager_id),
        }
    }
}

impl TryFrom<&proto::ManagerAssigned> for ManagerAssigned {
    type Error = Vec<FieldViolation>;

    fn try_from(m: &proto::ManagerAssigned) -> Result<Self, Self::Error> {
        let mut v = FieldViolations::new();
        let (employee_id, effective_date) = common(&mut v, &m.employee_id, &m.effective_date);
        let manager_id = optional(&mut v, m.manager_id.as_deref(), |raw| {
            parse_id("manager_id", raw)
        });
        parsed!(v, (employee_id, effective_date, manager_id) => Self { employee_id, effective_date, manager_id })
    }
}

impl From<&WorkAgreementRecorded> for proto::WorkAgreementRecorded {
    fn from(e: &WorkAgreementRecorded) -> Self {
        Self {
            employee_id: e.employee_id.to_string(),
            effective_date: format_date(e.effective_date),
            agreement: Some(work_agreement_to_proto(&e.agreement)),
        }
    }
}

impl TryFrom<&proto::WorkAgreementRecorded> for WorkAgreementRecorded {
    type Error = Vec<FieldViolation>;

    fn try_from(m: &proto::WorkAgreementRecorded) -> Result<Self, Self::Error> {
        let mut v = FieldViolations::new();
        let (employee_id, effective_date) = common(&mut v, &m.employee_id, &m.effective_date);
        let agreement = v.check_all(work_agreement_from_proto("agreement", m.agreement.as_ref()));
        parsed!(v, (employee_id, effective_date, agreement) => Self { employee_id, effective_date, agreement })
    }
}

impl From<&InterestsChanged> for proto::InterestsChanged {
    fn from(e: &InterestsChanged) -> Self {
        Self {
            employee_id: e.employee_id.to_string(),
            effective_date: format_date(e.effective_date),
            tags: e.tags.tags().to_vec(),
        }
    }
}

impl TryFrom<&proto::InterestsChanged> for InterestsChanged {
    type Error = Vec<FieldViolation>;

    fn try_from(m: &proto::InterestsChanged) -> Result<Self, Self::Error> {
        let mut v = FieldViolations::new();
        let (employee_id, effective_date) = common(&mut v, &m.employee_id, &m.effective_date);
        let tags = v.check_all(Interests::parse("tags", &m.tags));
        parsed!(v, (employee_id, effective_date, tags) => Self { employee_id, effective_date, tags })
    }
}

impl From<&DepartureAnnounced> for proto::DepartureAnnounced {
    fn from(e: &DepartureAnnounced) -> Self {
        Self {
            employee_id: e.employee_id.to_string(),
            effective_date: format_date(e.effective_date),
            separation_type: separation_type_to_proto(e.separation_type).into(),
            reason_code: e.reason_code.to_string(),
            regrettable: e.regrettable,
            last_working_day: format_date(e.last_working_day),
            note: e.note.as_ref().map(|note| note.as_str().to_owned()),
            backdate_reason: e
                .backdate_reason
                .as_ref()
                .map(|reason| reason.as_str().to_owned()),
            contract_kind: contract_kind_to_proto(e.contract_kind).into(),
            department: e.department.to_string(),
            role_title: e.role_title.to_string(),
        }
    }
}

impl TryFrom<&proto::DepartureAnnounced> for DepartureAnnounced {
    type Error = Vec<FieldViolation>;

    fn try_from(m: &proto::DepartureAnnounced) -> Result<Self, Self::Error> {
        let mut v = FieldViolations::new();
        let (employee_id, effective_date) = common(&mut v, &m.employee_id, &m.effective_date);
        let separation_type = v.check(separation_type_from_proto(
            "separation_type",
            m.separation_type,
        ));
        let reason_code = v.check(ReasonCode::parse("reason_code", &m.reason_code));
        let regrettable = Some(m.regrettable);
        let last_working_day = v.check(parse_date("last_working_day", &m.last_working_day));
        let note = optional(&mut v, m.note.as_deref(), |raw| {
            FreeText::parse("note", raw)
        });
        let backdate_reason = optional(&mut v, m.backdate_reason.as_deref(), |raw| {
            FreeText::parse("backdate_reason", raw)
        });
        let contract_kind = contract_kind_from_proto(m.contract_kind);
        if contract_kind.is_none() {
            v.push("contract_kind", "must be a known contract kind");
        }
        let department = v.check(Department::parse("department", &m.department));
        let role_title = v.check(RoleTitle::parse("role_title", &m.role_title));
        parsed!(v, (employee_id, effective_date, separation_type, reason_code, regrettable, last_working_day, note, backdate_reason, contract_kind, department, role_title) => Self {
            employee_id, effective_date, separation_type, reason_code, regrettable, last_working_day, note,
            backdate_reason, contract_kind, department, role_title,
        })
    }
}

impl From<&DepartureWithdrawn> for proto::DepartureWithdrawn {
    fn from(e: &DepartureWithdrawn) -> Self {
        Self {
            employee_id: e.employee_id.to_string(),
            effective_date: format_date(e.effective_date),
            reason: e.reason.as_str().to_owned(),
        }
    }
}

impl TryFrom<&proto::DepartureWithdrawn> for DepartureWithdrawn {
    type Error = Vec<FieldViolation>;

    fn try_from(m: &proto::DepartureWithdrawn) -> Result<Self, Self::Error> {
        let mut v = FieldViolations::new();
        let (employee_id, effective_date) = common(&mut v, &m.employee_id, &m.effective_date);
        let reason = v.check(FreeText::parse("reason", &m.reason));
        parsed!(v, (employee_id, effective_date, reason) => Self { employee_id, effective_date, reason })
    }
}

impl From<&EmploymentEnded> for proto::EmploymentEnded {
    fn from(e: &EmploymentEnded) -> Self {
        Self {
            employee_id: e.employee_id.to_string(),
            effective_date: format_date(e.effective_date),
            reason: e.reason.as_str().to_owned(),
            separation_type: separation_type_to_proto(e.separation_type).into(),
            reason_code: e.reason_code.to_string(),
            regrettable: e.regrettable,
            period_start_date: format_date(e.period_start_date),
            contract: Some(contract_to_proto(&e.contract)),
            role_title: e.role_title.to_string(),
            department: e.department.to_string(),
        }
    }
}

impl TryFrom<&proto::EmploymentEnded> for EmploymentEnded {
    type Error = Vec<FieldViolation>;

    fn try_from(m: &proto::EmploymentEnded) -> Result<Self, Self::Error> {
        let mut v = FieldViolations::new();
        let (employee_id, effective_date) = common(&mut v, &m.employee_id, &m.effective_date);
        let reason = v.check(FreeText::parse("reason", &m.reason));
        let separation_type = v.check(separation_type_from_proto(
            "separation_type",
            m.separation_type,
        ));
        let reason_code = v.check(ReasonCode::parse("reason_code", &m.reason_code));
        let regrettable = Some(m.regrettable);
        let period_start_date = v.check(parse_date("period_start_date", &m.period_start_date));
        let contract = v.check_all(contract_from_proto("contract", m.contract.as_ref()));
        let role_title = v.check(RoleTitle::parse("role_title", &m.role_title));
        let department = v.check(Department::parse("department", &m.department));
        parsed!(v, (employee_id, effective_date, reason, separation_type, reason_code, regrettable, period_start_date, contract, role_title, department) => Self {
            employee_id, effective_date, reason, separation_type, reason_code, regrettable, period_start_date,
            contract, role_title, department,
        })
    }
}

impl From<&EmployeeRehired> for proto::EmployeeRehired {
    fn from(e: &EmployeeRehired) -> Self {
        Self {
            employee_id: e.employee_id.to_string(),
            effective_date: format_date(e.effective_date),
            contract: Some(contract_to_proto(&e.contract)),
            role_title: e.role_title.to_string(),
            department: e.department.to_string(),
            manager_id: optional_id(e.manager_id),
        }
    }
}

impl TryFrom<&proto::EmployeeRehired> for EmployeeRehired {
    type Error = Vec<FieldViolation>;

    fn try_from(m: &proto::EmployeeRehired) -> Result<Self, Self::Error> {
        let mut v = FieldViolations::new();
        let (employee_id, effective_date) = common(&mut v, &m.employee_id, &m.effective_date);
        let contract = v.check_all(contract_from_proto("contract", m.contract.as_ref()));
        let role_title = v.check(RoleTitle::parse("role_title", &m.role_title));
        let department = v.check(Department::parse("department", &m.department));
        let manager_id = optional(&mut v, m.manager_id.as_deref(), |raw| {
            parse_id("manager_id", raw)
        });
        parsed!(v, (employee_id, effective_date, contract, role_title, department, manager_id) => Self {
            employee_id, effective_date, contract, role_title, department, manager_id,
        })
    }
}

#[cfg(test)]
mod tests;
