//! `gotrace diff` on the benchmark fixtures of `fixtures/diff` (see its README): two runs of
//! the same code report no regression, the run with the mutex held longer reports it on the
//! right metric, too few samples never fail, and the JSON is stable.

use std::path::PathBuf;
use std::process::{Command, Output};

fn gotrace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gotrace")).args(args).output().expect("gotrace runs")
}

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../fixtures/diff/1.27.3/{name}.trace"))
        .to_str()
        .unwrap()
        .to_owned()
}

fn json(args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let out = gotrace(args);
    (out.status.code(), serde_json::from_slice(&out.stdout).expect("JSON on stdout"))
}

fn comparison<'a>(report: &'a serde_json::Value, benchmark: &str) -> &'a serde_json::Value {
    report["comparisons"].as_array().unwrap().iter().find(|c| c["benchmark"] == benchmark).expect(benchmark)
}

fn gated_regressions(c: &serde_json::Value) -> Vec<String> {
    c["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["gated"] == true && m["verdict"] == "regression")
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn two_runs_of_the_same_code_do_not_regress() {
    let (base_a, base_b) = (fixture("base-a"), fixture("base-b"));
    let (status, report) = json(&["diff", "--split-benchmarks", "--json", &base_a, &base_b]);
    assert_eq!(status, Some(0), "{report:#}");
    for benchmark in ["BenchmarkMutex", "BenchmarkRequest"] {
        let c = comparison(&report, benchmark);
        assert_eq!(c["samples"]["old"], 8);
        assert_eq!(c["samples"]["new"], 8);
        assert_eq!(gated_regressions(c), Vec::<String>::new(), "{benchmark}");
    }
    let text = gotrace(&["diff", "--split-benchmarks", &base_a, &base_b]);
    assert_eq!(text.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&text.stdout).contains("no regression"));
}

#[test]
fn the_regressed_run_fails_on_the_lock_it_holds_longer() {
    let (base, regressed) = (fixture("base-a"), fixture("regressed"));
    let (status, report) = json(&["diff", "--split-benchmarks", "--json", &base, &regressed]);
    assert_eq!(status, Some(1), "{report:#}");
    let mutex = comparison(&report, "BenchmarkMutex");
    let regressions = gated_regressions(mutex);
    let blocked = "group/gotrace.fixtures/benchdiff.mutexWorker/blocked (sync)";
    assert!(regressions.iter().any(|r| r == blocked), "{regressions:?}");
    let row = mutex["metrics"].as_array().unwrap().iter().find(|m| m["id"] == blocked).unwrap();
    // The lock is held twice as long: the workers wait about twice as long for it.
    let change = row["change"].as_f64().unwrap();
    assert!((0.5..2.0).contains(&change), "{row:#}");
    assert!(row["p_adjusted"].as_f64().unwrap() < 0.05, "{row:#}");
    assert!(row["explanation"].as_str().unwrap().contains("sync.(*Mutex).Lock"), "{row:#}");
    // The request benchmark did not change.
    assert_eq!(gated_regressions(comparison(&report, "BenchmarkRequest")), Vec::<String>::new());

    // The table leads with the regression and its explanation; Markdown has the same.
    let text = String::from_utf8(gotrace(&["diff", "--split-benchmarks", &base, &regressed]).stdout).unwrap();
    assert!(text.contains("REGRESSION") && text.contains("most of the change is at sync.(*Mutex).Lock"), "{text}");
    let markdown = gotrace(&["diff", "--split-benchmarks", "--markdown", &base, &regressed]);
    assert_eq!(markdown.status.code(), Some(1));
    let markdown = String::from_utf8(markdown.stdout).unwrap();
    assert!(markdown.contains("| metric | old | new | vs old | verdict |"), "{markdown}");
    assert!(markdown.contains("`group gotrace.fixtures/benchdiff.mutexWorker blocked (sync)`"), "{markdown}");
    // The folded stacks with both sides' medians: the lock's wait about doubled.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("diff-folded");
    let out = gotrace(&[
        "diff",
        "--split-benchmarks",
        "--fail-on",
        "never",
        "--folded",
        dir.to_str().unwrap(),
        &base,
        &regressed,
    ]);
    assert_eq!(out.status.code(), Some(0));
    let folded = std::fs::read_to_string(dir.join("BenchmarkMutex.sync.folded")).unwrap();
    let line = folded
        .lines()
        .find(|l| l.contains("benchdiff.mutexWorker;sync.(*Mutex).Lock "))
        .unwrap_or_else(|| panic!("{folded}"));
    let counts: Vec<f64> = line.rsplitn(3, ' ').take(2).map(|v| v.parse().unwrap()).collect();
    let (new_time, old_time) = (counts[0], counts[1]);
    assert!(new_time > 1.5 * old_time, "{line}");
    // Gated on the requests only, or failing never: exit 0.
    assert_eq!(gotrace(&["diff", "--split-benchmarks", "--gate", "task/", &base, &regressed]).status.code(), Some(0));
    assert_eq!(
        gotrace(&["diff", "--split-benchmarks", "--fail-on", "never", &base, &regressed]).status.code(),
        Some(0)
    );
}

#[test]
fn fewer_than_four_samples_never_fail() {
    // Whole traces: one sample a side.
    let (status, report) = json(&["diff", "--json", &fixture("base-a"), &fixture("regressed")]);
    assert_eq!(status, Some(0), "{report:#}");
    let c = &report["comparisons"][0];
    assert_eq!(c["samples"]["old"], 1);
    for m in c["metrics"].as_array().unwrap() {
        assert!(m["verdict"] == "descriptive" || m["verdict"] == "one-sided", "{m:#}");
        assert!(m["p"].is_null(), "{m:#}");
    }
}

#[test]
fn the_json_is_stable_and_bad_input_exits_2() {
    let args = ["diff", "--split-benchmarks", "--json", &fixture("base-a"), &fixture("base-b")];
    let (first, second) = (gotrace(&args), gotrace(&args));
    assert_eq!(first.stdout, second.stdout, "the same input gives the same JSON");
    let missing = gotrace(&["diff", "/nonexistent/old.trace", &fixture("base-b")]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/old.trace"));
    // A trace with no benchmark in it cannot be split.
    let plain = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/traces/1.27.3/mandelbrot-seq.trace");
    let out = gotrace(&["diff", "--split-benchmarks", plain.to_str().unwrap(), plain.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no benchmark measurements"), "{out:?}");
}
