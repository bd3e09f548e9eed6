//! Applying imported records: those of one employee in the order they were
//! received, those of different employees concurrently, each through
//! [`EmployeesApp::execute`] like a live command (so its writes share
//! statements and commits with the others'), with at most [`IN_FLIGHT`]
//! records under way. Once a record of an employee is not applied, that
//! employee's later records are skipped: the rest of a history without it
//! would record a different past.

use std::collections::HashMap;
use std::sync::Arc;

use tenure_kernel::Executed;
use tenure_runtime::Caller;
use tokio::sync::{Semaphore, mpsc, oneshot};
use uuid::Uuid;

use super::{AppError, CommandOptions, EmployeesApp};
use crate::domain::{Employee, EmployeeCommand};

/// The most records applied or waiting for an earlier record of their
/// employee at once; the importer stops taking records beyond it.
pub const IN_FLIGHT: usize = 4096;

/// How many employees are remembered before the finished ones are forgotten.
const REMEMBERED: usize = 4 * IN_FLIGHT;

/// What became of a record.
#[derive(Debug)]
pub enum RecordOutcome {
    /// Executed: appended now, changed nothing, or `replayed` (its key was
    /// applied before with the same content).
    Applied(Executed<Employee>),
    /// Refused by a rule, or failed.
    Refused(AppError),
    /// Not tried: an earlier record of the employee was not applied.
    Skipped,
}

/// Where an employee's history stands in this import.
enum Progress {
    /// Its latest record is under way; tells whether it was applied.
    Pending(oneshot::Receiver<bool>),
    /// Its latest record is done: applied or not.
    Done(bool),
}

/// One import call's records; dropping it (once every record has started)
/// closes `results` as soon as the last one is reported.
pub struct Import<T> {
    app: EmployeesApp,
    caller: Arc<Caller>,
    in_flight: Arc<Semaphore>,
    employees: HashMap<Uuid, Progress>,
    forget_at: usize,
    results: mpsc::Sender<T>,
}

impl<T: Send + 'static> Import<T> {
    pub fn new(app: EmployeesApp, caller: Caller, results: mpsc::Sender<T>) -> Self {
        Self {
            app,
            caller: Arc::new(caller),
            in_flight: Arc::new(Semaphore::new(IN_FLIGHT)),
            employees: HashMap::new(),
            forget_at: REMEMBERED,
            results,
        }
    }

    /// Waits until fewer than [`IN_FLIGHT`] records are under way, then
    /// starts this one after the employee's earlier records; `report` makes
    /// its outcome into what is sent to `results`.
    pub async fn apply(
        &mut self,
        employee_id: Uuid,
        command: EmployeeCommand,
        options: CommandOptions,
        report: impl FnOnce(RecordOutcome) -> T + Send + 'static,
    ) {
        let permit = self
            .in_flight
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let (applied, progress) = oneshot::channel();
        let earlier = self
            .employees
            .insert(employee_id, Progress::Pending(progress));
        self.forget_finished();
        let app = self.app.clone();
        let caller = self.caller.clone();
        let results = self.results.clone();
        tokio::spawn(async move {
            let go = match earlier {
                None => true,
                Some(Progress::Done(was_applied)) => was_applied,
                Some(Progress::Pending(earlier)) => earlier.await.unwrap_or(false),
            };
            let outcome = if go {
                match app.execute(&caller, options, employee_id, command).await {
                    Ok(executed) => RecordOutcome::Applied(executed),
                    Err(error) => RecordOutcome::Refused(error),
                }
            } else {
                RecordOutcome::Skipped
            };
            applied
                .send(matches!(outcome, RecordOutcome::Applied(_)))
                .ok();
            results.send(report(outcome)).await.ok();
            drop(permit);
        });
    }

    /// Records that a record of the employee could not be read: their later
    /// records are skipped.
    pub fn not_applied(&mut self, employee_id: Uuid) {
        self.employees.insert(employee_id, Progress::Done(false));
    }

    /// Forgets the employees whose records were all applied, once many are
    /// remembered; those with a record not applied stay, to skip the rest.
    fn forget_finished(&mut self) {
        if self.employees.len() < self.forget_at {
            return;
        }
        self.employees.retain(|_, progress| {
            if let Progress::Pending(pending) = progress {
                match pending.try_recv() {
                    Ok(applied) => *progress = Progress::Done(applied),
                    Err(oneshot::error::TryRecvError::Empty) => return true,
                    Err(oneshot::error::TryRecvError::Closed) => *progress = Progress::Done(false),
                }
            }
            matches!(progress, Progress::Done(false))
        });
        self.forget_at = (2 * self.employees.len()).max(REMEMBERED);
    }
}
