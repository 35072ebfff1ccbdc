//! What stands out in a trace, as structured findings: each has a [`FindingKind`] from a
//! fixed list, a [`Severity`], the [`Subject`] it is about, the evidence as numbers with the
//! time range to look at, the sentence a person reads and the advice.
//!
//! Every finding is written from what the trace shows and nothing else, and each stays silent
//! when its condition does not hold: the fixtures of `fixtures/findings` test both.

mod parallelism;
mod patterns;
mod waits;

use std::collections::BTreeMap;

use trace_format::ir::StackHandle;
use trace_format::ir::TraceIr;

use crate::goroutines::{Nanos, Summary};
use crate::graph::ExecutionGraph;
use crate::groups::GoroutineGroup;
use crate::profile::ProfileFrame;
use crate::report::{MmuPoint, Overview};

pub(crate) use waits::critical_path_findings;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing; nothing to fix on its own.
    Note,
    /// Something costs the program time and can be fixed; `gotrace analyze --fail-on problem`
    /// fails on it.
    Problem,
}

impl Severity {
    /// `problem` or `note`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Problem => "problem",
            Severity::Note => "note",
        }
    }

    /// The severity named `name` (`problem` or `note`).
    pub fn from_name(name: &str) -> Option<Severity> {
        [Severity::Problem, Severity::Note].into_iter().find(|s| s.name() == name)
    }
}

/// What a finding is about: the documented list of kinds, each with its own test fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingKind {
    /// A group waited for a CPU while every proc was busy: the machine was saturated, which
    /// is not a problem in itself (a note, with how the procs' time was spent).
    CpuSaturated,
    /// A group waited for a CPU while procs sat idle: the scheduler was slow to run it (a
    /// problem).
    SchedulingLatency,
    /// A group's goroutines are so small that creating and scheduling each costs about as
    /// much as the work it does (a problem, with the measured cost per goroutine).
    TinyGoroutines,
    /// Goroutines that spent most of the trace in one kind of wait (a note).
    LongWait,
    /// `http.Server.Shutdown` polled while connection goroutines stayed blocked reading a
    /// request that never came (a problem).
    HttpShutdownWaitsForIdleConnections,
    /// Goroutines blocked from some point to the end of the trace, never woken, grouped by
    /// where they block (a problem).
    GoroutineLeak,
    /// A lock or channel that a group takes turns on: most of its time blocked at one place,
    /// woken by its own members (a problem).
    SerializingLock,
    /// Mark assists or GC waits dominate a group, or the GC leaves the program little of the
    /// CPU (a problem).
    GcPressure,
    /// System calls that block long enough to lose their proc, each costing a thread (a note).
    BlockingSyscalls,
    /// Many timer wakes at one place: a loop that polls with a timer (a note).
    TimerPolling,
    /// What dominates the critical path of the slowest task or region types (a note).
    CriticalPath,
}

impl FindingKind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [FindingKind; 11] = [
        FindingKind::CpuSaturated,
        FindingKind::SchedulingLatency,
        FindingKind::TinyGoroutines,
        FindingKind::LongWait,
        FindingKind::HttpShutdownWaitsForIdleConnections,
        FindingKind::GoroutineLeak,
        FindingKind::SerializingLock,
        FindingKind::GcPressure,
        FindingKind::BlockingSyscalls,
        FindingKind::TimerPolling,
        FindingKind::CriticalPath,
    ];

    /// The kind's stable name, as `--json` gives it (`tiny-goroutines`, ...).
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::CpuSaturated => "cpu-saturated",
            FindingKind::SchedulingLatency => "scheduling-latency",
            FindingKind::TinyGoroutines => "tiny-goroutines",
            FindingKind::LongWait => "long-wait",
            FindingKind::HttpShutdownWaitsForIdleConnections => "http-shutdown-waits-for-idle-connections",
            FindingKind::GoroutineLeak => "goroutine-leak",
            FindingKind::SerializingLock => "serializing-lock",
            FindingKind::GcPressure => "gc-pressure",
            FindingKind::BlockingSyscalls => "blocking-syscalls",
            FindingKind::TimerPolling => "timer-polling",
            FindingKind::CriticalPath => "critical-path",
        }
    }
}

