//! `cargo xtask fixtures`: builds the Go programs of `fixtures/gen` with every toolchain of the
//! corpus and writes their traces (the main corpus, the critical-path fixtures and the findings
//! fixtures), or writes one big trace for benchmarks.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::go::{CRITICAL_PATH_VERSIONS, FINDINGS_VERSIONS, FIXTURE_VERSIONS, ORACLE_VERSION, Toolchain, cache_dir};
use crate::{Result, big_trace_path, root, run_checked};

/// Committed traces above this size are reported, to keep the corpus small.
const LARGE_FIXTURE: u64 = 400 << 10;

/// A set of committed fixture traces: the manifest in `fixtures/gen` that lists them, the
/// directory their traces go to (one subdirectory per Go release), the releases they are made
/// with, and the flag of `cargo xtask fixtures` that makes only this set (none for the main
/// corpus, which only a plain `cargo xtask fixtures` makes).
struct Corpus {
    manifest: &'static str,
    dir: &'static str,
    versions: &'static [&'static str],
    flag: Option<&'static str>,
}

/// The main corpus, which the goldens of `cargo xtask oracle --bless` are made from.
const MAIN_CORPUS: Corpus =
    Corpus { manifest: "fixtures/gen/manifest.tsv", dir: "fixtures/traces", versions: &FIXTURE_VERSIONS, flag: None };

/// Small traces whose critical path is known by construction (`fixtures/gen/critpath`).
const CRITICAL_PATH_CORPUS: Corpus = Corpus {
    manifest: "fixtures/gen/critical-path.tsv",
    dir: "fixtures/critical-path",
    versions: &CRITICAL_PATH_VERSIONS,
    flag: Some("--critical-path"),
};

/// Small traces that each show one performance pattern, for the findings of `gotrace analyze`
/// (`fixtures/gen/findings`, and two Mandelbrot renderings).
const FINDINGS_CORPUS: Corpus = Corpus {
    manifest: "fixtures/gen/findings.tsv",
    dir: "fixtures/findings",
    versions: &FINDINGS_VERSIONS,
    flag: Some("--findings"),
};

/// Every committed corpus, in the order a plain `cargo xtask fixtures` writes them.
const CORPORA: [&Corpus; 3] = [&MAIN_CORPUS, &CRITICAL_PATH_CORPUS, &FINDINGS_CORPUS];

struct Entry {
    name: String,
    program: String,
    args: Vec<String>,
}

/// Reads a manifest (relative to the workspace root): one `name<TAB>program<TAB>args` line per
/// trace, blank lines and `#` comments skipped.
fn manifest(relative: &str) -> Result<Vec<Entry>> {
    let path = root().join(relative);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut entries = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#')) {
        let mut fields = line.split('\t');
        let (Some(name), Some(program)) = (fields.next(), fields.next()) else {
            return Err(format!("{}:{}: expected `name<TAB>program<TAB>args`", path.display(), n + 1));
        };
        let args = fields.next().unwrap_or("").split_whitespace().map(str::to_owned).collect();
        entries.push(Entry { name: name.to_owned(), program: program.to_owned(), args });
    }
    Ok(entries)
}

/// Parses a size such as `50MB`, `500MB`, `1GB` or a plain byte count (decimal units).
fn parse_size(text: &str) -> Result<u64> {
    let upper = text.to_ascii_uppercase();
    let (digits, unit) = match upper.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => upper.split_at(i),
        None => (upper.as_str(), ""),
    };
    let n: u64 = digits.parse().map_err(|_| format!("bad size `{text}`: expected e.g. 50MB"))?;
    let unit = match unit {
        "" | "B" => 1,
        "KB" | "K" => 1_000,
        "MB" | "M" => 1_000_000,
        "GB" | "G" => 1_000_000_000,
        _ => return Err(format!("bad size unit in `{text}`: use B, KB, MB or GB")),
    };
    Ok(n * unit)
}

