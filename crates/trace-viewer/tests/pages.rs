//! The endpoints of the analysis pages on every committed Go 1.22+ fixture: goroutine groups,
//! task and region types and MMU figures are `trace-analysis`'s (which its own tests check
//! against Go's pages), histograms account for every instance they list, and the MMU curve and
//! its worst windows stay inside their ranges.

use std::path::PathBuf;

use serde_json::Value;
use trace_analysis::{MmuCurve, TimeHistogram, UtilFlags, group_goroutines, mutator_utilization, region_types};
use trace_viewer::api::Query;

use common::{fixtures, load};

mod common;

/// `name=value` pairs as a query string, values percent-encoded as the page's
/// `URLSearchParams` encodes them.
fn query(pairs: &[(&str, &str)]) -> String {
    let encode = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    pairs.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect::<Vec<_>>().join("&")
}

fn array(value: &Value) -> &Vec<Value> {
    value.as_array().unwrap_or_else(|| panic!("an array: {value}"))
}

fn int(value: &Value) -> i64 {
    value.as_i64().unwrap_or_else(|| panic!("an integer: {value}"))
}

/// Checks each bucket of a type's histogram against the instances the page lists for it, and
/// returns how many instances the buckets hold.
fn check_buckets(path: &str, histogram: &Value, instances_of: impl Fn(i64) -> Value, list: &str) -> u64 {
    let mut held = 0;
    for bucket in array(histogram) {
        let b = int(&bucket["bucket"]);
        assert!(int(&bucket["from"]) < int(&bucket["to"]), "{path}: {bucket}");
        let listed = instances_of(b);
        let instances = array(&listed[list]);
        assert_eq!(instances.len() as u64, bucket["count"].as_u64().unwrap(), "{path}: bucket {b}");
        assert_eq!(int(&listed["count"]), int(&bucket["count"]), "{path}: bucket {b}");
        let sum: i64 = instances.iter().map(|i| int(&i["duration"])).sum();
        assert_eq!(sum, int(&bucket["total"]), "{path}: bucket {b}: the durations add up to the bucket's total");
        for i in instances {
            let d = int(&i["duration"]);
            assert!(int(&bucket["from"]) <= d.max(1) && d < int(&bucket["to"]), "{path}: {d} ns in bucket {bucket}");
            assert_eq!(int(&i["end"]) - int(&i["start"]), d, "{path}: {i}");
        }
        held += bucket["count"].as_u64().unwrap();
    }
    held
}

#[test]
fn task_types_are_those_of_trace_analysis_and_buckets_list_their_tasks() {
    let mut seen = 0;
    for path in fixtures() {
        let loaded = load(&path);
        let name = path.display().to_string();
        let summary = trace_analysis::summarize(&loaded.ir);
        let expected = trace_analysis::task_types(&summary);
        let answer = loaded.tasks(&Query::parse("")).unwrap();
        let types = array(&answer["types"]);
        assert_eq!(types.len(), expected.len(), "{name}");
        for (page, analysis) in types.iter().zip(&expected) {
            let type_name = page["name"].as_str().unwrap();
            assert_eq!(type_name, &*analysis.name, "{name}");
            assert_eq!(page["count"].as_u64().unwrap(), analysis.tasks.len() as u64, "{name}: {type_name}");
            assert_eq!(page["complete"].as_u64().unwrap(), analysis.histogram.count, "{name}: {type_name}");
            let all = loaded.tasks(&Query::parse(&query(&[("type", type_name)]))).unwrap();
            assert_eq!(array(&all["tasks"]).len(), analysis.tasks.len(), "{name}: {type_name}: every task listed");
            let held = check_buckets(
                &name,
                &page["histogram"],
                |b| loaded.tasks(&Query::parse(&query(&[("type", type_name), ("bucket", &b.to_string())]))).unwrap(),
                "tasks",
            );
            assert_eq!(held, analysis.histogram.count, "{name}: {type_name}: the buckets hold every complete task");
            for task in array(&all["tasks"]) {
                let events = array(&task["events"]);
                assert!(events.windows(2).all(|e| int(&e[0]["time"]) <= int(&e[1]["time"])), "{name}: {task}");
                seen += events.len();
            }
        }
        assert!(loaded.tasks(&Query::parse("type=no-such-type")).is_err());
        assert!(loaded.tasks(&Query::parse("type=&bucket=x")).is_err());
    }
    assert!(seen > 100, "the fixtures have tasks with events: {seen}");
}

