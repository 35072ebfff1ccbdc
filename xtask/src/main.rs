//! Project tasks, run as `cargo xtask <task>`: the same commands a person and CI run.
//!
//! - `analyze FILE`: the headline report on a trace (`gotrace analyze`).
//! - `fixtures [--go VERSION,...] [--critical-path] [--findings] [--size SIZE]`: install Go
//!   toolchains and regenerate the committed fixture traces (with `--critical-path` or
//!   `--findings`, only the critical-path or the findings ones), or write a big benchmark trace
//!   into `target/`.
//! - `oracle [--bless] [FILE...]`: compare our output with Go's `go tool trace` live, or
//!   rewrite the goldens of the committed fixtures from Go's output.
//! - `bench`: run the criterion benchmarks on generated 50 MB traces (new and old format), and
//!   time Go's `go tool trace -d=parsed` on the same files.
//! - `view-timing FILE [--go]`: time `gotrace view` (and `go tool trace`) in headless Chromium.
//! - `check-export FILE...`: import our Chrome trace-event export in Catapult's trace viewer.
//! - `printable-table`: regenerate the table of runes Go's `strconv.IsPrint` accepts.

mod exportcheck;
mod fixtures;
mod go;
mod gotests;
mod oracle;
mod pages;
mod viewtiming;
#[allow(dead_code)] // The browser test uses the rest of the client.
#[path = "../../crates/gotrace/tests/support/webdriver.rs"]
mod webdriver;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

type Result<T, E = String> = std::result::Result<T, E>;

const USAGE: &str = "\
usage: cargo xtask <task> [arguments]

