//! The aggregate queries: workforce mix and turnover.

use std::collections::BTreeMap;

use tenure_proto::tenure::employees::v1 as proto;
use tonic::Status;
use uuid::Uuid;

use super::{listing, status};
use crate::app::EmployeesApp;
use crate::projections::queries as directory;

/// Core (permanent) against flexible contracts per department, and in total.
pub async fn workforce_mix(
    app: &EmployeesApp,
    tenant_id: Uuid,
) -> Result<proto::GetWorkforceMixResponse, Status> {
    let rows = directory::contract_mix(app.pool(), tenant_id)
        .await
        .map_err(status::from_database)?;
    let mut departments: BTreeMap<String, proto::DepartmentMix> = BTreeMap::new();
    let mut total = proto::DepartmentMix::default();
    for (department, kind, count) in rows {
        let mix = departments
            .entry(department.clone())
            .or_insert_with(|| proto::DepartmentMix {
                department,
                ..Default::default()
            });
        for mix in [mix, &mut total] {
            if kind == "permanent" {
                mix.core_count += count;
            } else {
                mix.flexible_count += count;
            }
            let kind = listing::contract_kind_to_proto(&kind);
            match mix.by_kind.iter_mut().find(|k| k.kind == kind) {
                Some(existing) => existing.count += count,
                None => mix.by_kind.push(proto::ContractKindCount { kind, count }),
            }
        }
    }
    total.by_kind.sort_by_key(|k| k.kind);
    Ok(proto::GetWorkforceMixResponse {
        departments: departments.into_values().collect(),
        total: Some(total),
    })
}

/// Hires, rehires and leavers per month.
pub async fn turnover(
    _app: &EmployeesApp,
    _tenant_id: Uuid,
    _request: &proto::GetTurnoverRequest,
) -> Result<proto::GetTurnoverResponse, Status> {
    Err(Status::unimplemented("GetTurnover is not available yet"))
}
