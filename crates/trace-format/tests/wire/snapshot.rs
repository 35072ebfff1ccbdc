//! The stored IR of a committed fixture must not change by accident: any change to the IR's
//! layout or content shows here. After an intended change, bump `IR_VERSION` and rewrite the
//! snapshot with `cargo xtask bless-ir`.

use std::path::Path;

use trace_format::ir::TraceIr;

use crate::fixtures::traces_dir;

/// The fixture the snapshot is made from, and the snapshot.
const SNAPSHOT_TRACE: &str = "1.27.3/mandelbrot-column.trace";
const SNAPSHOT: &str = "tests/snapshots/mandelbrot-column-1.27.3.gtir";

#[test]
fn stored_ir_matches_the_snapshot() {
    let trace = std::fs::read(traces_dir().join(SNAPSHOT_TRACE)).unwrap();
    let ours = TraceIr::from_trace(&trace).unwrap().to_bytes();
    let snapshot_path = Path::new(env!("CARGO_MANIFEST_DIR")).join(SNAPSHOT);
    let snapshot = std::fs::read(&snapshot_path).expect("the committed snapshot");
    assert!(
        ours == snapshot,
        "the stored IR of {SNAPSHOT_TRACE} changed ({} bytes, snapshot {} bytes). If intended, bump \
         IR_VERSION and run `cargo xtask bless-ir`.",
        ours.len(),
        snapshot.len()
    );
    // The snapshot still reads back, and prints the same as the trace.
    let stored = TraceIr::from_bytes(&snapshot).unwrap();
    let (mut from_ir, mut from_trace) = (Vec::new(), Vec::new());
    stored.write_parsed_dump(&mut from_ir).unwrap();
    trace_format::text::write_parsed_dump(&trace, &mut from_trace).unwrap();
    assert!(from_ir == from_trace);
}
