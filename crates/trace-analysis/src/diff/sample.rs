//! What a sample of a comparison measures: one trace, or one benchmark measurement inside a
//! `go test -bench -trace` trace. Everything is keyed by names (start functions, task and
//! region types, stacks as function names), never by goroutine IDs or addresses, so that two
//! runs of a program line up.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use trace_format::ir::{StackHandle, TraceIr};
use trace_format::{Details, EventKind, RangeKind, RangePhase, Scope};

use crate::critical::{PathAggregator, TaskMembership, for_each_critical_path, task_query};
use crate::findings::is_program_frame;
use crate::goroutines::{Nanos, Summary, is_system_goroutine, summarize};
use crate::graph::{ExecutionGraph, SegmentStart, SegmentState};
use crate::mmu::{MmuCurve, UtilChange, UtilFlags, mutator_utilization};
use crate::profile::{Intervals, ProfileKind, profiles};

/// What a metric is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MetricScope {
    /// The goroutines of a start function.
    Group,
    /// A task type.
    Task,
    /// A region type.
    Region,
    /// A blocking profile, or CPU samples, over all goroutines.
    Profile,
    /// The runtime: GC, stop-the-world pauses, MMU, heap, goroutines.
    Runtime,
    /// The critical path of a task type, by category.
    CriticalPath,
}

impl MetricScope {
    /// `group`, `task`, `region`, `profile`, `runtime` or `critical-path`.
    pub fn name(self) -> &'static str {
        match self {
            MetricScope::Group => "group",
            MetricScope::Task => "task",
            MetricScope::Region => "region",
            MetricScope::Profile => "profile",
            MetricScope::Runtime => "runtime",
            MetricScope::CriticalPath => "critical-path",
        }
    }
}

/// The unit of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unit {
    /// Nanoseconds.
    Nanos,
    /// A count.
    Count,
    /// Bytes.
    Bytes,
    /// A fraction from 0 to 1.
    Ratio,
}

impl Unit {
    /// `ns`, `count`, `bytes` or `ratio`.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Nanos => "ns",
            Unit::Count => "count",
            Unit::Bytes => "bytes",
            Unit::Ratio => "ratio",
        }
    }
}

/// Which way is worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// More is worse (time waiting, pauses, durations).
    LowerIsBetter,
    /// Less is worse (the MMU).
    HigherIsBetter,
    /// Neither: a change, not a regression (counts of goroutines, tasks, samples).
    Neither,
}

/// One measured quantity, named by what it is of.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MetricKey {
    /// What it is of.
    pub scope: MetricScope,
    /// The group's start function, the type's name, the profile's kind; empty for the runtime.
    pub subject: String,
    /// What is measured (`execution`, `blocked (sync)`, `p50`, `gc-pause-total`, ...).
    pub measure: String,
}

impl MetricKey {
    fn new(scope: MetricScope, subject: &str, measure: &str) -> MetricKey {
        MetricKey { scope, subject: subject.to_owned(), measure: measure.to_owned() }
    }

    /// `scope/subject/measure`, the name `--gate` matches.
    pub fn id(&self) -> String {
        format!("{}/{}/{}", self.scope.name(), self.subject, self.measure)
    }
}

/// How a metric reads and compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricKind {
    /// Its unit.
    pub unit: Unit,
    /// Which way is worse.
    pub direction: Direction,
    /// A sum (absent means 0), rather than a statistic of a distribution (absent means
    /// unknown).
    pub additive: bool,
}

const TIME: MetricKind = MetricKind { unit: Unit::Nanos, direction: Direction::LowerIsBetter, additive: true };
const COUNT: MetricKind = MetricKind { unit: Unit::Count, direction: Direction::Neither, additive: true };
const LATENCY: MetricKind = MetricKind { unit: Unit::Nanos, direction: Direction::LowerIsBetter, additive: false };

