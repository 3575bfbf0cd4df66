//! Writes synthetic webinfer traces.
//!
//! `gen-traces OUT_DIR` writes the small sample set (a wasm, a webgl, a
//! no-simd and a native session; page and proxy records in separate files).
//! `gen-traces OUT_DIR --bytes N [--seconds S]` writes sessions until about
//! N bytes of JSONL exist (for the scale benchmark), kernels included.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use webinfer_analyzer::generate::{sample_specs, write_session, SessionSpec};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = PathBuf::from(
        args.first()
            .cloned()
            .unwrap_or_else(|| "traces/samples/synthetic".into()),
    );
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let seconds: f64 = opt("--seconds")
        .map(|s| s.parse().expect("--seconds number"))
        .unwrap_or(4.0);
    std::fs::create_dir_all(&out)?;
    let write = |spec: &SessionSpec| -> std::io::Result<(u64, u64)> {
        let page_path = out.join(format!("{}.jsonl", spec.sid));
        let mut page = BufWriter::new(File::create(&page_path)?);
        let mut proxy_buf = Vec::new();
        let n = write_session(spec, &mut page, &mut proxy_buf)?;
        drop(page);
        let mut bytes = std::fs::metadata(&page_path)?.len();
        if !proxy_buf.is_empty() {
            let p = out.join(format!("{}.proxy.jsonl", spec.sid));
            std::fs::write(&p, &proxy_buf)?;
            bytes += proxy_buf.len() as u64;
        }
        Ok((n, bytes))
    };
    match opt("--bytes") {
        None => {
            let mut total = 0;
            for spec in sample_specs(seconds * 1000.0) {
                total += write(&spec)?.1;
            }
            println!("wrote {total} bytes of samples to {}", out.display());
        }
        Some(b) => {
            let target: u64 = b.parse().expect("--bytes number");
            let (mut total, mut records, mut i) = (0u64, 0u64, 0u64);
            let base = sample_specs(seconds * 1000.0);
            while total < target {
                let mut spec = base[(i % base.len() as u64) as usize].clone();
                spec.sid = format!("{}-{i}", spec.sid.trim_end_matches("-1"));
                spec.seed = i + 1;
                spec.kernels = true;
                let (n, bytes) = write(&spec)?;
                total += bytes;
                records += n;
                i += 1;
            }
            println!("sessions={i} records={records} bytes={total}");
        }
    }
    Ok(())
}
