//! Builds the timeline of a trace and says how long each step took.
fn main() {
    let path = std::env::args().nth(1).expect("usage: build_timeline FILE");
    let bytes = std::fs::read(&path).expect("readable");
    let t0 = std::time::Instant::now();
    let ir = trace_format::ir::TraceIr::from_trace(&bytes).expect("a trace");
    let t1 = std::time::Instant::now();
    let total = ir.event_count();
    let mut events_read = t1;
    let loaded = trace_viewer::Loaded::new_with_progress(ir, |done| {
        if done == total {
            events_read = std::time::Instant::now();
        }
    });
    let t2 = std::time::Instant::now();
    println!(
        "IR {:.2} s, timeline {:.2} s (events {:.2} s, then lanes {:.2} s), {} lanes",
        (t1 - t0).as_secs_f64(),
        (t2 - t1).as_secs_f64(),
        (events_read - t1).as_secs_f64(),
        (t2 - events_read).as_secs_f64(),
        loaded.timeline.lanes.len()
    );
}
