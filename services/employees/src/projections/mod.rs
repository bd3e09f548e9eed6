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

/// Rebuilds every read model from the event store, side by side, each into
/// shadow tables that replace the live rows under a short pause.
pub async fn rebuild_all(
    store: &EventStore,
) -> Result<Vec<(&'static str, RebuildReport)>, StoreError> {
    // All at once: each has connections of its own, and together they keep
    // the database busy while each one decodes and folds.
    let rebuilds = inline().into_iter().map(|projection| async move {
        let report = rebuild::<Employee>(store, projection.as_ref(), REBUILD_PAGE).await?;
        Ok((projection.name(), report))
    });
    futures::future::try_join_all(rebuilds).await
}

/// Every read model kept inline with the employee events.
pub fn inline() -> Vec<Arc<dyn InlineProjection<Employee>>> {
    vec![
        Arc::new(directory::Directory),
        Arc::new(periods::EmploymentPeriods),
    ]
}
