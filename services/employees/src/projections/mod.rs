//! The employees service's read models and the queries over them.

pub mod directory;
pub mod periods;
pub mod queries;

use std::sync::Arc;

use tenure_kernel::projection::{RebuildReport, rebuild};
use tenure_kernel::{EventStore, InlineProjection, StoreError};

use crate::domain::Employee;

/// Events read per page while rebuilding.
const REBUILD_PAGE: i64 = 2000;

/// Rebuilds every read model from the event store, one after the other, each
/// into shadow tables that replace the live rows under a short pause.
pub async fn rebuild_all(
    store: &EventStore,
) -> Result<Vec<(&'static str, RebuildReport)>, StoreError> {
    let mut reports = Vec::new();
    for projection in inline() {
        let report = rebuild::<Employee>(store, projection.as_ref(), REBUILD_PAGE).await?;
        reports.push((projection.name(), report));
    }
    Ok(reports)
}

/// Every read model kept inline with the employee events.
pub fn inline() -> Vec<Arc<dyn InlineProjection<Employee>>> {
    vec![
        Arc::new(directory::Directory),
        Arc::new(periods::EmploymentPeriods),
    ]
}
