//! `tenure-bench`: runs the scenarios of issue 11, each against its raw
//! baseline on the same servers, prints the table and writes the JSON report.
//! Exits non-zero when a scenario failed functionally.

mod arrivals;
mod baselines;
mod binaries;
mod cli;
mod machine;
mod measure;
mod nats_server;
mod process;
mod report;
mod requests;
mod scenarios;
mod seed;
mod stack;

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Plan, Scenario};
use crate::report::{Failure, Report, ScenarioTime};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let child = match cli.scenario {
        Scenario::IdleStack => Some(baselines::idle::run().await),
        Scenario::InsertService => Some(baselines::insert_service::run().await),
        _ => None,
    };
    if let Some(result) = child {
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("{}: {error:#}", cli.scenario.name());
                ExitCode::FAILURE
            }
        };
    }
    // sqlx's slow-statement warnings would only point at the bench's own scans.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,sqlx::query=error"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    let plan = Plan::new(&cli);
    let mut report = Report::new(plan.smoke);
    match machine::environment().await {
        Ok(environment) => report.environment = Some(environment),
        Err(error) => report.failures.push(Failure {
            scenario: "environment",
            error: format!("{error:#}"),
        }),
    }
    let selected = cli.scenario.selected();
    // Building the service binaries may take minutes: not on a scenario's clock.
    if selected
        .iter()
        .any(|s| matches!(s, Scenario::Rebuild | Scenario::Footprint))
        && let Err(error) = binaries::locate(binaries::EMPLOYEES)
    {
        report.failures.push(Failure {
            scenario: "binaries",
            error: format!("{error:#}"),
        });
    }
    for scenario in selected {
        eprintln!("== {}", scenario.name());
        let started = Instant::now();
        let load_before = machine::load_average();
        let result =
            tokio::time::timeout(plan.scenario_timeout, scenarios::run(scenario, &plan)).await;
        report.scenario_times.push(ScenarioTime {
            scenario: scenario.name(),
            seconds: started.elapsed().as_secs_f64(),
            load_before,
            load_after: machine::load_average(),
        });
        let error = match result {
            Ok(Ok(outcome)) => {
                report.figures.extend(outcome.figures);
                report.notes.extend(outcome.notes);
                outcome
                    .failures
                    .into_iter()
                    .map(|error| Failure {
                        scenario: scenario.name(),
                        error,
                    })
                    .collect()
            }
            Ok(Err(error)) => vec![Failure {
                scenario: scenario.name(),
                error: format!("{error:#}"),
            }],
            Err(_) => vec![Failure {
                scenario: scenario.name(),
                error: format!("did not finish within {:?}", plan.scenario_timeout),
            }],
        };
        for failure in &error {
            eprintln!("FAILED {}: {}", failure.scenario, failure.error);
        }
        report.failures.extend(error);
    }

    println!("{report}");
    if let Some(environment) = &report.environment {
        let m = &environment.machine;
        let pg = &environment.postgres;
        println!(
            "{} cores ({}), {} MiB; PostgreSQL {} (fsync {}, synchronous_commit {}, shared_buffers {}); NATS {}; {} build",
            m.cores,
            m.cpu_model,
            m.memory_mib,
            pg.version,
            pg.fsync,
            pg.synchronous_commit,
            pg.shared_buffers,
            environment.nats.version,
            environment.profile
        );
    }
    for note in &report.notes {
        println!("- {note}");
    }
    if let Err(error) = report.write_json(&cli.out) {
        eprintln!("cannot write the report: {error:#}");
        return ExitCode::FAILURE;
    }
    println!("report written to {}", cli.out.display());
    if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
