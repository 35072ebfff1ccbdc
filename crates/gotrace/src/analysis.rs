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
    trace_analysis::format_duration(ns, "")
}

/// `part` as a percentage of `whole`, for people.
pub(crate) fn percent(part: Nanos, whole: Nanos) -> String {
    if whole <= 0 { "-".into() } else { format!("{:.1}%", part as f64 * 100.0 / whole as f64) }
}

/// The error a damaged trace leaves in its IR, returned after what could be shown was shown.
pub(crate) fn stored_error(ir: &TraceIr) -> Result<(), CommandError> {
    ir.error().map_or(Ok(()), |e| Err(CommandError::Stored(e.message.clone())))
}

pub(crate) fn write_json(out: &mut dyn Write, value: &Value) -> Result<(), CommandError> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(|e| CommandError::Write(e.into()))?;
    writeln!(out)?;
    Ok(())
}

/// A group's name for people: Go's words for goroutines whose start was never seen.
pub(crate) fn group_name(name: &str) -> &str {
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
        ProfileScope::Region(name) => Intervals::regions(summary, |r| *r.name == **name),
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

/// How many goroutine groups and stacks per profile the report shows.
const REPORT_ROWS: usize = 8;

/// Whether a function belongs to the program rather than to Go's standard library: `main`,
/// or a package whose path starts with a domain (`github.com/...`).
pub(crate) fn is_program_function(func: &str) -> bool {
    func.starts_with("main.") || func.split('/').next().is_some_and(|first| first.contains('.') && func.contains('/'))
}

fn frame_text(record: &ProfileRecord) -> String {
    // The innermost frame outside the runtime says where the goroutine waited; the innermost
    // frame of the program itself says which code asked for it.
    let waited = record
        .stack
        .iter()
        .find(|f| !f.func.starts_with("runtime.") && !f.func.starts_with("internal/"))
        .or(record.stack.first());
    let Some(waited) = waited else { return "(no stack)".to_owned() };
    let mut text = format!("{} {}:{}", waited.func, waited.file, waited.line);
    if let Some(caller) = record.stack.iter().find(|f| is_program_function(&f.func))
        && caller != waited
    {
        text += &format!(" <- {} {}:{}", caller.func, caller.file, caller.line);
    }
    text
}

fn report_json(path: &Path, report: &trace_analysis::Report) -> Value {
    let o = &report.overview;
    let profile_json = |records: &[ProfileRecord]| -> Vec<Value> {
        records
            .iter()
            .take(REPORT_ROWS)
            .map(|r| {
                json!({
                    "count": r.count,
                    "delay_ns": r.time,
                    "stack": r.stack.iter().map(|f| json!({"function": f.func, "file": f.file, "line": f.line, "pc": f.pc})).collect::<Vec<_>>(),
                })
            })
            .collect()
    };
    let timed = |items: &[trace_analysis::Timed]| -> Vec<Value> {
        items
            .iter()
            .map(|t| json!({"type": t.name, "task": t.task, "goroutine": t.goroutine, "start_ns": t.start, "duration_ns": t.duration, "complete": t.complete}))
            .collect()
    };
    json!({
        "trace": path.display().to_string(),
        "overview": {
            "format_version": o.format_version,
            "duration_ns": o.duration,
            "events": o.events,
            "goroutines": o.goroutines,
            "procs": o.procs,
            "max_gomaxprocs": o.max_gomaxprocs,
            "threads": o.threads,
            "gc_cycles": o.gc_cycles,
            "stw_pauses": o.stw_pauses,
            "stw_total_ns": o.stw_total,
            "stw_max_ns": o.stw_max,
        },
        "findings": report.findings.iter().map(|f| trace_viewer::finding_json(f, report.summary.start_time)).collect::<Vec<_>>(),
        "groups": report.groups.iter().map(|g| group_json(g, &report.summary, false)).collect::<Vec<_>>(),
        "profiles": report.profiles.iter().map(|(k, r)| (k.name().to_owned(), Value::from(profile_json(r)))).collect::<serde_json::Map<_, _>>(),
        "slowest_tasks": timed(&report.slowest_tasks),
        "slowest_regions": timed(&report.slowest_regions),
        "mmu": report.mmu.iter().map(|p| json!({"window_ns": p.window, "mmu": p.mmu, "worst_window_start_ns": p.worst.map(|w| w.time)})).collect::<Vec<_>>(),
    })
}

/// The `analyze` report for people: overview, findings, where goroutines' time went, the top
/// waiting places of each profile, the slowest tasks and regions, and the MMU.
fn write_report(out: &mut dyn Write, path: &Path, report: &trace_analysis::Report) -> Result<(), CommandError> {
    let o = &report.overview;
    writeln!(out, "Trace        {}", path.display())?;
    writeln!(out, "Duration     {}", human_duration(o.duration))?;
    writeln!(
        out,
        "Contents     {} events, {} goroutines, {} procs{}, {} threads",
        crate::grouped(o.events),
        crate::grouped(o.goroutines),
        o.procs,
        o.max_gomaxprocs.map_or(String::new(), |n| format!(" (GOMAXPROCS up to {n})")),
        o.threads
    )?;
    writeln!(
        out,
        "GC           {} cycles began; {} stop-the-world pauses, {} in all, the longest {}",
        o.gc_cycles,
        o.stw_pauses,
        human_duration(o.stw_total),
        human_duration(o.stw_max)
    )?;

    writeln!(out, "\nFindings")?;
    if report.findings.is_empty() {
        writeln!(out, "  nothing stands out: no goroutine of the program waited for most of the trace")?;
    }
    let origin = report.summary.start_time;
    for finding in &report.findings {
        writeln!(out, "  - {}: {}", finding.severity.name(), finding.text)?;
        if !finding.advice.is_empty() {
            writeln!(out, "    advice: {}", finding.advice)?;
        }
        if let (Some((start, end)), Some(link)) = (finding.window, finding.viewer_link(origin)) {
            writeln!(
                out,
                "    look at: {} to {} after the start [{}] (`gotrace view {}`, then {link})",
                human_duration(start - origin),
                human_duration(end - origin),
                finding.kind.name(),
                path.display()
            )?;
        }
    }

    writeln!(out, "\nGoroutine groups (by start function), most execution time first")?;
    let groups: Vec<&GoroutineGroup> = report.groups.iter().take(REPORT_ROWS).collect();
    write_groups(out, &groups, report.summary.goroutines.len())?;
    if report.groups.len() > REPORT_ROWS {
        writeln!(out, "({} more groups: gotrace goroutines {})", report.groups.len() - REPORT_ROWS, path.display())?;
    }

    for (kind, records) in &report.profiles {
        let total: Nanos = records.iter().map(|r| r.time).sum();
        writeln!(
            out,
            "\nTop {} ({} in all; gotrace pprof {} FILE -o OUT for the whole profile)",
            kind.description(),
            human_duration(total),
            kind.name()
        )?;
        if records.is_empty() {
            writeln!(out, "  none")?;
        }
        for r in records.iter().take(5) {
            writeln!(
                out,
                "  {:>9} {:>6} {:>7}x  {}",
                human_duration(r.time),
                percent(r.time, total),
                r.count,
                frame_text(r)
            )?;
        }
    }

    for (title, items) in [("tasks", &report.slowest_tasks), ("regions", &report.slowest_regions)] {
        writeln!(out, "\nSlowest {title}")?;
        if items.is_empty() {
            writeln!(out, "  none")?;
        }
        for t in items.iter() {
            let whose =
                if title == "tasks" { format!("task {}", t.task) } else { format!("goroutine {}", t.goroutine) };
            let partial = if t.complete { "" } else { " (cut by the trace)" };
            writeln!(out, "  {:>9}  {:?} {whose}{partial}", human_duration(t.duration), t.name)?;
        }
    }

    writeln!(out, "\nMinimum mutator utilization (share of the CPU left to the program in the worst window)")?;
    if report.mmu.is_empty() {
        writeln!(out, "  not available: the trace does not record GOMAXPROCS")?;
    }
    for p in &report.mmu {
        let at = p.worst.map_or(String::new(), |w| {
            format!(", worst window at {}", human_duration(w.time - report.summary.start_time))
        });
        writeln!(out, "  {:>9} windows: {:.1}%{at}", human_duration(p.window), p.mmu * 100.0)?;
    }
    Ok(())
}

/// Options of `gotrace analyze`.
#[derive(Debug, Clone, Default)]
pub struct AnalyzeOptions {
    /// JSON instead of text.
    pub json: bool,
    /// Fail (after the report) if a finding is of this severity or worse.
    pub fail_on: Option<trace_analysis::Severity>,
}

/// `gotrace analyze`: the report on a trace, then (for a trace file) its layout: format
/// version, generations, batches and records by type.
pub fn analyze(path: &Path, options: &AnalyzeOptions, out: &mut dyn Write) -> Result<(), CommandError> {
    let ir = load_ir(path)?;
    let report = trace_analysis::report(&ir);
    let failing =
        options.fail_on.map(|severity| (report.findings.iter().filter(|f| f.severity >= severity).count(), severity));
    let verdict = || match failing {
        Some((count, severity)) if count > 0 => Err(CommandError::Findings { count, severity }),
        _ => Ok(()),
    };
    if options.json {
        let mut value = report_json(path, &report);
        value["error"] = ir.error().map(|e| e.message.clone()).into();
        write_json(out, &value)?;
        return stored_error(&ir).and_then(|()| verdict());
    }
    write_report(out, path, &report)?;
    if ir.error().is_some() {
        writeln!(out, "\nThe trace is damaged: everything above covers the events before the damage.")?;
    }
    let file = crate::open(path)?;
    if !TraceIr::is_ir(file.bytes()) {
        writeln!(out, "\nFile layout")?;
        match trace_format::summarize(file.bytes()) {
            Ok(summary) => crate::write_summary(path, &summary, out)?,
            // The old format has no batches or records of the kind the layout counts.
            Err(e) if matches!(e.kind(), trace_format::ErrorKind::OldFormat { .. }) => writeln!(
                out,
                "  not shown for old-format traces (Go 1.21 and earlier), which have no batches of this kind"
            )?,
            Err(e) => return Err(CommandError::Trace(e)),
        }
    }
    stored_error(&ir).and_then(|()| verdict())
}

fn durations_json(mut durations: Vec<Nanos>) -> Value {
    durations.sort_unstable();
    percentiles_json(&Percentiles::of(durations))
}

fn histogram_json(histogram: &trace_analysis::TimeHistogram) -> Value {
    histogram.rows().into_iter().map(|(min, count)| json!({"from_ns": min, "count": count})).collect()
}

/// A histogram on one line: each bucket's lower bound and count (`1.00ms:5 1.58ms:2`).
fn histogram_text(histogram: &trace_analysis::TimeHistogram) -> String {
    let rows = histogram.rows();
    let cells: Vec<String> =
        rows.iter().filter(|(_, n)| *n > 0).map(|(min, n)| format!("{}:{n}", human_duration(*min))).collect();
    cells.join(" ")
}

/// `gotrace tasks`: user tasks by type with the distribution of their durations; with a type,
/// each task of it with its events.
pub fn tasks(path: &Path, task_type: Option<&str>, as_json: bool, out: &mut dyn Write) -> Result<(), CommandError> {
    let ir = load_ir(path)?;
    let summary = summarize(&ir);
    let types = trace_analysis::task_types(&summary);
    let selected: Vec<_> = types.iter().filter(|t| task_type.is_none_or(|n| *t.name == *n)).collect();
    if let Some(name) = task_type
        && selected.is_empty()
    {
        return Err(CommandError::Usage(format!("the trace has no task of type {name:?}")));
    }
    let durations = |t: &trace_analysis::TaskType| -> Vec<Nanos> {
        t.tasks
            .iter()
            .map(|id| &summary.tasks[id])
            .filter(|t| t.is_complete())
            .map(|t| {
                let (start, end) = summary.task_interval(t);
                end - start
            })
            .collect()
    };
    if as_json {
        let value: Vec<Value> = selected
            .iter()
            .map(|t| {
                let mut v = json!({
                    "type": t.name,
                    "count": t.tasks.len(),
                    "complete_durations": durations_json(durations(t)),
                    "histogram": histogram_json(&t.histogram),
                });
                if task_type.is_some() {
                    v["tasks"] = t
                        .tasks
                        .iter()
                        .map(|id| {
                            let task = &summary.tasks[id];
                            let (start, end) = summary.task_interval(task);
                            json!({
                                "id": id,
                                "parent": task.parent,
                                "start_ns": start,
                                "duration_ns": end - start,
                                "complete": task.is_complete(),
                                "goroutines": task.goroutines,
                                "events": trace_analysis::task_events(&summary, task).into_iter().map(|e| json!({"time_ns": e.time, "goroutine": e.goroutine, "what": e.what})).collect::<Vec<_>>(),
                            })
                        })
                        .collect();
                }
                v
            })
            .collect();
        write_json(out, &json!({ "task_types": value }))?;
        return stored_error(&ir);
    }
    if task_type.is_none() {
        writeln!(
            out,
            "{:>6} {:>9} {:>9} {:>9}  {:<20} durations of complete tasks",
            "count", "p50", "p90", "max", "type"
        )?;
        for t in &selected {
            let p = Percentiles::of(durations(t));
            writeln!(
                out,
                "{:>6} {:>9} {:>9} {:>9}  {:<20} {}",
                t.tasks.len(),
                human_duration(p.p50),
                human_duration(p.p90),
                human_duration(p.max),
                format!("{:?}", t.name),
                histogram_text(&t.histogram)
            )?;
        }
        return stored_error(&ir);
    }
    for t in selected {
        for id in &t.tasks {
            let task = &summary.tasks[id];
            let (start, end) = summary.task_interval(task);
            let state = if task.is_complete() { "complete" } else { "incomplete" };
            writeln!(
                out,
                "task {id} {:?}: {} at {} ({state}), goroutines {:?}",
                t.name,
                human_duration(end - start),
                human_duration(start - summary.start_time),
                task.goroutines
            )?;
            for e in trace_analysis::task_events(&summary, task) {
                writeln!(out, "  {:>10}  G{:<6} {}", human_duration(e.time - summary.start_time), e.goroutine, e.what)?;
            }
        }
    }
    stored_error(&ir)
}

/// `gotrace regions`: user regions by type and starting place, with the distribution of
/// their durations.
pub fn regions(path: &Path, as_json: bool, out: &mut dyn Write) -> Result<(), CommandError> {
    let ir = load_ir(path)?;
    let summary = summarize(&ir);
    let types = trace_analysis::region_types(&ir, &summary);
    let durations = |t: &trace_analysis::RegionType| -> Vec<Nanos> {
        t.regions
            .iter()
            .map(|&(_, i)| {
                let (start, end) = summary.region_interval(&summary.regions[i]);
                end - start
            })
            .collect()
    };
    let place = |t: &trace_analysis::RegionType| {
        t.frame.as_ref().map_or("(unknown)".to_owned(), |f| format!("{} {}:{}", f.func, f.file, f.line))
    };
    if as_json {
        let value: Vec<Value> = types
            .iter()
            .map(|t| {
                json!({
                    "type": t.name,
                    "started_at": place(t),
                    "count": t.regions.len(),
                    "durations": durations_json(durations(t)),
                    "histogram": histogram_json(&t.histogram),
                    "goroutines": t.regions.iter().map(|r| r.0).collect::<std::collections::BTreeSet<_>>(),
                })
            })
            .collect();
        write_json(out, &json!({ "region_types": value }))?;
        return stored_error(&ir);
    }
    writeln!(out, "{:>6} {:>9} {:>9} {:>9}  {:<20} started at; durations", "count", "p50", "p90", "max", "type")?;
    for t in &types {
        let p = Percentiles::of(durations(t));
        writeln!(
            out,
            "{:>6} {:>9} {:>9} {:>9}  {:<20} {}; {}",
            t.regions.len(),
            human_duration(p.p50),
            human_duration(p.p90),
            human_duration(p.max),
            format!("{:?}", t.name),
            place(t),
            histogram_text(&t.histogram)
        )?;
    }
    stored_error(&ir)
}

/// `gotrace mmu`: the minimum mutator utilization at window sizes from 100 µs to 10 s, with
/// the worst windows.
pub fn mmu(
    path: &Path,
    flags: trace_analysis::UtilFlags,
    worst: usize,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let ir = load_ir(path)?;
    let utilization = trace_analysis::mutator_utilization(&ir, flags);
    if utilization.is_empty() {
        return Err(CommandError::Usage(
            "the trace does not record GOMAXPROCS (Go 1.21 and older traces): no MMU".into(),
        ));
    }
    let curve = trace_analysis::MmuCurve::new(&utilization);
    let start = utilization.iter().filter_map(|s| s.first()).map(|c| c.time).min().unwrap_or(0);
    let windows: Vec<Nanos> = [100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000, 10_000_000_000]
        .into_iter()
        .filter(|&w| w <= curve.span())
        .collect();
    let rows: Vec<_> = windows.iter().map(|&w| (w, curve.mmu(w), curve.worst_windows(w, worst))).collect();
    if as_json {
        let value: Vec<Value> = rows
            .iter()
            .map(|(w, mmu, worst)| json!({"window_ns": w, "mmu": mmu, "worst": worst.iter().map(|x| json!({"start_ns": x.time, "utilization": x.util})).collect::<Vec<_>>()}))
            .collect();
        write_json(out, &json!({ "flags": flags.names(), "points": value }))?;
        return stored_error(&ir);
    }
    writeln!(
        out,
        "Minimum mutator utilization ({}): the share of the CPU the program had in its worst window.",
        flags.names()
    )?;
    for (w, mmu, worst) in rows {
        let cells: Vec<String> =
            worst.iter().map(|x| format!("{:.1}% at {}", x.util * 100.0, human_duration(x.time - start))).collect();
        writeln!(out, "  {:>9}: {:>5.1}%   worst: {}", human_duration(w), mmu * 100.0, cells.join(", "))?;
    }
    stored_error(&ir)
}