#[test]
fn region_types_are_those_of_trace_analysis_and_buckets_list_their_regions() {
    let mut seen = 0;
    for path in fixtures() {
        let loaded = load(&path);
        let name = path.display().to_string();
        let summary = trace_analysis::summarize(&loaded.ir);
        let expected = region_types(&loaded.ir, &summary);
        let answer = loaded.regions(&Query::parse("")).unwrap();
        let types = array(&answer["types"]);
        assert_eq!(types.len(), expected.len(), "{name}");
        for (page, analysis) in types.iter().zip(&expected) {
            let (type_name, pc) = (page["name"].as_str().unwrap(), page["pc"].as_str().unwrap());
            assert_eq!(type_name, &*analysis.name, "{name}");
            assert_eq!(u64::from_str_radix(pc, 16).unwrap(), analysis.frame.as_ref().map_or(0, |f| f.pc), "{name}");
            assert_eq!(page["count"].as_u64().unwrap(), analysis.regions.len() as u64, "{name}: {type_name}");
            let all = loaded.regions(&Query::parse(&query(&[("type", type_name), ("pc", pc)]))).unwrap();
            let listed = array(&all["regions"]);
            assert_eq!(listed.len(), analysis.regions.len(), "{name}: {type_name}: every region listed");
            assert!(listed.windows(2).all(|r| int(&r[0]["duration"]) >= int(&r[1]["duration"])), "longest first");
            let held = check_buckets(
                &name,
                &page["histogram"],
                |b| {
                    let q = query(&[("type", type_name), ("pc", pc), ("bucket", &b.to_string())]);
                    loaded.regions(&Query::parse(&q)).unwrap()
                },
                "regions",
            );
            assert_eq!(held, analysis.histogram.count, "{name}: {type_name}: the buckets hold every region");
            seen += listed.len();
        }
        assert!(loaded.regions(&Query::parse("type=x&pc=zz")).is_err());
    }
    assert!(seen > 100, "the fixtures have regions: {seen}");
}

#[test]
fn histograms_bucket_durations_as_trace_analysis_does() {
    let loaded = load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/traces/1.27.3/allevents.trace"));
    let answer = loaded.regions(&Query::parse("")).unwrap();
    for t in array(&answer["types"]) {
        for bucket in array(&t["histogram"]) {
            let b = int(&bucket["bucket"]);
            assert_eq!(int(&bucket["from"]), TimeHistogram::bucket_min(b));
            assert_eq!(TimeHistogram::bucket(int(&bucket["from"]).max(1) + 1), b, "{bucket}");
        }
    }
}

#[test]
fn goroutine_groups_are_those_of_trace_analysis() {
    for path in fixtures() {
        let loaded = load(&path);
        let name = path.display().to_string();
        let summary = trace_analysis::summarize(&loaded.ir);
        let expected = group_goroutines(&summary);
        let answer = loaded.goroutine_groups();
        let groups = array(&answer["groups"]);
        assert_eq!(groups.len(), expected.len(), "{name}");
        let columns = array(&answer["columns"]);
        assert_eq!(columns[0]["name"], "Execution");
        for (page, analysis) in groups.iter().zip(&expected) {
            assert_eq!(page["name"].as_str().unwrap(), analysis.name, "{name}");
            assert_eq!(page["count"].as_u64().unwrap(), analysis.goroutines.len() as u64, "{name}");
            assert_eq!(int(&page["values"][0]), analysis.stats.exec_time, "{name}: {}", analysis.name);
            assert_eq!(int(&page["total"]), analysis.stats.total_time, "{name}: {}", analysis.name);
            let by_name = loaded.goroutine_group(&Query::parse(&query(&[("name", &analysis.name)]))).unwrap();
            let first = analysis.goroutines[0].to_string();
            let by_member = loaded.goroutine_group(&Query::parse(&query(&[("id", &first)]))).unwrap();
            assert_eq!(by_name, by_member, "{name}: a goroutine finds its group");
            let members = array(&by_name["goroutines"]);
            assert_eq!(members.len(), analysis.goroutines.len(), "{name}");
            for (column, _) in columns.iter().enumerate() {
                let sum: i64 = members.iter().map(|g| int(&g["values"][column])).sum();
                assert_eq!(sum, int(&page["values"][column]), "{name}: {}: column {column}", analysis.name);
            }
            assert!(members.windows(2).all(|g| int(&g[0]["total"]) >= int(&g[1]["total"])), "largest first");
            for g in members {
                let id = int(&g["id"]);
                let goroutine = &summary.goroutines[&id];
                assert_eq!(int(&g["total"]), goroutine.stats.total_time, "{name}: G{id}");
                assert_eq!(int(&g["values"][3]), goroutine.stats.blocking_syscall(), "{name}: G{id}");
                assert!(int(&g["start"]) <= int(&g["end"]), "{name}: G{id}");
            }
            let by_sync =
                loaded.goroutine_group(&Query::parse(&query(&[("name", &analysis.name), ("sort", "2")]))).unwrap();
            let sync = array(&by_sync["goroutines"]);
            assert!(sync.windows(2).all(|g| int(&g[0]["values"][2]) >= int(&g[1]["values"][2])), "sorted by column 2");
        }
        assert!(loaded.goroutine_group(&Query::parse("id=-5")).is_err());
        assert!(loaded.goroutine_group(&Query::parse("name=no.such.function")).is_err());
        assert!(loaded.goroutine_group(&Query::parse("name=main.main&sort=99")).is_err());
    }
}