/// The measurements of one sample.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Where it came from: the file, and the benchmark for a split trace.
    pub name: String,
    /// The benchmark, for a sample split out of a `go test -bench` trace.
    pub benchmark: Option<String>,
    /// How long it covers.
    pub duration: Nanos,
    /// Every metric, by key.
    pub metrics: BTreeMap<MetricKey, (MetricKind, f64)>,
    /// Per blocking profile (`network`, `sync`, `syscall`, `sched`) and `cpu`: time (CPU:
    /// samples) by stack, root first, frames as `function` or `function:line`.
    pub profiles: BTreeMap<String, BTreeMap<Vec<String>, f64>>,
    /// Per group and wait reason: the time by the place it waited (innermost frame and the
    /// program's caller), to explain a change of that wait.
    pub waits: BTreeMap<(String, String), BTreeMap<String, f64>>,
}

impl Sample {
    fn add(&mut self, key: MetricKey, kind: MetricKind, value: f64) {
        self.metrics.entry(key).or_insert((kind, 0.0)).1 += value;
    }

    fn set(&mut self, key: MetricKey, kind: MetricKind, value: f64) {
        self.metrics.insert(key, (kind, value));
    }
}

/// How samples are taken.
#[derive(Debug, Clone, Copy, Default)]
pub struct SampleOptions {
    /// Stack frames as `function:line` rather than `function`.
    pub lines: bool,
}

/// A trace's analyses, made once for all the samples taken from it.
pub struct TraceAnalyses<'a> {
    ir: &'a TraceIr,
    summary: Summary,
    graph: ExecutionGraph,
    utilization: Vec<Vec<UtilChange>>,
}

