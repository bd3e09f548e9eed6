//! The employees service's read models and the queries over them.

pub mod directory;
pub mod queries;

use tenure_kernel::projection::{RebuildReport, rebuild};
use tenure_kernel::{EventStore, StoreError};

use crate::domain::Employee;

/// Events read per page while rebuilding.
const REBUILD_PAGE: i64 = 2000;

/// Rebuilds every read model from the event store, one transaction each.
pub async fn rebuild_all(
    store: &EventStore,
) -> Result<Vec<(&'static str, RebuildReport)>, StoreError> {
    let directory = directory::Directory;
    let report = rebuild::<Employee>(store, &directory, REBUILD_PAGE).await?;
    Ok(vec![("employee_directory", report)])
}
