//! `gotrace diff OLD NEW`: the traces of two builds compared metric by metric, as a table
//! like benchstat's, as JSON or as Markdown, with a verdict in the exit status; and the
//! profiles as differential folded stacks and pprof files.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use trace_analysis::diff::{
    CompareOptions, Comparison, MIN_SAMPLES, Row, Sample, SampleOptions, Unit, Verdict, compare, samples_of,
};
use trace_format::ir::TraceIr;

use crate::CommandError;
use crate::analysis::{human_duration, write_json};

/// What fails `gotrace diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    /// A gated metric regressed.
    Regression,
    /// A gated metric changed significantly, either way.
    Change,
    /// Nothing: always exit 0 after a comparison.
    Never,
}

/// How `gotrace diff` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffFormat {
    /// A table for people.
    Text,
    /// Every metric as data.
    Json,
    /// A table for a pull-request comment.
    Markdown,
}

/// Options of `gotrace diff`.
#[derive(Debug, Clone)]
pub struct DiffOptions {
    /// Each benchmark measurement of a `go test -bench -trace` trace is a sample.
    pub split_benchmarks: bool,
    /// Stacks by function and line, not by function alone.
    pub lines: bool,
    /// The statistics and the metrics that may fail the run.
    pub compare: CompareOptions,
    /// What fails the run.
    pub fail_on: FailOn,
    /// How to print.
    pub format: DiffFormat,
    /// Print every metric, not only those that changed.
    pub all: bool,
    /// Write each profile's differential folded stacks (`stack old new`) here.
    pub folded: Option<PathBuf>,
}

/// A comparison: the benchmark it is of (with split benchmarks), and both sides' samples.
type Compared = (Option<String>, Comparison, Vec<Sample>, Vec<Sample>);

/// The files of one side: the file itself, or every file of a directory, in name order.
fn side_files(path: &Path) -> Result<Vec<PathBuf>, CommandError> {
    let meta = std::fs::metadata(path).map_err(|error| CommandError::Open { path: path.to_owned(), error })?;
    if !meta.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let entries = std::fs::read_dir(path).map_err(|error| CommandError::Open { path: path.to_owned(), error })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(CommandError::Usage(format!("{} has no trace files", path.display())));
    }
    Ok(files)
}

/// The samples of one side, its files read two at a time.
fn side_samples(path: &Path, options: &DiffOptions, bar: &indicatif::ProgressBar) -> Result<Vec<Sample>, CommandError> {
    use rayon::prelude::*;
    let files = side_files(path)?;
    let per_file: Vec<Result<Vec<Sample>, CommandError>> = files
        .par_iter()
        .map(|file| {
            let mapped = crate::open(file)?;
            let ir = if TraceIr::is_ir(mapped.bytes()) {
                TraceIr::from_bytes(mapped.bytes()).map_err(|e| CommandError::Ir(format!("{}: {e}", file.display())))?
            } else {
                TraceIr::from_trace(mapped.bytes()).map_err(CommandError::Trace)?
            };
            if let Some(e) = ir.error() {
                return Err(CommandError::Usage(format!(
                    "{} is damaged ({}); a comparison needs whole traces",
                    file.display(),
                    e.message
                )));
            }
            let name = file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
            let samples = samples_of(&ir, &name, options.split_benchmarks, SampleOptions { lines: options.lines });
            bar.inc(1);
            if samples.is_empty() {
                return Err(CommandError::Usage(format!(
                    "{} has no benchmark measurements (goroutines of testing.(*B).launch); is it a `go test -bench -trace` trace?",
                    file.display()
                )));
            }
            Ok(samples)
        })
        .collect();
    let mut samples = Vec::new();
    for r in per_file {
        samples.extend(r?);
    }
    Ok(samples)
}