impl<'a> TraceAnalyses<'a> {
    /// Summarizes the trace and builds its graph.
    pub fn new(ir: &'a TraceIr) -> TraceAnalyses<'a> {
        let (graph, (summary, utilization)) =
            rayon::join(|| ExecutionGraph::build(ir), || (summarize(ir), mutator_utilization(ir, UtilFlags::ALL)));
        TraceAnalyses { ir, summary, graph, utilization }
    }

    /// The whole trace.
    pub fn window(&self) -> (Nanos, Nanos) {
        (self.summary.start_time, self.summary.end_time)
    }

    /// The benchmark measurements of a `go test -bench -trace` trace, in order: each
    /// repetition runs on a goroutine of `testing.(*B).launch`, from its last `runtime.GC` in
    /// `testing.(*B).runN` (the measured run, after any ramp-up) to its end; the benchmark is
    /// the function `runN` calls (`BenchmarkEncode`; package path dropped).
    pub fn benchmarks(&self) -> Vec<(String, Nanos, Nanos)> {
        let graph = &self.graph;
        let mut out = Vec::new();
        for g in graph.goroutines().iter().filter(|g| &*g.function == "testing.(*B).launch") {
            let (mut name, mut measured_from) = (None, None);
            // Only the goroutine's own stacks: a runnable segment's is its waker's or creator's.
            for s in g.segments().filter(|&s| matches!(graph.state(s), SegmentState::Running | SegmentState::Waiting)) {
                let stack = self.frames(graph.stack(s), SampleOptions::default());
                let Some(run_n) = stack.iter().position(|f| f == "testing.(*B).runN") else { continue };
                if run_n > 0 && stack[..run_n].iter().any(|f| f == "runtime.GC") {
                    measured_from = Some(graph.start(s));
                } else if run_n > 0 && name.is_none() && !stack[run_n - 1].starts_with("testing.") {
                    // (The outer benchmark of `go test`, `testing.runBenchmarks.func1`, runs the
                    // others through b.Run: it is no measurement.)
                    let function = &stack[run_n - 1];
                    let short = function.rsplit('/').next().unwrap_or(function);
                    name = Some(short.split_once('.').map_or(short, |(_, f)| f).to_owned());
                }
            }
            if let Some(name) = name {
                let start = measured_from.unwrap_or(graph.start(g.first_segment));
                out.push((name, start, g.end));
            }
        }
        out.sort_by_key(|b| b.1);
        out
    }

    /// The sample of the window `from..to`.
    pub fn sample(&self, name: String, from: Nanos, to: Nanos, options: SampleOptions) -> Sample {
        let mut sample = Sample { name, duration: to - from, ..Sample::default() };
        self.groups(&mut sample, from, to, options);
        self.tasks_and_regions(&mut sample, from, to);
        self.profiles(&mut sample, from, to, options);
        self.runtime(&mut sample, from, to);
        self.critical_paths(&mut sample, from, to);
        sample
    }

    fn frames(&self, stack: Option<u64>, options: SampleOptions) -> Vec<String> {
        let Some(handle) = stack.and_then(|s| u32::try_from(s).ok()).filter(|&s| s != 0) else { return Vec::new() };
        let name = |h| String::from_utf8_lossy(self.ir.string(h).unwrap_or_default()).into_owned();
        self.ir
            .stack(StackHandle(handle))
            .map(|f| if options.lines { format!("{}:{}", name(f.func), f.line) } else { name(f.func) })
            .collect()
    }

    /// Per group: goroutines, execution, scheduler wait, blocked time by reason, system calls
    /// (with and without their proc) within the window, and where they waited.
    fn groups(&self, sample: &mut Sample, from: Nanos, to: Nanos, options: SampleOptions) {
        let graph = &self.graph;
        let mut places: FxHashMap<Option<u64>, String> = FxHashMap::default();
        for g in graph.goroutines() {
            let segments = g.segments();
            if segments.is_empty() || g.end <= from || graph.start(segments.start) >= to {
                continue;
            }
            let group = if g.function.is_empty() { crate::golden::UNNAMED_GROUP } else { &g.function };
            sample.add(MetricKey::new(MetricScope::Group, group, "goroutines"), COUNT, 1.0);
            for s in segments.clone() {
                let (start, end) = (graph.start(s).max(from), graph.end(s).min(to));
                if end <= start {
                    continue;
                }
                let time = (end - start) as f64;
                let measure = match graph.state(s) {
                    SegmentState::Running => "execution".to_owned(),
                    SegmentState::Runnable => "sched-wait".to_owned(),
                    SegmentState::Syscall => "syscall".to_owned(),
                    SegmentState::Waiting => {
                        let reason = graph.reason(s);
                        let measure = format!("blocked ({})", if reason.is_empty() { "unknown" } else { reason });
                        let place = places
                            .entry(graph.stack(s))
                            .or_insert_with(|| place_of(&self.frames(graph.stack(s), options)));
                        *sample
                            .waits
                            .entry((group.to_owned(), measure.clone()))
                            .or_default()
                            .entry(place.clone())
                            .or_default() += time;
                        measure
                    }
                };
                sample.add(MetricKey::new(MetricScope::Group, group, &measure), TIME, time);
            }
            if graph.began(segments.start) == SegmentStart::Created && (from..to).contains(&graph.start(segments.start))
            {
                sample.add(MetricKey::new(MetricScope::Runtime, "", "goroutines-created"), COUNT, 1.0);
            }
        }
    }

    /// Per task and region type: how many complete instances in the window, and the
    /// percentiles of their durations.
    fn tasks_and_regions(&self, sample: &mut Sample, from: Nanos, to: Nanos) {
        let summary = &self.summary;
        let mut by_type: BTreeMap<(MetricScope, String), Vec<Nanos>> = BTreeMap::new();
        for t in summary.tasks.values().filter(|t| t.is_complete()) {
            let (start, end) = summary.task_interval(t);
            if start >= from && end <= to {
                by_type.entry((MetricScope::Task, t.name.to_string())).or_default().push(end - start);
            }
        }
        for r in summary.regions.iter().filter(|r| r.start.is_some() && r.end.is_some() && !r.name.is_empty()) {
            let (start, end) = summary.region_interval(r);
            if start >= from && end <= to {
                by_type.entry((MetricScope::Region, r.name.to_string())).or_default().push(end - start);
            }
        }
        for ((scope, name), mut durations) in by_type {
            durations.sort_unstable();
            let at = |q: f64| durations[((durations.len() as f64 * q).ceil() as usize).clamp(1, durations.len()) - 1];
            sample.set(MetricKey::new(scope, &name, "count"), COUNT, durations.len() as f64);
            for (measure, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0)] {
                sample.set(MetricKey::new(scope, &name, measure), LATENCY, at(q) as f64);
            }
        }
    }

