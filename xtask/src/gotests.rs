//! `cargo xtask oracle --go-tests`: Go's own reader test cases, read from the installed
//! toolchains (never committed): Go 1.27's textual ordering tests with their expected success
//! or failure and its fuzz corpus of binary traces, and the old-format traces (Go 1.5 to 1.21)
//! of Go 1.21's and Go 1.27's test data, which must parse when named `*_good` and fail with
//! "time stamps out of order" when named `*_unordered`. For each, our verdict must match the
//! expectation, and where Go 1.27 reads the trace our `dump` output must equal its `-d=parsed`
//! (for old-format traces, with tied events in a canonical order, as Go orders them differently
//! from run to run).

use std::path::{Path, PathBuf};

use trace_format::textparse::{Expectation, parse_test_case, unquote};

use crate::go::Toolchain;

/// The Go release whose test data holds old-format traces of every version (1.5 to 1.21).
const OLD_TESTDATA_VERSION: &str = "1.21.13";
use crate::{Result, root};

/// Whether `message` matches one of Go's expectation patterns, which are plain text wrapped
/// in optional `.*`; anything else is reported rather than guessed at.
fn matches(pattern: &str, message: &str) -> Result<bool> {
    let core = pattern.strip_prefix(".*").unwrap_or(pattern);
    let core = core.strip_suffix(".*").unwrap_or(core);
    if core.contains(['*', '+', '?', '[', '(', '|', '^', '$', '\\']) {
        return Err(format!("pattern {pattern:?} needs a regular expression engine"));
    }
    Ok(message.contains(core))
}

struct Case {
    name: String,
    bytes: Vec<u8>,
    expect: Option<Expectation>,
}

fn read_cases(go: &Toolchain) -> Result<Vec<Case>> {
    let testdata = go.goroot.join("src/internal/trace/testdata");
    let mut cases = Vec::new();
    for path in sorted_files(&testdata.join("tests"))? {
        let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
        let case = parse_test_case(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        cases.push(Case { name: file_name(&path), bytes: case.trace, expect: Some(case.expect) });
    }
    for path in sorted_files(&testdata.join("fuzz/FuzzReader"))? {
        let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
        let quoted = text
            .lines()
            .nth(1)
            .and_then(|l| l.strip_prefix("[]byte(")?.strip_suffix(')'))
            .ok_or_else(|| format!("{}: not a fuzz corpus entry", path.display()))?;
        let bytes = unquote(quoted).map_err(|e| format!("{}: {e}", path.display()))?;
        cases.push(Case { name: format!("fuzz/{}", file_name(&path)), bytes, expect: None });
    }
    let old_go = Toolchain::ensure(OLD_TESTDATA_VERSION)?;
    let old_dirs = [
        old_go.goroot.join("src/internal/trace/testdata"),
        go.goroot.join("src/internal/trace/internal/tracev1/testdata"),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for dir in old_dirs {
        for path in sorted_files(&dir)? {
            let name = file_name(&path);
            // Files of the same name are the same bytes in every release that has them.
            if !seen.insert(name.clone()) {
                continue;
            }
            let expect = if name.ends_with("_good") {
                Expectation::Success
            } else if name.ends_with("_unordered") {
                Expectation::Failure("time stamps out of order".into())
            } else {
                return Err(format!("{}: neither _good nor _unordered", path.display()));
            };
            let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
            cases.push(Case { name: format!("v1/{name}"), bytes, expect: Some(expect) });
        }
    }
    Ok(cases)
}

fn sorted_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    Ok(files)
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

pub fn run(go: &Toolchain) -> Result<()> {
    let scratch = root().join("target/go-tests");
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let mut failures = Vec::new();
    let cases = read_cases(go)?;
    let mut go_declined = 0;
    for case in &cases {
        let path = scratch.join(format!("{}.trace", case.name.replace('/', "-")));
        std::fs::write(&path, &case.bytes).map_err(|e| e.to_string())?;
        let mut ours = Vec::new();
        let our_result = gotrace::dump_parsed(&path, &mut ours).map_err(|e| e.to_string());
        let go_out = go.trace_tool().arg("-d=parsed").arg(&path).output().map_err(|e| e.to_string())?;
        let mut problems = Vec::new();
        match (&case.expect, &our_result) {
            (Some(Expectation::Success), Err(e)) => problems.push(format!("expected success, got: {e}")),
            (Some(Expectation::Failure(pattern)), Ok(())) => problems.push(format!("expected failure {pattern:?}")),
            (Some(Expectation::Failure(pattern)), Err(e)) if !matches(pattern, e)? => {
                problems.push(format!("expected failure {pattern:?}, got: {e}"))
            }
            _ => {}
        }
        let old_format = trace_format::read_header(&case.bytes)
            .is_err_and(|e| matches!(e.kind(), trace_format::ErrorKind::OldFormat { .. }));
        let same_output = go_out.stdout == ours
            || old_format
                && trace_format::text::canonical_tie_order(&go_out.stdout)
                    == trace_format::text::canonical_tie_order(&ours);
        // Go 1.27 rejects Go 1.5-1.10 traces, which gotrace reads: only the verdict counts there.
        let go_rejects_version =
            old_format && String::from_utf8_lossy(&go_out.stderr).contains("unknown or unsupported");
        if go_rejects_version {
            go_declined += 1;
        } else if !same_output {
            problems.push("output differs from Go's -d=parsed".into());
        }
        if !go_rejects_version && go_out.status.success() != our_result.is_ok() {
            problems.push(format!(
                "Go {} ({}), gotrace {}",
                go_out.status,
                String::from_utf8_lossy(&go_out.stderr).trim(),
                our_result.as_ref().err().map_or("succeeded", String::as_str)
            ));
        }
        let verdict = match &our_result {
            Ok(()) => "success".to_owned(),
            Err(e) => format!("error: {e}"),
        };
        if problems.is_empty() {
            println!("ok   {}: {verdict}", case.name);
        } else {
            println!("FAIL {}: {}", case.name, problems.join("; "));
            failures.push(case.name.clone());
        }
    }
    println!(
        "{} of {} Go test cases agree ({go_declined} of them old traces that Go 1.27 declines to read, checked against their expectation only)",
        cases.len() - failures.len(),
        cases.len()
    );
    if failures.is_empty() { Ok(()) } else { Err(format!("disagreement on: {}", failures.join(", "))) }
}
