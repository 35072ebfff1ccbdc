//! `cargo xtask oracle --go-tests`: Go's own reader test cases, read from the installed Go
//! 1.27 toolchain (never committed): the textual ordering tests with their expected success or
//! failure, and the fuzz corpus of binary traces. For each, our verdict must match the
//! expectation, and our `dump` output must equal Go's `-d=parsed` on the same bytes.

use std::path::{Path, PathBuf};

use trace_format::textparse::{Expectation, parse_test_case, unquote};

use crate::go::Toolchain;
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
    let mut skipped = 0;
    for case in &cases {
        if let Err(e) = trace_format::read_header(&case.bytes)
            && matches!(e.kind(), trace_format::ErrorKind::OldFormat { .. })
        {
            println!(
                "skip {}: an old-format (Go 1.21 and earlier) trace, which this reader does not read yet",
                case.name
            );
            skipped += 1;
            continue;
        }
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
        if go_out.stdout != ours {
            problems.push("output differs from Go's -d=parsed".into());
        }
        if go_out.status.success() != our_result.is_ok() {
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
        "{} of {} Go test cases agree ({skipped} skipped)",
        cases.len() - failures.len() - skipped,
        cases.len() - skipped
    );
    if failures.is_empty() { Ok(()) } else { Err(format!("disagreement on: {}", failures.join(", "))) }
}
