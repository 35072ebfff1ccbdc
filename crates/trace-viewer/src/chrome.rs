//! Chrome trace-event JSON (the format Perfetto's UI and `chrome://tracing` open): procs,
//! threads and goroutines as lanes of complete slices, counters, and arrows for goroutine
//! creation and unblocking.

use std::io::{self, Write};

use serde_json::json;

use crate::timeline::{LaneKey, SpanKind, Timeline};

/// The process IDs the lanes are grouped under.
const PID_GLOBAL: u32 = 1;
const PID_PROCS: u32 = 2;
const PID_THREADS: u32 = 3;
const PID_GOROUTINES: u32 = 4;
/// Region lanes are threads of the goroutines' process numbered from here (plus the lane's
/// index), above any goroutine ID: a goroutine's regions need their own track because slices
/// on one track must nest exactly (Perfetto draws partly overlapping slices wrongly), and a
/// region can start in one goroutine state and end in another.
const REGION_TID_BASE: i64 = 1 << 48;

/// Microseconds (the format's unit) from the trace's start.
fn micros(timeline: &Timeline, time: i64) -> f64 {
    (time - timeline.start) as f64 / 1000.0
}

/// Writes the whole timeline as Chrome trace-event JSON, one event per line, without holding
/// the output in memory.
pub fn write_chrome_trace<W: Write>(timeline: &Timeline, out: W) -> io::Result<()> {
    let mut out = io::BufWriter::new(out);
    out.write_all(b"{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n")?;
    let mut first = true;
    let mut emit = |out: &mut io::BufWriter<W>, event: serde_json::Value| -> io::Result<()> {
        if !first {
            out.write_all(b",\n")?;
        }
        first = false;
        serde_json::to_writer(&mut *out, &event).map_err(io::Error::other)
    };
    for (pid, name) in
        [(PID_GLOBAL, "GC and tasks"), (PID_PROCS, "Procs"), (PID_THREADS, "Threads"), (PID_GOROUTINES, "Goroutines")]
    {
        emit(&mut out, json!({"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": name}}))?;
        emit(
            &mut out,
            json!({"ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0, "args": {"sort_index": pid}}),
        )?;
    }
    for (index, lane) in timeline.lanes.iter().enumerate() {
        let (pid, tid) = match lane.key {
            LaneKey::Gc | LaneKey::StopTheWorld | LaneKey::Tasks(_) => (PID_GLOBAL, index as i64),
            LaneKey::Proc(p) => (PID_PROCS, p),
            LaneKey::Thread(m) => (PID_THREADS, m),
            LaneKey::Goroutine(g) => (PID_GOROUTINES, g),
            LaneKey::Regions(..) => (PID_GOROUTINES, REGION_TID_BASE + index as i64),
        };
        let name = timeline.lane_name(lane);
        emit(&mut out, json!({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": name}}))?;
        for (i, span) in lane.spans.iter().enumerate() {
            // A thread can show a goroutine leaving a syscall while the next already runs; the
            // format needs slices of one track to nest, so the earlier one ends there.
            let end = match (lane.key, lane.spans.get(i + 1)) {
                (LaneKey::Thread(_), Some(next)) if next.start < span.end => next.start.max(span.start),
                _ => span.end,
            };
            let name = match lane.key {
                LaneKey::Proc(_) | LaneKey::Thread(_) => {
                    let id = timeline.lane_goroutine(span.label()).unwrap_or_default();
                    match timeline.goroutine(id) {
                        Some(g) if !g.name.is_empty() => format!("G{id} {}", g.name),
                        _ => format!("G{id}"),
                    }
                }
                LaneKey::Goroutine(_) => span.kind().name().to_owned(),
                _ => timeline
                    .labels
                    .get(span.label() as usize)
                    .cloned()
                    .filter(|l| !l.is_empty())
                    .unwrap_or_else(|| span.kind().name().to_owned()),
            };
            let mut event = json!({"ph": "X", "name": name, "cat": span.kind().name(), "pid": pid, "tid": tid,
                                   "ts": micros(timeline, span.start), "dur": (end - span.start) as f64 / 1000.0});
            if lane.key == LaneKey::Goroutine(tid) && matches!(span.kind(), SpanKind::Waiting | SpanKind::Runnable) {
                let reason = timeline.labels.get(span.label() as usize).cloned().unwrap_or_default();
                event["args"] = json!({"reason": reason});
            }
            emit(&mut out, event)?;
        }
    }
    for counter in &timeline.counters {
        for (time, value) in counter.points.iter() {
            emit(
                &mut out,
                json!({"ph": "C", "name": counter.name, "pid": PID_GLOBAL, "tid": 0,
                                  "ts": micros(timeline, time), "args": {"value": value}}),
            )?;
        }
    }
    for (id, flow) in timeline.flows.iter().enumerate() {
        let name = if flow.creation { "create" } else { "unblock" };
        let ts = micros(timeline, flow.time);
        emit(
            &mut out,
            json!({"ph": "s", "id": id, "name": name, "cat": name, "pid": PID_GOROUTINES, "tid": flow.from, "ts": ts}),
        )?;
        emit(
            &mut out,
            json!({"ph": "f", "bp": "e", "id": id, "name": name, "cat": name, "pid": PID_GOROUTINES, "tid": flow.to, "ts": ts}),
        )?;
    }
    out.write_all(b"\n]}\n")?;
    out.flush()
}
