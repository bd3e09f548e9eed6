//! Figures with their baselines, ratios and targets: the table on stdout and the JSON file.

use std::fmt;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::machine::Environment;

/// What a figure counts, which decides how it is printed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    PerSecond,
    Millis,
    MiB,
    Count,
}

/// What a figure should reach; reported, never asserted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Target {
    /// Tenure ÷ baseline at least this.
    RatioAtLeast(f64),
    /// Tenure ÷ baseline at most this.
    RatioAtMost(f64),
    /// Tenure's figure below this (in the figure's unit).
    Below(f64),
    /// Tenure's figure at least this (in the figure's unit).
    AtLeast(f64),
    /// Tenure's figure at most this (in the figure's unit).
    AtMost(f64),
}

impl Target {
    fn met(self, tenure: f64, ratio: Option<f64>) -> Option<bool> {
        match self {
            Target::RatioAtLeast(limit) => ratio.map(|r| r >= limit),
            Target::RatioAtMost(limit) => ratio.map(|r| r <= limit),
            Target::Below(limit) => Some(tenure < limit),
            Target::AtLeast(limit) => Some(tenure >= limit),
            Target::AtMost(limit) => Some(tenure <= limit),
        }
    }

    fn describe(self, unit: Unit) -> String {
        match self {
            Target::RatioAtLeast(limit) => format!("≥ {limit}×"),
            Target::RatioAtMost(limit) => format!("≤ {limit}×"),
            Target::Below(limit) => format!("< {}", format_value(limit, unit)),
            Target::AtLeast(limit) => format!("≥ {}", format_value(limit, unit)),
            Target::AtMost(limit) => format!("≤ {}", format_value(limit, unit)),
        }
    }
}

/// One measured figure, with its baseline when the scenario has one.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub scenario: &'static str,
    pub metric: String,
    pub unit: Unit,
    pub tenure: f64,
    pub baseline: Option<f64>,
    /// What the baseline is, in a few words.
    pub baseline_label: Option<String>,
    /// Tenure ÷ baseline.
    pub ratio: Option<f64>,
    pub target: Option<Target>,
    pub target_text: Option<String>,
    pub target_met: Option<bool>,
}

impl Figure {
    /// A figure without a baseline.
    pub fn new(
        scenario: &'static str,
        metric: impl Into<String>,
        unit: Unit,
        tenure: f64,
    ) -> Figure {
        Figure {
            scenario,
            metric: metric.into(),
            unit,
            tenure,
            baseline: None,
            baseline_label: None,
            ratio: None,
            target: None,
            target_text: None,
            target_met: None,
        }
    }

    /// Sets the baseline (and with it the ratio).
    pub fn against(mut self, label: impl Into<String>, baseline: f64) -> Figure {
        self.baseline = Some(baseline);
        self.baseline_label = Some(label.into());
        self.ratio = (baseline > 0.0).then(|| self.tenure / baseline);
        self.refresh_target();
        self
    }

    pub fn target(mut self, target: Target) -> Figure {
        self.target = Some(target);
        self.refresh_target();
        self
    }

    fn refresh_target(&mut self) {
        if let Some(target) = self.target {
            self.target_text = Some(target.describe(self.unit));
            self.target_met = target.met(self.tenure, self.ratio);
        }
    }
}

/// A scenario that did not complete: the run exits non-zero.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub scenario: &'static str,
    pub error: String,
}

/// How long a scenario took, setup included.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioTime {
    pub scenario: &'static str,
    pub seconds: f64,
    /// The machine's 1-minute load average before and after.
    pub load_before: f64,
    pub load_after: f64,
}

/// Everything one run found.
#[derive(Debug, Serialize)]
pub struct Report {
    pub generated_at: String,
    pub command: String,
    pub smoke: bool,
    pub environment: Option<Environment>,
    pub figures: Vec<Figure>,
    /// Scenario-specific notes: how a figure was obtained, what looked wrong.
    pub notes: Vec<String>,
    pub scenario_times: Vec<ScenarioTime>,
    pub failures: Vec<Failure>,
}

impl Report {
    pub fn new(smoke: bool) -> Report {
        Report {
            generated_at: chrono::Utc::now().to_rfc3339(),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            smoke,
            environment: None,
            figures: Vec::new(),
            notes: Vec::new(),
            scenario_times: Vec::new(),
            failures: Vec::new(),
        }
    }