fn build(go: &Toolchain, program: &str) -> Result<PathBuf> {
    let bin = cache_dir().join("fixture-bin").join(&go.version).join(program);
    run_checked(
        go.go()
            .current_dir(root().join("fixtures/gen"))
            .args(["build", "-trimpath", "-o"])
            .arg(&bin)
            .arg(format!("./{program}")),
    )?;
    Ok(bin)
}

fn run_program(bin: &Path, out: &Path, args: &[String]) -> Result<()> {
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    run_checked(Command::new(bin).arg("-o").arg(out).args(args).env("TZ", "UTC"))
}

/// Builds and runs every entry of `corpus` with each of `versions`, printing the size of each
/// trace; returns the total.
fn write_corpus(corpus: &Corpus, versions: &[&str]) -> Result<u64> {
    let entries = manifest(corpus.manifest)?;
    let mut total = 0;
    for version in versions {
        let go = Toolchain::ensure(version)?;
        let dir = root().join(corpus.dir).join(version);
        for entry in &entries {
            let bin = build(&go, &entry.program)?;
            let out = dir.join(format!("{}.trace", entry.name));
            run_program(&bin, &out, &entry.args)?;
            let len = std::fs::metadata(&out).map_err(|e| e.to_string())?.len();
            total += len;
            let note = if len > LARGE_FIXTURE { "  (large: consider a smaller workload)" } else { "" };
            println!("{:>9} {}{note}", len, out.strip_prefix(root()).unwrap_or(&out).display());
        }
    }
    Ok(total)
}

pub fn run(args: &[String]) -> Result<()> {
    let mut versions: Vec<String> = Vec::new();
    let mut size = None;
    // The flags of the corpora asked for by name; none means every corpus.
    let mut named: Vec<&str> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--go" => versions.extend(it.next().ok_or("--go needs a version list")?.split(',').map(str::to_owned)),
            "--size" => size = Some(it.next().ok_or("--size needs a size such as 50MB")?.clone()),
            flag if CORPORA.iter().any(|corpus| corpus.flag == Some(flag)) => named.push(flag),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if let Some(label) = size {
        if let Some(flag) = named.first() {
            return Err(format!("--size and {flag} do not go together"));
        }
        let bytes = parse_size(&label)?;
        let version = versions.first().map_or(ORACLE_VERSION, String::as_str);
        let go = Toolchain::ensure(version)?;
        let bin = build(&go, "big")?;
        // Traces of other Go releases get their own file, so that each format has its benchmark.
        let out = if version == ORACLE_VERSION {
            big_trace_path(&label)
        } else {
            big_trace_path(&format!("{label}-go{version}"))
        };
        eprintln!("writing a trace of at least {bytes} bytes with Go {version} to {}", out.display());
        run_program(&bin, &out, &["-size".into(), bytes.to_string()])?;
        let len = std::fs::metadata(&out).map_err(|e| e.to_string())?.len();
        println!("{} ({len} bytes)", out.display());
        return Ok(());
    }
    let listed: Vec<&str> = versions.iter().map(String::as_str).collect();
    let mut total = 0;
    for corpus in CORPORA {
        let is_named = corpus.flag.is_some_and(|flag| named.contains(&flag));
        if !named.is_empty() && !is_named {
            continue;
        }
        // `--go` picks the releases of the corpora asked for (of the main corpus when none is
        // named), which are then made with all that are listed; any other corpus only with those
        // of its own releases that are listed.
        let chosen: Vec<&str> = if listed.is_empty() {
            corpus.versions.to_vec()
        } else if is_named || corpus.flag.is_none() {
            listed.clone()
        } else {
            listed.iter().copied().filter(|v| corpus.versions.contains(v)).collect()
        };
        total += write_corpus(corpus, &chosen)?;
    }
    if named.is_empty() {
        println!("{total} bytes of traces written. Now run `cargo xtask oracle --bless` to refresh the goldens.");
    } else {
        println!("{total} bytes of traces written.");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("50MB"), Ok(50_000_000));
        assert_eq!(parse_size("500mb"), Ok(500_000_000));
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("1234"), Ok(1234));
        assert!(parse_size("5XB").is_err());
    }
}
