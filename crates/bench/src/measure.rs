//! How load is applied and latency recorded: an HDR histogram, a closed loop
//! of concurrent clients for a fixed time, and an open loop at a fixed rate.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Latencies in microseconds, from 1 µs to 10 minutes, 3 significant digits.
#[derive(Debug, Clone)]
pub struct Latencies(Histogram<u64>);

impl Default for Latencies {
    fn default() -> Self {
        Latencies(Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds"))
    }
}

impl Latencies {
    pub fn record(&mut self, latency: Duration) {
        self.0
            .saturating_record(latency.as_micros().clamp(1, u128::from(u64::MAX)) as u64);
    }

    pub fn merge(&mut self, other: &Latencies) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.0.add(&other.0);
    }

    /// The latency at `quantile` (0.5 = median) in milliseconds; 0 when empty.
    pub fn millis_at(&self, quantile: f64) -> f64 {
        self.0.value_at_quantile(quantile) as f64 / 1_000.0
    }

    pub fn mean_millis(&self) -> f64 {
        self.0.mean() / 1_000.0
    }

    pub fn max_millis(&self) -> f64 {
        self.0.max() as f64 / 1_000.0
    }
}

/// One client of a closed loop: sends its next request when the last one answered.
pub trait Client: Send + 'static {
    fn call(&mut self) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// What a closed loop measured.
#[derive(Debug, Clone)]
pub struct ClosedLoop {
    /// Calls started inside the measured window that succeeded.
    pub ok: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub window: Duration,
    pub latencies: Latencies,
}

impl ClosedLoop {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.window.as_secs_f64()
    }

    /// An error when any call failed: load must not hide failures.
    pub fn check(&self, what: &str) -> anyhow::Result<()> {
        match &self.first_error {
            Some(error) => anyhow::bail!(
                "{what}: {} of {} calls failed, first: {error}",
                self.errors,
                self.ok + self.errors
            ),
            None if self.ok == 0 => anyhow::bail!("{what}: no call completed in {:?}", self.window),
            None => Ok(()),
        }
    }
}

/// Runs every client in its own task, back to back, for `warmup` unmeasured
/// and then `window` measured; calls started in the window are counted.
pub async fn closed_loop<C: Client>(
    clients: Vec<C>,
    warmup: Duration,
    window: Duration,
) -> ClosedLoop {
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + window;
    let mut tasks = JoinSet::new();
    for mut client in clients {
        tasks.spawn(async move {
            let mut latencies = Latencies::default();
            let (mut ok, mut errors, mut first_error) = (0u64, 0u64, None);
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let result = client.call().await;
                if sent < measure_from {
                    continue;
                }
                match result {
                    Ok(()) => {
                        ok += 1;
                        latencies.record(sent.elapsed());
                    }
                    Err(error) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| format!("{error:#}"));
                    }
                }
            }
            (latencies, ok, errors, first_error)
        });
    }
    let mut result = ClosedLoop {
        ok: 0,
        errors: 0,
        first_error: None,
        window,
        latencies: Latencies::default(),
    };
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((latencies, ok, errors, first_error)) => {
                result.latencies.merge(&latencies);
                result.ok += ok;
                result.errors += errors;
                if result.first_error.is_none() {
                    result.first_error = first_error;
                }
            }
            Err(error) => {
                result.errors += 1;
                result
                    .first_error
                    .get_or_insert_with(|| format!("client task failed: {error}"));
            }
        }
    }
    result
}

/// One call of an open loop and when it was due, sent and answered.
#[derive(Debug)]
pub struct Sent<T> {
    /// When the schedule wanted it sent; latency counts from here, so a
    /// stalled sender cannot hide queueing (no coordinated omission).
    pub due: Instant,
    pub answered: Instant,
    pub result: anyhow::Result<T>,
}

/// What an open loop did.
#[derive(Debug)]
pub struct OpenLoop<T> {
    pub calls: Vec<Sent<T>>,
    /// When the last call was answered.
    pub finished: Instant,
    /// Calls sent more than 10 ms after they were due (the sender fell behind
    /// or the in-flight limit was reached).
    pub late: u64,
}

/// Sends `rate` calls per second for `duration` on a fixed schedule, each in
/// its own task, without waiting for answers (at most `max_in_flight` open),
/// then waits for every answer.
pub async fn open_loop<T, F, Fut>(
    rate: u64,
    duration: Duration,
    max_in_flight: usize,
    mut call: F,
) -> OpenLoop<T>
where
    T: Send + 'static,
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = anyhow::Result<T>> + Send + 'static,
{
    let total = (rate as f64 * duration.as_secs_f64()).round() as u64;
    let interval = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let limit = Arc::new(Semaphore::new(max_in_flight));
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    let mut late = 0;
    for seq in 0..total {
        let due = start + interval.mul_f64(seq as f64);
        tokio::time::sleep_until(due.into()).await;
        let permit = limit
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        if due.elapsed() > Duration::from_millis(10) {
            late += 1;
        }
        let future = call(seq);
        tasks.spawn(async move {
            let result = future.await;
            drop(permit);
            Sent {
                due,
                answered: Instant::now(),
                result,
            }
        });
    }
    let mut calls = Vec::with_capacity(total as usize);
    while let Some(joined) = tasks.join_next().await {
        let sent = joined.unwrap_or_else(|error| Sent {
            due: start,
            answered: Instant::now(),
            result: Err(anyhow::anyhow!("call task failed: {error}")),
        });
        calls.push(sent);
    }
    let finished = calls.iter().map(|c| c.answered).max().unwrap_or(start);
    OpenLoop {
        calls,
        finished,
        late,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sleeper;

    impl Client for Sleeper {
        async fn call(&mut self) -> anyhow::Result<()> {
            tokio::time::sleep(Duration::from_millis(2)).await;
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_closed_loop_counts_calls_in_its_window() {
        let result = closed_loop(
            vec![Sleeper, Sleeper],
            Duration::from_millis(20),
            Duration::from_millis(200),
        )
        .await;
        result.check("sleep").unwrap();
        assert!(result.ok > 20, "{result:?}");
        assert!(result.latencies.millis_at(0.5) >= 2.0);
    }

    #[tokio::test]
    async fn an_open_loop_keeps_its_rate() {
        let result = open_loop(200, Duration::from_millis(250), 100, |seq| async move {
            Ok(seq)
        })
        .await;
        assert_eq!(result.calls.len(), 50);
        assert!(result.calls.iter().all(|c| c.result.is_ok()));
    }
}