    pub fn write_json(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("create {}", parent.display()))?;
        }
        let json = serde_json::to_string_pretty(self)?;
        std::fs::write(path, json).with_context(|| format!("write {}", path.display()))
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header = [
            "scenario", "metric", "Tenure", "baseline", "ratio", "target",
        ];
        let rows: Vec<[String; 6]> = self
            .figures
            .iter()
            .map(|figure| {
                let target = match (&figure.target_text, figure.target_met) {
                    (Some(text), Some(true)) => format!("{text} ✓"),
                    (Some(text), Some(false)) => format!("{text} ✗"),
                    (Some(text), None) => text.clone(),
                    (None, _) => String::new(),
                };
                let baseline = match (&figure.baseline_label, figure.baseline) {
                    (Some(label), Some(value)) => {
                        format!("{} ({label})", format_value(value, figure.unit))
                    }
                    _ => "—".to_owned(),
                };
                [
                    figure.scenario.to_owned(),
                    figure.metric.clone(),
                    format_value(figure.tenure, figure.unit),
                    baseline,
                    figure.ratio.map_or("—".to_owned(), format_ratio),
                    target,
                ]
            })
            .collect();
        let mut widths = header.map(|h| h.chars().count());
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, cells: &[String]| -> fmt::Result {
            for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
                let pad = width - cell.chars().count();
                let right_aligned = (2..5).contains(&i);
                if right_aligned {
                    write!(f, "| {}{cell} ", " ".repeat(pad))?;
                } else {
                    write!(f, "| {cell}{} ", " ".repeat(pad))?;
                }
            }
            writeln!(f, "|")
        };
        line(f, &header.map(str::to_owned))?;
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        line(f, &rule)?;
        for row in &rows {
            line(f, row)?;
        }
        write_targets(f, &self.figures)?;
        for failure in &self.failures {
            writeln!(f, "FAILED {}: {}", failure.scenario, failure.error)?;
        }
        Ok(())
    }
}

/// Every figure with a target, met or not, with its value and ratio.
fn write_targets(f: &mut fmt::Formatter<'_>, figures: &[Figure]) -> fmt::Result {
    let targeted: Vec<&Figure> = figures.iter().filter(|f| f.target.is_some()).collect();
    if targeted.is_empty() {
        return Ok(());
    }
    let met = targeted
        .iter()
        .filter(|f| f.target_met == Some(true))
        .count();
    writeln!(f, "\ntargets: {met} of {} met", targeted.len())?;
    for figure in targeted {
        let mark = match figure.target_met {
            Some(true) => "met    ",
            Some(false) => "NOT met",
            None => "unknown",
        };
        let against = match (figure.ratio, &figure.baseline_label) {
            (Some(ratio), Some(label)) => format!(" = {} {label}", format_ratio(ratio)),
            _ => String::new(),
        };
        writeln!(
            f,
            "  {mark} {} {}: {}{against} (target {})",
            figure.scenario,
            figure.metric,
            format_value(figure.tenure, figure.unit),
            figure.target_text.as_deref().unwrap_or_default()
        )?;
    }
    Ok(())
}

/// A value with its unit, rounded for reading.
pub fn format_value(value: f64, unit: Unit) -> String {
    match unit {
        Unit::PerSecond => format!("{}/s", thousands(value.round() as u64)),
        Unit::Millis if value < 10.0 => format!("{value:.2} ms"),
        Unit::Millis if value < 1_000.0 => format!("{value:.1} ms"),
        Unit::Millis => format!("{:.2} s", value / 1_000.0),
        Unit::MiB => format!("{value:.1} MiB"),
        Unit::Count => thousands(value.round() as u64),
    }
}

/// A ratio with enough digits to tell small ones apart.
fn format_ratio(ratio: f64) -> String {
    match ratio {
        r if r >= 100.0 => format!("{r:.0}×"),
        r if r >= 0.1 => format!("{r:.2}×"),
        r => format!("{r:.4}×"),
    }
}

fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_printed_with_their_units() {
        assert_eq!(format_value(1234567.4, Unit::PerSecond), "1,234,567/s");
        assert_eq!(format_value(4.5678, Unit::Millis), "4.57 ms");
        assert_eq!(format_value(2009.9, Unit::Millis), "2.01 s");
        assert_eq!(format_ratio(0.00066), "0.0007×");
        assert_eq!(format_value(42.0, Unit::Count), "42");
    }

    #[test]
    fn targets_read_ratios_or_values() {
        let figure = Figure::new("write", "cmd/s", Unit::PerSecond, 600.0)
            .against("raw", 1000.0)
            .target(Target::RatioAtLeast(0.5));
        assert_eq!(figure.ratio, Some(0.6));
        assert_eq!(figure.target_met, Some(true));
        let figure =
            Figure::new("footprint", "idle RSS", Unit::MiB, 45.0).target(Target::Below(40.0));
        assert_eq!(figure.target_met, Some(false));
    }

    #[test]
    fn the_targets_are_listed_after_the_table() {
        let mut report = Report::new(true);
        report.figures = vec![
            Figure::new("write", "hires/s, 32 clients", Unit::PerSecond, 2400.0)
                .against("raw INSERT", 16000.0)
                .target(Target::RatioAtLeast(0.5)),
            Figure::new("write", "p50, 1 client", Unit::Millis, 1.1).target(Target::AtMost(1.2)),
            Figure::new("write", "p99, 1 client", Unit::Millis, 3.0),
        ];
        let text = report.to_string();
        assert!(text.contains("targets: 1 of 2 met"), "{text}");
        assert!(
            text.contains(
                "NOT met write hires/s, 32 clients: 2,400/s = 0.15× raw INSERT (target ≥ 0.5×)"
            ),
            "{text}"
        );
        assert!(
            text.contains("met     write p50, 1 client: 1.10 ms (target ≤ 1.20 ms)"),
            "{text}"
        );
    }
}