#[test]
fn mmu_plots_are_trace_analysis_curves_and_worst_windows_lie_inside_the_trace() {
    let flag_sets = ["stw|background|assist", "stw|background|assist|sweep", "perProc|stw|background|assist", "stw"];
    for path in fixtures() {
        let loaded = load(&path);
        let name = path.display().to_string();
        let duration = loaded.timeline.end - loaded.timeline.start;
        for flags in flag_sets {
            let plot = loaded.mmu(&Query::parse(&query(&[("flags", flags)]))).unwrap();
            assert_eq!(plot["flags"], flags, "{name}");
            let points: Vec<(i64, f64)> =
                array(&plot["points"]).iter().map(|p| (int(&p[0]), p[1].as_f64().unwrap())).collect();
            assert_eq!(points.len(), 100, "{name} {flags}: Go's 100 window sizes");
            let span = int(&plot["span"]);
            assert!(span > 0 && span <= duration, "{name} {flags}: span {span} of {duration}");
            assert!(points.windows(2).all(|p| p[0].0 <= p[1].0), "{name} {flags}: window sizes increase");
            assert!(points.iter().all(|&(_, u)| (0.0..=1.0).contains(&u)), "{name} {flags}: {points:?}");
            // A window of k times another is the mean of k consecutive ones: its utilization
            // is never below the smaller window's minimum.
            let util = mutator_utilization(&loaded.ir, parse_flags(flags));
            let curve = MmuCurve::new(&util);
            for &(window, mmu) in points.iter().step_by(9) {
                assert_eq!(mmu, curve.mmu(window), "{name} {flags}: the plot is trace-analysis's MMU");
                if !flags.contains("perProc") && 3 * window <= span {
                    assert!(curve.mmu(3 * window) >= mmu - 1e-12, "{name} {flags}: {window}");
                }
            }
            // Go's MMU at a 1 ns window is 0 by a quirk of its search, whatever the windows hold.
            for &(window, mmu) in points.iter().step_by(33).filter(|p| p.0 > 1) {
                let q = query(&[("flags", flags), ("window", &window.to_string())]);
                let worst = loaded.mmu_worst(&Query::parse(&q)).unwrap();
                let windows = array(&worst["windows"]);
                assert!(!windows.is_empty() && windows.len() <= 10, "{name} {flags}: {worst}");
                let lowest = windows[0]["util"].as_f64().unwrap();
                assert!(
                    (lowest - mmu).abs() < 1e-9,
                    "{name} {flags} {window}: the worst window is the MMU: {lowest} {mmu}"
                );
                for w in windows {
                    let (start, end) = (int(&w["start"]), int(&w["end"]));
                    assert!(start >= 0 && end <= duration, "{name} {flags}: {w} outside 0..{duration}");
                    assert_eq!(end - start, int(&worst["window"]), "{name} {flags}");
                    assert!(w["util"].as_f64().unwrap() >= lowest, "{name} {flags}: lowest first");
                }
            }
        }
        assert!(loaded.mmu(&Query::parse("flags=bogus")).is_err());
        assert!(loaded.mmu_worst(&Query::parse("window=0")).is_err());
    }
}

