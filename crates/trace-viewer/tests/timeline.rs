//! The timeline index on every committed Go 1.22+ fixture: lanes hold sorted spans that never
//! overlap, windows account for every span, and the endpoints answer what the page asks.

use std::path::PathBuf;

use trace_viewer::Loaded;
use trace_viewer::api::Query;
use trace_viewer::timeline::{LaneKey, SpanKind, Timeline, View};

use common::{fixtures, load};

mod common;

#[test]
fn lanes_hold_sorted_spans_that_never_overlap() {
    for path in fixtures() {
        let timeline = load(&path).timeline;
        assert!(timeline.end > timeline.start, "{}", path.display());
        for lane in &timeline.lanes {
            for pair in lane.spans.windows(2) {
                assert!(pair[0].start <= pair[0].end, "{}: {:?} {:?}", path.display(), lane.key, pair[0]);
                // Threads may briefly show a goroutine leaving a syscall while another runs.
                if !matches!(lane.key, LaneKey::Thread(_)) {
                    assert!(pair[0].end <= pair[1].start, "{}: {:?} overlaps: {:?}", path.display(), lane.key, pair);
                }
            }
            for s in &lane.spans {
                assert!(s.start >= timeline.start && s.end <= timeline.end, "{}: {:?} {s:?}", path.display(), lane.key);
            }
        }
    }
}

#[test]
fn proc_and_thread_spans_name_the_goroutine_running_there() {
    assert_eq!(std::mem::size_of::<trace_viewer::timeline::Span>(), 24, "spans are most of the memory");
    for path in fixtures() {
        let timeline = load(&path).timeline;
        let mut checked = 0;
        for lane in timeline.lanes.iter().filter(|l| matches!(l.key, LaneKey::Proc(_) | LaneKey::Thread(_))) {
            for span in &lane.spans {
                let id = timeline.lane_goroutine(span.label());
                let id = id.unwrap_or_else(|| panic!("{}: {:?} {span:?} names no goroutine", path.display(), lane.key));
                // The goroutine's own lane has the same span, in the same state.
                let own = &timeline.lanes[timeline.goroutine(id).expect("a known goroutine").lane as usize];
                let at = own.spans.partition_point(|s| s.start < span.start);
                let same = own.spans[at..]
                    .iter()
                    .take_while(|s| s.start == span.start)
                    .any(|s| s.end == span.end && s.kind() == span.kind());
                assert!(same, "{}: {:?} {span:?} is not on G{id}'s lane", path.display(), lane.key);
                checked += 1;
            }
        }
        assert!(checked > 0, "{}: procs ran goroutines", path.display());
    }
}

#[test]
fn a_whole_trace_window_accounts_for_every_span() {
    for path in fixtures() {
        let timeline = load(&path).timeline;
        for lane in &timeline.lanes {
            let merged =
                timeline.spans_in(lane, timeline.start, timeline.end + 1, (timeline.end - timeline.start) / 500 + 1);
            let total: u64 = merged.iter().map(|m| u64::from(m.count)).sum();
            assert_eq!(total, lane.spans.len() as u64, "{}: {:?}", path.display(), lane.key);
            assert!(merged.len() <= 2 * 500 + 2, "{}: {:?}: {} spans", path.display(), lane.key, merged.len());
        }
    }
}

fn allevents() -> Loaded {
    load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/traces/1.27.3/allevents.trace"))
}

#[test]
fn goroutines_are_named_by_their_start_function() {
    let loaded = allevents();
    let timeline: &Timeline = &loaded.timeline;
    let main = timeline.goroutine(1).expect("G1");
    assert_eq!(main.name, "main.main");
    let lane = &timeline.lanes[main.lane as usize];
    assert!(lane.spans.iter().any(|s| s.kind() == SpanKind::Running));
    assert!(lane.spans.iter().any(|s| s.kind() == SpanKind::Waiting));
    let procs =
        timeline.view(View::Proc).iter().filter(|&&i| matches!(timeline.lanes[i as usize].key, LaneKey::Proc(_)));
    assert!(procs.count() >= 1);
    assert!(timeline.flows.iter().any(|f| f.creation && f.from == 1), "main creates goroutines");
    assert!(timeline.flows.iter().any(|f| !f.creation), "goroutines unblock others");
    let tasks: Vec<&str> = timeline
        .lanes
        .iter()
        .filter(|l| matches!(l.key, LaneKey::Tasks(_)))
        .flat_map(|l| l.spans.iter().map(|s| timeline.labels[s.label() as usize].as_str()))
        .collect();
    assert!(tasks.contains(&"allevents"), "{tasks:?}");
}

