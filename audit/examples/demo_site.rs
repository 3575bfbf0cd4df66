//! Serves the bundled demo app over HTTPS on loopback until Ctrl-C, for
//! manual testing: `cargo run -p webinfer-audit --example demo_site`.
//! Prints the URL, the CA file and Chromium's SPKI pin for the site.

use std::path::PathBuf;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let web = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(webinfer_audit::demo::default_web_dir);
    let site = webinfer_audit::demo::start_demo_site(&web).await?;
    println!("demo:    {}", site.url("/"));
    println!("CA:      {}", site.ca_pem_path.display());
    println!("SPKI:    {}", site.leaf_spki_sha256());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
