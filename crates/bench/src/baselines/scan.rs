//! The floor of a rebuild: one streaming query over every stored event in
//! commit order, each payload decoded as its protobuf message; nothing written.

use std::time::{Duration, Instant};

use futures::TryStreamExt;
use prost::Message;
use sqlx::PgPool;
use tenure_proto::tenure::employees::v1 as proto;

/// Reads and decodes every event of the employees store; returns how many
/// and how long it took.
pub async fn scan(pool: &PgPool) -> anyhow::Result<(u64, Duration)> {
    let started = Instant::now();
    let mut rows = sqlx::query_as::<_, (String, Vec<u8>)>(
        "SELECT event_type, payload FROM employees.events ORDER BY tx_id, position",
    )
    .fetch(pool);
    let mut count = 0u64;
    while let Some((event_type, payload)) = rows.try_next().await? {
        let payload = payload.as_slice();
        let decoded = match event_type.as_str() {
            "EmployeeHired" => proto::EmployeeHired::decode(payload).map(drop),
            "RoleChanged" => proto::RoleChanged::decode(payload).map(drop),
            "InterestsChanged" => proto::InterestsChanged::decode(payload).map(drop),
            other => anyhow::bail!("the scan met an event type it does not know: {other}"),
        };
        decoded?;
        count += 1;
    }
    Ok((count, started.elapsed()))
}