/// `gotrace diff`: compares the samples of `old` with those of `new`; with split benchmarks,
/// each benchmark on its own.
pub fn diff(old: &Path, new: &Path, options: &DiffOptions, out: &mut dyn Write) -> Result<(), CommandError> {
    let count = |p: &Path| side_files(p).map(|f| f.len() as u64);
    let bar =
        crate::styled_bar(count(old)? + count(new)?, "reading", "{msg} [{bar:40}] {pos}/{len} traces ({eta} left)");
    let (old_samples, new_samples) = (side_samples(old, options, &bar)?, side_samples(new, options, &bar)?);
    bar.finish_and_clear();
    // One comparison per benchmark, or one for all.
    let mut groups: Vec<(Option<String>, Vec<Sample>, Vec<Sample>)> = Vec::new();
    if options.split_benchmarks {
        let mut names: Vec<String> =
            old_samples.iter().chain(&new_samples).filter_map(|s| s.benchmark.clone()).collect();
        names.sort();
        names.dedup();
        for name in names {
            let pick = |samples: &[Sample]| -> Vec<Sample> {
                samples.iter().filter(|s| s.benchmark.as_deref() == Some(&name)).cloned().collect()
            };
            groups.push((Some(name.clone()), pick(&old_samples), pick(&new_samples)));
        }
    } else {
        groups.push((None, old_samples, new_samples));
    }
    let comparisons: Vec<Compared> = groups
        .into_iter()
        .map(|(name, o, n)| {
            let c = compare(&o, &n, &options.compare);
            (name, c, o, n)
        })
        .collect();
    match options.format {
        DiffFormat::Json => {
            let value: Vec<Value> =
                comparisons.iter().map(|(name, c, _, _)| comparison_json(name.as_deref(), c)).collect();
            write_json(
                out,
                &json!({ "old": old.display().to_string(), "new": new.display().to_string(), "comparisons": value }),
            )?;
        }
        DiffFormat::Markdown => {
            for (name, c, _, _) in &comparisons {
                write_markdown(out, name.as_deref(), c, options.all)?;
            }
        }
        DiffFormat::Text => {
            for (name, c, _, _) in &comparisons {
                write_table(out, name.as_deref(), c, options.all)?;
            }
        }
    }
    if let Some(dir) = &options.folded {
        std::fs::create_dir_all(dir).map_err(CommandError::Write)?;
        for (name, _, o, n) in &comparisons {
            write_folded(dir, name.as_deref(), o, n)?;
        }
    }
    let failing: usize = comparisons
        .iter()
        .map(|(_, c, _, _)| match options.fail_on {
            FailOn::Regression => c.gated(Verdict::Regression).count(),
            FailOn::Change => c
                .rows
                .iter()
                .filter(|r| {
                    r.gated && matches!(r.verdict, Verdict::Regression | Verdict::Improvement | Verdict::Change)
                })
                .count(),
            FailOn::Never => 0,
        })
        .sum();
    if failing > 0 {
        return Err(CommandError::Regressed {
            count: failing,
            what: if options.fail_on == FailOn::Change { "changes" } else { "regressions" },
        });
    }
    Ok(())
}

/// A value in its unit, for people.
fn value_words(value: f64, unit: Unit) -> String {
    if value.is_nan() {
        return "-".to_owned();
    }
    match unit {
        Unit::Nanos => human_duration(value.round() as i64),
        Unit::Count => {
            if value.fract() == 0.0 {
                format!("{value:.0}")
            } else {
                format!("{value:.1}")
            }
        }
        Unit::Bytes => {
            let (v, u) = if value >= (1u64 << 30) as f64 {
                (value / (1u64 << 30) as f64, "GiB")
            } else if value >= (1 << 20) as f64 {
                (value / (1 << 20) as f64, "MiB")
            } else if value >= 1024.0 {
                (value / 1024.0, "KiB")
            } else {
                (value, "B")
            };
            format!("{v:.3}{u}")
        }
        Unit::Ratio => format!("{:.1}%", value * 100.0),
    }
}

/// A side as benchstat prints it: the median, and the interval's farther end from it as a
/// share of it (`± ∞` when the side is too small for a 95% interval).
fn side_words(side: &trace_analysis::diff::Side, unit: Unit) -> String {
    if side.values.is_empty() {
        return "-".to_owned();
    }
    let spread = match side.interval {
        Some((lo, hi)) if side.median != 0.0 => {
            format!(
                "± {:.0}%",
                ((hi - side.median).abs().max((side.median - lo).abs()) / side.median.abs() * 100.0).ceil()
            )
        }
        Some(_) => "± 0%".to_owned(),
        None => "± ∞".to_owned(),
    };
    format!("{} {spread}", value_words(side.median, unit))
}

