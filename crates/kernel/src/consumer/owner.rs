//! Which partitions this replica consumes: an even share of them, by lease.
//!
//! Every replica of a consumer holds a member lease, so each can count the
//! running replicas and take `ceil(partitions / replicas)` partition leases.
//! A replica holding more than its share (because it started first) gives
//! the extra ones up; a replica that stops, crashes or hangs stops renewing,
//! and its partitions go to the others once their leases expire.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::Consumer;
use crate::lease;
use crate::partition::PARTITIONS;

/// A partition this replica consumes.
struct Owned {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

pub(super) async fn run(consumer: Arc<Consumer>, shutdown: CancellationToken) {
    let settings = consumer.settings.clone();
    let pool = consumer.store.pool().clone();
    let holder = consumer.holder;
    let ttl = settings.lease_ttl;
    let member = format!("{}{holder}", settings.member_lease_prefix());
    let mut owned: BTreeMap<u32, Owned> = BTreeMap::new();
    let mut tick = tokio::time::interval(ttl / 3);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    info!(consumer = %settings.name, stream = %settings.stream, "consumer starting");
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        // Partitions whose task ended (lease lost) are no longer ours.
        owned.retain(|_, o| !o.task.is_finished());
        let mut names: Vec<String> = owned.keys().map(|p| settings.partition_lease(*p)).collect();
        names.push(member.clone());
        let renewed = match lease::renew(&pool, &names, holder, ttl).await {
            Ok(renewed) => renewed,
            Err(error) => {
                warn!(consumer = %settings.name, error = %error, "cannot renew leases; retrying");
                continue;
            }
        };
        for partition in owned.keys().copied().collect::<Vec<_>>() {
            if !renewed.contains(&settings.partition_lease(partition)) {
                warn!(consumer = %settings.name, partition, "partition lease lost");
                if let Some(lost) = owned.remove(&partition) {
                    lost.stop.cancel();
                }
            }
        }
        if !renewed.contains(&member)
            && let Err(error) = lease::acquire(&pool, &member, holder, ttl).await
        {
            warn!(consumer = %settings.name, error = %error, "cannot join the consumer group");
            continue;
        }
        let members = lease::count_live(&pool, &settings.member_lease_prefix())
            .await
            .unwrap_or(1)
            .max(1) as u32;
        let share = PARTITIONS.div_ceil(members) as usize;
        while owned.len() > share {
            let Some((partition, extra)) = owned.pop_last() else {
                break;
            };
            extra.stop.cancel();
            extra.task.await.ok();
            lease::release(&pool, &settings.partition_lease(partition), holder)
                .await
                .ok();
            info!(consumer = %settings.name, partition, members, "partition handed over");
        }
        for partition in 0..PARTITIONS {
            if owned.len() >= share {
                break;
            }
            if owned.contains_key(&partition) {
                continue;
            }
            match lease::acquire(&pool, &settings.partition_lease(partition), holder, ttl).await {
                Ok(true) => {
                    let stop = shutdown.child_token();
                    let task =
                        tokio::spawn(consumer.clone().run_partition(partition, stop.clone()));
                    owned.insert(partition, Owned { stop, task });
                }
                Ok(false) => {}
                Err(error) => {
                    warn!(consumer = %settings.name, partition, error = %error, "cannot take a partition")
                }
            }
        }
    }
    // A batch in hand is finished first; then the leases go at once, so
    // another replica need not wait for them to expire.
    for (partition, owned) in owned {
        owned.stop.cancel();
        owned.task.await.ok();
        lease::release(&pool, &settings.partition_lease(partition), holder)
            .await
            .ok();
    }
    lease::release(&pool, &member, holder).await.ok();
}
