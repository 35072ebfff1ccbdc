//! Builds the timeline of a trace and says how long each step took.
fn main() {
    let path = std::env::args().nth(1).expect("usage: build_timeline FILE");
    let bytes = std::fs::read(&path).expect("readable");
    let t0 = std::time::Instant::now();
    let ir = trace_format::ir::TraceIr::from_trace(&bytes).expect("a trace");
    let t1 = std::time::Instant::now();
    let loaded = trace_viewer::Loaded::new(ir);
    let t2 = std::time::Instant::now();
    println!(
        "IR {:.2} s, timeline {:.2} s, {} lanes",
        (t1 - t0).as_secs_f64(),
        (t2 - t1).as_secs_f64(),
        loaded.timeline.lanes.len()
    );
}
