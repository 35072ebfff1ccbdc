//! The analysis commands: `gotrace goroutines` and `gotrace pprof`.

use std::io::Write;
use std::path::Path;

use serde_json::json;
use trace_analysis::goroutines::{ExecStats, GoroutineSummary, Percentiles, groups, summarize};
use trace_analysis::profiles::{ProfileKind, profile, to_pprof_bytes, whole_goroutines};

use crate::{CommandError, load_ir};

/// `gotrace goroutines`: the goroutines grouped by start function, ranked by execution time,
/// with where their time went; `json` gives every goroutine's figures as data.
pub fn goroutines(path: &Path, as_json: bool, out: &mut dyn Write) -> Result<(), CommandError> {
    let ir = load_ir(path)?;
    let summary = summarize(&ir);
    let groups = groups(&summary);
    if as_json {
        let groups: Vec<_> = groups
            .iter()
            .map(|g| {
                json!({
                    "start_function": g.name,
                    "count": g.goroutines.len(),
                    "exec_time_ns": g.exec_time,
                    "lifetime_ns_percentiles": percentiles_json(lifetimes(&g.goroutines)),
                    "sched_wait_ns_percentiles": percentiles_json(Percentiles::of(
                        g.goroutines.iter().map(|g| g.stats.sched_wait_time).collect())),
                    "goroutines": g.goroutines.iter().map(|g| goroutine_json(g)).collect::<Vec<_>>(),
                })
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &json!({ "groups": groups })).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "{:>6} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}  {:>10} {:>10} {:>10}  start function",
            "count",
            "execution",
            "sched wait",
            "sync block",
            "network",
            "syscall blk",
            "unknown",
            "life p50",
            "life p99",
            "life max"
        )?;
        for group in &groups {
            let sum = |f: fn(&ExecStats) -> i64| group.goroutines.iter().map(|g| f(&g.stats)).sum::<i64>();
            let life = lifetimes(&group.goroutines);
            let name = if group.name.is_empty() { "(no stack seen)" } else { group.name };
            writeln!(
                out,
                "{:>6} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}  {:>10} {:>10} {:>10}  {name}",
                group.goroutines.len(),
                short(group.exec_time),
                short(sum(|s| s.sched_wait_time)),
                short(sum(ExecStats::sync_block)),
                short(sum(ExecStats::network_wait)),
                short(sum(ExecStats::blocking_syscall)),
                short(sum(ExecStats::unknown_time)),
                short(life.p50),
                short(life.p99),
                short(life.max),
            )?;
        }
    }
    ir.error().map_or(Ok(()), |e| Err(CommandError::Stored(e.message.clone())))
}

fn lifetimes(goroutines: &[&GoroutineSummary]) -> Percentiles {
    Percentiles::of(goroutines.iter().map(|g| g.stats.total_time).collect())
}

fn percentiles_json(p: Percentiles) -> serde_json::Value {
    json!({ "p50": p.p50, "p90": p.p90, "p99": p.p99, "max": p.max })
}

fn goroutine_json(g: &GoroutineSummary) -> serde_json::Value {
    json!({
        "id": g.id,
        "creation_time_ns": g.creation_time,
        "start_time_ns": g.start_time,
        "end_time_ns": g.end_time,
        "total_ns": g.stats.total_time,
        "categories_ns": g.stats.non_overlapping(),
        "ranges_ns": g.stats.range_time,
    })
}

/// A duration rounded for a table a person reads: three significant digits.
fn short(ns: i64) -> String {
    let (value, unit) = match ns.unsigned_abs() {
        0 => return "0".to_string(),
        n if n < 1_000 => return format!("{ns}ns"),
        n if n < 1_000_000 => (ns as f64 / 1e3, "µs"),
        n if n < 1_000_000_000 => (ns as f64 / 1e6, "ms"),
        _ => (ns as f64 / 1e9, "s"),
    };
    let digits = if value.abs() >= 100.0 {
        0
    } else if value.abs() >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.digits$}{unit}")
}

/// `gotrace pprof KIND`: one of the four profiles as a gzipped pprof file, the same samples
/// as `go tool trace -pprof=KIND`. Returns the number of stacks written.
pub fn pprof(kind: ProfileKind, path: &Path, output: &Path) -> Result<usize, CommandError> {
    let ir = load_ir(path)?;
    let summary = summarize(&ir);
    let records = profile(&ir, kind, &whole_goroutines(&summary));
    std::fs::write(output, to_pprof_bytes(&records)).map_err(CommandError::Write)?;
    ir.error().map_or(Ok(records.len()), |e| Err(CommandError::Stored(e.message.clone())))
}
