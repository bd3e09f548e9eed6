//! An ImportRecord into the command it stands for: the record's change is
//! read by the converter of its own RPC (so the same fields are checked the
//! same way), with the record's employee and recorded day put in, and field
//! paths named from the record (`change_role.effective_date`).

use chrono::NaiveDate;
use prost::Message;
use tenure_kernel::RequestFingerprint;
use tenure_proto::tenure::employees::v1::{self as proto, import_record::Change};
use tenure_runtime::RequestId;
use uuid::Uuid;

use super::convert;
use crate::app::CommandOptions;
use crate::domain::{
    EmployeeCommand, FieldViolation, FieldViolations, field_path, parse_id, parse_recorded_on,
};

/// The fingerprint kind of import records in the request log.
const RECORD_KIND: &str = "ImportRecord";

/// A well-formed record, ready for the app.
#[derive(Debug)]
pub struct ParsedRecord {
    pub employee_id: Uuid,
    pub command: EmployeeCommand,
    /// The record key as request id, with the fingerprint of the record.
    pub options: CommandOptions,
}

/// Why a record cannot be applied: its violations, and its employee when that
/// much could be read (so that the employee's later records are skipped).
#[derive(Debug)]
pub struct InvalidRecord {
    pub employee_id: Option<Uuid>,
    pub violations: Vec<FieldViolation>,
}

/// Reads `record`; `today` is the tenant's today.
pub fn record_from_proto(
    record: &proto::ImportRecord,
    today: NaiveDate,
) -> Result<ParsedRecord, InvalidRecord> {
    let mut v = FieldViolations::new();
    let record_key = match RequestId::parse(&record.record_key) {
        Ok(Some(key)) => Some(key),
        Ok(None) => {
            v.push("record_key", "is required (a key unique within the tenant)");
            None
        }
        Err(error) => {
            v.push("record_key", error.to_string());
            None
        }
    };
    let employee_id = v.check(parse_id("employee_id", &record.employee_id));
    let recorded_on = v.check(parse_recorded_on("recorded_on", &record.recorded_on, today));
    let command = match (&record.change, employee_id, recorded_on) {
        (None, ..) => {
            v.push("change", "is required: one of the changes");
            None
        }
        (Some(change), Some(employee_id), Some(recorded_on)) => {
            change_from_proto(&mut v, change, employee_id, recorded_on)
        }
        // The change is read once the employee and day it needs are known.
        _ => None,
    };
    match (record_key, employee_id, command) {
        (Some(key), Some(employee_id), Some(command)) if v.is_empty() => Ok(ParsedRecord {
            employee_id,
            command,
            options: CommandOptions {
                expected_version: None,
                request_id: Some(key.into_string()),
                fingerprint: Some(fingerprint(record)),
            },
        }),
        _ => Err(InvalidRecord {
            employee_id,
            violations: v.into_vec(),
        }),
    }
}

/// What the record asked for: itself without its key. A record sent again
/// with empty `recorded_on` matches on a later day too.
fn fingerprint(record: &proto::ImportRecord) -> RequestFingerprint {
    let content = proto::ImportRecord {
        record_key: String::new(),
        ..record.clone()
    };
    RequestFingerprint::new(RECORD_KIND, &content.encode_to_vec())
}

/// The command of `change`, read by its RPC's converter; its violations are
/// recorded under the change's field name.
fn change_from_proto(
    v: &mut FieldViolations,
    change: &Change,
    employee_id: Uuid,
    recorded_on: NaiveDate,
) -> Option<EmployeeCommand> {
    let id = employee_id.to_string();
    let (name, inner, parsed) = match change {
        Change::Hire(r) => (
            "hire",
            Inner::of(r.request_id.as_str(), r.expected_version, None),
            convert::hire_employee_from_proto(
                &proto::HireEmployeeRequest {
                    expected_version: None,
                    ..r.clone()
                },
                employee_id,
            ),
        ),
        Change::ChangePersonalDetails(r) => (
            "change_personal_details",
            Inner::of(&r.request_id, r.expected_version, Some(&r.employee_id)),
            convert::change_personal_details_from_proto(
                &proto::ChangePersonalDetailsRequest {
                    employee_id: id,
                    ..r.clone()
                },
                recorded_on,
            ),
        ),
        Change::ChangeContract(r) => (
            "change_contract",
            Inner::of(&r.request_id, r.expected_version, Some(&r.employee_id)),
            convert::change_contract_from_proto(&proto::ChangeContractRequest {
                employee_id: id,
                ..r.clone()
            }),
        ),
        Change::ChangeRole(r) => (
            "change_role",
            Inner::of(&r.request_id, r.expected_version, Some(&r.employee_id)),
            convert::change_role_from_proto(&proto::ChangeRoleRequest {
                employee_id: id,
                ..r.clone()
            }),
        ),
        Change::AssignManager(r) => (
            "assign_manager",
            Inner::of(&r.request_id, r.expected_version, Some(&r.employee_id)),
            convert::assign_manager_from_proto(&proto::AssignManagerRequest {
                employee_id: id,
                ..r.clone()
            }),
        ),
        Change::RecordWorkAgreement(r) => (
            "record_work_agreement",
            Inner::of(&r.request_id, r.expected_version, Some(&r.employee_id)),
            convert::record_work_agreement_from_proto(&proto::RecordWorkAgreementRequest {
                employee_id: id,
                ..r.clone()
            }),
        ),
        Change::SetInterests(r) => (
            "set_interests",
            Inner::of(&r.request_id, r.expected_version, Some(&r.employee_id)),
            convert::set_interests_from_proto(
                &proto::SetInterestsRequest {
                    employee_id: id,
                    ..r.clone()
                },
                recorded_on,
            ),
        ),
        Change::AnnounceDeparture(r) => (
            "announce_departure",
            Inner::of(&r.request_id, r.expected_version, Some(&r.employee_id)),
            convert::announce_departure_from_proto(
                &proto::AnnounceDepartureRequest {
                    employee_id: id,
                    ..r.clone()
                },
                recorded_on,
                None,
            ),
        ),
        Change::WithdrawDeparture(r) => (
            "withdraw_departure",
            Inner::of(&r.request_id, r.expected_version, Some(&r.employee_id)),
            convert::withdraw_departure_from_proto(
                &proto::WithdrawDepartureRequest {
                    employee_id: id,
                    ..r.clone()
                },
                recorded_on,
            ),
        ),
        Change::EndEmployment(r) => (
            "end_employment",
            Inner::of(&r.request_id, r.expected_version, Some(&r.employee_id)),
            convert::end_employment_from_proto(&proto::EndEmploymentRequest {
                employee_id: id,
                ..r.clone()
            }),
        ),
        Change::Rehire(r) => (
            "rehire",
            Inner::of(&r.request_id, r.expected_version, Some(&r.employee_id)),
            convert::rehire_employee_from_proto(&proto::RehireEmployeeRequest {
                employee_id: id,
                ..r.clone()
            }),
        ),
    };
    inner.check(v, name, employee_id);
    match parsed {
        Ok((_, command)) => Some(command),
        Err(violations) => {
            for violation in violations {
                v.push(field_path(name, &violation.field), violation.description);
            }
            None
        }
    }
}

