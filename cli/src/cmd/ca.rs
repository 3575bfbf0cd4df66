//! `webinfer ca`: where the proxy's CA lives, its fingerprint, the Chromium
//! SPKI pin of the shared leaf key, and an export of the certificate.

use std::path::PathBuf;

use anyhow::Context;
use webinfer_proxy::CertificateAuthority;

/// Arguments of `webinfer ca`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory of the CA (default: the user's data directory).
    #[arg(long = "ca-dir", value_name = "DIR", global = true)]
    pub ca_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub action: Action,
}

/// What to do with the CA.
#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Print the CA directory and certificate paths.
    Path,
    /// Print the paths, the SHA-256 fingerprint and the Chromium SPKI pin.
    Show,
    /// Print only the base64 SHA-256 of the leaf key's SPKI (for
    /// Chromium's --ignore-certificate-errors-spki-list).
    Pin,
    /// Write the CA certificate (PEM by default) to stdout or a file.
    Export {
        /// Write DER instead of PEM.
        #[arg(long)]
        der: bool,
        /// Output file (default: stdout).
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// Runs `webinfer ca`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let dir = match args.ca_dir {
        Some(d) => d,
        None => webinfer_proxy::default_ca_dir()?,
    };
    let ca = CertificateAuthority::load_or_create(&dir)
        .with_context(|| format!("loading the CA in {}", dir.display()))?;
    match args.action {
        Action::Path => {
            println!("dir: {}", ca.dir().display());
            println!("pem: {}", ca.cert_pem_path().display());
            println!("der: {}", ca.cert_der_path().display());
        }
        Action::Show => {
            println!("dir:        {}", ca.dir().display());
            println!("pem:        {}", ca.cert_pem_path().display());
            println!("der:        {}", ca.cert_der_path().display());
            println!("sha256:     {}", ca.fingerprint_sha256());
            println!("leaf-spki:  {}", ca.leaf_spki_pin());
            println!(
                "chromium:   --ignore-certificate-errors-spki-list={}",
                ca.leaf_spki_pin()
            );
        }
        Action::Pin => println!("{}", ca.leaf_spki_pin()),
        Action::Export { der, out } => {
            let bytes: Vec<u8> = if der {
                ca.cert_der().to_vec()
            } else {
                ca.cert_pem().as_bytes().to_vec()
            };
            match out {
                Some(path) => std::fs::write(&path, &bytes)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => {
                    use std::io::Write;
                    std::io::stdout()
                        .write_all(&bytes)
                        .context("writing to stdout")?;
                }
            }
        }
    }
    Ok(())
}
