//! Read models kept in step with the events, and their rebuild from the store
//! into shadow tables while commands keep running.

mod rebuild;
mod shadow;

use async_trait::async_trait;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::aggregate::Aggregate;
use crate::event::Recorded;

pub use rebuild::{RebuildReport, rebuild};

/// A read model updated by the same statement as the append of its events:
/// it is never behind the events, and a refused row (a unique constraint, say)
/// refuses the command.
///
/// It has two paths to the same rows, and they must agree (a rebuild test is
/// the check):
/// - commands: [`Self::rows`] computes the rows a command changes from the
///   stream's state before it and its new events, without reading anything,
///   so the kernel can write events, request log, snapshot and rows in one
///   statement, and several commands' rows in one statement too;
/// - rebuilds: [`Self::apply`] folds pages of stored events of many streams.
///
/// Its rows must follow from the events alone (no sequences, no clock), so
/// that a rebuild gives the rows the commands gave.
#[async_trait]
pub trait InlineProjection<A: Aggregate>: Send + Sync + 'static {
    /// A stable name for logs and the `rebuild` command.
    fn name(&self) -> &'static str;

    /// The tables this read model owns, in its service's schema. A rebuild
    /// empties them in this order and refills them in the reverse order, so a
    /// table referencing another comes before it.
    fn tables(&self) -> &'static [&'static str];

    /// How the command path writes each table: by whole rows, a row replacing
    /// the one with its key. [`ProjectedRow::table`] indexes this slice.
    fn upserts(&self) -> &'static [RowUpsert];

    /// The rows a command's events change, as JSON objects whose keys are the
    /// columns of [`RowUpsert::columns`]: `before` is the stream's state before
    /// the first of `events`, which all belong to that one stream.
    ///
    /// Two commands in one statement never touch the same stream; rows keyed
    /// by something other than the stream (a counter per department, say)
    /// still work, but a statement whose commands share a row is run again
    /// one command at a time.
    fn rows(
        &self,
        before: &A,
        events: &[Appending<'_, A::Event>],
    ) -> Result<Vec<ProjectedRow>, serde_json::Error>;

    /// Applies stored events in the caller's transaction: a rebuild's page of
    /// many streams in commit order (each stream's events in version order).
    /// Batching the writes over the slice is what makes rebuilds fast.
    ///
    /// Name the tables unqualified: a rebuild runs this with its shadow
    /// schema first in the `search_path`, so the same code fills the copies.
    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[Recorded<A::Event>],
    ) -> Result<(), sqlx::Error>;
}

/// One table a projection writes on the command path.
#[derive(Debug, Clone, Copy)]
pub struct RowUpsert {
    /// The table, unqualified (in the service's schema).
    pub table: &'static str,
    /// The columns of its primary key (or another unique key): a row with
    /// the same key is replaced.
    pub key: &'static [&'static str],
    /// Every column a row sets, the key included. Columns left out keep
    /// their defaults on insert and their values on update.
    pub columns: &'static [&'static str],
}

/// A row for one of the projection's [`RowUpsert`]s.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectedRow {
    /// The index of its table in [`InlineProjection::upserts`].
    pub table: usize,
    /// A JSON object of column values, converted by PostgreSQL to the
    /// columns' types (`jsonb_populate_recordset`).
    pub values: serde_json::Value,
}

impl ProjectedRow {
    /// Row `row` of table `table`, its fields named as the table's columns.
    pub fn new(table: usize, row: &impl serde::Serialize) -> Result<Self, serde_json::Error> {
        Ok(Self {
            table,
            values: serde_json::to_value(row)?,
        })
    }
}

/// An event about to be appended, as the command path sees it: what a row
/// may depend on (ids and version, never the time or position of the write).
#[derive(Debug, Clone, Copy)]
pub struct Appending<'a, E> {
    pub tenant_id: Uuid,
    pub stream_id: Uuid,
    pub version: i64,
    pub event: &'a E,
}

impl<E> Recorded<E> {
    /// This stored event as the command path would have seen it.
    pub fn appending(&self) -> Appending<'_, E> {
        Appending {
            tenant_id: self.metadata.tenant_id,
            stream_id: self.stream_id,
            version: self.version,
            event: &self.event,
        }
    }
}
