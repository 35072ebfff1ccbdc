//! Shared helpers of the criterion benchmarks: finding the trace to measure.
//!
//! Benchmarks run on a big generated trace (`cargo xtask fixtures --size 50MB` writes
//! `target/fixtures/big-50MB.trace`; `cargo xtask bench` does that and runs them). Set
//! `GOTRACE_BENCH_TRACE` to measure another file. Without one, they fall back to the largest
//! committed fixture so that `cargo bench` always runs.

use std::path::{Path, PathBuf};

use trace_format::TraceFile;

/// The trace to benchmark, mapped, and its path.
pub fn bench_trace() -> (TraceFile, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("benches/ is in the workspace");
    // A relative path is taken from the workspace root: cargo runs benchmarks in benches/.
    let path = std::env::var_os("GOTRACE_BENCH_TRACE")
        .map(|p| root.join(p))
        .or_else(|| Some(root.join("target/fixtures/big-50MB.trace")).filter(|p| p.exists()))
        .unwrap_or_else(|| {
            eprintln!("no big trace: run `cargo xtask bench` to generate one; using the largest committed fixture");
            largest_fixture(&root.join("fixtures/traces"))
        });
    let file = TraceFile::open(&path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    eprintln!("benchmarking {} ({} bytes)", path.display(), file.len());
    (file, path)
}

fn largest_fixture(dir: &Path) -> PathBuf {
    let mut best: Option<(u64, PathBuf)> = None;
    for version in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        for file in std::fs::read_dir(version.path()).into_iter().flatten().flatten() {
            let path = file.path();
            let Ok(bytes) = std::fs::read(&path) else { continue };
            if path.extension().is_some_and(|e| e == "trace") && trace_format::read_header(&bytes).is_ok() {
                let len = bytes.len() as u64;
                if best.as_ref().is_none_or(|(l, _)| len > *l) {
                    best = Some((len, path));
                }
            }
        }
    }
    best.map(|(_, p)| p).expect("a committed Go 1.22+ fixture")
}
