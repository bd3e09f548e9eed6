use clap::Parser;
use tenure_development::config::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let _telemetry = tenure_runtime::telemetry::init(
        "tenure-development",
        config.common.otlp_endpoint.as_deref(),
    )?;
    let shutdown = tenure_runtime::shutdown::on_signal();
    tenure_development::run(config, shutdown).await?;
    Ok(())
}