fn parse_flags(names: &str) -> UtilFlags {
    let has = |n: &str| names.split('|').any(|f| f == n);
    UtilFlags {
        stw: has("stw"),
        background: has("background"),
        assist: has("assist"),
        sweep: has("sweep"),
        per_proc: has("perProc"),
    }
}

#[test]
fn old_format_traces_have_the_pages_too() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/traces");
    for version in ["1.19", "1.21.13"] {
        let loaded = load(&root.join(version).join("allevents.trace"));
        let groups = loaded.goroutine_groups();
        assert!(!array(&groups["groups"]).is_empty(), "{version}");
        assert!(!array(&loaded.tasks(&Query::parse("")).unwrap()["types"]).is_empty(), "{version}: tasks");
        assert!(!array(&loaded.regions(&Query::parse("")).unwrap()["types"]).is_empty(), "{version}: regions");
        let plot = loaded.mmu(&Query::parse("")).unwrap();
        let points = array(&plot["points"]);
        assert!(points.iter().all(|p| (0.0..=1.0).contains(&p[1].as_f64().unwrap())), "{version}: {plot}");
        assert!(!points.is_empty() || plot["note"].is_string(), "{version}: {plot}");
        let worst = loaded.mmu_worst(&Query::parse("window=1000000")).unwrap();
        assert_eq!(array(&worst["windows"]).is_empty(), points.is_empty(), "{version}: {worst}");
    }
}

#[test]
fn profiles_of_a_group_or_region_type_are_those_of_trace_analysis() {
    use trace_analysis::{Intervals, ProfileKind, profile, region_start_frame};
    let loaded = load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/traces/1.27.3/allevents.trace"));
    let summary = trace_analysis::summarize(&loaded.ir);
    let total = |intervals: &Intervals, kind: ProfileKind| -> i64 {
        profile(&loaded.ir, kind, intervals).iter().map(|r| r.time).sum()
    };
    let mut nonzero = 0;
    for group in group_goroutines(&summary) {
        let intervals = Intervals::goroutines(&summary, Some(&group.name));
        for (page, kind) in [("sync", ProfileKind::Sync), ("sched", ProfileKind::Sched)] {
            let flame = loaded.profile(&Query::parse(&query(&[("kind", page), ("group", &group.name)]))).unwrap();
            let value = int(&flame["root"]["value"]);
            assert_eq!(value, total(&intervals, kind), "{page} of {}", group.name);
            nonzero += usize::from(value > 0);
        }
    }
    for t in region_types(&loaded.ir, &summary) {
        let pc = t.frame.as_ref().map_or(0, |f| f.pc);
        let intervals = Intervals::regions(&summary, |r| {
            r.name == t.name && region_start_frame(&loaded.ir, r).map_or(0, |f| f.pc) == pc
        });
        let q = query(&[("kind", "sync"), ("region", &t.name), ("pc", &format!("{pc:x}"))]);
        let flame = loaded.profile(&Query::parse(&q)).unwrap();
        assert_eq!(int(&flame["root"]["value"]), total(&intervals, ProfileKind::Sync), "region {:?}", t.name);
        let pprof = loaded.pprof(&Query::parse(&q)).unwrap();
        assert_eq!(trace_analysis::pprof::decode(&pprof).unwrap(), profile(&loaded.ir, ProfileKind::Sync, &intervals));
    }
    assert!(nonzero > 5, "groups have blocking and scheduling time: {nonzero}");
    let whole = int(&loaded.profile(&Query::parse("kind=sync")).unwrap()["root"]["value"]);
    let main = int(&loaded.profile(&Query::parse("kind=sync&group=main.main")).unwrap()["root"]["value"]);
    assert!(0 < main && main < whole, "a group's profile is part of the whole: {main} of {whole}");
    assert!(loaded.profile(&Query::parse("kind=sync&group=no.such")).is_err());
    assert!(loaded.profile(&Query::parse("kind=sync&region=no-such")).is_err());
    assert!(loaded.profile(&Query::parse("kind=cpu&group=main.main")).is_err());
}