tasks:
  analyze FILE                 Report on a trace (the same as `gotrace analyze FILE`).
  fixtures [--go V1,V2,...]    Install the Go toolchains (into ~/.cache/gotrace) and regenerate
                               fixtures/traces/<go-version>/*.trace from fixtures/gen, then
                               fixtures/critical-path/<go-version>/*.trace (Go 1.21.13, 1.22.10,
                               1.23.9, 1.25.5 and 1.27.3, those of them listed with --go), then
                               fixtures/findings/<go-version>/*.trace (Go 1.22.10 and 1.27.3,
                               those of them listed with --go).
  fixtures --critical-path [--go V1,V2,...]
                               Regenerate only the critical-path fixtures, from
                               fixtures/gen/critical-path.tsv.
  fixtures --findings [--go V1,V2,...]
                               Regenerate only the findings fixtures, from
                               fixtures/gen/findings.tsv.
  fixtures --size SIZE [--go V] Write a big trace of about SIZE (e.g. 50MB, 500MB) to
                               target/fixtures/big-SIZE.trace, for benchmarks; never committed.
  oracle --bless [--analysis]  Run Go 1.27's `go tool trace -d=wire` and `-d=parsed` on every
                               committed fixture and store the outputs as goldens (only
                               -d=parsed for Go 1.21 and older traces, which -d=wire rejects),
                               and Go's analyses: the goroutine pages of `go tool trace -http`
                               and the four `-pprof=KIND` profiles (--analysis: only those).
  oracle [--wire|--parsed|--analysis] FILE...
                               Compare `gotrace dump [--wire] FILE` with Go 1.27's `-d=parsed`
                               and `-d=wire`, live, and show the first differing line (for old
                               traces, after ordering the events Go finds simultaneous); and
                               our goroutine statistics and profiles with Go's.
  oracle --go-tests            Run Go's own reader test cases (from the installed Go 1.27) and
                               require our verdict and output to agree with Go's.
  bench                        Generate the 50 MB benchmark traces (Go 1.27 and Go 1.21) if missing,
                               run `cargo bench`, then time Go's `go tool trace -d=parsed` on them.
  view-timing FILE [--go]      Time `gotrace view FILE` in headless Chromium: start to first drawn
                               timeline, peak memory, zoomed-out and zoomed-in window requests;
                               with --go, `go tool trace FILE` measured the same way in the same
                               run (stopped past --go-memory-limit GB, default 20, or
                               --go-time-limit SECONDS, default 1800).
  check-export FILE...         Export each trace with `gotrace export --chrome` and import it in
                               Catapult's trace viewer (Go 1.27's copy, in headless Chromium):
                               processes, threads, slices, counters and flows must all arrive.
  printable-table              Regenerate the table of printable runes from Go's strconv.IsPrint.
  bless-ir                     Rewrite the committed IR snapshot (after an intended IR change).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((task, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match task.as_str() {
        "analyze" => analyze(rest),
        "fixtures" => fixtures::run(rest),
        "oracle" => oracle::run(rest),
        "bench" => bench(rest),
        "view-timing" => viewtiming::run(rest),
        "check-export" => exportcheck::run(rest),
        "printable-table" => printable_table(),
        "bless-ir" => bless_ir(),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown task `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root, so that tasks work from any directory.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_owned()
}

/// Cargo's target directory.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"))
}

/// Builds the release `gotrace` binary and returns its path.
fn release_gotrace() -> Result<PathBuf> {
    run_checked(Command::new(env!("CARGO")).current_dir(root()).args(["build", "--release", "-q", "-p", "gotrace"]))?;
    Ok(target_dir().join("release/gotrace"))
}

/// Runs `cmd`, failing with its exit status when it does not succeed.
fn run_checked(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    if !status.success() {
        return Err(format!("{:?} failed with {status}", cmd.get_program()));
    }
    Ok(())
}

fn analyze(args: &[String]) -> Result<()> {
    let (json, files): (Vec<&String>, Vec<&String>) = args.iter().partition(|a| *a == "--json");
    let [file] = files[..] else {
        return Err("usage: cargo xtask analyze [--json] FILE".into());
    };
    let mut stdout = std::io::stdout().lock();
    let options = gotrace::AnalyzeOptions { json: !json.is_empty(), fail_on: None };
    gotrace::analyze(Path::new(file), &options, &mut stdout).map_err(|e| e.to_string())
}

/// Where big generated traces go: never committed.
fn big_trace_path(size_label: &str) -> PathBuf {
    root().join("target").join("fixtures").join(format!("big-{size_label}.trace"))
}

/// The Go release whose old-format trace the benchmarks read.
const OLD_BENCH_VERSION: &str = "1.21.13";

fn bench(args: &[String]) -> Result<()> {
    let trace = big_trace_path("50MB");
    if !trace.exists() {
        fixtures::run(&["--size".into(), "50MB".into()])?;
    }
    let old_trace = big_trace_path(&format!("50MB-go{OLD_BENCH_VERSION}"));
    if !old_trace.exists() {
        fixtures::run(&["--size".into(), "50MB".into(), "--go".into(), OLD_BENCH_VERSION.into()])?;
    }
    run_checked(
        Command::new(env!("CARGO"))
            .current_dir(root())
            .args(["bench", "-p", "gotrace-benches"])
            .args(args)
            .env("GOTRACE_BENCH_TRACE", &trace)
            .env("GOTRACE_BENCH_OLD_TRACE", &old_trace),
    )?;
    // Go's reader on the same files, in the same run, for the ratio.
    let go = go::Toolchain::ensure(go::ORACLE_VERSION)?;
    for file in [&trace, &old_trace] {
        let len = std::fs::metadata(file).map_err(|e| e.to_string())?.len();
        let start = std::time::Instant::now();
        let status = go
            .trace_tool()
            .arg("-d=parsed")
            .arg(file)
            .stdout(std::process::Stdio::null())
            .status()
            .map_err(|e| e.to_string())?;
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "Go {} `go tool trace -d=parsed` on {}: {seconds:.2} s, {:.1} MB/s ({status})",
            go::ORACLE_VERSION,
            file.display(),
            len as f64 / 1e6 / seconds
        );
    }
    Ok(())
}

/// The committed IR snapshot and the fixture it is made from (see the snapshot test).
const IR_SNAPSHOT: (&str, &str) = (
    "fixtures/traces/1.27.3/mandelbrot-column.trace",
    "crates/trace-format/tests/snapshots/mandelbrot-column-1.27.3.gtir",
);

fn bless_ir() -> Result<()> {
    let (trace, snapshot) = (root().join(IR_SNAPSHOT.0), root().join(IR_SNAPSHOT.1));
    let bytes = std::fs::read(&trace).map_err(|e| format!("cannot read {}: {e}", trace.display()))?;
    let ir = trace_format::ir::TraceIr::from_trace(&bytes).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(snapshot.parent().expect("a directory")).map_err(|e| e.to_string())?;
    std::fs::write(&snapshot, ir.to_bytes()).map_err(|e| format!("cannot write {}: {e}", snapshot.display()))?;
    println!("wrote {}", snapshot.display());
    Ok(())
}

fn printable_table() -> Result<()> {
    let go = go::Toolchain::ensure(go::ORACLE_VERSION)?;
    let output = go
        .go()
        .arg("run")
        .arg("main.go")
        .current_dir(root().join("xtask/go/printable"))
        .output()
        .map_err(|e| format!("cannot run go: {e}"))?;
    if !output.status.success() {
        return Err(format!("go run failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    let target = root().join("crates/trace-format/src/text/printable.rs");
    std::fs::write(&target, output.stdout).map_err(|e| format!("cannot write {}: {e}", target.display()))?;
    println!("wrote {}", target.display());
    Ok(())
}
