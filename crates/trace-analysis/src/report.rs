//! The `analyze` report: one pass over every analysis, with the numbers a person reads first
//! and findings in plain language.

use rustc_hash::FxHashSet;
use trace_format::ir::TraceIr;
use trace_format::{Details, EventKind, RangeKind};

use crate::findings::{Finding, Inputs};
use crate::goroutines::{Name, Nanos, Summary, summarize};
use crate::graph::ExecutionGraph;
use crate::groups::{GoroutineGroup, group_goroutines};
use crate::mmu::{MmuCurve, UtilFlags, UtilWindow, mutator_utilization};
use crate::profile::{Intervals, ProfileKind, ProfileRecord, profiles};

/// The trace at a glance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overview {
    /// The trace format's Go version (`1.26` for Go 1.26 and 1.27 traces); old-format traces
    /// read as the version of the event model they are converted to.
    pub format_version: String,
    /// From the first event to the last.
    pub duration: Nanos,
    /// Events in the ordered stream.
    pub events: u64,
    /// Goroutines (IDs reused after a goroutine ended count once per goroutine).
    pub goroutines: u64,
    /// Distinct procs seen.
    pub procs: u64,
    /// The largest GOMAXPROCS seen, if the trace says.
    pub max_gomaxprocs: Option<u64>,
    /// Distinct threads seen.
    pub threads: u64,
    /// GC cycles that began in the trace.
    pub gc_cycles: u64,
    /// Stop-the-world pauses that ended in the trace.
    pub stw_pauses: u64,
    /// Their total duration.
    pub stw_total: Nanos,
    /// The longest.
    pub stw_max: Nanos,
}

/// Counts what the trace holds.
pub fn overview(ir: &TraceIr) -> Overview {
    let mut o = Overview { format_version: format!("1.{}", ir.trace_version), ..Overview::default() };
    let (mut procs, mut threads) = (FxHashSet::default(), FxHashSet::default());
    let (mut first, mut last) = (None, 0);
    let mut stw_begin = rustc_hash::FxHashMap::default();
    for event in ir.events() {
        o.events += 1;
        first.get_or_insert(event.time());
        last = event.time();
        if event.proc() >= 0 {
            procs.insert(event.proc());
        }
        if event.thread() >= 0 {
            threads.insert(event.thread());
        }
        match event.kind() {
            EventKind::StateTransition | EventKind::RangeBegin | EventKind::RangeEnd | EventKind::Metric => {}
            _ => continue,
        }
        match ir.details(&event) {
            Details::StateTransition(st) if st.is_creation() => o.goroutines += 1,
            Details::StateTransition(st)
                if matches!(
                    st.transition,
                    trace_format::Transition::Goroutine { from: trace_format::GoState::Undetermined, .. }
                ) =>
            {
                o.goroutines += 1
            }
            Details::Metric(m) if m.name == "/sched/gomaxprocs:threads" => {
                o.max_gomaxprocs = Some(o.max_gomaxprocs.unwrap_or(0).max(m.value));
            }
            Details::Range(r) if r.kind == RangeKind::GcMark && event.kind() == EventKind::RangeBegin => {
                o.gc_cycles += 1
            }
            Details::Range(r) if r.kind == RangeKind::StopTheWorld => {
                if event.kind() == EventKind::RangeBegin {
                    stw_begin.insert(r.scope, event.time());
                } else if let Some(begin) = stw_begin.remove(&r.scope) {
                    let pause = event.time() - begin;
                    o.stw_pauses += 1;
                    o.stw_total += pause;
                    o.stw_max = o.stw_max.max(pause);
                }
            }
            _ => {}
        }
    }
    o.duration = first.map_or(0, |f| last - f);
    o.procs = procs.len() as u64;
    o.threads = threads.len() as u64;
    o
}

/// A task or region instance with its duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timed {
    /// Its type.
    pub name: Name,
    /// The task's ID, or the region's task (0 for none).
    pub task: u64,
    /// The goroutine a region ran on; [`trace_format::NONE`] for tasks.
    pub goroutine: i64,
    /// When it began (the trace's start if before).
    pub start: Nanos,
    /// How long it lasted (until the trace's end if it did not end).
    pub duration: Nanos,
    /// Whether the trace shows both its beginning and its end.
    pub complete: bool,
}

/// The MMU at one window size, with the worst window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MmuPoint {
    /// The window size.
    pub window: Nanos,
    /// The minimum mutator utilization (0 to 1).
    pub mmu: f64,
    /// The window where it occurs.
    pub worst: Option<UtilWindow>,
}

