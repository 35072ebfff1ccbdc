//! The findings endpoint: the same findings as `gotrace analyze`, as data, with times from
//! the trace's start and timeline links that stay inside the trace.

use std::path::PathBuf;

use trace_format::ir::TraceIr;

use common::{fixtures, load};

mod common;

fn fixture(dir: &str, name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../fixtures/{dir}/1.27.3/{name}.trace"))
}

#[test]
fn findings_are_the_reports_with_times_from_the_start() {
    // Every Go 1.22+ fixture of the main corpus, and a few findings fixtures.
    let named = [("findings", "leak"), ("findings", "mutex-serial"), ("findings", "mandelbrot-pixel")]
        .map(|(d, n)| fixture(d, n));
    for path in fixtures().into_iter().chain(named) {
        let name = path.display().to_string();
        let loaded = load(&path);
        let answer = loaded.findings();
        let found = answer["findings"].as_array().unwrap();
        let report = trace_analysis::report(&TraceIr::from_trace(&std::fs::read(&path).unwrap()).unwrap());
        let texts: Vec<&str> = found.iter().map(|f| f["text"].as_str().unwrap()).collect();
        let expected: Vec<&str> = report.findings.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(texts, expected, "{name}");
        let duration = loaded.timeline.end - loaded.timeline.start;
        for f in found {
            let window = &f["window"];
            let (start, end) = (window["start_ns"].as_i64().unwrap(), window["end_ns"].as_i64().unwrap());
            assert!(0 <= start && start <= end && end <= duration, "{name}: {f:#}");
            let link = f["viewer"].as_str().unwrap();
            assert!(link.starts_with("#timeline?view=goroutine&start="), "{link}");
        }
        // Asked again, the same answer (kept from the first).
        assert_eq!(loaded.findings(), answer);
    }
}
