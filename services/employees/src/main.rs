use clap::Parser;
use tenure_employees::config::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let _telemetry = tenure_runtime::telemetry::init(
        "tenure-employees",
        config.common.otlp_endpoint.as_deref(),
    )?;
    let shutdown = tenure_runtime::shutdown::on_signal();
    tenure_employees::run(config, shutdown).await?;
    Ok(())
}
