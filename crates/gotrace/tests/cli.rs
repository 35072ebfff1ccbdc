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

#[test]
fn goroutines_json_lists_groups_with_their_goroutines() {
    let out = gotrace(&["goroutines", "--json", fixture().to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let groups = value["groups"].as_array().expect("groups");
    let main = groups.iter().find(|g| g["start_function"] == "main.main").expect("the main goroutine's group");
    assert_eq!(main["count"], 1);
    let goroutine = &main["goroutines"][0];
    assert!(goroutine["categories_ns"]["Execution time"].as_i64().unwrap() > 0);
    // Groups are ranked by execution time.
    let exec: Vec<i64> = groups.iter().map(|g| g["exec_time_ns"].as_i64().unwrap()).collect();
    assert!(exec.windows(2).all(|w| w[0] >= w[1]), "{exec:?}");
}

#[test]
fn pprof_writes_a_profile_with_the_library_samples() {
    let path = scratch("sync.pb.gz");
    let out = gotrace(&["pprof", "sync", fixture().to_str().unwrap(), "-o", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let written = trace_analysis::profiles::records_from_pprof(&std::fs::read(&path).unwrap()).unwrap();
    let ir = trace_format::ir::TraceIr::from_trace(&std::fs::read(fixture()).unwrap()).unwrap();
    let summary = trace_analysis::goroutines::summarize(&ir);
    let expected = trace_analysis::profiles::profile(
        &ir,
        trace_analysis::profiles::ProfileKind::Sync,
        &trace_analysis::profiles::whole_goroutines(&summary),
    );
    assert!(!expected.is_empty());
    assert_eq!(written, expected);
    let bad = gotrace(&["pprof", "heap", fixture().to_str().unwrap(), "-o", path.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2), "an unknown profile is a usage error");
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
