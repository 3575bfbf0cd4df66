//! `webinfer analyze` (being built).

/// Arguments of `webinfer analyze`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `webinfer analyze`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`webinfer analyze` is not built yet")
}
