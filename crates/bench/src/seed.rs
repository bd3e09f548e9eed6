//! Stored events written straight into the employees event store, for the
//! scenarios that need many of them fast (relay, rebuild).
//!
//! What is measured there is the relay or the rebuild, not the append, so the
//! events are inserted in large multi-row statements instead of one command
//! each. They are what the service itself would have stored: valid protobuf
//! payloads of `tenure.employees.v1` events (a hire, then role and interest
//! changes), consecutive versions per employee, the metadata columns filled,
//! and each transaction opened by the kernel's `EventStore::begin` (holding the
//! appenders' lock, as every append does).

use chrono::Utc;
use prost::Message;
use tenure_kernel::store::connect;
use tenure_kernel::{
    EventData, EventMetadata, EventStore, GlobalPosition, Recorded, StoreSettings,
};
use tenure_proto::tenure::employees::v1 as proto;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::requests::START_DATE;

/// The employees aggregate's stream type.
pub const STREAM_TYPE: &str = "employee";
/// The employees service's schema.
pub const SCHEMA: &str = "employees";
/// Rows per insert statement.
const BATCH_ROWS: usize = 5_000;
/// Insert transactions in flight at once.
const PARALLEL: usize = 2;

/// One event to store.
#[derive(Debug, Clone)]
pub struct SeedEvent {
    pub event_id: Uuid,
    pub stream_id: Uuid,
    pub version: i64,
    pub event_type: &'static str,
    pub payload: Vec<u8>,
    pub correlation_id: Uuid,
}

impl SeedEvent {
    /// The event as the relay reads it back, for building identical messages.
    pub fn recorded(&self, tenant_id: Uuid) -> Recorded<EventData> {
        Recorded {
            event_id: self.event_id,
            global: GlobalPosition::START,
            stream_type: STREAM_TYPE.to_owned(),
            stream_id: self.stream_id,
            version: self.version,
            recorded_at: Utc::now(),
            metadata: EventMetadata {
                tenant_id,
                actor: ACTOR.to_owned(),
                correlation_id: self.correlation_id,
                causation_id: None,
                traceparent: None,
            },
            event: EventData {
                event_type: self.event_type.to_owned(),
                schema_version: 1,
                payload: self.payload.clone(),
            },
        }
    }
}

const ACTOR: &str = "hr:bench-seed";

/// The `count` first events of one new employee: hired, then role and
/// interest changes in turn.
pub fn employee_stream(count: u64) -> Vec<SeedEvent> {
    let employee_id = Uuid::now_v7();
    let id = employee_id.to_string();
    let correlation_id = Uuid::now_v7();
    (1..=count as i64)
        .map(|version| {
            let (event_type, payload) = match version {
                1 => ("EmployeeHired", hired(&id, employee_id)),
                v if v % 2 == 0 => (
                    "RoleChanged",
                    proto::RoleChanged {
                        employee_id: id.clone(),
                        effective_date: "2025-03-01".to_owned(),
                        role_title: if v % 4 == 0 {
                            "Staff Engineer"
                        } else {
                            "Senior Engineer"
                        }
                        .to_owned(),
                        department: "Engineering".to_owned(),
                    }
                    .encode_to_vec(),
                ),
                v => (
                    "InterestsChanged",
                    proto::InterestsChanged {
                        employee_id: id.clone(),
                        effective_date: "2025-03-01".to_owned(),
                        tags: if v % 4 == 1 {
                            vec!["rust".to_owned(), "chess".to_owned()]
                        } else {
                            vec!["running".to_owned()]
                        },
                    }
                    .encode_to_vec(),
                ),
            };
            SeedEvent {
                event_id: Uuid::now_v7(),
                stream_id: employee_id,
                version,
                event_type,
                payload,
                correlation_id,
            }
        })
        .collect()
}

fn hired(id: &str, employee_id: Uuid) -> Vec<u8> {
    proto::EmployeeHired {
        employee_id: id.to_owned(),
        effective_date: START_DATE.to_owned(),
        given_name: "Grace".to_owned(),
        family_name: "Seeded".to_owned(),
        work_email: format!("grace.{}@example.com", employee_id.simple()),
        department: "Engineering".to_owned(),
        role_title: "Software Engineer".to_owned(),
        manager_id: None,
        contract: Some(proto::Contract {
            kind: proto::ContractKind::Permanent as i32,
            start_date: START_DATE.to_owned(),
            end_date: None,
            hours_per_week: 40.0,
            season_window: None,
        }),
    }
    .encode_to_vec()
}

/// Writes seed events into the employees schema of a database.
#[derive(Clone)]
pub struct Seeder {
    store: EventStore,
    tenant_id: Uuid,
}

