//! The shapes of `types.proto` (contracts, work agreements and the enums) in
//! both directions. Written once here and shared by the event codec and the
//! gRPC request conversions, since requests and events use the same messages.

use chrono::Weekday;
use tenure_proto::tenure::employees::v1 as proto;

use crate::domain::calendar::format_date;
use crate::domain::field_violation::{FieldViolations, field_path};
use crate::domain::{
    Contract, ContractChangeKind, ContractKind, ContractTerms, EmployeeStatus, FieldViolation,
    SeparationType, WorkAgreement, WorkAgreementTerms,
};

/// The kind of a contract; `None` for UNSPECIFIED and values this code does
/// not know ([`Contract::parse`] reports them).
pub fn contract_kind_from_proto(value: i32) -> Option<ContractKind> {
    match proto::ContractKind::try_from(value).ok()? {
        proto::ContractKind::Unspecified => None,
        proto::ContractKind::Permanent => Some(ContractKind::Permanent),
        proto::ContractKind::FixedTerm => Some(ContractKind::FixedTerm),
        proto::ContractKind::Freelance => Some(ContractKind::Freelance),
        proto::ContractKind::Project => Some(ContractKind::Project),
        proto::ContractKind::Seasonal => Some(ContractKind::Seasonal),
    }
}

pub fn contract_kind_to_proto(kind: ContractKind) -> proto::ContractKind {
    match kind {
        ContractKind::Permanent => proto::ContractKind::Permanent,
        ContractKind::FixedTerm => proto::ContractKind::FixedTerm,
        ContractKind::Freelance => proto::ContractKind::Freelance,
        ContractKind::Project => proto::ContractKind::Project,
        ContractKind::Seasonal => proto::ContractKind::Seasonal,
    }
}

/// A required contract change kind.
pub fn contract_change_kind_from_proto(
    field: &str,
    value: i32,
) -> Result<ContractChangeKind, FieldViolation> {
    match proto::ContractChangeKind::try_from(value) {
        Ok(proto::ContractChangeKind::Extend) => Ok(ContractChangeKind::Extend),
        Ok(proto::ContractChangeKind::Convert) => Ok(ContractChangeKind::Convert),
        Ok(proto::ContractChangeKind::ChangeHours) => Ok(ContractChangeKind::ChangeHours),
        Ok(proto::ContractChangeKind::Other) => Ok(ContractChangeKind::Other),
        Ok(proto::ContractChangeKind::Unspecified) | Err(_) => Err(enum_violation(
            field,
            value,
            "CONTRACT_CHANGE_KIND_EXTEND, CONTRACT_CHANGE_KIND_CONVERT, CONTRACT_CHANGE_KIND_CHANGE_HOURS or CONTRACT_CHANGE_KIND_OTHER",
        )),
    }
}

pub fn contract_change_kind_to_proto(kind: ContractChangeKind) -> proto::ContractChangeKind {
    match kind {
        ContractChangeKind::Extend => proto::ContractChangeKind::Extend,
        ContractChangeKind::Convert => proto::ContractChangeKind::Convert,
        ContractChangeKind::ChangeHours => proto::ContractChangeKind::ChangeHours,
        ContractChangeKind::Other => proto::ContractChangeKind::Other,
    }
}

/// A required separation type.
pub fn separation_type_from_proto(
    field: &str,
    value: i32,
) -> Result<SeparationType, FieldViolation> {
    match proto::SeparationType::try_from(value) {
        Ok(proto::SeparationType::Voluntary) => Ok(SeparationType::Voluntary),
        Ok(proto::SeparationType::Involuntary) => Ok(SeparationType::Involuntary),
        Ok(proto::SeparationType::ContractEnd) => Ok(SeparationType::ContractEnd),
        Ok(proto::SeparationType::Retirement) => Ok(SeparationType::Retirement),
        Ok(proto::SeparationType::Mutual) => Ok(SeparationType::Mutual),
        Ok(proto::SeparationType::Other) => Ok(SeparationType::Other),
        Ok(proto::SeparationType::Unspecified) | Err(_) => Err(enum_violation(
            field,
            value,
            "SEPARATION_TYPE_VOLUNTARY, SEPARATION_TYPE_INVOLUNTARY, SEPARATION_TYPE_CONTRACT_END, \
             SEPARATION_TYPE_RETIREMENT, SEPARATION_TYPE_MUTUAL or SEPARATION_TYPE_OTHER",
        )),
    }
}

pub fn separation_type_to_proto(separation_type: SeparationType) -> proto::SeparationType {
    match separation_type {
        SeparationType::Voluntary => proto::SeparationType::Voluntary,
        SeparationType::Involuntary => proto::SeparationType::Involuntary,
        SeparationType::ContractEnd => proto::SeparationType::ContractEnd,
        SeparationType::Retirement => proto::SeparationType::Retirement,
        SeparationType::Mutual => proto::SeparationType::Mutual,
        SeparationType::Other => proto::SeparationType::Other,
    }
}