/// Everything the `analyze` report shows.
#[derive(Debug, Clone)]
pub struct Report {
    /// The trace at a glance.
    pub overview: Overview,
    /// The goroutines, tasks and regions.
    pub summary: Summary,
    /// Goroutine groups, the most execution time first.
    pub groups: Vec<GoroutineGroup>,
    /// The four profiles over all goroutines, longest stacks first.
    pub profiles: Vec<(ProfileKind, Vec<ProfileRecord>)>,
    /// The slowest tasks, slowest first.
    pub slowest_tasks: Vec<Timed>,
    /// The slowest regions, slowest first.
    pub slowest_regions: Vec<Timed>,
    /// The MMU (everything the GC takes, system-wide) at a few window sizes; empty if the
    /// trace does not tell GOMAXPROCS.
    pub mmu: Vec<MmuPoint>,
    /// What stands out, problems first, then by the time they are about.
    pub findings: Vec<Finding>,
}

/// The window sizes the report gives the MMU at.
pub const REPORT_MMU_WINDOWS: [Nanos; 4] = [1_000_000, 10_000_000, 100_000_000, 1_000_000_000];

/// How many tasks and regions the report lists.
const SLOWEST: usize = 10;

/// Analyses the trace for the report.
pub fn report(ir: &TraceIr) -> Report {
    // The execution graph needs only the events: it is built beside the other analyses, so
    // that with two threads the critical-path findings cost little more time.
    let (graph, (overview, summary)) = rayon::join(|| ExecutionGraph::build(ir), || (overview(ir), summarize(ir)));
    let groups = group_goroutines(&summary);
    let all = Intervals::goroutines(&summary, None);
    let profiles = ProfileKind::ALL.into_iter().zip(profiles(ir, &ProfileKind::ALL, &all)).collect();
    let mut slowest_tasks: Vec<Timed> = summary
        .tasks
        .values()
        .filter(|t| t.start.is_some() || t.end.is_some())
        .map(|t| {
            let (start, end) = summary.task_interval(t);
            Timed {
                name: t.name.clone(),
                task: t.id,
                goroutine: trace_format::NONE,
                start,
                duration: end - start,
                complete: t.is_complete(),
            }
        })
        .collect();
    slowest_tasks.sort_by(|a, b| b.duration.cmp(&a.duration).then(a.task.cmp(&b.task)));
    slowest_tasks.truncate(SLOWEST);
    let mut slowest_regions: Vec<Timed> = summary
        .goroutines
        .values()
        .flat_map(|g| g.regions.iter().map(move |&i| (g.id, i)))
        .filter(|&(_, i)| !summary.regions[i].name.is_empty())
        .map(|(goroutine, i)| {
            let region = &summary.regions[i];
            let (start, end) = summary.region_interval(region);
            Timed {
                name: region.name.clone(),
                task: region.task,
                goroutine,
                start,
                duration: end - start,
                complete: region.start.is_some() && region.end.is_some(),
            }
        })
        .collect();
    slowest_regions.sort_by(|a, b| b.duration.cmp(&a.duration).then(a.start.cmp(&b.start)));
    slowest_regions.truncate(SLOWEST);
    let mmu = mmu_points(ir, overview.duration);
    let findings = crate::findings::findings(&Inputs {
        ir,
        overview: &overview,
        summary: &summary,
        groups: &groups,
        mmu: &mmu,
        graph: &graph,
    });
    drop(graph);
    Report { overview, summary, groups, profiles, slowest_tasks, slowest_regions, mmu, findings }
}

/// The MMU (everything the GC takes, system-wide) at the report's window sizes up to the
/// trace's duration; empty if the trace does not tell GOMAXPROCS.
fn mmu_points(ir: &TraceIr, duration: Nanos) -> Vec<MmuPoint> {
    let utilization = mutator_utilization(ir, UtilFlags::ALL);
    if utilization.is_empty() {
        return Vec::new();
    }
    let curve = MmuCurve::new(&utilization);
    REPORT_MMU_WINDOWS
        .into_iter()
        .filter(|&w| w <= duration)
        .map(|window| MmuPoint {
            window,
            mmu: curve.mmu(window),
            worst: curve.worst_windows(window, 1).first().copied(),
        })
        .collect()
}

/// The report's findings alone, from analyses already made (the viewer keeps its summary,
/// groups and graph).
pub fn findings(ir: &TraceIr, summary: &Summary, groups: &[GoroutineGroup], graph: &ExecutionGraph) -> Vec<Finding> {
    let overview = overview(ir);
    let mmu = mmu_points(ir, overview.duration);
    crate::findings::findings(&Inputs { ir, overview: &overview, summary, groups, mmu: &mmu, graph })
}

/// A duration for people, to three significant digits: `5.35 s`, `14.0 ms`, `768 ns` (with
/// `separator` between the number and the unit).
pub fn format_duration(ns: Nanos, separator: &str) -> String {
    let abs = ns.unsigned_abs() as f64;
    let sign = if ns < 0 { "-" } else { "" };
    let (value, unit) = match abs {
        a if a < 1e3 => return format!("{ns}{separator}ns"),
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
    format!("{sign}{value:.digits$}{separator}{unit}")
}
