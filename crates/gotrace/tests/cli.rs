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

fn findings(report: &serde_json::Value) -> &Vec<serde_json::Value> {
    report["findings"].as_array().unwrap()
}

fn finding_of_kind<'a>(report: &'a serde_json::Value, kind: &str) -> &'a serde_json::Value {
    findings(report)
        .iter()
        .find(|f| f["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} finding in {:#}", report["findings"]))
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
fn analyze_connects_shutdown_to_the_idle_connection() {
    for version in ["1.22.10", "1.27.3"] {
        let trace = fixture_named(version, "shutdown");
        let report = analyze_json(&trace);
        let finding = finding_of_kind(&report, "http-shutdown-waits-for-idle-connections");
        assert_eq!(finding["severity"], "problem", "{finding:#}");
        assert_eq!(finding["subject"]["name"], "net/http.(*conn).serve", "{finding:#}");
        // The program waits about 5 s for the connection that never sends a request.
        let shutdown = finding["evidence"]["shutdown_ns"].as_i64().unwrap();
        assert!((4_500_000_000..6_500_000_000).contains(&shutdown), "{finding:#}");
        assert_eq!(finding["evidence"]["connections"], 1, "{finding:#}");
        let connection = finding["subject"]["goroutines"][0].as_i64().unwrap();
        // The connection named is the goroutine of conn.serve that waited on the network all along.
        let group = json_of(&["goroutines", "--json", "--group", "net/http.(*conn).serve", trace.to_str().unwrap()]);
        let waits: Vec<(i64, i64)> = group["groups"][0]["goroutines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (g["id"].as_i64().unwrap(), g["stats"]["network_wait_ns"].as_i64().unwrap()))
            .collect();
        let longest = waits.iter().max_by_key(|w| w.1).unwrap();
        assert_eq!(longest.0, connection, "{waits:?}");
        assert!(longest.1 >= shutdown, "{waits:?}");
        assert!(finding["text"].as_str().unwrap().contains(&format!("G{connection} for ")), "{finding:#}");
        assert!(finding["advice"].as_str().unwrap().contains("ReadHeaderTimeout"), "{finding:#}");
        let stack = finding["subject"]["stack"].as_array().unwrap();
        assert!(stack.iter().any(|f| f["function"] == "net/http.(*Server).Shutdown"), "{finding:#}");
        let window = &finding["window"];
        assert!(window["end_ns"].as_i64().unwrap() - window["start_ns"].as_i64().unwrap() == shutdown);
        assert!(finding["viewer"].as_str().unwrap().starts_with("#timeline?"), "{finding:#}");
        // Explained, the connection's wait is not named again as a plain long wait.
        assert!(
            !findings(&report)
                .iter()
                .any(|f| f["kind"] == "long-wait" && f["subject"]["name"] == "net/http.(*conn).serve")
        );
        let text = String::from_utf8(gotrace(&["analyze", trace.to_str().unwrap()]).stdout).unwrap();
        let line = format!("  - problem: {}", finding["text"].as_str().unwrap());
        assert!(text.contains(&line), "the text report states the same finding:\n{text}");
        assert!(text.contains(&format!("    advice: {}", finding["advice"].as_str().unwrap())), "{text}");
    }
}

#[test]
fn analyze_fail_on_problem_fails_only_when_a_problem_is_found() {
    let shutdown = fixture_named("1.27.3", "shutdown");
    let out = gotrace(&["analyze", "--fail-on", "problem", shutdown.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!out.stdout.is_empty(), "the report is still written");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 finding of severity problem or worse (--fail-on problem)"), "{stderr}");
    let out = gotrace(&["analyze", "--json", "--fail-on", "problem", shutdown.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("the JSON report is still written");

    // A trace with nothing to report passes, even failing on notes.
    let quiet = fixture_named("1.27.3", "mandelbrot-seq");
    let report = analyze_json(&quiet);
    assert!(findings(&report).is_empty(), "{report:#}");
    for severity in ["problem", "note"] {
        let out = gotrace(&["analyze", "--fail-on", severity, quiet.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = gotrace(&["analyze", "--fail-on", "sometimes", quiet.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "clap rejects an unknown severity");
}

#[test]
fn analyze_tells_tiny_goroutines_from_a_saturated_machine() {
    let pixel = fixture_named("1.27.3", "mandelbrot-pixel");
    let report = analyze_json(&pixel);
    let tiny = finding_of_kind(&report, "tiny-goroutines");
    let count = go_group_count(&pixel, "main.renderPixel.func1");
    assert_eq!(tiny["subject"]["name"], "main.renderPixel.func1");
    assert_eq!(tiny["evidence"]["goroutines"], count);
    let overhead = tiny["evidence"]["overhead_per_goroutine_ns"].as_i64().unwrap();
    let work = tiny["evidence"]["median_execution_ns"].as_i64().unwrap();
    assert!(overhead * 2 >= work, "{tiny:#}");
    assert!(tiny["text"].as_str().unwrap().starts_with(&format!("{count} goroutines of main.renderPixel.func1 did")));

    let column = fixture_named("1.27.3", "mandelbrot-column");
    let report = analyze_json(&column);
    let saturated = finding_of_kind(&report, "cpu-saturated");
    assert_eq!(saturated["severity"], "note");
    assert!(saturated["evidence"]["procs_program_percent"].as_f64().unwrap() >= 80.0, "{saturated:#}");
    assert!(!findings(&report).iter().any(|f| f["severity"] == "problem"), "{report:#}");
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
    assert!(text.contains("problem: net/http.(*Server).Shutdown in G1 (start function main.main) took 5."), "{text}");
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
