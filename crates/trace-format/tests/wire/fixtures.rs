//! Finding the committed fixture traces.

use std::path::{Path, PathBuf};

pub fn traces_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/traces")
}

/// Every committed trace in the new format (Go 1.22 and later), sorted by path.
pub fn v2_traces() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for version in std::fs::read_dir(traces_dir()).expect("fixtures/traces exists").flatten() {
        for file in std::fs::read_dir(version.path()).unwrap().flatten() {
            let path = file.path();
            if path.extension().is_some_and(|e| e == "trace") {
                let bytes = std::fs::read(&path).unwrap();
                if trace_format::read_header(&bytes).is_ok() {
                    out.push(path);
                }
            }
        }
    }
    out.sort();
    // Six Go releases (1.22 to 1.27) write the new format; each has several fixtures.
    assert!(out.len() >= 12, "expected the committed Go 1.22+ fixtures, found {}", out.len());
    out
}

/// Every committed trace in the old format (Go 1.21 and earlier), sorted by path.
pub fn old_traces() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for version in std::fs::read_dir(traces_dir()).expect("fixtures/traces exists").flatten() {
        for file in std::fs::read_dir(version.path()).unwrap().flatten() {
            let path = file.path();
            let bytes = std::fs::read(&path).unwrap();
            let old = trace_format::read_header(&bytes)
                .is_err_and(|e| matches!(e.kind(), trace_format::ErrorKind::OldFormat { .. }));
            if path.extension().is_some_and(|e| e == "trace") && old {
                out.push(path);
            }
        }
    }
    out.sort();
    // Go 1.19 and Go 1.21 write the old format; each has several fixtures.
    assert!(out.len() >= 6, "expected the committed Go 1.19 and 1.21 fixtures, found {}", out.len());
    out
}

pub fn short(path: &Path) -> String {
    path.strip_prefix(traces_dir()).unwrap_or(path).display().to_string()
}