/// The comparison column: the change with its test, or `~` with the p-value.
fn versus_words(row: &Row) -> String {
    let n = format!("n={}+{}", row.old.values.len(), row.new.values.len());
    match row.verdict {
        Verdict::OneSided => {
            if row.old.values.is_empty() {
                "only in new".to_owned()
            } else {
                "only in old".to_owned()
            }
        }
        Verdict::Descriptive => format!(
            "{} ({n}; fewer than {MIN_SAMPLES} samples a side: not tested)",
            row.change.map_or("?".to_owned(), |c| format!("{:+.1}%", c * 100.0))
        ),
        Verdict::Same => format!("~ (p={:.3} {n})", row.p_adjusted.or(row.p).unwrap_or(1.0)),
        _ => {
            format!(
                "{} (p={:.3} {n})",
                row.change.map_or("new".to_owned(), |c| format!("{:+.1}%", c * 100.0)),
                row.p_adjusted.or(row.p).unwrap_or(f64::NAN)
            )
        }
    }
}

fn row_name(row: &Row) -> String {
    let k = &row.key;
    if k.subject.is_empty() {
        format!("{} {}", k.scope.name(), k.measure)
    } else {
        format!("{} {} {}", k.scope.name(), k.subject, k.measure)
    }
}

fn verdict_words(row: &Row) -> &'static str {
    match row.verdict {
        Verdict::Regression if row.gated => "REGRESSION",
        Verdict::Regression => "worse (not gated)",
        Verdict::Improvement => "better",
        Verdict::Change => "changed",
        _ => "",
    }
}

/// The rows a table shows: every one with `all`; otherwise those that changed or are on one
/// side only.
fn shown(c: &Comparison, all: bool) -> impl Iterator<Item = &Row> {
    c.rows.iter().filter(move |r| {
        all || !matches!(r.verdict, Verdict::Same | Verdict::Descriptive)
            || r.change.is_some_and(|ch| r.verdict == Verdict::Descriptive && ch.abs() >= c.options.threshold)
    })
}

fn header_words(name: Option<&str>, c: &Comparison) -> String {
    let what = name.map_or(String::new(), |n| format!("{n}: "));
    let (o, n) = c.samples;
    let note = if o < MIN_SAMPLES || n < MIN_SAMPLES {
        format!(" (fewer than {MIN_SAMPLES} on a side: a description, never a failing verdict)")
    } else {
        format!(
            " (Mann-Whitney U, alpha {}, Holm-Bonferroni over {} gated metrics; a change counts from {:.0}%)",
            c.options.alpha,
            c.rows.iter().filter(|r| r.p_adjusted.is_some()).count(),
            c.options.threshold * 100.0
        )
    };
    format!("{what}{o} old samples against {n} new{note}")
}

fn write_table(out: &mut dyn Write, name: Option<&str>, c: &Comparison, all: bool) -> Result<(), CommandError> {
    writeln!(out, "{}", header_words(name, c))?;
    let rows: Vec<&Row> = shown(c, all).collect();
    let width = rows.iter().map(|r| row_name(r).chars().count()).max().unwrap_or(6).max(6);
    writeln!(out, "{:<width$}  {:>18}  {:>18}  vs old", "metric", "old", "new")?;
    for row in &rows {
        writeln!(
            out,
            "{:<width$}  {:>18}  {:>18}  {}  {}",
            row_name(row),
            side_words(&row.old, row.kind.unit),
            side_words(&row.new, row.kind.unit),
            versus_words(row),
            verdict_words(row)
        )?;
        if let Some(e) = &row.explanation {
            writeln!(out, "{:<width$}    {e}", "")?;
        }
    }
    let hidden = c.rows.len() - rows.len();
    if hidden > 0 {
        writeln!(out, "({hidden} more metrics without a significant change: --all shows them)")?;
    }
    let regressions = c.gated(Verdict::Regression).count();
    writeln!(
        out,
        "{}\n",
        if regressions == 0 { "no regression".to_owned() } else { format!("{regressions} regressions") }
    )?;
    Ok(())
}

