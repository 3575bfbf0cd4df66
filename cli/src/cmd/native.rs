//! `webinfer native` (being built).

/// Arguments of `webinfer native`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `webinfer native`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`webinfer native` is not built yet")
}
