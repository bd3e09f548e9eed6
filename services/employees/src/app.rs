//! The command path of the employees service: put the facts a command needs
//! into it (the tenant's today, the manager as the directory knows them), then
//! load → decide → append through the kernel, with the directory updated in
//! the same transaction.

use chrono::{NaiveDate, Utc};
use sqlx::PgPool;
use tenure_kernel::{
    CommandContext, CommandError, EventData, EventMetadata, EventStore, Executed, Loaded, Recorded,
    Repository, RequestFingerprint, StoreError,
};
use tenure_runtime::Caller;
use uuid::Uuid;

use crate::domain::{Employee, EmployeeCommand, RuleViolation};
use crate::projections;

mod import;

pub use import::{IN_FLIGHT, Import, RecordOutcome};

/// What went wrong with a command, before it is turned into a status.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Command(#[from] CommandError<RuleViolation>),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The command names a manager who is no employee of the tenant.
    #[error("no employee {0} in this organisation")]
    UnknownManager(Uuid),
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        AppError::Store(StoreError::Database(error))
    }
}

/// Idempotency and concurrency options a client sends with a command.
#[derive(Debug, Clone, Default)]
pub struct CommandOptions {
    pub expected_version: Option<i64>,
    pub request_id: Option<String>,
    /// What the request asked for, compared when its request id comes again
    /// (see `grpc::fingerprint`).
    pub fingerprint: Option<RequestFingerprint>,
}

/// The employees service's use cases.
#[derive(Clone)]
pub struct EmployeesApp {
    repository: Repository<Employee>,
    pool: PgPool,
}

impl EmployeesApp {
    pub fn new(store: EventStore) -> Self {
        let pool = store.pool().clone();
        let repository = projections::inline()
            .into_iter()
            .fold(Repository::new(store), Repository::with_projection);
        Self { repository, pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The repository, shared with the reactions (and its state cache with it).
    pub fn repository(&self) -> &Repository<Employee> {
        &self.repository
    }

    pub fn store(&self) -> &EventStore {
        self.repository.store()
    }

    /// The tenant's current calendar date. Tenants have no time zone setting
    /// yet, so this is the date in UTC.
    pub fn today(&self, _tenant_id: Uuid) -> NaiveDate {
        Utc::now().date_naive()
    }

    /// Executes `command` on the employee's stream.
    pub async fn execute(
        &self,
        caller: &Caller,
        options: CommandOptions,
        employee_id: Uuid,
        mut command: EmployeeCommand,
    ) -> Result<Executed<Employee>, AppError> {
        let mut options = options;
        if matches!(command, EmployeeCommand::Hire(_)) {
            // A hire starts a new stream: nothing to load, and the append
            // fails cleanly should the id exist.
            options.expected_version = Some(0);
        }
        if let Some(manager) = command.manager_mut() {
            *manager =
                projections::queries::manager_facts(&self.pool, caller.tenant_id, manager.id)
                    .await?;
            if !manager.same_tenant {
                return Err(AppError::UnknownManager(manager.id));
            }
        }
        let ctx = CommandContext {
            metadata: EventMetadata {
                tenant_id: caller.tenant_id,
                actor: caller.actor.clone(),
                correlation_id: caller.correlation_id,
                causation_id: None,
                traceparent: caller.traceparent.clone(),
            },
            expected_version: options.expected_version,
            request_id: options.request_id,
            fingerprint: options.fingerprint,
        };
        Ok(self.repository.execute(&ctx, employee_id, &command).await?)
    }

    /// The employee's current state and stream version (0: never hired).
    pub async fn load(
        &self,
        tenant_id: Uuid,
        employee_id: Uuid,
    ) -> Result<Loaded<Employee>, StoreError> {
        self.repository.load(tenant_id, employee_id).await
    }

    /// The employee's events after `after_version`, at most `limit`.
    pub async fn history(
        &self,
        tenant_id: Uuid,
        employee_id: Uuid,
        after_version: i64,
        limit: i64,
    ) -> Result<Vec<Recorded<EventData>>, StoreError> {
        self.store()
            .read_stream(tenant_id, employee_id, after_version, limit)
            .await
    }
}
