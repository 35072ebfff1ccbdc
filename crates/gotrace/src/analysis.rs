//! The commands that analyse a trace: `goroutines`, `pprof`, `tasks`, `regions`, `mmu` and
//! the `analyze` report. Each loads the trace into the IR (with a progress bar on a terminal),
//! runs analyses of `trace-analysis`, and prints a table for people or JSON for scripts.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};
use trace_analysis::{
    ExecStats, GoroutineGroup, Intervals, Nanos, Percentiles, ProfileKind, ProfileRecord, Summary, group_goroutines,
    pprof, profile, summarize,
};
use trace_format::ir::TraceIr;

use crate::{CommandError, load_ir};

/// A duration for people: three significant digits and a unit (`768ns`, `12.3µs`, `4.56s`).
pub fn human_duration(ns: Nanos) -> String {
    let abs = ns.unsigned_abs() as f64;
    let sign = if ns < 0 { "-" } else { "" };
    let (value, unit) = match abs {
        a if a < 1e3 => return format!("{ns}ns"),
        a if a < 1e6 => (a / 1e3, "µs"),
        a if a < 1e9 => (a / 1e6, "ms"),
        a => (a / 1e9, "s"),
    };
    let digits = if value < 10.0 {
        2
    } else if value < 100.0 {
        1
    } else {
        0
    };
    format!("{sign}{value:.digits$}{unit}")
}

/// `part` as a percentage of `whole`, for people.
fn percent(part: Nanos, whole: Nanos) -> String {
    if whole <= 0 { "-".into() } else { format!("{:.1}%", part as f64 * 100.0 / whole as f64) }
}

/// The error a damaged trace leaves in its IR, returned after what could be shown was shown.
fn stored_error(ir: &TraceIr) -> Result<(), CommandError> {
    ir.error().map_or(Ok(()), |e| Err(CommandError::Stored(e.message.clone())))
}

fn write_json(out: &mut dyn Write, value: &Value) -> Result<(), CommandError> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(|e| CommandError::Write(e.into()))?;
    writeln!(out)?;
    Ok(())
}

/// A group's name for people: Go's words for goroutines whose start was never seen.
fn group_name(name: &str) -> &str {
    if name.is_empty() { trace_analysis::golden::UNNAMED_GROUP } else { name }
}

fn stats_json(s: &ExecStats) -> Value {
    json!({
        "total_ns": s.total_time,
        "execution_ns": s.exec_time,
        "sched_wait_ns": s.sched_wait_time,
        "syscall_ns": s.syscall_time,
        "syscall_block_ns": s.syscall_block_time,
        "block_ns_by_reason": s.block_time_by_reason,
        "unknown_ns": s.unknown_time(),
        "range_ns": s.range_time,
        "network_wait_ns": s.network_wait(),
        "sync_block_ns": s.sync_block(),
        "gc_sweeping_ns": s.gc_sweeping(),
        "gc_pause_ns": s.gc_pause(),
    })
}

fn percentiles_json(p: &Percentiles) -> Value {
    json!({ "p50_ns": p.p50, "p90_ns": p.p90, "p99_ns": p.p99, "max_ns": p.max })
}

fn group_json(group: &GoroutineGroup, summary: &Summary, with_goroutines: bool) -> Value {
    let mut value = json!({
        "name": group.name,
        "count": group.goroutines.len(),
        "execution_share_percent": group.exec_share,
        "stats": stats_json(&group.stats),
        "total_time": percentiles_json(&group.total_time),
        "execution_time": percentiles_json(&group.exec_time),
        "sched_wait_time": percentiles_json(&group.sched_wait_time),
        "block_time": percentiles_json(&group.block_time),
        "syscall_time": percentiles_json(&group.syscall_time),
    });
    if with_goroutines {
        value["goroutines"] = group
            .goroutines
            .iter()
            .filter_map(|id| summary.goroutines.get(id))
            .map(|g| {
                json!({
                    "id": g.id,
                    "creation_ns": g.creation_time,
                    "start_ns": g.start_time,
                    "end_ns": g.end_time,
                    "stats": stats_json(&g.stats),
                })
            })
            .collect();
    }
    value
}

/// Options of `gotrace goroutines`.
#[derive(Debug, Clone, Default)]
pub struct GoroutinesOptions {
    /// Show the goroutines of the group with this start function, one by one.
    pub group: Option<String>,
    /// JSON instead of a table.
    pub json: bool,
}

/// `gotrace goroutines`: goroutines grouped by start function, ranked by execution time,
/// with where their time went; or the goroutines of one group.
pub fn goroutines(path: &Path, options: &GoroutinesOptions, out: &mut dyn Write) -> Result<(), CommandError> {
    let ir = load_ir(path)?;
    let summary = summarize(&ir);
    let groups = group_goroutines(&summary);
    let selected: Vec<&GoroutineGroup> = match &options.group {
        Some(name) => {
            let found: Vec<_> = groups.iter().filter(|g| g.name == *name || group_name(&g.name) == name).collect();
            if found.is_empty() {
                return Err(CommandError::Usage(format!(
                    "no goroutine starts in {name:?}; `gotrace goroutines {}` lists the start functions",
                    path.display()
                )));
            }
            found
        }
        None => groups.iter().collect(),
    };
    if options.json {
        let value: Vec<Value> = selected.iter().map(|g| group_json(g, &summary, options.group.is_some())).collect();
        write_json(out, &json!({ "groups": value }))?;
    } else if let [group] = &selected[..]
        && options.group.is_some()
    {
        write_group_goroutines(out, group, &summary)?;
    } else {
        write_groups(out, &selected, summary.goroutines.len())?;
    }
    stored_error(&ir)
}

