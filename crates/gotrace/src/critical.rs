//! `gotrace critical-path`: the critical path of a task, a region type, a task type or a
//! goroutine between two times, as a table with the moves between goroutines in words, as
//! JSON, or as a pprof profile.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use trace_analysis::{
    Category, CriticalPath, ExecutionGraph, Name, Nanos, PathAggregate, PathAggregator, PathEdge, PathHop, PathProfile,
    PathQuery, Summary, TaskMembership, critical_path, for_each_critical_path, goroutine_query, path_profile, pprof,
    region_queries, summarize, task_query, task_type_queries,
};
use trace_format::EventTables;
use trace_format::ir::TraceIr;

use crate::analysis::{group_name, human_duration, percent, stored_error, write_json};
use crate::{CommandError, load_ir};

/// What to find the critical path of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathTarget {
    /// One task, by ID.
    Task(u64),
    /// Every complete task of a type.
    TaskType(String),
    /// Every complete region of a type.
    Region(String),
    /// A goroutine from `from` to `to` (nanoseconds since the trace's first event; default:
    /// its life in the trace).
    Goroutine {
        /// The goroutine's ID.
        id: i64,
        /// The interval's start.
        from: Option<Nanos>,
        /// The interval's end.
        to: Option<Nanos>,
    },
}

/// Options of `gotrace critical-path`.
#[derive(Debug, Clone)]
pub struct CriticalPathOptions {
    /// What to find the path of.
    pub target: PathTarget,
    /// Keep only the unblocker's segment that contains each unblock.
    pub strict: bool,
    /// JSON instead of a table.
    pub json: bool,
    /// Also write the path as a gzipped pprof profile here.
    pub pprof: Option<PathBuf>,
}

/// What one path is of: a task or region with its type, or a goroutine interval; named
/// only when shown, since a type can have millions of instances.
enum Instance {
    Task(u64, Name),
    Region(Name, i64),
    Goroutine(i64),
}

impl Instance {
    fn label(&self) -> String {
        match self {
            Instance::Task(id, name) => format!("task {id} {name:?}"),
            Instance::Region(name, goroutine) => format!("region {name:?} on G{goroutine}"),
            Instance::Goroutine(id) => format!("goroutine {id}"),
        }
    }
}

fn queries(
    graph: &ExecutionGraph,
    summary: &Summary,
    target: &PathTarget,
    strict: bool,
) -> Result<Vec<(Instance, PathQuery)>, CommandError> {
    let mut out = match target {
        PathTarget::Task(id) => {
            let task = summary.tasks.get(id).ok_or_else(|| {
                CommandError::Usage(format!("the trace has no task {id}; `gotrace tasks` lists them"))
            })?;
            let query = task_query(summary, *id).ok_or_else(|| {
                CommandError::Usage(format!(
                    "task {id} ({:?}) is not complete in the trace (its beginning or its end is missing), so it has no critical path",
                    task.name
                ))
            })?;
            vec![(Instance::Task(*id, task.name.clone()), query)]
        }
        PathTarget::TaskType(name) => {
            let found = task_type_queries(summary, name);
            if found.is_empty() {
                return Err(CommandError::Usage(format!(
                    "the trace has no complete task of type {name:?}; `gotrace tasks` lists the types"
                )));
            }
            let name = Name::from(name.as_str());
            found.into_iter().map(|(id, q)| (Instance::Task(id, name.clone()), q)).collect()
        }
        PathTarget::Region(name) => {
            let found = region_queries(summary, name);
            if found.is_empty() {
                return Err(CommandError::Usage(format!(
                    "the trace has no complete region of type {name:?}; `gotrace regions` lists the types"
                )));
            }
            let name = Name::from(name.as_str());
            found.into_iter().map(|(_, q)| (Instance::Region(name.clone(), q.goroutine), q)).collect()
        }
        PathTarget::Goroutine { id, from, to } => {
            let (first, _) = graph.time_range();
            let query = goroutine_query(graph, *id, from.map(|t| first + t), to.map(|t| first + t))
                .map_err(|e| CommandError::Usage(e.to_string()))?;
            vec![(Instance::Goroutine(*id), query)]
        }
    };
    for (_, q) in &mut out {
        q.strict = strict;
    }
    Ok(out)
}