/// A required day of the week.
pub fn weekday_from_proto(field: &str, value: i32) -> Result<Weekday, FieldViolation> {
    match proto::Weekday::try_from(value) {
        Ok(proto::Weekday::Monday) => Ok(Weekday::Mon),
        Ok(proto::Weekday::Tuesday) => Ok(Weekday::Tue),
        Ok(proto::Weekday::Wednesday) => Ok(Weekday::Wed),
        Ok(proto::Weekday::Thursday) => Ok(Weekday::Thu),
        Ok(proto::Weekday::Friday) => Ok(Weekday::Fri),
        Ok(proto::Weekday::Saturday) => Ok(Weekday::Sat),
        Ok(proto::Weekday::Sunday) => Ok(Weekday::Sun),
        Ok(proto::Weekday::Unspecified) | Err(_) => Err(enum_violation(
            field,
            value,
            "a day of the week, WEEKDAY_MONDAY (1) to WEEKDAY_SUNDAY (7)",
        )),
    }
}

pub fn weekday_to_proto(day: Weekday) -> proto::Weekday {
    match day {
        Weekday::Mon => proto::Weekday::Monday,
        Weekday::Tue => proto::Weekday::Tuesday,
        Weekday::Wed => proto::Weekday::Wednesday,
        Weekday::Thu => proto::Weekday::Thursday,
        Weekday::Fri => proto::Weekday::Friday,
        Weekday::Sat => proto::Weekday::Saturday,
        Weekday::Sun => proto::Weekday::Sunday,
    }
}

/// An optional status filter: `None` for UNSPECIFIED ("any status").
pub fn employee_status_from_proto(
    field: &str,
    value: i32,
) -> Result<Option<EmployeeStatus>, FieldViolation> {
    match proto::EmployeeStatus::try_from(value) {
        Ok(proto::EmployeeStatus::Unspecified) => Ok(None),
        Ok(proto::EmployeeStatus::Active) => Ok(Some(EmployeeStatus::Active)),
        Ok(proto::EmployeeStatus::Leaving) => Ok(Some(EmployeeStatus::Leaving)),
        Ok(proto::EmployeeStatus::Left) => Ok(Some(EmployeeStatus::Left)),
        Err(_) => Err(enum_violation(
            field,
            value,
            "EMPLOYEE_STATUS_ACTIVE, EMPLOYEE_STATUS_LEAVING or EMPLOYEE_STATUS_LEFT",
        )),
    }
}

pub fn employee_status_to_proto(status: EmployeeStatus) -> proto::EmployeeStatus {
    match status {
        EmployeeStatus::Active => proto::EmployeeStatus::Active,
        EmployeeStatus::Leaving => proto::EmployeeStatus::Leaving,
        EmployeeStatus::Left => proto::EmployeeStatus::Left,
    }
}

/// The violation of an enum field that is unset, UNSPECIFIED or unknown.
fn enum_violation(field: &str, value: i32, allowed: &str) -> FieldViolation {
    let given = if value == 0 {
        "it is unspecified".to_owned()
    } else {
        format!("{value} is not a known value")
    };
    FieldViolation::new(field, format!("must be {allowed}; {given}"))
}

/// A required contract at `field`.
pub fn contract_from_proto(
    field: &str,
    contract: Option<&proto::Contract>,
) -> Result<Contract, Vec<FieldViolation>> {
    let Some(contract) = contract else {
        return Err(vec![FieldViolation::new(field, "is required")]);
    };
    Contract::parse(
        field,
        ContractTerms {
            kind: contract_kind_from_proto(contract.kind),
            start_date: &contract.start_date,
            end_date: contract.end_date.as_deref(),
            hours_per_week: contract.hours_per_week,
            season_window: contract
                .season_window
                .as_ref()
                .map(|window| (window.start.as_str(), window.end.as_str())),
        },
    )
}

pub fn contract_to_proto(contract: &Contract) -> proto::Contract {
    proto::Contract {
        kind: contract_kind_to_proto(contract.kind()).into(),
        start_date: format_date(contract.start()),
        end_date: contract.end().map(format_date),
        hours_per_week: contract.hours_per_week(),
        season_window: contract.season().map(|season| proto::SeasonWindow {
            start: season.start().to_string(),
            end: season.end().to_string(),
        }),
    }
}

