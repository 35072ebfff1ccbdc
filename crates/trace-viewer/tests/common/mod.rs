//! What the viewer's tests share: the committed Go 1.22+ fixtures, loaded for viewing.

use std::path::PathBuf;

use trace_format::ir::TraceIr;
use trace_viewer::Loaded;

/// Every committed fixture of a Go version that writes the v2 format.
pub fn fixtures() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/traces");
    let mut paths = Vec::new();
    for version in ["1.22.10", "1.23.9", "1.24.11", "1.25.5", "1.26.6", "1.27.3"] {
        for entry in std::fs::read_dir(root.join(version)).expect("fixture directory") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "trace") {
                paths.push(path);
            }
        }
    }
    paths.sort();
    assert!(paths.len() >= 30, "fixtures found: {}", paths.len());
    paths
}

/// The trace at `path`, ready to serve.
pub fn load(path: &PathBuf) -> Loaded {
    let bytes = std::fs::read(path).expect("fixture is readable");
    Loaded::new(TraceIr::from_trace(&bytes).expect("fixture has a header"))
}