/// What kind of thing a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SubjectKind {
    /// The goroutines of a start function.
    GoroutineGroup,
    /// A task type.
    TaskType,
    /// A region type.
    RegionType,
    /// The whole program.
    Program,
}

impl SubjectKind {
    /// `goroutine-group`, `task-type`, `region-type` or `program`.
    pub fn name(self) -> &'static str {
        match self {
            SubjectKind::GoroutineGroup => "goroutine-group",
            SubjectKind::TaskType => "task-type",
            SubjectKind::RegionType => "region-type",
            SubjectKind::Program => "program",
        }
    }
}

/// What a finding is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// A goroutine group, a task or region type, or the program.
    pub kind: SubjectKind,
    /// The group's start function or the type's name (empty for the program).
    pub name: String,
    /// The stack the finding points at (where goroutines block, allocate, ...), innermost
    /// frame first; empty if none.
    pub stack: Vec<ProfileFrame>,
    /// The goroutines it names (at most [`MAX_NAMED_GOROUTINES`]).
    pub goroutines: Vec<i64>,
}

/// How many goroutines a finding names at most.
pub const MAX_NAMED_GOROUTINES: usize = 20;

/// A number of a finding's evidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Quantity {
    /// A duration or a time from the trace's start, in nanoseconds.
    Nanos(Nanos),
    /// A count.
    Count(u64),
    /// A percentage.
    Percent(f64),
}

/// One finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// What it is about, from the documented list.
    pub kind: FindingKind,
    /// Problem or note.
    pub severity: Severity,
    /// The group, type or program, with the stack and goroutines it points at.
    pub subject: Subject,
    /// The numbers behind it, by name (names end in `_ns`, `_percent` or are counts).
    pub evidence: BTreeMap<&'static str, Quantity>,
    /// The time range to look at, as absolute trace times.
    pub window: Option<(Nanos, Nanos)>,
    /// What the trace shows, in a sentence.
    pub text: String,
    /// What to do about it (empty for a plain note).
    pub advice: String,
    /// How much time it is about: findings are listed problems first, then by weight.
    pub weight: Nanos,
}

impl Finding {
    fn new(kind: FindingKind, severity: Severity, subject: Subject, text: String) -> Finding {
        Finding {
            kind,
            severity,
            subject,
            evidence: BTreeMap::new(),
            window: None,
            text,
            advice: String::new(),
            weight: 0,
        }
    }

    fn with(mut self, name: &'static str, value: Quantity) -> Finding {
        self.evidence.insert(name, value);
        self
    }

    fn advice(mut self, advice: impl Into<String>) -> Finding {
        self.advice = advice.into();
        self
    }

    fn window(mut self, start: Nanos, end: Nanos) -> Finding {
        self.window = Some((start, end.max(start)));
        self
    }

    fn weight(mut self, weight: Nanos) -> Finding {
        self.weight = weight;
        self
    }

    /// The fragment of `gotrace view`'s page that shows the finding's time range (times from
    /// the trace's start `origin`), focused on its goroutine if it names only one.
    pub fn viewer_link(&self, origin: Nanos) -> Option<String> {
        let (start, end) = self.window?;
        let pad = ((end - start) / 20).max(1_000);
        let mut link =
            format!("#timeline?view=goroutine&start={}&end={}", (start - origin - pad).max(0), end - origin + pad);
        if let [goroutine] = self.subject.goroutines[..] {
            link += &format!("&focus={goroutine}");
        }
        Some(link)
    }
}

/// A subject that is a goroutine group.
fn group_subject(name: &str) -> Subject {
    Subject { kind: SubjectKind::GoroutineGroup, name: name.to_owned(), stack: Vec::new(), goroutines: Vec::new() }
}

/// The frames of an IR stack, innermost first.
fn frames(ir: &TraceIr, stack: Option<u64>) -> Vec<ProfileFrame> {
    let Some(handle) = stack.and_then(|s| u32::try_from(s).ok()).filter(|&s| s != 0) else { return Vec::new() };
    let name = |h| String::from_utf8_lossy(ir.string(h).unwrap_or_default()).into_owned();
    ir.stack(StackHandle(handle))
        .take(crate::profile::MAX_STACK)
        .map(|f| ProfileFrame { func: name(f.func), file: name(f.file), line: f.line, pc: f.pc })
        .collect()
}

