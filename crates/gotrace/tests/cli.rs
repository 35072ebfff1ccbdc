//! The `gotrace` binary as a person uses it: exit statuses, messages, output on damage.

use std::path::PathBuf;
use std::process::{Command, Output};

fn gotrace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gotrace")).args(args).output().expect("gotrace runs")
}

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/traces/1.27.3/allevents.trace")
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    dir.join(name)
}

#[test]
fn dump_wire_prints_records_and_succeeds() {
    let out = gotrace(&["dump", "--wire", fixture().to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("EventBatch gen="), "{}", &text[..text.len().min(200)]);
    assert!(text.ends_with("EndOfGeneration\n"));
}

#[test]
fn truncated_trace_prints_what_it_can_then_fails_with_the_offset() {
    let bytes = std::fs::read(fixture()).unwrap();
    let cut = bytes.len() / 2;
    let path = scratch("half.trace");
    std::fs::write(&path, &bytes[..cut]).unwrap();
    let out = gotrace(&["dump", "--wire", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("gotrace: "), "{stderr}");
    assert!(stderr.contains(&format!("at offset {cut:#x}")), "{stderr}");
    assert!(out.stdout.len() > 1000, "the records before the cut are printed");

    let out = gotrace(&["analyze", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stdout).unwrap().contains("The trace is damaged"));
}

#[test]
fn missing_file_is_explained() {
    let out = gotrace(&["analyze", "no/such/file.trace"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("cannot open no/such/file.trace"), "{stderr}");
}

#[test]
fn analyze_reports_the_format_and_events() {
    let out = gotrace(&["analyze", fixture().to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("go 1.26 trace, written by Go 1.26 and 1.27"), "{text}");
    for event in ["GoCreate", "GoStart", "UserTaskBegin", "UserRegionBegin", "UserLog", "CPUSample", "EndOfGeneration"]
    {
        assert!(text.lines().any(|l| l.trim_start().starts_with(event)), "{event} missing from\n{text}");
    }
}

#[test]
fn old_format_is_named() {
    let path = scratch("old.trace");
    std::fs::write(&path, b"go 1.21 trace\0\0\0\x00").unwrap();
    let out = gotrace(&["dump", "--wire", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("old-format trace (go 1.21"), "{stderr}");
}

#[test]
fn old_format_traces_are_dumped() {
    let old = fixture().parent().unwrap().parent().unwrap().join("1.21.13/mandelbrot-seq.trace");
    let out = gotrace(&["dump", old.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("M=-1 P=-1 G=-1 Sync Time=-1 N=1\n"), "{text}");
    assert!(text.contains("Reason=\"runtime.Gosched\""), "{text}");
}

#[test]
fn ir_file_gives_the_same_dump_as_the_trace() {
    let ir = scratch("allevents.gtir");
    let out = gotrace(&["ir", fixture().to_str().unwrap(), "-o", ir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let from_trace = gotrace(&["dump", fixture().to_str().unwrap()]);
    let from_ir = gotrace(&["dump", ir.to_str().unwrap()]);
    assert!(from_trace.status.success() && from_ir.status.success());
    assert!(from_trace.stdout == from_ir.stdout, "dump of the IR differs from dump of the trace");

    // Commands that need the raw records say so.
    let wire = gotrace(&["dump", "--wire", ir.to_str().unwrap()]);
    assert_eq!(wire.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wire.stderr).contains("is an IR file"));
}

#[test]
fn ir_of_a_damaged_trace_reports_the_same_error() {
    let bytes = std::fs::read(fixture()).unwrap();
    let cut = scratch("cut.trace");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let ir = scratch("cut.gtir");
    assert!(gotrace(&["ir", cut.to_str().unwrap(), "-o", ir.to_str().unwrap()]).status.success());
    let from_trace = gotrace(&["dump", cut.to_str().unwrap()]);
    let from_ir = gotrace(&["dump", ir.to_str().unwrap()]);
    assert_eq!(from_trace.status.code(), Some(1));
    assert_eq!(from_ir.status.code(), Some(1));
    assert!(from_trace.stdout == from_ir.stdout);
    assert_eq!(from_trace.stderr, from_ir.stderr);
}

fn fixture_named(version: &str, name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../fixtures/traces/{version}/{name}.trace"))
}

/// Go's stored output of `analysis` (goroutines, profiles) for a fixture.
fn go_golden(trace: &std::path::Path, analysis: &str) -> Vec<String> {
    use std::io::Read;
    let file = std::fs::File::open(trace.with_extension(format!("{analysis}.gz"))).unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(file).read_to_string(&mut text).unwrap();
    text.lines().map(str::to_owned).collect()
}

#[test]
fn goroutines_json_has_gos_groups() {
    let trace = fixture_named("1.27.3", "shutdown");
    let out = gotrace(&["goroutines", "--json", trace.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let groups = value["groups"].as_array().unwrap();
    // Go's goroutine list: one "group NAME COUNT EXEC" line per group.
    let mut expected: Vec<(String, u64, i64)> = go_golden(&trace, "goroutines")
        .iter()
        .filter_map(|l| l.strip_prefix("group\t"))
        .map(|l| {
            let cells: Vec<&str> = l.split('\t').collect();
            (cells[0].to_owned(), cells[1].parse().unwrap(), cells[2].parse().unwrap())
        })
        .collect();
    let mut ours: Vec<(String, u64, i64)> = groups
        .iter()
        .map(|g| {
            let name = g["name"].as_str().unwrap();
            let name = if name.is_empty() { trace_analysis::golden::UNNAMED_GROUP } else { name };
            (name.to_owned(), g["count"].as_u64().unwrap(), g["stats"]["execution_ns"].as_i64().unwrap())
        })
        .collect();
    expected.sort();
    ours.sort();
    assert_eq!(ours, expected);
}

#[test]
fn goroutines_table_and_unknown_group() {
    let trace = fixture_named("1.27.3", "shutdown");
    let out = gotrace(&["goroutines", trace.to_str().unwrap(), "--group", "net/http.(*conn).serve"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Block time (network)"), "{text}");
    let out = gotrace(&["goroutines", trace.to_str().unwrap(), "--group", "no.such"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no goroutine starts in \"no.such\""));
}

#[test]
fn pprof_writes_gos_samples() {
    let trace = fixture_named("1.27.3", "allevents");
    for kind in ["net", "sync", "syscall", "sched"] {
        let output = scratch(&format!("{kind}.pb.gz"));
        let out = gotrace(&["pprof", kind, trace.to_str().unwrap(), "-o", output.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let records = trace_analysis::pprof::decode(&std::fs::read(&output).unwrap()).unwrap();
        let kind = trace_analysis::ProfileKind::from_name(kind).unwrap();
        let ours = trace_analysis::golden::profiles(&[(kind, records)]);
        let prefix = format!("{} ", kind.name());
        let expected: Vec<String> = go_golden(&trace, "profiles")
            .into_iter()
            .filter(|l| l.starts_with(&prefix) || *l == format!("profile {}", kind.name()))
            .collect();
        assert_eq!(ours, expected, "{}", kind.name());
    }
}

fn analyze_json(trace: &std::path::Path) -> serde_json::Value {
    let out = gotrace(&["analyze", "--json", trace.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn findings(report: &serde_json::Value) -> Vec<String> {
    report["findings"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_owned()).collect()
}

/// The number of goroutines Go's goroutine list gives a start function.
fn go_group_count(trace: &std::path::Path, name: &str) -> u64 {
    go_golden(trace, "goroutines")
        .iter()
        .find_map(|l| l.strip_prefix(&format!("group\t{name}\t")))
        .and_then(|rest| rest.split('\t').next()?.parse().ok())
        .unwrap_or_else(|| panic!("Go lists no group {name}"))
}

#[test]
fn analyze_names_the_goroutine_stuck_in_network_wait() {
    let trace = fixture_named("1.27.3", "shutdown");
    let report = analyze_json(&trace);
    let findings = findings(&report);
    let stuck = findings.iter().find(|f| f.contains("net/http.(*conn).serve")).expect("a finding on the connection");
    assert!(stuck.starts_with("one goroutine of net/http.(*conn).serve spent 99."), "{stuck}");
    assert!(stuck.ends_with("waiting on the network"), "{stuck}");
    let text = String::from_utf8(gotrace(&["analyze", trace.to_str().unwrap()]).stdout).unwrap();
    assert!(text.contains(stuck.as_str()), "the text report states the same finding:\n{text}");
}

#[test]
fn analyze_explains_why_per_column_mandelbrot_is_faster() {
    let (pixel, column) = (fixture_named("1.27.3", "mandelbrot-pixel"), fixture_named("1.27.3", "mandelbrot-column"));
    let mut waits = Vec::new();
    for (trace, group) in [(&pixel, "main.renderPixel.func1"), (&column, "main.renderColumn.func1")] {
        let report = analyze_json(trace);
        let count = go_group_count(trace, group);
        let finding = findings(&report)
            .into_iter()
            .find(|f| f.contains(group))
            .unwrap_or_else(|| panic!("no finding on {group}: {report}"));
        assert!(finding.starts_with(&format!("{count} goroutines of {group} spent")), "{finding}");
        assert!(finding.contains("waiting for a CPU"), "{finding}");
        let stats = report["groups"].as_array().unwrap().iter().find(|g| g["name"] == group).unwrap();
        waits.push((count, stats["stats"]["sched_wait_ns"].as_i64().unwrap()));
    }
    // Per pixel: many more goroutines, and far more time waiting for a CPU.
    assert!(waits[0].0 > 10 * waits[1].0, "{waits:?}");
    assert!(waits[0].1 > 10 * waits[1].1, "{waits:?}");
}

#[test]
fn analyze_reports_tasks_regions_and_mmu() {
    let report = analyze_json(&fixture());
    assert!(report["overview"]["duration_ns"].as_i64().unwrap() > 0);
    assert!(report["overview"]["gc_cycles"].as_u64().unwrap() > 0);
    let tasks = report["slowest_tasks"].as_array().unwrap();
    assert!(!tasks.is_empty());
    let durations: Vec<i64> = tasks.iter().map(|t| t["duration_ns"].as_i64().unwrap()).collect();
    assert!(durations.windows(2).all(|w| w[0] >= w[1]), "slowest first: {durations:?}");
    assert!(!report["slowest_regions"].as_array().unwrap().is_empty());
    for point in report["mmu"].as_array().unwrap() {
        let mmu = point["mmu"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&mmu), "{point}");
    }
}

fn json_of(args: &[&str]) -> serde_json::Value {
    let out = gotrace(args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn tasks_regions_and_mmu_commands() {
    let trace = fixture();
    let golden = go_golden(&trace, "tasks");
    let go_counts = |prefix: &str| -> Vec<u64> {
        let mut counts: Vec<u64> = golden
            .iter()
            .filter_map(|l| l.strip_prefix(prefix))
            .map(|l| l.split('\t').nth(1).unwrap().parse().unwrap())
            .collect();
        counts.sort();
        counts
    };
    let tasks = json_of(&["tasks", "--json", trace.to_str().unwrap()]);
    let mut ours: Vec<u64> =
        tasks["task_types"].as_array().unwrap().iter().map(|t| t["count"].as_u64().unwrap()).collect();
    ours.sort();
    assert_eq!(ours, go_counts("task-type\t"));

    let regions = json_of(&["regions", "--json", trace.to_str().unwrap()]);
    let mut ours: Vec<u64> =
        regions["region_types"].as_array().unwrap().iter().map(|t| t["count"].as_u64().unwrap()).collect();
    ours.sort();
    assert_eq!(ours, go_counts("region-type\t"));

    let mmu = json_of(&["mmu", "--json", trace.to_str().unwrap()]);
    let values: Vec<f64> = mmu["points"].as_array().unwrap().iter().map(|p| p["mmu"].as_f64().unwrap()).collect();
    assert!(values.len() >= 3, "{mmu}");
    // Longer windows can only be better on average.
    assert!(values.windows(2).all(|w| w[0] <= w[1]), "{values:?}");
}

#[test]
fn export_chrome_writes_trace_event_json() {
    let path = scratch("allevents.chrome.json");
    let out = gotrace(&["export", "--chrome", fixture().to_str().unwrap(), "-o", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).expect("valid JSON");
    let events = json["traceEvents"].as_array().expect("a traceEvents array");
    for phase in ["M", "X", "C", "s", "f"] {
        assert!(events.iter().any(|e| e["ph"] == phase), "events of phase {phase}");
    }
    let missing = gotrace(&["export", "--chrome", "/nonexistent.trace", "-o", path.to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot open /nonexistent.trace"));
}

#[test]
fn analyze_reads_old_format_traces() {
    let trace = fixture_named("1.19", "shutdown");
    let out = gotrace(&["analyze", trace.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("one goroutine of net/http.(*conn).serve spent 99."), "{text}");
    assert!(text.contains("not shown for old-format traces"), "{text}");
    assert!(!text.contains("goroutines of  spent"), "a group without a start function is not a finding:\n{text}");
}

fn critical_path_fixture(version: &str, case: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../fixtures/critical-path/{version}/{case}.trace"))
}

#[test]
fn critical_path_prints_the_path_the_moves_in_words_and_totals() {
    let trace = critical_path_fixture("1.27.3", "mutex-chain");
    let out = gotrace(&["critical-path", trace.to_str().unwrap(), "--task-type", "mutex-chain"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("critical paths of 1 tasks of type \"mutex-chain\""), "{text}");
    assert!(text.contains("(sync) in sync.(*Mutex).Lock"), "the wait in words: {text}");
    assert!(text.contains("unblocked by G") && text.contains("(main.holderB) in sync.(*Mutex).Unlock"), "{text}");
    assert!(text.contains("by category:") && text.contains("by goroutine group:"), "{text}");
}

#[test]
fn critical_path_json_partitions_the_task_and_names_categories() {
    let trace = critical_path_fixture("1.22.10", "fork-join");
    let tasks = gotrace(&["tasks", trace.to_str().unwrap(), "--type", "fork-join", "--json"]);
    let tasks: serde_json::Value = serde_json::from_slice(&tasks.stdout).unwrap();
    let task = &tasks["task_types"][0]["tasks"][0];
    let id = task["id"].as_u64().unwrap().to_string();
    let out = gotrace(&["critical-path", trace.to_str().unwrap(), "--task", &id, "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let path: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(path["start_ns"], task["start_ns"]);
    assert_eq!(
        path["end_ns"].as_i64().unwrap() - path["start_ns"].as_i64().unwrap(),
        task["duration_ns"].as_i64().unwrap()
    );
    let segments = path["segments"].as_array().unwrap();
    let mut at = path["start_ns"].as_i64().unwrap();
    for s in segments {
        assert_eq!(s["start_ns"].as_i64().unwrap(), at, "contiguous");
        at = s["end_ns"].as_i64().unwrap();
        for key in ["goroutine", "function", "depth", "category", "stack", "edge"] {
            assert!(!s[key].is_null(), "{key} in {s}");
        }
        let category = s["category"].as_str().unwrap();
        assert!(
            ["running", "runnable", "syscall", "network", "timer", "gc", "unknown"].contains(&category),
            "{category}"
        );
    }
    assert_eq!(at, path["end_ns"].as_i64().unwrap());
    let by_category: i64 = path["by_category"].as_object().unwrap().values().map(|v| v.as_i64().unwrap()).sum();
    assert_eq!(by_category, task["duration_ns"].as_i64().unwrap());
    let worker: i64 = segments
        .iter()
        .filter(|s| s["function"] == "main.worker50")
        .map(|s| s["end_ns"].as_i64().unwrap() - s["start_ns"].as_i64().unwrap())
        .sum();
    assert!(worker * 10 > by_category * 9, "the 50 ms worker holds the path: {worker} of {by_category}");
}

#[test]
fn critical_path_pprof_is_a_profile_with_category_and_group_roots() {
    let trace = critical_path_fixture("1.25.5", "fork-join");
    let output = scratch("fork-join-path.pb.gz");
    let out = gotrace(&[
        "critical-path",
        trace.to_str().unwrap(),
        "--task-type",
        "fork-join",
        "--pprof",
        output.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let records = trace_analysis::pprof::decode(&std::fs::read(&output).unwrap()).unwrap();
    let total: i64 = records.iter().map(|r| r.time).sum();
    let json = gotrace(&["critical-path", trace.to_str().unwrap(), "--task-type", "fork-join", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(total, json["instances"][0]["duration_ns"].as_i64().unwrap(), "the profile sums to the path");
    for r in &records {
        let root = &r.stack.last().unwrap().func;
        assert!(root.starts_with("critical path: "), "{root}");
        assert!(r.stack[r.stack.len() - 2].func.starts_with("goroutine group "), "{:?}", r.stack);
    }
    assert!(records.iter().any(|r| r.stack.iter().any(|f| f.func == "goroutine group main.worker50")));
}

#[test]
fn critical_path_explains_what_is_missing() {
    let trace = critical_path_fixture("1.27.3", "fork-join");
    let out = gotrace(&["critical-path", trace.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--task ID, --task-type NAME"));
    let out = gotrace(&["critical-path", trace.to_str().unwrap(), "--task-type", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no complete task of type \"nope\""));
    let out = gotrace(&["critical-path", trace.to_str().unwrap(), "--goroutine", "999999"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no goroutine 999999"));
}