/// `gotrace critical-path`.
pub fn critical_path_command(
    path: &Path,
    options: &CriticalPathOptions,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let ir = load_ir(path)?;
    let summary = summarize(&ir);
    let graph = ExecutionGraph::build(&ir);
    let membership = TaskMembership::new(&summary);
    let wanted = queries(&graph, &summary, &options.target, options.strict)?;
    let trace_start = graph.time_range().0;
    let many = !matches!(options.target, PathTarget::Task(_) | PathTarget::Goroutine { .. });
    if !many {
        let (instance, query) = wanted.into_iter().next().expect("one query");
        let path = critical_path(&graph, &query, Some(&membership)).map_err(|e| CommandError::Usage(e.to_string()))?;
        if let Some(output) = &options.pprof {
            std::fs::write(output, pprof::encode(&path_profile(&ir, std::slice::from_ref(&path))))
                .map_err(CommandError::Write)?;
        }
        if options.json {
            write_json(out, &path_json(&ir, &graph, &instance, &path))?;
        } else {
            write_path(out, &ir, &graph, &instance, &path, trace_start)?;
            pprof_written(out, options)?;
        }
        return stored_error(&ir);
    }
    // Every instance of a type: the paths are found a few thousand at a time and folded into
    // the aggregate and the profile as they come, so that a type with millions of instances
    // never holds all their paths; only the slowest few are kept to be shown.
    let (instances, queries): (Vec<Instance>, Vec<PathQuery>) = wanted.into_iter().unzip();
    let durations: Vec<Nanos> = queries.iter().map(|q| q.end - q.start).collect();
    let mut slowest: Vec<usize> = (0..queries.len()).collect();
    slowest.sort_by_key(|&i| (std::cmp::Reverse(durations[i]), i));
    slowest.truncate(SHOWN_INSTANCES);
    let mut shown: BTreeMap<usize, CriticalPath> = BTreeMap::new();
    let mut aggregator = PathAggregator::new(durations);
    let mut profile = PathProfile::default();
    let mut failure = None;
    if options.json {
        write!(out, "{{\n  \"instances\": [")?;
    }
    for_each_critical_path(&graph, &queries, Some(&membership), |i, result| {
        if failure.is_some() {
            return;
        }
        let path = match result {
            Ok(path) => path,
            Err(e) => return failure = Some(CommandError::Usage(e.to_string())),
        };
        aggregator.add(i, &path);
        if options.pprof.is_some() {
            profile.add(&path);
        }
        if options.json {
            let separator = if i == 0 { "\n" } else { ",\n" };
            let written = write!(out, "{separator}")
                .map_err(CommandError::Write)
                .and_then(|()| write_compact_json(out, &path_json(&ir, &graph, &instances[i], &path)));
            if let Err(e) = written {
                failure = Some(e);
            }
        } else if slowest.contains(&i) {
            shown.insert(i, path);
        }
    });
    if let Some(failure) = failure {
        return Err(failure);
    }
    if let Some(output) = &options.pprof {
        std::fs::write(output, pprof::encode(&profile.records(&ir))).map_err(CommandError::Write)?;
    }
    let agg = aggregator.finish();
    if options.json {
        write!(out, "\n  ],\n  \"aggregate\": ")?;
        write_compact_json(out, &aggregate_json(&agg))?;
        writeln!(out, "\n}}")?;
        return stored_error(&ir);
    }
    write_aggregate(out, &options.target, &agg)?;
    writeln!(out, "\ninstances (slowest first):")?;
    for &i in &slowest {
        let p = &shown[&i];
        let (top, time) = p.dominant();
        writeln!(
            out,
            "  {:<40} {:>9} at {:>9}  mostly {} ({})",
            instances[i].label(),
            human_duration(p.end - p.start),
            human_duration(p.start - trace_start),
            top.name(),
            percent(time, p.end - p.start)
        )?;
    }
    if queries.len() > SHOWN_INSTANCES {
        writeln!(out, "  ... and {} more (--json lists them all)", queries.len() - SHOWN_INSTANCES)?;
    }
    if let Some(&first) = slowest.first() {
        writeln!(out, "\nthe slowest instance in full:")?;
        write_path(out, &ir, &graph, &instances[first], &shown[&first], trace_start)?;
    }
    pprof_written(out, options)?;
    stored_error(&ir)
}

/// How many instances of a type the table lists, the slowest first.
const SHOWN_INSTANCES: usize = 20;

fn pprof_written(out: &mut dyn Write, options: &CriticalPathOptions) -> Result<(), CommandError> {
    if let Some(output) = &options.pprof {
        writeln!(out, "\nwrote the path profile to {} (open it with `go tool pprof`)", output.display())?;
    }
    Ok(())
}

fn write_compact_json(out: &mut dyn Write, value: &Value) -> Result<(), CommandError> {
    serde_json::to_writer(&mut *out, value).map_err(|e| CommandError::Write(e.into()))
}