/// A required work agreement at `field`.
pub fn work_agreement_from_proto(
    field: &str,
    agreement: Option<&proto::WorkAgreement>,
) -> Result<WorkAgreement, Vec<FieldViolation>> {
    let Some(agreement) = agreement else {
        return Err(vec![FieldViolation::new(field, "is required")]);
    };
    let mut violations = FieldViolations::new();
    let mut days = |list: &str, values: &[i32]| -> Vec<Weekday> {
        values
            .iter()
            .enumerate()
            .filter_map(|(index, value)| {
                violations.check(weekday_from_proto(
                    &field_path(field, &format!("{list}[{index}]")),
                    *value,
                ))
            })
            .collect()
    };
    let office_days = days("office_days", &agreement.office_days);
    let remote_days = days("remote_days", &agreement.remote_days);
    let parsed = violations.check_all(WorkAgreement::parse(
        field,
        WorkAgreementTerms {
            office_days: &office_days,
            remote_days: &remote_days,
            core_hours_start: &agreement.core_hours_start,
            core_hours_end: &agreement.core_hours_end,
            agreements: &agreement.agreements,
            agreed_on: &agreement.agreed_on,
            review_date: agreement.review_date.as_deref(),
        },
    ));
    match parsed {
        Some(agreement) if violations.is_empty() => Ok(agreement),
        _ => Err(violations.into_vec()),
    }
}

pub fn work_agreement_to_proto(agreement: &WorkAgreement) -> proto::WorkAgreement {
    let days = |days: &[Weekday]| {
        days.iter()
            .map(|day| weekday_to_proto(*day).into())
            .collect()
    };
    let (core_hours_start, core_hours_end) = match agreement.core_hours() {
        Some(hours) => (
            hours.start().format("%H:%M").to_string(),
            hours.end().format("%H:%M").to_string(),
        ),
        None => (String::new(), String::new()),
    };
    proto::WorkAgreement {
        office_days: days(agreement.office_days()),
        remote_days: days(agreement.remote_days()),
        core_hours_start,
        core_hours_end,
        agreements: agreement.agreements().to_vec(),
        agreed_on: format_date(agreement.agreed_on()),
        review_date: agreement.review_date().map(format_date),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_enum_value_survives_the_round_trip() {
        for kind in ContractKind::ALL {
            assert_eq!(
                contract_kind_from_proto(contract_kind_to_proto(kind).into()),
                Some(kind)
            );
        }
        for kind in [
            ContractChangeKind::Extend,
            ContractChangeKind::Convert,
            ContractChangeKind::ChangeHours,
            ContractChangeKind::Other,
        ] {
            assert_eq!(
                contract_change_kind_from_proto("k", contract_change_kind_to_proto(kind).into()),
                Ok(kind)
            );
        }
        for separation in SeparationType::ALL {
            assert_eq!(
                separation_type_from_proto("s", separation_type_to_proto(separation).into()),
                Ok(separation)
            );
        }
        for day in [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ] {
            assert_eq!(
                weekday_from_proto("d", weekday_to_proto(day).into()),
                Ok(day)
            );
        }
        for status in [
            EmployeeStatus::Active,
            EmployeeStatus::Leaving,
            EmployeeStatus::Left,
        ] {
            assert_eq!(
                employee_status_from_proto("s", employee_status_to_proto(status).into()),
                Ok(Some(status))
            );
        }
    }

    #[test]
    fn unspecified_and_unknown_enum_values_are_refused() {
        assert_eq!(contract_kind_from_proto(0), None);
        assert_eq!(contract_kind_from_proto(42), None);
        let unspecified = separation_type_from_proto("separation_type", 0).unwrap_err();
        assert!(
            unspecified.description.contains("unspecified"),
            "{unspecified}"
        );
        let unknown = contract_change_kind_from_proto("change_kind", 9).unwrap_err();
        assert!(
            unknown.description.contains("9 is not a known value"),
            "{unknown}"
        );
        assert!(weekday_from_proto("d", 0).is_err());
        assert_eq!(employee_status_from_proto("status", 0), Ok(None));
        assert!(employee_status_from_proto("status", 4).is_err());
    }

    #[test]
    fn a_missing_contract_or_agreement_is_required() {
        assert_eq!(
            contract_from_proto("contract", None).unwrap_err()[0].field,
            "contract"
        );
        assert_eq!(
            work_agreement_from_proto("agreement", None).unwrap_err()[0].field,
            "agreement"
        );
    }

    #[test]
    fn unknown_weekdays_are_reported_with_the_other_rules() {
        let agreement = proto::WorkAgreement {
            office_days: vec![1, 9],
            remote_days: vec![1],
            agreed_on: "2026-02-30".into(),
            ..Default::default()
        };
        let fields: Vec<_> = work_agreement_from_proto("agreement", Some(&agreement))
            .unwrap_err()
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(
            fields,
            [
                "agreement.office_days[1]",
                "agreement.remote_days[0]",
                "agreement.agreed_on"
            ]
        );
    }
}
