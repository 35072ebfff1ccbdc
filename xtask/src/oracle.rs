//! `cargo xtask oracle`: Go's `go tool trace` is the reference. This task stores its output
//! as goldens for the committed fixtures, or compares it live with ours on any trace.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use crate::go::{ORACLE_VERSION, Toolchain};
use crate::{Result, root};

/// Goldens whose compressed text would exceed this are stored as a digest instead.
const MAX_COMPRESSED_GOLDEN: usize = 1 << 20;

/// The two outputs of Go's `go tool trace -d=...` that gotrace reproduces.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `-d=wire`, reproduced by `gotrace dump --wire`.
    Wire,
    /// `-d=parsed`, reproduced by `gotrace dump`.
    Parsed,
}

impl Mode {
    const ALL: [Mode; 2] = [Mode::Wire, Mode::Parsed];

    fn name(self) -> &'static str {
        match self {
            Mode::Wire => "wire",
            Mode::Parsed => "parsed",
        }
    }

    fn ours(self, path: &Path, out: &mut dyn Write) -> Result<(), gotrace::CommandError> {
        match self {
            Mode::Wire => gotrace::dump_wire(path, out),
            Mode::Parsed => gotrace::dump_parsed(path, out),
        }
    }
}

pub fn run(args: &[String]) -> Result<()> {
    let go = Toolchain::ensure(ORACLE_VERSION)?;
    let mut modes = Vec::new();
    let mut files = Vec::new();
    let mut do_bless = false;
    let mut analyses_only = false;
    for arg in args {
        match arg.as_str() {
            "--bless" => do_bless = true,
            "--analysis" => analyses_only = true,
            "--go-tests" => return crate::gotests::run(&go),
            "--wire" => modes.push(Mode::Wire),
            "--parsed" => modes.push(Mode::Parsed),
            flag if flag.starts_with("--") => return Err(format!("unknown flag {flag}")),
            file => files.push(PathBuf::from(file)),
        }
    }
    let with_analyses = analyses_only || modes.is_empty();
    if modes.is_empty() && !analyses_only {
        modes = Mode::ALL.to_vec();
    }
    if do_bless {
        return bless(&go, &modes, with_analyses);
    }
    if files.is_empty() {
        return Err(
            "usage: cargo xtask oracle --bless [--analysis] | cargo xtask oracle [--wire|--parsed|--analysis] FILE..."
                .into(),
        );
    }
    let mut failed = 0;
    for file in &files {
        if with_analyses && !crate::pages::compare(&go, file)? {
            failed += 1;
        }
        if modes.is_empty() {
            continue;
        }
        if is_old_format(file)? == Some(true) {
            if !compare_old(&go, file)? {
                failed += 1;
            }
            continue;
        }
        for &mode in &modes {
            if !compare(&go, file, mode)? {
                failed += 1;
            }
        }
    }
    if failed > 0 {
        return Err(format!("{failed} comparisons differ from Go"));
    }
    Ok(())
}

/// Whether the trace at `path` is in the old format (Go 1.21 and earlier), by its header;
/// `None` if it is not a trace at all.
fn is_old_format(path: &Path) -> Result<Option<bool>> {
    let mut head = [0u8; trace_format::HEADER_LEN];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)).map_err(|e| e.to_string())?;
    Ok(match trace_format::read_header(&head) {
        Ok(_) => Some(false),
        Err(e) if matches!(e.kind(), trace_format::ErrorKind::OldFormat { .. }) => Some(true),
        Err(_) => None,
    })
}

