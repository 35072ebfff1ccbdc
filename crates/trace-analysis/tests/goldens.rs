//! Our analyses of every committed fixture against Go 1.27's, as stored next to each fixture by
//! `cargo xtask oracle --bless` (the goroutine pages of `go tool trace -http` and the four
//! profiles of `go tool trace -pprof=KIND`).

use std::io::Read;
use std::path::{Path, PathBuf};

use trace_analysis::{Intervals, ProfileKind, Summary, golden, pprof, profile, summarize};
use trace_format::ir::TraceIr;

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/traces");
    let mut traces: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .flat_map(|version| std::fs::read_dir(version.unwrap().path()).unwrap())
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "trace"))
        .collect();
    traces.sort();
    assert!(traces.len() >= 40, "the fixtures are missing: {}", root.display());
    traces
}

fn golden(trace: &Path, analysis: &str) -> Vec<String> {
    let path = trace.with_extension(format!("{analysis}.gz"));
    let file = std::fs::File::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run cargo xtask oracle --bless)", path.display()));
    let mut text = String::new();
    flate2::read::GzDecoder::new(file).read_to_string(&mut text).unwrap();
    text.lines().map(str::to_owned).collect()
}

/// Lines only in `expected` or only in `ours`, for the failure message.
fn differences(expected: &[String], ours: &[String]) -> String {
    let mut out = String::new();
    for line in expected.iter().filter(|l| !ours.contains(l)).take(5) {
        out += &format!("\n  Go only:      {line}");
    }
    for line in ours.iter().filter(|l| !expected.contains(l)).take(5) {
        out += &format!("\n  gotrace only: {line}");
    }
    out
}

/// Runs `check` on the IR and summary of every fixture; fails with every fixture that differs.
/// Every golden must have lines, except for analyses that not all fixtures have (tasks).
fn check_all(analysis: &str, ours: impl Fn(&TraceIr, &Summary) -> Vec<String>) {
    check_all_with(analysis, |_| true, ours);
}

fn check_all_with(
    analysis: &str,
    must_have_lines: impl Fn(&Path) -> bool,
    ours: impl Fn(&TraceIr, &Summary) -> Vec<String>,
) {
    let mut failures = Vec::new();
    let traces = fixtures();
    for trace in &traces {
        let ir = TraceIr::from_trace(&std::fs::read(trace).unwrap()).unwrap();
        let summary = summarize(&ir);
        let (expected, ours) = (golden(trace, analysis), ours(&ir, &summary));
        assert!(!expected.is_empty() || !must_have_lines(trace), "{}: empty golden", trace.display());
        if expected != ours {
            failures.push(format!("{}:{}", trace.display(), differences(&expected, &ours)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures differ from Go:\n{}",
        failures.len(),
        traces.len(),
        failures.join("\n")
    );
}

#[test]
fn goroutine_pages_equal_gos() {
    check_all("goroutines", |_, summary| golden::goroutine_pages(summary));
}

#[test]
fn profiles_equal_gos() {
    check_all("profiles", |ir, summary| {
        let all = Intervals::goroutines(summary, None);
        let profiles: Vec<_> = ProfileKind::ALL
            .into_iter()
            .map(|kind| {
                // Through pprof's format and back, as Go's profiles were read.
                let records = profile(ir, kind, &all);
                (kind, pprof::decode(&pprof::encode(&records)).unwrap())
            })
            .collect();
        golden::profiles(&profiles)
    });
}

#[test]
fn task_and_region_pages_equal_gos() {
    let has_tasks = |trace: &Path| trace.file_stem().is_some_and(|s| s == "allevents");
    check_all_with("tasks", has_tasks, golden::task_and_region_pages);
}

#[test]
fn mmu_plots_equal_gos() {
    check_all("mmu", |ir, _| golden::mmu_plots(ir));
}

#[test]
fn group_and_region_profiles_equal_gos() {
    // A trace where nothing blocks has no samples in any scope.
    let blocks = |trace: &Path| trace.file_stem().is_some_and(|s| s == "allevents" || s == "shutdown");
    check_all_with("scoped-profiles", blocks, golden::scoped_profiles);
}
