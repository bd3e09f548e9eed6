//! A small aggregate and a fresh event store on a real PostgreSQL per test.

#![allow(dead_code)]

use serde::{Deserialize, Serialize};
use tenure_kernel::store::{connect, connect::migrate_kernel};
use tenure_kernel::{Aggregate, CodecError, DomainEvent, EventData, EventStore, StoreSettings};
use tenure_testkit::TestDatabase;

/// A ledger: opened once, then deposits. Enough to exercise the kernel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    pub opened: bool,
    pub balance: i64,
    pub deposits: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LedgerEvent {
    Opened { owner: String },
    Deposited { amount: i64 },
}

#[derive(Debug, Clone)]
pub enum LedgerCommand {
    Open {
        owner: String,
    },
    /// Deposits each amount as its own event.
    Deposit {
        amounts: Vec<i64>,
    },
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LedgerRule {
    #[error("the ledger is already open")]
    AlreadyOpen,
    #[error("the ledger is not open")]
    NotOpen,
    #[error("a deposit must be positive")]
    NotPositive,
}

impl Aggregate for Ledger {
    const STREAM_TYPE: &'static str = "ledger";
    type Event = LedgerEvent;
    type Command = LedgerCommand;
    type Rejection = LedgerRule;

    fn decide(&self, command: &LedgerCommand) -> Result<Vec<LedgerEvent>, LedgerRule> {
        match command {
            LedgerCommand::Open { .. } if self.opened => Err(LedgerRule::AlreadyOpen),
            LedgerCommand::Open { owner } => Ok(vec![LedgerEvent::Opened {
                owner: owner.clone(),
            }]),
            LedgerCommand::Deposit { .. } if !self.opened => Err(LedgerRule::NotOpen),
            LedgerCommand::Deposit { amounts } if amounts.iter().any(|a| *a <= 0) => {
                Err(LedgerRule::NotPositive)
            }
            LedgerCommand::Deposit { amounts } => Ok(amounts
                .iter()
                .map(|amount| LedgerEvent::Deposited { amount: *amount })
                .collect()),
        }
    }

    fn evolve(&mut self, event: &LedgerEvent) {
        match event {
            LedgerEvent::Opened { .. } => self.opened = true,
            LedgerEvent::Deposited { amount } => {
                self.balance += amount;
                self.deposits += 1;
            }
        }
    }
}

impl DomainEvent for LedgerEvent {
    fn event_type(&self) -> &'static str {
        match self {
            LedgerEvent::Opened { .. } => "Opened",
            LedgerEvent::Deposited { .. } => "Deposited",
        }
    }

    fn schema_version(&self) -> i32 {
        2
    }

    fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap()
    }

    fn decode(data: &EventData) -> Result<Self, CodecError> {
        serde_json::from_slice(&data.payload).map_err(|e| CodecError::Malformed {
            event_type: data.event_type.clone(),
            reason: e.to_string(),
        })
    }

    /// Version 1 of `Deposited` stored the amount in cents as `cents`.
    fn upcast(data: EventData) -> Result<EventData, CodecError> {
        if data.event_type == "Deposited" && data.schema_version == 1 {
            let old: serde_json::Value =
                serde_json::from_slice(&data.payload).map_err(|e| CodecError::Malformed {
                    event_type: data.event_type.clone(),
                    reason: e.to_string(),
                })?;
            let amount = old["cents"].as_i64().unwrap_or_default() / 100;
            let payload = serde_json::to_vec(&LedgerEvent::Deposited { amount }).unwrap();
            return Ok(EventData {
                schema_version: 2,
                payload,
                ..data
            });
        }
        Ok(data)
    }
}

/// A migrated event store in a database of its own.
pub struct Fixture {
    pub db: TestDatabase,
    pub store: EventStore,
}

pub async fn store_with(snapshot_every: i64) -> Fixture {
    tenure_testkit::init_tracing();
    let db = TestDatabase::create().await.expect("test database");
    let pool = connect(&db.url, "kernel_test", 60).await.expect("connect");
    migrate_kernel(&pool).await.expect("migrate");
    let settings = StoreSettings {
        snapshot_every,
        ..StoreSettings::new("kernel_test")
    };
    Fixture {
        db,
        store: EventStore::new(pool, settings),
    }
}

pub async fn store() -> Fixture {
    store_with(100).await
}
