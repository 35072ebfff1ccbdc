//! The IR's time index: a lookup from any time gives exactly the events a scan gives.

use trace_format::Event;
use trace_format::ir::{CHECKPOINT_EVENTS, TraceIr};

use crate::fixtures::{short, v2_traces};

#[test]
fn lookups_by_time_equal_a_scan() {
    let mut checkpoints_crossed = 0;
    for path in v2_traces() {
        let ir = TraceIr::from_trace(&std::fs::read(&path).unwrap()).expect("valid trace");
        let all: Vec<Event> = ir.events().collect();
        checkpoints_crossed += all.len() as u64 / CHECKPOINT_EVENTS;
        let (first, last) = (all[0].time(), all[all.len() - 1].time());
        // Event times, the times between them, and times before and after the trace.
        let mut probes = vec![first - 1, first, last, last + 1, i64::MIN, i64::MAX];
        for i in (0..all.len()).step_by(997).chain([CHECKPOINT_EVENTS as usize, CHECKPOINT_EVENTS as usize + 1]) {
            if let Some(e) = all.get(i) {
                probes.extend([e.time(), e.time() + 1, e.time() - 1]);
            }
        }
        for &t in &probes {
            let expected: Vec<&Event> = all.iter().filter(|e| e.time() >= t).collect();
            let found: Vec<Event> = ir.events_from(t).collect();
            assert!(found.iter().eq(expected.iter().copied()), "{}: events from {t}", short(&path));
            let end = t.saturating_add((last - first) / 7);
            let window = ir.events_between(t, end).count();
            assert_eq!(window, expected.iter().filter(|e| e.time() < end).count(), "{}: [{t}, {end})", short(&path));
        }
    }
    assert!(checkpoints_crossed > 3, "the fixtures must span several checkpoints");
}