/// The table of goroutine groups.
fn write_groups(out: &mut dyn Write, groups: &[&GoroutineGroup], goroutines: usize) -> Result<(), CommandError> {
    writeln!(out, "{goroutines} goroutines in {} groups by start function, most execution time first.", groups.len())?;
    writeln!(
        out,
        "Times are sums over each group's goroutines; \"p50/p99 total\" is the distribution of their lifetimes.\n"
    )?;
    writeln!(
        out,
        "{:>6} {:>9} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}  start function",
        "count", "exec", "exec%", "sched", "network", "sync", "syscall", "blk sys", "other", "p50 tot", "p99 tot"
    )?;
    for g in groups {
        let s = &g.stats;
        let other_block = s.block_time() - s.network_wait() - s.sync_block();
        writeln!(
            out,
            "{:>6} {:>9} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}  {}",
            g.goroutines.len(),
            human_duration(s.exec_time),
            format!("{:.1}%", g.exec_share),
            human_duration(s.sched_wait_time),
            human_duration(s.network_wait()),
            human_duration(s.sync_block()),
            human_duration(s.syscall_time),
            human_duration(s.syscall_block_time),
            human_duration(other_block + s.unknown_time()),
            human_duration(g.total_time.p50),
            human_duration(g.total_time.p99),
            group_name(&g.name)
        )?;
    }
    writeln!(
        out,
        "\nsched: runnable, waiting for a CPU; network/sync: blocked on the network or on channels, select and \
         sync primitives;\nsyscall: in system calls; blk sys: in system calls that lost their proc; other: \
         blocked for other reasons (sleep, GC, ...) or unknown."
    )?;
    Ok(())
}

/// The goroutines of one group, each with its categories.
fn write_group_goroutines(out: &mut dyn Write, group: &GoroutineGroup, summary: &Summary) -> Result<(), CommandError> {
    writeln!(
        out,
        "{} goroutines start in {}; {:.2}% of all execution time.\n",
        group.goroutines.len(),
        group_name(&group.name),
        group.exec_share
    )?;
    let mut members: Vec<_> = group.goroutines.iter().filter_map(|id| summary.goroutines.get(id)).collect();
    members.sort_by(|a, b| b.stats.total_time.cmp(&a.stats.total_time).then(a.id.cmp(&b.id)));
    // One column per category any goroutine of the group has, as Go's page shows them.
    let mut columns: Vec<String> = members
        .iter()
        .flat_map(|g| g.stats.non_overlapping().into_keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    columns.sort_by_key(|c| c != trace_analysis::EXECUTION_TIME);
    writeln!(out, "{:>10} {:>9}  {}", "goroutine", "total", columns.join(" | "))?;
    for g in members {
        let stats = g.stats.non_overlapping();
        let cells: Vec<String> = columns
            .iter()
            .map(|c| {
                let t = stats.get(c).copied().unwrap_or(0);
                format!("{} ({})", human_duration(t), percent(t, g.stats.total_time))
            })
            .collect();
        writeln!(out, "{:>10} {:>9}  {}", g.id, human_duration(g.stats.total_time), cells.join(" | "))?;
    }
    Ok(())
}

/// What a profile covers.
#[derive(Debug, Clone, Default)]
pub enum ProfileScope {
    /// Every goroutine, over its lifetime (`go tool trace -pprof=KIND`).
    #[default]
    All,
    /// The goroutines with this start function.
    Group(String),
    /// The regions of this type (their outermost instances).
    Region(String),
    /// The regions of the task with this ID.
    Task(u64),
}

/// The intervals a scope stands for, or why it matches nothing.
fn scope_intervals(summary: &Summary, scope: &ProfileScope) -> Result<Intervals, CommandError> {
    let intervals = match scope {
        ProfileScope::All => Intervals::goroutines(summary, None),
        ProfileScope::Group(name) => Intervals::goroutines(summary, Some(name)),
        ProfileScope::Region(name) => Intervals::regions(summary, |r| r.name == *name),
        ProfileScope::Task(id) => {
            let task = summary
                .tasks
                .get(id)
                .ok_or_else(|| CommandError::Usage(format!("the trace has no task with ID {id}")))?;
            Intervals::task(summary, task)
        }
    };
    if intervals.0.is_empty() {
        return Err(CommandError::Usage(format!("no goroutine or region matches {scope:?}")));
    }
    Ok(intervals)
}

/// `gotrace pprof KIND FILE -o OUT`: writes one of the four profiles in pprof's format, as
/// `go tool trace -pprof=KIND` does. Returns the samples written.
pub fn write_profile(
    path: &Path,
    kind: ProfileKind,
    scope: &ProfileScope,
    output: &Path,
) -> Result<Vec<ProfileRecord>, CommandError> {
    let ir = load_ir(path)?;
    let summary = summarize(&ir);
    let records = profile(&ir, kind, &scope_intervals(&summary, scope)?);
    std::fs::write(output, pprof::encode(&records)).map_err(CommandError::Write)?;
    stored_error(&ir)?;
    Ok(records)
}