/// Every committed fixture, and whether it is in the old format.
fn committed_fixtures() -> Result<Vec<(PathBuf, bool)>> {
    let mut out = Vec::new();
    let dir = root().join("fixtures/traces");
    let versions = std::fs::read_dir(&dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for version in versions.flatten() {
        for file in std::fs::read_dir(version.path()).map_err(|e| e.to_string())?.flatten() {
            let path = file.path();
            if path.extension().is_some_and(|e| e == "trace")
                && let Some(old) = is_old_format(&path)?
            {
                out.push((path, old));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn bless(go: &Toolchain, modes: &[Mode], with_analyses: bool) -> Result<()> {
    let mut total = 0;
    for (trace, old) in committed_fixtures()? {
        if with_analyses {
            total += crate::pages::bless(go, &trace)?;
        }
        // Go's raw reader does not read old-format traces: they have only a parsed golden.
        for &mode in modes.iter().filter(|&&m| !old || m == Mode::Parsed) {
            total += bless_one(go, &trace, mode)?;
        }
    }
    println!("{total} bytes of goldens from Go {ORACLE_VERSION}");
    Ok(())
}

/// Stores Go's output for one fixture and mode; returns the golden's size.
fn bless_one(go: &Toolchain, trace: &Path, mode: Mode) -> Result<usize> {
    {
        let output =
            go.trace_tool().arg(format!("-d={}", mode.name())).arg(trace).output().map_err(|e| e.to_string())?;
        if !output.status.success() {
            return Err(format!("Go failed on {}: {}", trace.display(), String::from_utf8_lossy(&output.stderr)));
        }
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        gz.write_all(&output.stdout).map_err(|e| e.to_string())?;
        let compressed = gz.finish().map_err(|e| e.to_string())?;
        let gz_path = trace.with_extension(format!("{}.gz", mode.name()));
        let digest_path = trace.with_extension(format!("{}.sha256", mode.name()));
        let _ = std::fs::remove_file(&gz_path);
        let _ = std::fs::remove_file(&digest_path);
        let (path, contents) = if compressed.len() <= MAX_COMPRESSED_GOLDEN {
            (gz_path, compressed)
        } else {
            let digest = Sha256::digest(&output.stdout);
            let line = format!("sha256:{} bytes:{}\n", hex(&digest), output.stdout.len());
            (digest_path, line.into_bytes())
        };
        std::fs::write(&path, &contents).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("{:>9} {}", contents.len(), path.strip_prefix(root()).unwrap_or(&path).display());
        Ok(contents.len())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Streams Go's and our dump of `trace` side by side; prints the first difference.
fn compare(go: &Toolchain, trace: &Path, mode: Mode) -> Result<bool> {
    let mut child = go
        .trace_tool()
        .arg(format!("-d={}", mode.name()))
        .arg(trace)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let go_out = BufReader::with_capacity(1 << 20, child.stdout.take().expect("piped"));
    let mut go_err = child.stderr.take().expect("piped");
    let go_err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = go_err.read_to_string(&mut text);
        text
    });

    let (reader, mut writer) = std::io::pipe().map_err(|e| e.to_string())?;
    let path = trace.to_owned();
    let ours = std::thread::spawn(move || {
        let result = mode.ours(&path, &mut writer);
        drop(writer);
        result.map_err(|e| e.to_string())
    });
    let our_out = BufReader::with_capacity(1 << 20, reader);

    let verdict = first_difference(go_out, our_out).map_err(|e| e.to_string())?;
    let go_status = child.wait().map_err(|e| e.to_string())?;
    let go_err = go_err_reader.join().unwrap_or_default();
    let our_result = ours.join().unwrap_or_else(|_| Err("our dump panicked".into()));
    let name = format!("{} (-d={})", trace.display(), mode.name());
    match verdict {
        Difference::None { lines } => {
            println!("{name}: identical ({lines} lines)");
            if !go_status.success() || our_result.is_err() {
                println!("  Go: {go_status}, {}", go_err.trim());
                println!("  gotrace: {}", our_result.as_ref().err().map_or("success", String::as_str));
            }
            Ok(true)
        }
        Difference::At { line, context, go, ours } => {
            println!("{name}: first difference at line {line}");
            for l in &context {
                println!("    {}", String::from_utf8_lossy(l).trim_end());
            }
            println!(
                "  Go:      {}",
                go.map_or("<end of output>".into(), |l| String::from_utf8_lossy(&l).trim_end().to_owned())
            );
            println!(
                "  gotrace: {}",
                ours.map_or("<end of output>".into(), |l| String::from_utf8_lossy(&l).trim_end().to_owned())
            );
            println!("  Go exit: {go_status} {}", go_err.trim());
            println!("  gotrace: {}", our_result.err().unwrap_or_else(|| "success".into()));
            Ok(false)
        }
    }
}

/// Compares our dump of an old-format trace with Go's -d=parsed: exactly, else with tied
/// events in a canonical order (Go orders them differently from run to run).
fn compare_old(go: &Toolchain, trace: &Path) -> Result<bool> {
    let output = go.trace_tool().arg("-d=parsed").arg(trace).output().map_err(|e| e.to_string())?;
    let mut ours = Vec::new();
    let our_result = Mode::Parsed.ours(trace, &mut ours).map_err(|e| e.to_string());
    let name = format!("{} (-d=parsed, old format)", trace.display());
    let go_ok = output.status.success();
    if go_ok != our_result.is_ok() {
        println!("{name}: Go {}, gotrace {}", output.status, our_result.err().unwrap_or_else(|| "succeeded".into()));
        println!("  Go: {}", String::from_utf8_lossy(&output.stderr).trim());
        return Ok(false);
    }
    let lines = output.stdout.iter().filter(|&&b| b == b'\n').count();
    if output.stdout == ours {
        println!("{name}: identical ({lines} lines)");
        return Ok(true);
    }
    let (go_canonical, our_canonical) =
        (trace_format::text::canonical_tie_order(&output.stdout), trace_format::text::canonical_tie_order(&ours));
    match first_difference(&go_canonical[..], &our_canonical[..]).map_err(|e| e.to_string())? {
        Difference::None { .. } => {
            println!("{name}: identical after ordering tied events ({lines} lines)");
            Ok(true)
        }
        Difference::At { line, go, ours, .. } => {
            let text = |l: Option<Vec<u8>>| {
                l.map_or("<end of output>".into(), |l| String::from_utf8_lossy(&l).trim_end().to_owned())
            };
            println!("{name}: differs; in the canonical order, first at line {line}");
            println!("  Go:      {}", text(go));
            println!("  gotrace: {}", text(ours));
            Ok(false)
        }
    }
}

enum Difference {
    None { lines: u64 },
    At { line: u64, context: Vec<Vec<u8>>, go: Option<Vec<u8>>, ours: Option<Vec<u8>> },
}

const CONTEXT_LINES: usize = 3;

fn first_difference(mut go: impl BufRead, mut ours: impl BufRead) -> std::io::Result<Difference> {
    let mut context: std::collections::VecDeque<Vec<u8>> = std::collections::VecDeque::new();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut line = 0;
    loop {
        a.clear();
        b.clear();
        let na = go.read_until(b'\n', &mut a)?;
        let nb = ours.read_until(b'\n', &mut b)?;
        line += 1;
        if na == 0 && nb == 0 {
            return Ok(Difference::None { lines: line - 1 });
        }
        if a != b {
            // Drain the rest so that neither writer blocks on a full pipe.
            std::io::copy(&mut go, &mut std::io::sink())?;
            std::io::copy(&mut ours, &mut std::io::sink())?;
            return Ok(Difference::At {
                line,
                context: context.into_iter().collect(),
                go: (na > 0).then(|| a.clone()),
                ours: (nb > 0).then(|| b.clone()),
            });
        }
        if context.len() == CONTEXT_LINES {
            context.pop_front();
        }
        context.push_back(a.clone());
    }
}