fn write_markdown(out: &mut dyn Write, name: Option<&str>, c: &Comparison, all: bool) -> Result<(), CommandError> {
    writeln!(out, "**{}**\n", header_words(name, c).replace('|', "\\|"))?;
    writeln!(out, "| metric | old | new | vs old | verdict |")?;
    writeln!(out, "|---|---:|---:|---|---|")?;
    let cell = |s: String| s.replace('|', "\\|");
    for row in shown(c, all) {
        let mut name = format!("`{}`", cell(row_name(row)));
        if let Some(e) = &row.explanation {
            name += &format!("<br>{}", cell(e.clone()));
        }
        writeln!(
            out,
            "| {name} | {} | {} | {} | {} |",
            cell(side_words(&row.old, row.kind.unit)),
            cell(side_words(&row.new, row.kind.unit)),
            cell(versus_words(row)),
            verdict_words(row)
        )?;
    }
    let regressions = c.gated(Verdict::Regression).count();
    writeln!(
        out,
        "\n{}\n",
        if regressions == 0 { "No regression.".to_owned() } else { format!("**{regressions} regressions.**") }
    )?;
    Ok(())
}

fn side_json(side: &trace_analysis::diff::Side) -> Value {
    json!({
        "n": side.values.len(),
        "values": side.values,
        "median": (!side.median.is_nan()).then_some(side.median),
        "interval": side.interval.map(|(lo, hi)| json!([lo, hi])),
    })
}

fn comparison_json(name: Option<&str>, c: &Comparison) -> Value {
    json!({
        "benchmark": name,
        "samples": {"old": c.samples.0, "new": c.samples.1},
        "alpha": c.options.alpha,
        "threshold": c.options.threshold,
        "regressions": c.gated(Verdict::Regression).count(),
        "metrics": c.rows.iter().map(|r| json!({
            "id": r.key.id(),
            "scope": r.key.scope.name(),
            "subject": r.key.subject,
            "measure": r.key.measure,
            "unit": r.kind.unit.name(),
            "old": side_json(&r.old),
            "new": side_json(&r.new),
            "change": r.change,
            "p": r.p,
            "p_adjusted": r.p_adjusted,
            "gated": r.gated,
            "verdict": r.verdict.name(),
            "explanation": r.explanation,
        })).collect::<Vec<_>>(),
    })
}

/// Each profile's stacks with the median time (or CPU samples) of each side, as the
/// differential folded format (`frame;frame;frame old new`) that flame-graph tools read.
fn write_folded(dir: &Path, name: Option<&str>, old: &[Sample], new: &[Sample]) -> Result<(), CommandError> {
    use std::collections::{BTreeMap, BTreeSet};
    let kinds: BTreeSet<&String> = old.iter().chain(new).flat_map(|s| s.profiles.keys()).collect();
    for kind in kinds {
        let stacks: BTreeSet<&Vec<String>> =
            old.iter().chain(new).filter_map(|s| s.profiles.get(kind)).flat_map(|p| p.keys()).collect();
        let median_of = |samples: &[Sample], stack: &Vec<String>| -> f64 {
            let v: Vec<f64> = samples
                .iter()
                .map(|s| s.profiles.get(kind).and_then(|p| p.get(stack)).copied().unwrap_or(0.0))
                .collect();
            trace_analysis::diff::stats::median(&v)
        };
        let mut lines: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        for stack in stacks {
            let frames: Vec<String> = stack.iter().map(|f| f.replace([';', ' '], "_")).collect();
            lines.insert(frames.join(";"), (median_of(old, stack), median_of(new, stack)));
        }
        let file = match name {
            Some(b) => dir.join(format!("{}.{kind}.folded", b.replace(['/', ' '], "_"))),
            None => dir.join(format!("{kind}.folded")),
        };
        let mut text = String::new();
        for (stack, (o, n)) in lines.into_iter().filter(|(_, (o, n))| *o > 0.0 || *n > 0.0) {
            text += &format!("{} {:.0} {:.0}\n", if stack.is_empty() { "(no stack)" } else { &stack }, o, n);
        }
        std::fs::write(&file, text).map_err(CommandError::Write)?;
    }
    Ok(())
}