/// Where a stack says the goroutine was: its innermost frame, and the innermost frame of the
/// program itself if that is another one.
fn place(ir: &TraceIr, stack: Option<u64>) -> String {
    let Some(stack) = stack else { return "(no stack)".to_owned() };
    let mut frames: Vec<(String, String, u64)> = Vec::new();
    ir.for_each_frame(stack, &mut |f| {
        frames.push((
            String::from_utf8_lossy(f.func).into_owned(),
            String::from_utf8_lossy(f.file).into_owned(),
            f.line,
        ))
    });
    let Some(first) = frames.iter().find(|f| !f.0.starts_with("runtime.")).or(frames.first()) else {
        return "(no stack)".to_owned();
    };
    let short = |file: &str| file.rsplit('/').next().unwrap_or(file).to_owned();
    let mut text = format!("{} ({}:{})", first.0, short(&first.1), first.2);
    if let Some(program) = frames.iter().find(|f| crate::analysis::is_program_function(&f.0))
        && program != first
    {
        text += &format!(" from {} ({}:{})", program.0, short(&program.1), program.2);
    }
    text
}

fn hop_text(ir: &TraceIr, hop: &PathHop, trace_start: Nanos) -> String {
    let at = |t: Nanos| human_duration(t - trace_start);
    match hop.edge {
        PathEdge::Created => format!(
            "G{} was created at {} by G{} ({}) in {}",
            hop.waiter,
            at(hop.blocked_at),
            hop.cause,
            group_name(&hop.cause_function),
            place(ir, hop.unblocked_stack)
        ),
        _ => {
            let verb = if hop.edge == PathEdge::HandedOff { "handed the proc by" } else { "unblocked by" };
            let reason = if hop.reason.is_empty() { String::new() } else { format!(" ({})", hop.reason) };
            format!(
                "G{} blocked at {}{reason} in {}; {verb} G{} ({}) in {} after {}",
                hop.waiter,
                at(hop.blocked_at),
                place(ir, hop.blocked_stack),
                hop.cause,
                group_name(&hop.cause_function),
                place(ir, hop.unblocked_stack),
                human_duration(hop.unblocked_at - hop.blocked_at)
            )
        }
    }
}

fn write_path(
    out: &mut dyn Write,
    ir: &TraceIr,
    graph: &ExecutionGraph,
    instance: &Instance,
    p: &CriticalPath,
    trace_start: Nanos,
) -> Result<(), CommandError> {
    let total = p.end - p.start;
    let function = graph
        .goroutine_at(p.goroutine, p.end)
        .map(|n| graph.goroutines()[n as usize].function.clone())
        .unwrap_or_default();
    writeln!(
        out,
        "critical path of {}: {} from {} to {}, ended by G{} ({})",
        instance.label(),
        human_duration(total),
        human_duration(p.start - trace_start),
        human_duration(p.end - trace_start),
        p.goroutine,
        group_name(&function)
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "{:>10} {:>9} {:>5}  {:<32} {:<9} {:<10} {:<16} where",
        "start", "duration", "depth", "goroutine", "category", "task", "detail"
    )?;
    for s in &p.segments {
        let who = format!("G{} {}", s.goroutine, group_name(&s.function));
        let task = match s.relation {
            trace_analysis::TaskRelation::NoTask => "-".to_owned(),
            trace_analysis::TaskRelation::SameTask => "same".to_owned(),
            trace_analysis::TaskRelation::OtherTask => format!("other {}", s.task.unwrap_or(0)),
        };
        writeln!(
            out,
            "{:>10} {:>9} {:>5}  {:<32} {:<9} {:<10} {:<16} {}",
            human_duration(s.start - trace_start),
            human_duration(s.duration()),
            s.depth,
            who,
            s.category.name(),
            task,
            if s.detail.is_empty() { "-" } else { &s.detail },
            place(ir, s.stack)
        )?;
    }
    if !p.hops.is_empty() {
        writeln!(out, "\nhow the path moved between goroutines (latest first):")?;
        for hop in &p.hops {
            writeln!(out, "  {}", hop_text(ir, hop, trace_start))?;
        }
    }
    writeln!(out, "\nby category:")?;
    for (c, t) in p.by_category().into_iter().filter(|&(_, t)| t > 0) {
        writeln!(out, "  {:<9} {:>9} {:>6}", c.name(), human_duration(t), percent(t, total))?;
    }
    writeln!(out, "by goroutine group:")?;
    let mut groups: Vec<_> = p.by_group().into_iter().collect();
    groups.sort_by_key(|(name, t)| (std::cmp::Reverse(*t), name.clone()));
    for (name, t) in groups {
        writeln!(out, "  {:<40} {:>9} {:>6}", group_name(&name), human_duration(t), percent(t, total))?;
    }
    Ok(())
}

