//! Operator commands every service binary offers: its consumers' dead
//! letters and the events its relay parked, from the command line.
//!
//! ```text
//! tenure-<service> dead-letters list [--consumer NAME] [--all]
//! tenure-<service> dead-letters redrive ID
//! tenure-<service> dead-letters discard ID
//! tenure-<service> relay parked
//! tenure-<service> relay unpark ID
//! tenure-<service> relay lag
//! ```
//! Redrive and discard take effect in the running service within its
//! consumers' parked interval; nothing here needs the service stopped.

use std::io::Write;

use clap::Subcommand;
use sqlx::PgPool;
use tenure_kernel::consumer::operations::{self as dead_letters, OperationError};
use tenure_kernel::relay::operations as relay;

/// What to do with a consumer's dead letters.
#[derive(Debug, Clone, Subcommand)]
pub enum DeadLetterCommand {
    /// Lists dead letters, newest first: open ones unless --all.
    List {
        /// Only this consumer's.
        #[arg(long)]
        consumer: Option<String>,
        /// Also those already redriven or discarded.
        #[arg(long)]
        all: bool,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Applies a dead letter again (after its cause was fixed); the messages
    /// of its stream parked behind it follow.
    Redrive { id: i64 },
    /// Gives a dead letter up for good; the messages of its stream parked
    /// behind it apply without it.
    Discard { id: i64 },
}

/// What to do with events JetStream refused every time, and the relay's lag.
#[derive(Debug, Clone, Subcommand)]
pub enum RelayCommand {
    /// Lists the parked events and how many events of their streams wait behind them.
    Parked,
    /// Puts a parked event (by its id in the list) back in line for the
    /// relay, after its cause was fixed.
    Unpark { id: i64 },
    /// How many events wait for the relay, and how many it holds back.
    Lag,
}

#[derive(Debug, thiserror::Error)]
pub enum OperationsError {
    #[error(transparent)]
    DeadLetter(#[from] OperationError),
    #[error("no parked event {0}")]
    NoParkedRow(i64),
    #[error("database operation failed")]
    Database(#[from] sqlx::Error),
    #[error("cannot write the output")]
    Output(#[from] std::io::Error),
}

/// Runs a dead-letter command, printing its result to `out`.
pub async fn dead_letters(
    pool: &PgPool,
    command: &DeadLetterCommand,
    out: &mut impl Write,
) -> Result<(), OperationsError> {
    match command {
        DeadLetterCommand::List {
            consumer,
            all,
            limit,
        } => {
            let letters = dead_letters::list(pool, consumer.as_deref(), *all, *limit).await?;
            writeln!(
                out,
                "id\tconsumer\tstream\tversion\tattempts\tfailed at\tstate\tparked behind\terror"
            )?;
            for d in letters {
                let stream = d
                    .stream_id
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "-".into());
                let version = d
                    .version
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "-".into());
                let state = d.resolution.as_deref().unwrap_or("open");
                writeln!(
                    out,
                    "{}\t{}\t{stream}\t{version}\t{}\t{}\t{state}\t{}\t{}",
                    d.id,
                    d.consumer,
                    d.attempts,
                    d.failed_at.to_rfc3339(),
                    d.parked_behind,
                    d.error
                )?;
            }
        }
        DeadLetterCommand::Redrive { id } => {
            dead_letters::redrive(pool, *id).await?;
            writeln!(
                out,
                "dead letter {id} redriven: the consumer applies it again shortly"
            )?;
        }
        DeadLetterCommand::Discard { id } => {
            dead_letters::discard(pool, *id).await?;
            writeln!(
                out,
                "dead letter {id} discarded: its stream goes on without it"
            )?;
        }
    }
    Ok(())
}

/// Runs a relay command, printing its result to `out`.
pub async fn relay(
    pool: &PgPool,
    command: &RelayCommand,
    out: &mut impl Write,
) -> Result<(), OperationsError> {
    match command {
        RelayCommand::Parked => {
            writeln!(out, "id\tstream\tversion\tparked at\twaiting behind\terror")?;
            for row in relay::list_parked(pool).await? {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    row.id,
                    row.stream_id,
                    row.version,
                    row.parked_at.to_rfc3339(),
                    row.waiting_behind,
                    row.error
                )?;
            }
        }
        RelayCommand::Unpark { id } => {
            if !relay::unpark(pool, *id).await? {
                return Err(OperationsError::NoParkedRow(*id));
            }
            writeln!(out, "event {id} back in line for the relay")?;
        }
        RelayCommand::Lag => {
            let behind = relay::lag(pool).await?;
            let held = relay::held(pool).await?;
            writeln!(out, "behind\theld")?;
            writeln!(out, "{behind}\t{held}")?;
        }
    }
    Ok(())
}
