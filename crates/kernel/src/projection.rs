//! Read models kept in step with the events, and their rebuild from the store
//! into shadow tables while commands keep running.

mod rebuild;
mod shadow;

use async_trait::async_trait;
use sqlx::PgConnection;

use crate::event::Recorded;

pub use rebuild::{RebuildReport, rebuild};

/// A read model updated in the same transaction as the append of its events:
/// it is never behind the events, and a failing update fails the command.
///
/// Its rows must follow from the events alone (no sequences, no clock), so
/// that a rebuild gives the rows the appends gave.
#[async_trait]
pub trait InlineProjection<E>: Send + Sync + 'static {
    /// A stable name for logs and the `rebuild` command.
    fn name(&self) -> &'static str;

    /// The tables this read model owns, in its service's schema. A rebuild
    /// empties them in this order and refills them in the reverse order, so a
    /// table referencing another comes before it.
    fn tables(&self) -> &'static [&'static str];

    /// Applies events in the caller's transaction: those of one append, or a
    /// rebuild's page of many streams in commit order (each stream's events
    /// in version order). Batching the writes over the slice is what makes
    /// rebuilds fast.
    ///
    /// Name the tables unqualified: a rebuild runs this with its shadow
    /// schema first in the `search_path`, so the same code fills the copies.
    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[Recorded<E>],
    ) -> Result<(), sqlx::Error>;
}
