//! `webinfer ca` (being built).

/// Arguments of `webinfer ca`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `webinfer ca`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`webinfer ca` is not built yet")
}
