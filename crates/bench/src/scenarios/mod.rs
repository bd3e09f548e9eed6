//! The six scenarios of issue 11; each measures Tenure and its raw baseline
//! on the same servers and returns its figures.
//!
//! - [`write`]: HireEmployee over gRPC in a closed loop vs one-row commits and the app layer.
//! - [`long_streams`]: command latency on streams of 100 to 10,000 events.
//! - [`relay`]: a backlog of stored events reaching JetStream after an outage vs raw publishing.
//! - [`cross_service`]: OK of a hire to its row in the development read model vs a raw JetStream pipe.
//! - [`rebuild`]: `tenure-employees rebuild` over many events: rate and peak RSS.
//! - [`footprint`]: idle RSS and size of the service binaries.

pub mod catch_up;
pub mod cross_service;
pub mod footprint;
pub mod import;
pub mod long_streams;
pub mod rebuild;
pub mod relay;
pub mod write;

use crate::cli::{Plan, Scenario};
use crate::report::Figure;

/// What a scenario found. Figures are kept even when something failed.
#[derive(Debug, Default)]
pub struct Outcome {
    pub figures: Vec<Figure>,
    /// How figures were obtained and anything odd seen on the way.
    pub notes: Vec<String>,
    /// Functional failures (failed commands, events that never arrived).
    pub failures: Vec<String>,
}

impl Outcome {
    /// Records a failure of `result` instead of returning it.
    pub fn check(&mut self, result: anyhow::Result<()>) {
        if let Err(error) = result {
            self.failures.push(format!("{error:#}"));
        }
    }
}

/// Runs one measuring scenario.
pub async fn run(scenario: Scenario, plan: &Plan) -> anyhow::Result<Outcome> {
    match scenario {
        Scenario::Write => write::run(plan).await,
        Scenario::LongStreams => long_streams::run(plan).await,
        Scenario::Relay => relay::run(plan).await,
        Scenario::CrossService => cross_service::run(plan).await,
        Scenario::CatchUp => catch_up::run(plan).await,
        Scenario::Rebuild => rebuild::run(plan).await,
        Scenario::Footprint => footprint::run(plan).await,
        Scenario::Import => import::run(plan).await,
        Scenario::All | Scenario::IdleStack | Scenario::InsertService => {
            anyhow::bail!("{} is not a measuring scenario", scenario.name())
        }
    }
}
