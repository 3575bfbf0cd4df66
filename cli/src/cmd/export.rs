//! `webinfer export` (being built).

/// Arguments of `webinfer export`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `webinfer export`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`webinfer export` is not built yet")
}
