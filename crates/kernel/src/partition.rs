//! Partitions: every stream's events go to one of [`PARTITIONS`] subjects,
//! so that a consumer can spread streams over replicas and still apply each
//! stream's events in order (one replica per partition at a time).
//!
//! The partition is a token of the subject, `<root>.<service>.<partition>.<EventType>`,
//! so consumers filter on it with a plain wildcard: this works on every
//! nats-server version, without server-side subject transforms. Changing the
//! count re-partitions every stream; it is fixed here for that reason.

use uuid::Uuid;

/// The number of partitions of every service's events.
pub const PARTITIONS: u32 = 8;

/// The partition of a stream: from the UUID's last eight bytes, which are
/// random in v4 and v7 ids (the first bytes of a v7 id are its timestamp).
pub fn partition_of(stream_id: Uuid) -> u32 {
    let bytes = stream_id.as_bytes();
    let tail = u64::from_be_bytes(bytes[8..16].try_into().unwrap_or_default());
    (tail % u64::from(PARTITIONS)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_always_lands_in_the_same_partition_and_all_partitions_are_used() {
        let id = Uuid::now_v7();
        assert_eq!(partition_of(id), partition_of(id));
        let mut used = [0u32; PARTITIONS as usize];
        for _ in 0..8_000 {
            used[partition_of(Uuid::now_v7()) as usize] += 1;
        }
        assert!(used.iter().all(|count| *count > 700), "spread: {used:?}");
    }
}