fn write_aggregate(out: &mut dyn Write, target: &PathTarget, agg: &PathAggregate) -> Result<(), CommandError> {
    let what = match target {
        PathTarget::TaskType(name) => format!("tasks of type {name:?}"),
        PathTarget::Region(name) => format!("regions of type {name:?}"),
        _ => "instances".to_owned(),
    };
    writeln!(
        out,
        "critical paths of {} {what}: median duration {}; the slowest 1% ({} of them) take at least {}",
        agg.count,
        human_duration(agg.median_duration),
        agg.slowest_count,
        human_duration(agg.slowest_threshold)
    )?;
    writeln!(out, "\n{:<40} {:>12} {:>12}", "time on the path by category", "median", "slowest 1%")?;
    for c in Category::ALL {
        let (m, s) = (agg.median_by_category[&c], agg.slowest_by_category[&c]);
        if m > 0 || s > 0 {
            writeln!(out, "  {:<38} {:>12} {:>12}", c.name(), human_duration(m), human_duration(s))?;
        }
    }
    writeln!(out, "\n{:<40} {:>12} {:>12}", "time on the path by goroutine group", "median", "slowest 1%")?;
    let mut groups: Vec<_> = agg.slowest_by_group.iter().collect();
    groups.sort_by_key(|(name, t)| (std::cmp::Reverse(**t), (*name).clone()));
    for (name, s) in groups.into_iter().take(12) {
        writeln!(
            out,
            "  {:<38} {:>12} {:>12}",
            group_name(name),
            human_duration(agg.median_by_group[name]),
            human_duration(*s)
        )?;
    }
    Ok(())
}

fn stack_json(ir: &TraceIr, stack: Option<u64>) -> Value {
    let mut frames = Vec::new();
    if let Some(stack) = stack {
        ir.for_each_frame(stack, &mut |f| {
            frames.push(json!({
                "function": String::from_utf8_lossy(f.func),
                "file": String::from_utf8_lossy(f.file),
                "line": f.line,
            }))
        });
    }
    Value::from(frames)
}

fn category_map(by: &BTreeMap<Category, Nanos>) -> Value {
    by.iter().map(|(c, t)| (c.name().to_owned(), Value::from(*t))).collect::<serde_json::Map<_, _>>().into()
}

fn path_json(ir: &TraceIr, graph: &ExecutionGraph, instance: &Instance, p: &CriticalPath) -> Value {
    let trace_start = graph.time_range().0;
    json!({
        "what": instance.label(),
        "task": p.task,
        "goroutine": p.goroutine,
        "start_ns": p.start,
        "end_ns": p.end,
        "duration_ns": p.end - p.start,
        "trace_start_ns": trace_start,
        "segments": p.segments.iter().map(|s| json!({
            "goroutine": s.goroutine,
            "function": s.function,
            "start_ns": s.start,
            "end_ns": s.end,
            "depth": s.depth,
            "category": s.category.name(),
            "detail": s.detail,
            "stack": stack_json(ir, s.stack),
            "edge": s.edge.name(),
            "task": s.task,
            "task_relation": s.relation.name(),
        })).collect::<Vec<_>>(),
        "hops": p.hops.iter().map(|h| json!({
            "edge": h.edge.name(),
            "waiter": h.waiter,
            "cause": h.cause,
            "cause_function": h.cause_function,
            "blocked_ns": h.blocked_at,
            "reason": h.reason,
            "unblocked_ns": h.unblocked_at,
            "text": hop_text(ir, h, trace_start),
        })).collect::<Vec<_>>(),
        "by_category": category_map(&p.by_category()),
        "by_group": p.by_group(),
    })
}

fn aggregate_json(agg: &PathAggregate) -> Value {
    json!({
        "count": agg.count,
        "median_duration_ns": agg.median_duration,
        "slowest_count": agg.slowest_count,
        "slowest_threshold_ns": agg.slowest_threshold,
        "median_by_category": category_map(&agg.median_by_category),
        "slowest_by_category": category_map(&agg.slowest_by_category),
        "total_by_category": category_map(&agg.total_by_category),
        "median_by_group": agg.median_by_group,
        "slowest_by_group": agg.slowest_by_group,
    })
}
