//! The command line, and the sizes each scenario runs with in a full or a smoke run.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// Measures Tenure against raw PostgreSQL and JetStream baselines, in one run
/// on the same servers, and prints the ratios.
#[derive(Debug, Parser)]
#[command(name = "tenure-bench", version)]
pub struct Cli {
    /// Which scenario to run.
    #[arg(value_enum)]
    pub scenario: Scenario,

    /// Tiny sizes and about a second per measurement: proves every scenario
    /// still works, measures nothing worth reading.
    #[arg(long)]
    pub smoke: bool,

    /// Where the JSON report goes.
    #[arg(long, default_value = "target/bench.json")]
    pub out: PathBuf,

    /// Seconds of each timed load (write path: per run; cross-service: per
    /// rate). Default: 10 and 30 (smoke: 1 and 2).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub duration: Option<u64>,
}

/// A scenario of issue 11, or all of them in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    All,
    Write,
    LongStreams,
    Relay,
    CrossService,
    CatchUp,
    Rebuild,
    Footprint,
    Import,
    /// The footprint baseline: the runtime's gRPC server, a PostgreSQL pool
    /// and a NATS client doing nothing, as a child process of the bench.
    #[value(hide = true)]
    IdleStack,
    /// The second write baseline: a minimal tonic service doing one INSERT
    /// per `HireEmployee`, as a child process of the bench.
    #[value(hide = true)]
    InsertService,
}

impl Scenario {
    /// The measuring scenarios `self` stands for, in run order.
    pub fn selected(self) -> Vec<Scenario> {
        use Scenario::*;
        match self {
            All => vec![
                Write,
                LongStreams,
                Relay,
                CrossService,
                CatchUp,
                Import,
                Rebuild,
                Footprint,
            ],
            IdleStack | InsertService => vec![],
            one => vec![one],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Scenario::All => "all",
            Scenario::Write => "write",
            Scenario::LongStreams => "long-streams",
            Scenario::Relay => "relay",
            Scenario::CrossService => "cross-service",
            Scenario::CatchUp => "catch-up",
            Scenario::Rebuild => "rebuild",
            Scenario::Footprint => "footprint",
            Scenario::Import => "import",
            Scenario::IdleStack => "idle-stack",
            Scenario::InsertService => "insert-service",
        }
    }
}

/// Sizes and durations of every scenario.
#[derive(Debug, Clone)]
pub struct Plan {
    pub smoke: bool,
    /// Concurrent clients of the write path, one closed-loop run each.
    pub write_clients: Vec<usize>,
    pub write_duration: Duration,
    /// Unmeasured time before each write-path run.
    pub warmup: Duration,
    /// Earlier events of the long streams.
    pub stream_lengths: Vec<u64>,
    /// Measured commands per long stream.
    pub stream_samples: usize,
    /// Events appended while NATS is away.
    pub relay_events: u64,
    /// Commands per second of the open-loop cross-service runs.
    pub cross_rates: Vec<u64>,
    pub cross_duration: Duration,
    /// Stored events of the two rebuilds (smaller first).
    pub rebuild_events: [u64; 2],
    /// How long a service idles before its RSS is read.
    pub idle_settle: Duration,
    /// The longest one scenario may take before it counts as failed.
    pub scenario_timeout: Duration,
}

impl Plan {
    pub fn new(cli: &Cli) -> Plan {
        let seconds = cli.duration.map(Duration::from_secs);
        if cli.smoke {
            Plan {
                smoke: true,
                write_clients: vec![1, 8],
                write_duration: seconds.unwrap_or(Duration::from_secs(1)),
                warmup: Duration::from_millis(200),
                stream_lengths: vec![50, 250],
                stream_samples: 20,
                relay_events: 1_000,
                cross_rates: vec![20],
                cross_duration: seconds.unwrap_or(Duration::from_secs(2)),
                rebuild_events: [500, 2_000],
                idle_settle: Duration::from_secs(2),
                scenario_timeout: Duration::from_secs(180),
            }
        } else {
            Plan {
                smoke: false,
                write_clients: vec![1, 8, 32],
                write_duration: seconds.unwrap_or(Duration::from_secs(10)),
                warmup: Duration::from_secs(1),
                stream_lengths: vec![100, 1_000, 10_000],
                stream_samples: 300,
                relay_events: 100_000,
                cross_rates: vec![200, 1_000],
                cross_duration: seconds.unwrap_or(Duration::from_secs(30)),
                rebuild_events: [100_000, 1_000_000],
                idle_settle: Duration::from_secs(2),
                scenario_timeout: Duration::from_secs(1_800),
            }
        }
    }
}
