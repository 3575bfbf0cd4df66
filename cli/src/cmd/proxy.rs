//! `webinfer proxy` (being built).

/// Arguments of `webinfer proxy`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `webinfer proxy`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`webinfer proxy` is not built yet")
}
