//! The goroutine analysis and the four profiles equal Go 1.27's on every committed fixture:
//! its `/goroutines` and `/goroutine` pages and its `-pprof=net|sync|syscall|sched` output,
//! stored by `cargo xtask oracle --analysis --bless` as `<trace>.analysis.gz`.

use std::io::Read;
use std::path::{Path, PathBuf};

use trace_analysis::goroutines::{pages_text, summarize};
use trace_analysis::profiles::{
    ProfileKind, profile, records_from_pprof, records_text, to_pprof_bytes, whole_goroutines,
};
use trace_format::ir::TraceIr;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/traces");
    let mut out = Vec::new();
    for version in std::fs::read_dir(&dir).expect("fixtures/traces exists").flatten() {
        for file in std::fs::read_dir(version.path()).unwrap().flatten() {
            if file.path().extension().is_some_and(|e| e == "trace") {
                out.push(file.path());
            }
        }
    }
    out.sort();
    assert!(out.len() >= 40, "expected the committed fixtures, found {}", out.len());
    out
}

fn golden(trace: &Path) -> String {
    let path = trace.with_extension("analysis.gz");
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run cargo xtask oracle --analysis --bless)", path.display()));
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut text).expect("a gzipped golden");
    text
}

#[test]
fn goroutine_pages_and_profiles_equal_go() {
    let mut checked = 0;
    for trace in fixtures() {
        let ir = TraceIr::from_trace(&std::fs::read(&trace).unwrap()).expect("a readable fixture");
        let summary = summarize(&ir);
        let intervals = whole_goroutines(&summary);
        let mut ours = String::new();
        for kind in ProfileKind::ALL {
            let records = profile(&ir, kind, &intervals);
            // What we write as pprof reads back as the same records.
            assert_eq!(records_from_pprof(&to_pprof_bytes(&records)).unwrap(), records, "{}", trace.display());
            ours.push_str(&format!("profile {}\n{}", kind.name(), records_text(&records)));
        }
        ours.push_str(&pages_text(&summary));
        let theirs = golden(&trace);
        if ours != theirs {
            let line = theirs.lines().zip(ours.lines()).position(|(a, b)| a != b).unwrap_or(0);
            panic!(
                "{} differs from Go at line {}:\n  go:   {}\n  ours: {}",
                trace.display(),
                line + 1,
                theirs.lines().nth(line).unwrap_or("(end)"),
                ours.lines().nth(line).unwrap_or("(end)")
            );
        }
        checked += 1;
    }
    assert!(checked >= 40);
}