#[test]
fn details_name_the_goroutine_its_reason_and_stack() {
    let loaded = allevents();
    let t = &loaded.timeline;
    let main = t.goroutine(1).expect("G1");
    let lane = &t.lanes[main.lane as usize];
    let waiting = lane.spans.iter().find(|s| s.kind() == SpanKind::Waiting && s.stack != 0).expect("main blocks");
    let mid = (waiting.start + waiting.end) / 2 - t.start;
    let details = loaded.details(&Query::parse(&format!("lane={}&t={mid}", main.lane))).expect("an answer");
    assert_eq!(details["goroutine"], 1);
    assert_eq!(details["function"], "main.main");
    assert_eq!(details["what"], "waiting");
    assert_eq!(details["duration"], waiting.end - waiting.start);
    assert!(!details["reason"].as_str().unwrap().is_empty(), "{details}");
    let stack = details["stack"].as_array().unwrap();
    assert!(stack.iter().any(|f| f["func"] == "main.main"), "{details}");
    assert!(stack.iter().all(|f| f["line"].as_u64().unwrap() > 0));
}

#[test]
fn range_totals_add_up_to_goroutine_time() {
    let loaded = allevents();
    let t = &loaded.timeline;
    let whole = t.end - t.start;
    let range = loaded.range(&Query::parse(&format!("start=0&end={whole}"))).unwrap();
    let sum: i64 = range["states"].as_object().unwrap().values().map(|v| v.as_i64().unwrap()).sum();
    let expected: i64 =
        t.goroutines.iter().flat_map(|g| t.lanes[g.lane as usize].spans.iter()).map(|s| s.end - s.start).sum();
    assert_eq!(sum, expected);
    let half = loaded.range(&Query::parse(&format!("start=0&end={}", whole / 2))).unwrap();
    let half_sum: i64 = half["states"].as_object().unwrap().values().map(|v| v.as_i64().unwrap()).sum();
    assert!(half_sum < sum && half_sum > 0);
    assert!(loaded.range(&Query::parse("start=5&end=5")).is_err());
}

#[test]
fn lane_filters_and_focus() {
    let loaded = allevents();
    let names = |query: &str| -> Vec<String> {
        let lanes = loaded.lanes(&Query::parse(query)).unwrap();
        lanes["lanes"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap().to_owned()).collect()
    };
    let is_goroutine = |n: &&String| n.starts_with('G') && n[1..].starts_with(|c: char| c.is_ascii_digit());
    let all = names("view=goroutine");
    let mutexes = names("view=goroutine&filter=main.mutexes");
    assert!(mutexes.len() < all.len());
    let goroutines: Vec<&String> = mutexes.iter().filter(is_goroutine).collect();
    assert!(!goroutines.is_empty() && goroutines.iter().all(|n| n.contains("main.mutexes")), "{mutexes:?}");
    let by_id = names("view=goroutine&filter=G1");
    let by_id: Vec<&String> = by_id.iter().filter(is_goroutine).collect();
    assert!(by_id.contains(&&"G1 main.main".to_owned()), "{by_id:?}");
    assert!(by_id.iter().all(|n| n.starts_with("G1 ")), "G1's lane and its regions only: {by_id:?}");
    let focus = names("view=goroutine&focus=1");
    assert!(focus.contains(&"G1 main.main".to_owned()), "{focus:?}");
    assert!(focus.len() > 1 && focus.len() < all.len(), "{focus:?}");
    assert!(loaded.lanes(&Query::parse("view=nonsense")).is_err());
}

