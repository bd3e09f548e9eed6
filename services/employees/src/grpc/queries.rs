//! The aggregate queries: workforce mix and turnover.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use tenure_proto::tenure::employees::v1 as proto;
use tonic::Status;
use uuid::Uuid;

use super::{listing, status};
use crate::app::EmployeesApp;
use crate::domain::FieldViolation;
use crate::projections::queries as directory;

/// Core (permanent) against flexible contracts per department, and in total.
pub async fn workforce_mix(
    app: &EmployeesApp,
    tenant_id: Uuid,
) -> Result<proto::GetWorkforceMixResponse, Status> {
    let rows = directory::contract_mix(app.pool(), tenant_id)
        .await
        .map_err(status::from_database)?;
    let empty_mix = |department: String| proto::DepartmentMix {
        department,
        by_kind: listing::all_contract_kinds()
            .map(|kind| proto::ContractKindCount { kind, count: 0 })
            .collect(),
        ..Default::default()
    };
    let mut departments: BTreeMap<String, proto::DepartmentMix> = BTreeMap::new();
    let mut total = empty_mix(String::new());
    for (department, kind, count) in rows {
        let mix = departments
            .entry(department.clone())
            .or_insert_with(|| empty_mix(department));
        let kind = listing::contract_kind_to_proto(&kind);
        for mix in [mix, &mut total] {
            if kind == proto::ContractKind::Permanent as i32 {
                mix.core_count += count;
            } else {
                mix.flexible_count += count;
            }
            if let Some(entry) = mix.by_kind.iter_mut().find(|k| k.kind == kind) {
                entry.count += count;
            }
        }
    }
    Ok(proto::GetWorkforceMixResponse {
        departments: departments.into_values().collect(),
        total: Some(total),
    })
}

/// The longest range GetTurnover answers, in months.
const MAX_MONTHS: i32 = 120;

/// Hires, rehires, leavers, headcount and turnover rate per month.
pub async fn turnover(
    app: &EmployeesApp,
    tenant_id: Uuid,
    request: &proto::GetTurnoverRequest,
) -> Result<proto::GetTurnoverResponse, Status> {
    let mut violations = Vec::new();
    let from = parse_month("from_month", &request.from_month, &mut violations);
    let to = parse_month("to_month", &request.to_month, &mut violations);
    let (Some(from), Some(to)) = (from, to) else {
        return Err(status::invalid(violations));
    };
    let months = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32 + 1;
    if months < 1 {
        return Err(status::invalid_field(
            "to_month",
            "must not be before from_month",
        ));
    }
    if months > MAX_MONTHS {
        return Err(status::invalid_field(
            "to_month",
            "the range may span at most 120 months",
        ));
    }
    let rows = directory::turnover(app.pool(), tenant_id, from, to)
        .await
        .map_err(status::from_database)?;
    let by_type = directory::leavers_by_type(app.pool(), tenant_id, from, to)
        .await
        .map_err(status::from_database)?;
    let months = rows
        .into_iter()
        .map(|row| {
            let average = (row.headcount_start + row.headcount_end) as f64 / 2.0;
            let leavers_by_separation_type = listing::all_separation_types()
                .map(|separation_type| proto::SeparationTypeCount {
                    separation_type,
                    count: by_type
                        .iter()
                        .filter(|(month, stored, _)| {
                            *month == row.month
                                && listing::separation_type_to_proto(stored) == separation_type
                        })
                        .map(|(_, _, count)| count)
                        .sum(),
                })
                .collect();
            proto::MonthTurnover {
                month: row.month.format("%Y-%m").to_string(),
                hires: row.hires,
                rehires: row.rehires,
                leavers: row.leavers,
                leavers_by_separation_type,
                headcount_start: row.headcount_start,
                headcount_end: row.headcount_end,
                average_headcount: average,
                turnover_rate: if average > 0.0 {
                    row.leavers as f64 / average
                } else {
                    0.0
                },
            }
        })
        .collect();
    Ok(proto::GetTurnoverResponse { months })
}

/// `YYYY-MM` as the first day of that month.
fn parse_month(field: &str, raw: &str, violations: &mut Vec<FieldViolation>) -> Option<NaiveDate> {
    let parsed = NaiveDate::parse_from_str(&format!("{}-01", raw.trim()), "%Y-%m-%d")
        .ok()
        .filter(|_| raw.trim().len() == 7);
    if parsed.is_none() {
        violations.push(FieldViolation::new(field, "must be a month as YYYY-MM"));
    }
    parsed
}