/// A frame for people: `sync.(*Mutex).Lock (mutex.go:46)`.
fn frame_words(frame: &ProfileFrame) -> String {
    let file = frame.file.rsplit('/').next().unwrap_or(&frame.file);
    format!("{} ({file}:{})", frame.func, frame.line)
}

/// Where a stack is, for people: its innermost frame, and the first frame of the program
/// (outside the runtime and the standard library's internals) if that is another:
/// `sync.(*Mutex).Lock (mutex.go:46) from main.worker (main.go:40)`.
fn place_words(stack: &[ProfileFrame]) -> String {
    place_words_from(stack, is_program_frame)
}

/// Where a stack is: its innermost frame, and the first caller whose function `caller` picks
/// if the innermost is not one: `internal/poll.(*FD).Read (fd_unix.go:170) from ...`.
fn place_words_from(stack: &[ProfileFrame], caller: impl Fn(&str) -> bool) -> String {
    let Some(first) = stack.first() else { return "an unknown place".to_owned() };
    let mut words = frame_words(first);
    if !caller(&first.func)
        && let Some(from) = stack.iter().skip(1).find(|f| caller(&f.func))
    {
        words += &format!(" from {}", frame_words(from));
    }
    words
}

/// Whether a function (or `function:line`) is the program's own rather than Go's runtime or
/// standard library, whose import paths have no dot in their first element: `main`, a test
/// package, or a package of a module such as `github.com/...`.
pub(crate) fn is_program_frame(func: &str) -> bool {
    match func.split_once('/') {
        Some((first, _)) => first.contains('.'),
        None => {
            let package = func.split(['(', '.']).next().unwrap_or("");
            package == "main" || package.ends_with("_test")
        }
    }
}

/// A duration in words (`5.35 s`).
fn duration_words(ns: Nanos) -> String {
    crate::report::format_duration(ns, " ")
}

/// `n` with its noun: `one goroutine`, `3 goroutines`.
fn count_words(n: usize, one: &str) -> String {
    if n == 1 { format!("one {one}") } else { format!("{n} {one}s") }
}

/// `part` as a percentage of `whole`, rounded down so that nearly all is not called all.
fn percent_floor(part: Nanos, whole: Nanos) -> f64 {
    (part as f64 * 1000.0 / whole.max(1) as f64).floor() / 10.0
}

/// The median of some values (the upper one of an even count), `None` if there are none.
fn median(values: &mut [Nanos]) -> Option<Nanos> {
    if values.is_empty() {
        return None;
    }
    let middle = values.len() / 2;
    Some(*values.select_nth_unstable(middle).1)
}

/// What the findings are computed from.
pub(crate) struct Inputs<'a> {
    pub ir: &'a TraceIr,
    pub overview: &'a Overview,
    pub summary: &'a Summary,
    pub groups: &'a [GoroutineGroup],
    pub mmu: &'a [MmuPoint],
    pub graph: &'a ExecutionGraph,
}

/// Every finding of the trace, problems first, then by the time they are about.
pub(crate) fn findings(inputs: &Inputs<'_>) -> Vec<Finding> {
    let mut found = Vec::new();
    // Patterns first: what they explain is not named again as a plain long wait.
    let explained = patterns::find(inputs, &mut found);
    let cpu_bound = parallelism::find(inputs, &mut found);
    waits::long_waits(inputs, &explained, &cpu_bound, &mut found);
    found.extend(critical_path_findings(inputs.ir, inputs.graph, inputs.summary));
    found.sort_by(|a, b| b.severity.cmp(&a.severity).then(b.weight.cmp(&a.weight)).then_with(|| a.text.cmp(&b.text)));
    found
}

/// Goroutine groups (by name) whose waiting of one kind a finding already explains.
pub(crate) type Explained = std::collections::BTreeSet<(String, WaitKind)>;

/// The kinds of waiting a long-wait finding names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum WaitKind {
    Network,
    Cpu,
    Syscall,
    Blocked(String),
}