#[test]
fn profiles_are_those_of_trace_analysis_with_pprof_downloads() {
    use trace_analysis::{Intervals, ProfileKind, pprof, profile};
    let loaded = allevents();
    let summary = trace_analysis::summarize(&loaded.ir);
    for (page, kind) in [
        ("sched", ProfileKind::Sched),
        ("sync", ProfileKind::Sync),
        ("network", ProfileKind::Network),
        ("syscall", ProfileKind::Syscall),
    ] {
        let records = profile(&loaded.ir, kind, &Intervals::goroutines(&summary, None));
        let total: i64 = records.iter().map(|r| r.time).sum();
        let flame = loaded.profile(&Query::parse(&format!("kind={page}"))).unwrap();
        assert_eq!(flame["root"]["value"].as_i64().unwrap(), total, "{page}");
        let children: i64 =
            flame["root"]["children"].as_array().unwrap().iter().map(|c| c["value"].as_i64().unwrap()).sum();
        assert!(children <= total, "{page}: children never exceed their parent");
        let folded = loaded.profile_folded(&Query::parse(&format!("kind={page}"))).unwrap();
        let folded_total: i64 = folded.lines().map(|l| l.rsplit_once(' ').unwrap().1.parse::<i64>().unwrap()).sum();
        assert_eq!(folded_total, total, "{page}");
        let bytes = loaded.pprof(&Query::parse(&format!("kind={page}"))).unwrap();
        assert_eq!(pprof::decode(&bytes).unwrap(), records, "{page}: the download holds the same samples");
    }
    let sched = loaded.profile(&Query::parse("kind=sched")).unwrap();
    assert!(sched["root"]["value"].as_i64().unwrap() > 0, "the fixture has scheduler latency");
    assert!(
        loaded.profile(&Query::parse("kind=cpu")).unwrap()["root"]["value"].as_i64().unwrap() > 0,
        "the fixture has CPU samples"
    );
    assert!(loaded.profile(&Query::parse("kind=bogus")).is_err());
    assert!(loaded.pprof(&Query::parse("kind=cpu")).is_err(), "CPU samples have no pprof here");
}

#[test]
fn chrome_export_is_json_with_lanes_slices_counters_and_flows() {
    let loaded = allevents();
    let mut out = Vec::new();
    trace_viewer::chrome::write_chrome_trace(&loaded.timeline, &mut out).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
    let events = json["traceEvents"].as_array().unwrap();
    let phases = |ph: &str| events.iter().filter(|e| e["ph"] == ph).count();
    let spans: usize = loaded.timeline.lanes.iter().map(|l| l.spans.len()).sum();
    assert_eq!(phases("X"), spans);
    assert!(phases("C") > 10);
    assert_eq!(phases("s"), loaded.timeline.flows.len());
    assert_eq!(phases("f"), loaded.timeline.flows.len());
    assert!(events.iter().any(|e| e["ph"] == "M" && e["args"]["name"] == "G1 main.main"));
}

/// Perfetto's UI requires the slices of one track to nest exactly: on every fixture, no two
/// slices of a (pid, tid) overlap without one containing the other. Times are compared in
/// integer nanoseconds, as Perfetto reads them.
#[test]
fn chrome_export_slices_nest_on_every_track() {
    for path in fixtures() {
        let loaded = load(&path);
        let mut out = Vec::new();
        trace_viewer::chrome::write_chrome_trace(&loaded.timeline, &mut out).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
        let mut tracks: std::collections::BTreeMap<(i64, i64), Vec<(i64, i64)>> = Default::default();
        for e in json["traceEvents"].as_array().unwrap().iter().filter(|e| e["ph"] == "X") {
            let ns = |v: &serde_json::Value| (v.as_f64().unwrap() * 1000.0).round() as i64;
            let (start, duration) = (ns(&e["ts"]), ns(&e["dur"]));
            assert!(duration >= 0, "{}: {e}", path.display());
            let track = (e["pid"].as_i64().unwrap(), e["tid"].as_i64().unwrap());
            tracks.entry(track).or_default().push((start, start + duration));
        }
        for (track, mut slices) in tracks {
            // Outer slices first: by start, then the longest.
            slices.sort_by_key(|&(start, end)| (start, std::cmp::Reverse(end)));
            let mut open: Vec<i64> = Vec::new();
            for (start, end) in slices {
                while open.last().is_some_and(|&top| top <= start) {
                    open.pop();
                }
                if let Some(&top) = open.last() {
                    assert!(
                        end <= top,
                        "{}: track {track:?}: [{start}, {end}) overlaps a slice ending at {top}",
                        path.display()
                    );
                }
                open.push(end);
            }
        }
    }
}