impl Seeder {
    /// Connects to the `employees` schema, which the service must have migrated.
    pub async fn connect(database_url: &str, tenant_id: Uuid) -> anyhow::Result<Seeder> {
        let pool = connect(database_url, SCHEMA, PARALLEL as u32 + 1).await?;
        Ok(Seeder {
            store: EventStore::new(pool, StoreSettings::new(SCHEMA)),
            tenant_id,
        })
    }

    /// Stores `total` events of new employees with `per_stream` events each,
    /// handing every event to `keep` first. Returns the number of employees.
    pub async fn seed(
        &self,
        total: u64,
        per_stream: u64,
        mut keep: impl FnMut(&SeedEvent),
    ) -> anyhow::Result<u64> {
        let mut in_flight = JoinSet::new();
        let mut batch = Vec::with_capacity(BATCH_ROWS);
        let (mut written, mut streams) = (0u64, 0u64);
        while written < total {
            let events = employee_stream(per_stream.min(total - written));
            written += events.len() as u64;
            streams += 1;
            events.iter().for_each(&mut keep);
            batch.extend(events);
            if batch.len() >= BATCH_ROWS || written == total {
                if in_flight.len() >= PARALLEL
                    && let Some(done) = in_flight.join_next().await
                {
                    done??;
                }
                let seeder = self.clone();
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
                in_flight.spawn(async move { seeder.insert(&full).await });
            }
        }
        while let Some(done) = in_flight.join_next().await {
            done??;
        }
        Ok(streams)
    }

    /// Stores `events` in one transaction.
    pub async fn insert(&self, events: &[SeedEvent]) -> anyhow::Result<()> {
        let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
        let streams: Vec<Uuid> = events.iter().map(|e| e.stream_id).collect();
        let versions: Vec<i64> = events.iter().map(|e| e.version).collect();
        let types: Vec<&str> = events.iter().map(|e| e.event_type).collect();
        let payloads: Vec<&[u8]> = events.iter().map(|e| e.payload.as_slice()).collect();
        let correlations: Vec<Uuid> = events.iter().map(|e| e.correlation_id).collect();

        let mut tx = self.store.begin().await?;
        sqlx::query(
            "INSERT INTO events (event_id, tenant_id, stream_type, stream_id, version, event_type, \
                                 schema_version, payload, actor, correlation_id) \
             SELECT e.event_id, $1, $2, e.stream_id, e.version, e.event_type, 1, e.payload, $3, e.correlation_id \
             FROM unnest($4::uuid[], $5::uuid[], $6::bigint[], $7::text[], $8::bytea[], $9::uuid[]) \
                  WITH ORDINALITY AS e(event_id, stream_id, version, event_type, payload, correlation_id, ordinal) \
             ORDER BY e.ordinal",
        )
        .bind(self.tenant_id)
        .bind(STREAM_TYPE)
        .bind(ACTOR)
        .bind(&ids)
        .bind(&streams)
        .bind(&versions)
        .bind(&types)
        .bind(&payloads)
        .bind(&correlations)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Refreshes the planner's statistics of the seeded tables, as autovacuum
    /// would have done by the time a real store held this many events: a
    /// bulk load leaves them describing the empty tables.
    pub async fn analyze(&self) -> anyhow::Result<()> {
        sqlx::raw_sql("ANALYZE events")
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    /// Events the relay has not passed yet (after its checkpoint).
    pub async fn relay_lag(&self) -> anyhow::Result<i64> {
        Ok(tenure_kernel::relay::operations::lag(self.store.pool()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_starts_with_a_hire_and_counts_up() {
        let events = employee_stream(5);
        assert_eq!(events.len(), 5);
        assert_eq!(events[0].event_type, "EmployeeHired");
        assert!(
            events
                .iter()
                .zip(1..)
                .all(|(e, v)| e.version == v && e.stream_id == events[0].stream_id)
        );
        let hired = proto::EmployeeHired::decode(events[0].payload.as_slice()).unwrap();
        assert_eq!(hired.employee_id, events[0].stream_id.to_string());
    }

    #[tokio::test]
    async fn seeded_events_land_in_the_store_ahead_of_the_relay() {
        let database = tenure_testkit::TestDatabase::create().await.unwrap();
        let pool = connect(&database.url, SCHEMA, 2).await.unwrap();
        tenure_kernel::store::connect::migrate_kernel(&pool)
            .await
            .unwrap();
        let seeder = Seeder::connect(&database.url, Uuid::now_v7())
            .await
            .unwrap();
        let mut kept = 0;
        let streams = seeder.seed(12_345, 10, |_| kept += 1).await.unwrap();
        assert_eq!((kept, streams), (12_345, 1_235));
        assert_eq!(seeder.relay_lag().await.unwrap(), 12_345);
        let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(events, 12_345);
    }
}
