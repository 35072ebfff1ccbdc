//! Shared helpers of the criterion benchmarks: finding the trace to measure.
//!
//! Benchmarks run on big generated traces (`cargo xtask fixtures --size 50MB` writes
//! `target/fixtures/big-50MB.trace`, and with `--go 1.21.13` the old-format
//! `target/fixtures/big-50MB-go1.21.13.trace`; `cargo xtask bench` does both and runs them).
//! Set `GOTRACE_BENCH_TRACE` (`GOTRACE_BENCH_OLD_TRACE` for the old format) to measure another
//! file. Without one, they fall back to the largest committed fixture of the format so that
//! `cargo bench` always runs.

use std::path::{Path, PathBuf};

use trace_format::{Reader, TraceFile};

/// The trace to benchmark, mapped, and its path.
pub fn bench_trace() -> (TraceFile, PathBuf) {
    open_bench_trace("GOTRACE_BENCH_TRACE", "target/fixtures/big-50MB.trace", false)
}

/// The old-format (Go 1.21) trace to benchmark, mapped, and its path.
pub fn bench_old_trace() -> (TraceFile, PathBuf) {
    open_bench_trace("GOTRACE_BENCH_OLD_TRACE", "target/fixtures/big-50MB-go1.21.13.trace", true)
}

fn open_bench_trace(variable: &str, default: &str, old: bool) -> (TraceFile, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("benches/ is in the workspace");
    // A relative path is taken from the workspace root: cargo runs benchmarks in benches/.
    let path = std::env::var_os(variable)
        .map(|p| root.join(p))
        .or_else(|| Some(root.join(default)).filter(|p| p.exists()))
        .unwrap_or_else(|| {
            eprintln!("no big trace: run `cargo xtask bench` to generate one; using the largest committed fixture");
            largest_fixture(&root.join("fixtures/traces"), old)
        });
    let file = TraceFile::open(&path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    eprintln!("benchmarking {} ({} bytes)", path.display(), file.len());
    (file, path)
}

/// The largest committed fixture in the old format (`old`) or the new one.
fn largest_fixture(dir: &Path, old: bool) -> PathBuf {
    let mut best: Option<(u64, PathBuf)> = None;
    for version in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        for file in std::fs::read_dir(version.path()).into_iter().flatten().flatten() {
            let path = file.path();
            let Ok(bytes) = std::fs::read(&path) else { continue };
            let is_old = trace_format::read_header(&bytes)
                .is_err_and(|e| matches!(e.kind(), trace_format::ErrorKind::OldFormat { .. }));
            let readable = is_old || trace_format::read_header(&bytes).is_ok();
            if path.extension().is_some_and(|e| e == "trace") && readable && is_old == old {
                let len = bytes.len() as u64;
                if best.as_ref().is_none_or(|(l, _)| len > *l) {
                    best = Some((len, path));
                }
            }
        }
    }
    best.map(|(_, p)| p).expect("a committed fixture of the format")
}

/// Reads the ordered event stream to the end; returns how many events have a positive time,
/// so that nothing can be optimized away.
pub fn count_events(bytes: &[u8]) -> u64 {
    let mut n = 0u64;
    for event in Reader::new(bytes).expect("valid trace") {
        n += u64::from(event.expect("valid trace").time() > 0);
    }
    n
}
