//! One module per subcommand; each exposes `Args` (clap) and `run`.

pub mod analyze;
pub mod audit;
pub mod ca;
pub mod export;
pub mod native;
pub mod proxy;