    /// The four blocking profiles (Go's, over every goroutine's life within the window) and
    /// the CPU samples in it, by stack; their totals as metrics.
    fn profiles(&self, sample: &mut Sample, from: Nanos, to: Nanos, options: SampleOptions) {
        let summary = &self.summary;
        let intervals = Intervals(
            summary
                .goroutines
                .values()
                .filter_map(|g| {
                    let (start, end) =
                        (g.start_time.unwrap_or(0).max(from), g.end_time.unwrap_or(summary.end_time).min(to));
                    (start < end).then_some((g.id, vec![(start, end)]))
                })
                .collect(),
        );
        for (kind, records) in ProfileKind::ALL.into_iter().zip(profiles(self.ir, &ProfileKind::ALL, &intervals)) {
            let by_stack = sample.profiles.entry(kind.name().to_owned()).or_default();
            let mut total = 0.0;
            for r in records {
                let stack: Vec<String> = r
                    .stack
                    .iter()
                    .rev()
                    .map(|f| if options.lines { format!("{}:{}", f.func, f.line) } else { f.func.clone() })
                    .collect();
                *by_stack.entry(stack).or_default() += r.time as f64;
                total += r.time as f64;
            }
            sample.set(MetricKey::new(MetricScope::Profile, kind.name(), "total"), TIME, total);
        }
        let mut cpu: BTreeMap<Vec<String>, f64> = BTreeMap::new();
        let mut samples = 0.0;
        for event in self.ir.events_from(from).take_while(|e| e.time() < to) {
            if event.kind() == EventKind::StackSample {
                let mut stack = self.frames(event.stack_id(), options);
                stack.reverse();
                *cpu.entry(stack).or_default() += 1.0;
                samples += 1.0;
            }
        }
        sample.profiles.insert("cpu".to_owned(), cpu);
        sample.set(MetricKey::new(MetricScope::Profile, "cpu", "samples"), COUNT, samples);
    }

    /// GC cycles, mark and stop-the-world time, the longest pause, mark assists, the MMU at
    /// 1, 10 and 100 ms, and the peak heap, within the window.
    fn runtime(&self, sample: &mut Sample, from: Nanos, to: Nanos) {
        let mut cycles = 0.0;
        let (mut mark, mut stw, mut longest, mut assist) = (0.0, 0.0, 0.0f64, 0.0);
        let mut peak_heap = 0.0f64;
        let mut open: FxHashMap<(u8, i64), Nanos> = FxHashMap::default();
        let clip = |start: Nanos, end: Nanos| (end.min(to) - start.max(from)).max(0) as f64;
        for event in self.ir.events_from(from).take_while(|e| e.time() < to) {
            match self.ir.details(&event) {
                Details::Range(r) => {
                    let (tag, on) = match (r.kind, r.scope) {
                        (RangeKind::GcMark, _) => (0, 0),
                        (RangeKind::StopTheWorld, _) => (1, 0),
                        (RangeKind::GcMarkAssist, Scope::Goroutine(g)) => (2, g),
                        (RangeKind::GcMarkAssist, _) => (2, event.goroutine()),
                        _ => continue,
                    };
                    match r.phase {
                        RangePhase::Begin | RangePhase::Active => {
                            if tag == 0 && r.phase == RangePhase::Begin {
                                cycles += 1.0;
                            }
                            open.entry((tag, on)).or_insert(event.time());
                        }
                        RangePhase::End => {
                            let start = open.remove(&(tag, on)).unwrap_or(from);
                            let time = clip(start, event.time());
                            match tag {
                                0 => mark += time,
                                1 => {
                                    stw += time;
                                    longest = longest.max(time);
                                }
                                _ => assist += time,
                            }
                        }
                    }
                }
                Details::Metric(m) if m.name == "/memory/classes/heap/objects:bytes" => {
                    peak_heap = peak_heap.max(m.value as f64);
                }
                _ => {}
            }
        }
        let runtime = |measure: &str| MetricKey::new(MetricScope::Runtime, "", measure);
        sample.set(runtime("gc-cycles"), COUNT, cycles);
        sample.set(runtime("gc-mark"), TIME, mark);
        sample.set(runtime("stw-total"), TIME, stw);
        sample.set(runtime("stw-max"), MetricKind { additive: false, ..TIME }, longest);
        sample.set(runtime("mark-assist"), TIME, assist);
        if peak_heap > 0.0 {
            let kind = MetricKind { unit: Unit::Bytes, direction: Direction::LowerIsBetter, additive: false };
            sample.set(runtime("peak-heap"), kind, peak_heap);
        }
        // The utilization functions cut to the window.
        if !self.utilization.is_empty() {
            let cut: Vec<Vec<UtilChange>> = self
                .utilization
                .iter()
                .map(|series| {
                    let before = series.partition_point(|c| c.time <= from);
                    let mut out: Vec<UtilChange> = Vec::new();
                    if before > 0 {
                        out.push(UtilChange { time: from, util: series[before - 1].util });
                    }
                    out.extend(series[before..].iter().take_while(|c| c.time < to).copied());
                    out.push(UtilChange { time: to, util: out.last().map_or(1.0, |c| c.util) });
                    out
                })
                .collect();
            let curve = MmuCurve::new(&cut);
            let kind = MetricKind { unit: Unit::Ratio, direction: Direction::HigherIsBetter, additive: false };
            for (measure, window) in [("mmu-1ms", 1_000_000), ("mmu-10ms", 10_000_000), ("mmu-100ms", 100_000_000)] {
                if window <= to - from {
                    sample.set(runtime(measure), kind, curve.mmu(window));
                }
            }
        }
    }

