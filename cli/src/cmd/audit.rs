//! `webinfer audit` (being built).

/// Arguments of `webinfer audit`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `webinfer audit`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`webinfer audit` is not built yet")
}
