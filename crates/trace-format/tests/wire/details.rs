//! The public details of events: the same through the reader and through the IR, and what
//! the allevents fixture is known to contain.

use std::collections::BTreeSet;

use trace_format::ir::TraceIr;
use trace_format::{Details, EventTables, RangeKind, RangePhase, Reader, Scope};

use crate::fixtures::{short, traces_dir, v2_traces};

/// Renders details as text; stack IDs differ between a trace and its IR, so a transition's
/// stack is rendered as its frames.
fn render<T: EventTables + ?Sized>(details: Details<'_>, tables: Option<&T>) -> String {
    let Details::StateTransition(mut transition) = details else { return format!("{details:?}") };
    let mut frames = Vec::new();
    if let (Some(id), Some(tables)) = (transition.stack.take(), tables) {
        tables.for_each_frame(id, &mut |f| frames.push(format!("{:?}", f)));
    }
    format!("{transition:?} {frames:?}")
}

/// Every event's details, through the reader.
fn details_from_reader(bytes: &[u8]) -> Vec<String> {
    let mut reader = Reader::new(bytes).expect("valid header");
    let mut out = Vec::new();
    while let Some(event) = reader.next() {
        let event = event.expect("valid trace");
        out.push(render(reader.details(&event), reader.tables(&event)));
    }
    out
}

#[test]
fn reader_and_ir_give_the_same_details() {
    for path in v2_traces() {
        let bytes = std::fs::read(&path).unwrap();
        let ir = TraceIr::from_trace(&bytes).expect("valid trace");
        let from_ir: Vec<String> = ir.events().map(|e| render(ir.details(&e), Some(&ir))).collect();
        assert_eq!(details_from_reader(&bytes), from_ir, "{}", short(&path));
    }
}

#[test]
fn allevents_details_name_what_the_program_did() {
    let bytes = std::fs::read(traces_dir().join("1.27.3/allevents.trace")).unwrap();
    let ir = TraceIr::from_trace(&bytes).expect("valid trace");
    let (mut task_types, mut region_types, mut log_categories) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let (mut ranges, mut stw_reasons, mut swept, mut metrics, mut syncs_with_clock) =
        (BTreeSet::new(), BTreeSet::new(), 0u64, BTreeSet::new(), 0);
    for event in ir.events() {
        match ir.details(&event) {
            Details::Task(task) => {
                task_types.insert(String::from_utf8_lossy(&task.type_name).into_owned());
            }
            Details::Region(region) => {
                region_types.insert(String::from_utf8_lossy(region.type_name).into_owned());
            }
            Details::Log(log) => {
                log_categories.insert(String::from_utf8_lossy(log.category).into_owned());
            }
            Details::Range(range) => {
                ranges.insert(format!("{:?}", range.kind));
                if range.kind == RangeKind::StopTheWorld {
                    assert_eq!(range.scope, Scope::Goroutine(event.goroutine()));
                    stw_reasons.insert(String::from_utf8_lossy(&range.name()).into_owned());
                }
                if range.kind == RangeKind::GcSweep && range.phase == RangePhase::End {
                    swept += range.bytes_swept.expect("a sweep's end says how much it swept");
                }
            }
            Details::Metric(metric) => {
                metrics.insert(metric.name);
            }
            Details::Sync { clock, .. } => syncs_with_clock += u32::from(clock.is_some()),
            _ => {}
        }
    }
    // Task ends report the type their task began with.
    assert!(task_types.contains("annotations") && task_types.contains("outer"), "{task_types:?}");
    assert!(!region_types.is_empty(), "no regions");
    assert!(!log_categories.is_empty(), "no logs");
    for kind in ["StopTheWorld", "GcMark", "GcSweep"] {
        assert!(ranges.contains(kind), "no {kind} range in {ranges:?}");
    }
    assert!(stw_reasons.iter().all(|r| r.starts_with("stop-the-world (") && r.len() > 17), "{stw_reasons:?}");
    assert!(swept > 0);
    assert!(metrics.contains("/sched/gomaxprocs:threads") && metrics.contains("/gc/heap/goal:bytes"));
    // Go 1.25 and later record a clock snapshot with every generation.
    assert!(syncs_with_clock > 0);
}