/// The fields of the inner request that the record itself stands for.
struct Inner<'a> {
    request_id: &'a str,
    expected_version: Option<i64>,
    employee_id: Option<&'a str>,
}

impl<'a> Inner<'a> {
    fn of(
        request_id: &'a str,
        expected_version: Option<i64>,
        employee_id: Option<&'a str>,
    ) -> Self {
        Self {
            request_id,
            expected_version,
            employee_id,
        }
    }

    fn check(&self, v: &mut FieldViolations, name: &str, employee_id: Uuid) {
        if !self.request_id.trim().is_empty() {
            v.push(
                field_path(name, "request_id"),
                "must be unset in an import; the record_key is the idempotency key",
            );
        }
        if self.expected_version.is_some() {
            v.push(
                field_path(name, "expected_version"),
                "must be unset in an import; records of an employee apply in the order sent",
            );
        }
        if let Some(inner) = self.employee_id.map(str::trim)
            && !inner.is_empty()
            && Uuid::parse_str(inner).ok() != Some(employee_id)
        {
            v.push(
                field_path(name, "employee_id"),
                "must be empty or the record's employee_id",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADA: &str = "0190a5b8-0000-7000-8000-00000000ada0";

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()
    }

    fn role_change(key: &str) -> proto::ImportRecord {
        proto::ImportRecord {
            record_key: key.into(),
            employee_id: ADA.into(),
            recorded_on: String::new(),
            change: Some(Change::ChangeRole(proto::ChangeRoleRequest {
                role_title: "Lead".into(),
                department: "Platform".into(),
                effective_date: "2019-06-01".into(),
                ..Default::default()
            })),
        }
    }

    #[test]
    fn a_record_becomes_its_command_keyed_by_its_record_key() {
        let parsed = record_from_proto(&role_change("src-1"), today()).unwrap();
        assert_eq!(parsed.employee_id.to_string(), ADA);
        assert!(matches!(parsed.command, EmployeeCommand::ChangeRole(_)));
        assert_eq!(parsed.options.request_id.as_deref(), Some("src-1"));
    }

    #[test]
    fn the_fingerprint_is_the_content_without_the_key() {
        let first = record_from_proto(&role_change("src-1"), today()).unwrap();
        let again = record_from_proto(&role_change("src-2"), today()).unwrap();
        assert_eq!(first.options.fingerprint, again.options.fingerprint);
        let mut other = role_change("src-1");
        other.recorded_on = "2019-06-01".into();
        let other = record_from_proto(&other, today()).unwrap();
        assert_ne!(first.options.fingerprint, other.options.fingerprint);
    }

    #[test]
    fn violations_are_named_from_the_record() {
        let mut record = role_change(" ");
        let Some(Change::ChangeRole(change)) = &mut record.change else {
            unreachable!()
        };
        change.effective_date = "June".into();
        change.request_id = "r".into();
        let invalid = record_from_proto(&record, today()).unwrap_err();
        let fields: Vec<_> = invalid
            .violations
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        assert_eq!(
            fields,
            [
                "record_key",
                "change_role.request_id",
                "change_role.effective_date"
            ]
        );
        assert_eq!(
            invalid.employee_id.map(|id| id.to_string()).as_deref(),
            Some(ADA)
        );
    }

    #[test]
    fn a_record_without_a_change_or_with_another_employee_inside_is_invalid() {
        let mut record = role_change("k");
        record.change = None;
        let invalid = record_from_proto(&record, today()).unwrap_err();
        assert_eq!(invalid.violations[0].field, "change");

        let mut record = role_change("k");
        let Some(Change::ChangeRole(change)) = &mut record.change else {
            unreachable!()
        };
        change.employee_id = "0190a5b8-0000-7000-8000-000000006ace".into();
        let invalid = record_from_proto(&record, today()).unwrap_err();
        assert_eq!(invalid.violations[0].field, "change_role.employee_id");
    }
}