    /// Per task type with complete instances in the window: the median time on their critical
    /// paths by category.
    fn critical_paths(&self, sample: &mut Sample, from: Nanos, to: Nanos) {
        let summary = &self.summary;
        let mut by_type: BTreeMap<String, Vec<crate::critical::PathQuery>> = BTreeMap::new();
        for t in summary.tasks.values() {
            if let Some(q) = task_query(summary, t.id)
                && q.start >= from
                && q.end <= to
            {
                by_type.entry(t.name.to_string()).or_default().push(q);
            }
        }
        if by_type.is_empty() {
            return;
        }
        let membership = TaskMembership::new(summary);
        for (name, queries) in by_type {
            let mut aggregator = PathAggregator::new(queries.iter().map(|q| q.end - q.start).collect());
            for_each_critical_path(&self.graph, &queries, Some(&membership), |i, path| {
                if let Ok(path) = path {
                    aggregator.add(i, &path);
                }
            });
            for (category, time) in aggregator.finish().median_by_category {
                let measure = format!("median {}", category.name());
                sample.set(MetricKey::new(MetricScope::CriticalPath, &name, &measure), LATENCY, time as f64);
            }
        }
    }
}

/// Where a stack (innermost first) waited, for people: its innermost frame, and the program's
/// first frame below it if the innermost is the standard library's.
fn place_of(frames: &[String]) -> String {
    match frames.first() {
        None => "an unknown place".to_owned(),
        Some(first) if !is_program_frame(first) => match frames.iter().find(|f| is_program_frame(f)) {
            Some(caller) => format!("{first} from {caller}"),
            None => first.clone(),
        },
        Some(first) => first.clone(),
    }
}

/// The samples of one trace: the whole trace, or with `split`, each benchmark measurement.
pub fn samples_of(ir: &TraceIr, name: &str, split: bool, options: SampleOptions) -> Vec<Sample> {
    let analyses = TraceAnalyses::new(ir);
    if !split {
        let (from, to) = analyses.window();
        return vec![analyses.sample(name.to_owned(), from, to, options)];
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    analyses
        .benchmarks()
        .into_iter()
        .map(|(benchmark, from, to)| {
            let n = counts.entry(benchmark.clone()).or_default();
            *n += 1;
            let mut sample = analyses.sample(format!("{name} {benchmark} #{n}"), from, to, options);
            sample.benchmark = Some(benchmark);
            sample
        })
        .collect()
}

/// Whether a group is the program's, as opposed to the runtime's or the tracer's: only the
/// program's groups can fail a comparison by default.
pub(crate) fn is_program_group(name: &str) -> bool {
    !is_system_goroutine(name)
        && !name.starts_with("runtime.")
        && !name.starts_with("runtime/")
        && !name.starts_with("testing.")
}
