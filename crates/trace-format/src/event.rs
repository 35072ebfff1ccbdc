//! The high-level event model: what the ordered stream of a trace is made of, as Go's reader
//! presents it (`internal/trace.Event`).

use std::io::{self, Write};

use crate::details::{Details, RangePhase, Scope, event_details};
use crate::generation::{ClockSnapshot, GenerationTables};
use crate::spec::EventType;
use crate::text::quote_into;

/// The wire type the reader uses for its own `Sync` events (no wire event has it).
pub(crate) const SYNC_TYPE: u8 = 255;

/// "None" for a goroutine, proc or thread in an event's context.
pub const NONE: i64 = -1;

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The start of a generation, or the end of the trace.
    Sync,
    /// A metric sample (GOMAXPROCS, heap size, heap goal).
    Metric,
    /// A label on the current goroutine (GC worker kinds).
    Label,
    /// A CPU profile sample.
    StackSample,
    /// The start of a range (stop-the-world, GC mark phase, sweep, mark assist).
    RangeBegin,
    /// A range already active when the generation started.
    RangeActive,
    /// The end of a range.
    RangeEnd,
    /// `trace.NewTask`.
    TaskBegin,
    /// `(*trace.Task).End`.
    TaskEnd,
    /// The start of a `trace.WithRegion`/`StartRegion` region.
    RegionBegin,
    /// The end of a region.
    RegionEnd,
    /// `trace.Log`.
    Log,
    /// A goroutine or proc changed state.
    StateTransition,
    /// An event of an experiment (AllocFree).
    Experimental,
}

impl EventKind {
    fn name(self) -> &'static str {
        match self {
            EventKind::Sync => "Sync",
            EventKind::Metric => "Metric",
            EventKind::Label => "Label",
            EventKind::StackSample => "StackSample",
            EventKind::RangeBegin => "RangeBegin",
            EventKind::RangeActive => "RangeActive",
            EventKind::RangeEnd => "RangeEnd",
            EventKind::TaskBegin => "TaskBegin",
            EventKind::TaskEnd => "TaskEnd",
            EventKind::RegionBegin => "RegionBegin",
            EventKind::RegionEnd => "RegionEnd",
            EventKind::Log => "Log",
            EventKind::StateTransition => "StateTransition",
            EventKind::Experimental => "Experimental",
        }
    }
}

/// High-level goroutine states, named as Go prints them.
const GO_STATES: [&str; 6] = ["Undetermined", "NotExist", "Runnable", "Running", "Waiting", "Syscall"];
/// High-level proc states, named as Go prints them.
const PROC_STATES: [&str; 4] = ["Undetermined", "NotExist", "Running", "Idle"];

/// The state of a goroutine, as Go's reader models it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GoState {
    /// Not known: the goroutine existed before the trace started.
    Undetermined,
    /// Not created yet, or finished.
    NotExist,
    /// Ready to run, waiting for a proc.
    Runnable,
    /// Running on a proc.
    Running,
    /// Blocked (channel, lock, network, sleep, ...).
    Waiting,
    /// In a system call.
    Syscall,
}

/// The state of a proc (Go's P), as Go's reader models it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProcState {
    /// Not known: the proc existed before the trace started.
    Undetermined,
    /// Does not exist (GOMAXPROCS is lower).
    NotExist,
    /// Running goroutines.
    Running,
    /// Idle.
    Idle,
}

impl GoState {
    fn from_index(i: u64) -> GoState {
        [
            GoState::Undetermined,
            GoState::NotExist,
            GoState::Runnable,
            GoState::Running,
            GoState::Waiting,
            GoState::Syscall,
        ]
        .get(i as usize)
        .copied()
        .unwrap_or(GoState::Undetermined)
    }

    /// The state's name as Go prints it.
    pub fn name(self) -> &'static str {
        GO_STATES[self as usize]
    }
}

impl ProcState {
    fn from_index(i: u64) -> ProcState {
        [ProcState::Undetermined, ProcState::NotExist, ProcState::Running, ProcState::Idle]
            .get(i as usize)
            .copied()
            .unwrap_or(ProcState::Undetermined)
    }

    /// The state's name as Go prints it.
    pub fn name(self) -> &'static str {
        PROC_STATES[self as usize]
    }
}

/// What changed state, and between which states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// A goroutine.
    Goroutine {
        /// The goroutine's ID.
        id: i64,
        /// The state before.
        from: GoState,
        /// The state after.
        to: GoState,
    },
    /// A proc.
    Proc {
        /// The proc's ID.
        id: i64,
        /// The state before.
        from: ProcState,
        /// The state after.
        to: ProcState,
    },
}

/// A state transition with its reason and stack, resolved through the event's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateTransition<'t> {
    /// What changed state.
    pub transition: Transition,
    /// Why (for goroutines that stop or block: `chan receive`, `sync`, `preempted`, ...).
    pub reason: &'t [u8],
    /// The stack of the transition, if it has one.
    pub stack: Option<u64>,
}

impl StateTransition<'_> {
    /// Whether a goroutine was created.
    pub fn is_creation(&self) -> bool {
        matches!(self.transition, Transition::Goroutine { from: GoState::NotExist, .. })
    }

    /// The reason a running goroutine blocked, if this is such a transition.
    pub fn block_reason(&self) -> Option<&[u8]> {
        match self.transition {
            Transition::Goroutine { from: GoState::Running, to: GoState::Waiting, .. } => Some(self.reason),
            _ => None,
        }
    }
}

/// A stack frame with its names resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedFrame<'t> {
    /// Program counter.
    pub pc: u64,
    /// Function name.
    pub func: &'t [u8],
    /// File name.
    pub file: &'t [u8],
    /// Line number.
    pub line: u64,
}

/// Where the strings, stacks and clock an event refers to are found: the tables of its
/// generation when read from a trace ([`GenerationTables`]), or the IR's interned tables.
pub trait EventTables {
    /// The string with `id`.
    fn string(&self, id: u64) -> Option<&[u8]>;
    /// Calls `frame` for each frame of stack `id`, innermost first.
    fn for_each_frame(&self, id: u64, frame: &mut dyn FnMut(ResolvedFrame<'_>));
    /// The clock snapshot that opened the generation.
    fn clock(&self) -> Option<ClockSnapshot>;
    /// The name of a task ended by a `TaskEnd` event, from the value the ordering engine
    /// stored in the event.
    fn task_name(&self, stored: u64) -> Vec<u8>;
}

impl EventTables for GenerationTables {
    fn string(&self, id: u64) -> Option<&[u8]> {
        GenerationTables::string(self, id)
    }

    fn for_each_frame(&self, id: u64, frame: &mut dyn FnMut(ResolvedFrame<'_>)) {
        for (pc, func, file, line) in self.stack_frames(id) {
            frame(ResolvedFrame { pc, func, file, line });
        }
    }

    fn clock(&self) -> Option<ClockSnapshot> {
        self.clock
    }

    fn task_name(&self, stored: u64) -> Vec<u8> {
        self.extra_string(stored).into_vec()
    }
}

/// The state transition an event describes, or `None` if it is of another kind.
pub fn state_transition<'t, T: EventTables + ?Sized>(
    event: &Event,
    tables: Option<&'t T>,
) -> Option<StateTransition<'t>> {
    (event.kind() == EventKind::StateTransition).then(|| resolve_transition(event, tables))
}

/// The state transition of `event`, which must be of kind [`EventKind::StateTransition`].
pub(crate) fn resolve_transition<'t, T: EventTables + ?Sized>(
    event: &Event,
    tables: Option<&'t T>,
) -> StateTransition<'t> {
    let (resource, from, to, reason, stack) = transition(event);
    let transition = match resource {
        Resource::Goroutine(id) => {
            Transition::Goroutine { id, from: GoState::from_index(from), to: GoState::from_index(to) }
        }
        Resource::Proc(id) => Transition::Proc { id, from: ProcState::from_index(from), to: ProcState::from_index(to) },
    };
    let reason = reason.and_then(|id| tables?.string(id)).unwrap_or_default();
    StateTransition { transition, reason, stack }
}

/// Go's high-level goroutine states, by index into [`GO_STATES`].
pub(crate) mod go_state {
    pub const UNDETERMINED: u64 = 0;
    pub const NOT_EXIST: u64 = 1;
    pub const RUNNABLE: u64 = 2;
    pub const RUNNING: u64 = 3;
    pub const WAITING: u64 = 4;
    pub const SYSCALL: u64 = 5;
}

/// Go's high-level proc states, by index into [`PROC_STATES`].
pub(crate) mod proc_state {
    pub const UNDETERMINED: u64 = 0;
    pub const NOT_EXIST: u64 = 1;
    pub const RUNNING: u64 = 2;
    pub const IDLE: u64 = 3;
}

/// The high-level state a wire goroutine status stands for (Bad means undetermined).
pub(crate) fn go_state_of_status(status: u64) -> u64 {
    match status {
        1 => go_state::RUNNABLE,
        2 => go_state::RUNNING,
        3 => go_state::SYSCALL,
        4 => go_state::WAITING,
        _ => go_state::UNDETERMINED,
    }
}

/// The high-level state a wire proc status stands for.
pub(crate) fn proc_state_of_status(status: u64) -> u64 {
    match status {
        1 | 3 => proc_state::RUNNING,
        2 | 4 => proc_state::IDLE,
        _ => proc_state::UNDETERMINED,
    }
}

/// One event of the ordered stream.
///
/// Small and `Copy`: strings and stacks are IDs into the tables of the event's generation,
/// which [`Reader::tables`](crate::Reader::tables) returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub(crate) ty: u8,
    pub(crate) time: i64,
    pub(crate) m: i64,
    pub(crate) p: i64,
    pub(crate) g: i64,
    /// Wire arguments after the timestamp delta, some rewritten by the ordering engine.
    pub(crate) args: [u64; 4],
    /// Values the ordering engine adds (old states, task parents and names).
    pub(crate) extra: [u64; 2],
    /// Index of the event's generation tables in the reader; `u32::MAX` for none.
    pub(crate) generation: u32,
    /// Offset of the event's record in the file (0 for events the reader makes).
    pub(crate) offset: u64,
}

impl Event {
    /// The `Sync` event numbered `number` (from 1) that the reader makes at `time`, with the
    /// tables of generation index `generation` (`u32::MAX` for none).
    pub(crate) fn sync(number: u64, time: i64, generation: u32) -> Event {
        Event {
            ty: SYNC_TYPE,
            time,
            m: NONE,
            p: NONE,
            g: NONE,
            args: [number, 0, 0, 0],
            extra: [0; 2],
            generation,
            offset: 0,
        }
    }

    /// What the event is about.
    pub fn kind(&self) -> EventKind {
        kind_of(self.ty)
    }

    /// The event's time in nanoseconds. Strictly increasing along the stream.
    pub fn time(&self) -> i64 {
        self.time
    }

    /// The thread (M) the event happened on, or [`NONE`].
    pub fn thread(&self) -> i64 {
        self.m
    }

    /// The proc (P) the thread held when the event happened, or [`NONE`].
    pub fn proc(&self) -> i64 {
        self.p
    }

    /// The goroutine running when the event happened, or [`NONE`].
    pub fn goroutine(&self) -> i64 {
        self.g
    }

    /// The wire event type behind this event, or `None` for the reader's `Sync` events.
    pub fn wire_type(&self) -> Option<EventType> {
        (self.ty != SYNC_TYPE).then_some(EventType(self.ty))
    }

    /// The byte offset of the event's record in the file (0 for events the reader makes).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The main stack of the event: its stack ID, if it has one.
    pub fn stack_id(&self) -> Option<u64> {
        if self.ty == SYNC_TYPE {
            return None;
        }
        if self.ty == EventType::CPUSample.0 {
            return Some(self.args[0]);
        }
        let spec = EventType(self.ty).spec()?;
        let &index = spec.stack_args.first()?;
        Some(self.args[index - 1]).filter(|&id| id != 0)
    }
}

fn kind_of(ty: u8) -> EventKind {
    use EventKind::*;
    match EventType(ty) {
        _ if ty == SYNC_TYPE => Sync,
        EventType::CPUSample => StackSample,
        EventType::ProcsChange | EventType::HeapAlloc | EventType::HeapGoal => Metric,
        EventType::STWBegin | EventType::GCBegin | EventType::GCSweepBegin | EventType::GCMarkAssistBegin => RangeBegin,
        EventType::GCActive | EventType::GCSweepActive | EventType::GCMarkAssistActive => RangeActive,
        EventType::STWEnd | EventType::GCEnd | EventType::GCSweepEnd | EventType::GCMarkAssistEnd => RangeEnd,
        EventType::GoLabel => Label,
        EventType::UserTaskBegin => TaskBegin,
        EventType::UserTaskEnd => TaskEnd,
        EventType::UserRegionBegin => RegionBegin,
        EventType::UserRegionEnd => RegionEnd,
        EventType::UserLog => Log,
        _ if ty >= 128 => Experimental,
        _ => StateTransition,
    }
}

// The helpers of `write_parsed` append to the line it builds: plain byte pushes, no
// formatting machinery, nothing allocated per call.

fn write_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

fn write_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends `0x` and the lowercase hex digits of `v`, as Go's `%#x` does.
fn write_hex(out: &mut Vec<u8>, v: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // Digits from the last, into a buffer: one copy into the line.
    let mut text = [0u8; 18];
    let (mut i, mut v) = (text.len(), v);
    loop {
        i -= 1;
        text[i] = HEX[(v & 0xf) as usize];
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    text[i - 2..i].copy_from_slice(b"0x");
    out.extend_from_slice(&text[i - 2..]);
}

fn write_quoted(out: &mut Vec<u8>, bytes: &[u8]) {
    // Most strings are printable ASCII without quotes or backslashes, which Go's
    // `strconv.Quote` leaves as they are.
    if bytes.iter().all(|&b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
    } else {
        quote_into(out, bytes);
    }
}

fn write_stack<T: EventTables + ?Sized>(out: &mut Vec<u8>, title: &str, tables: Option<&T>, id: u64) {
    out.push(b'\n');
    out.extend_from_slice(title.as_bytes());
    out.extend_from_slice(b"=\n");
    if let Some(tables) = tables {
        tables.for_each_frame(id, &mut |frame| write_frame(out, frame));
    }
}

fn write_frame(out: &mut Vec<u8>, frame: ResolvedFrame<'_>) {
    // Room for the names and the longest numbers, so that no push below grows the line.
    out.reserve(frame.func.len() + frame.file.len() + 64);
    out.push(b'\t');
    out.extend_from_slice(frame.func);
    out.extend_from_slice(b" @ ");
    write_hex(out, frame.pc);
    out.extend_from_slice(b"\n\t\t");
    out.extend_from_slice(frame.file);
    out.push(b':');
    write_u64(out, frame.line);
    out.push(b'\n');
}

/// Formats Unix time as Go's `time.RFC3339Nano` in UTC.
fn write_wall(out: &mut Vec<u8>, sec: u64, nsec: u64) -> io::Result<()> {
    let total_sec = (sec as i64).wrapping_add((nsec / 1_000_000_000) as i64);
    let nsec = nsec % 1_000_000_000;
    let days = total_sec.div_euclid(86_400);
    let secs = total_sec.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    write!(out, "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)?;
    if nsec != 0 {
        let digits = format!("{nsec:09}");
        write!(out, ".{}", digits.trim_end_matches('0'))?;
    }
    out.write_all(b"Z")
}

/// Writes `event` as Go 1.27's `go tool trace -d=parsed` prints it, with the newline.
/// `tables` are the tables of the event's generation (`None` for events that have none).
pub fn write_parsed<W: Write + ?Sized, T: EventTables + ?Sized>(
    out: &mut W,
    event: &Event,
    tables: Option<&T>,
) -> io::Result<()> {
    thread_local! {
        // The line being built, kept between calls so that its memory is reused.
        static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    // One write per event: `out` is often a `dyn Write`, where every call is indirect.
    LINE.with(|line| match line.try_borrow_mut() {
        Ok(mut line) => {
            line.clear();
            render_parsed(&mut line, event, tables)?;
            out.write_all(&line)
        }
        // Only if `out` itself prints events: a line of its own.
        Err(_) => {
            let mut line = Vec::new();
            render_parsed(&mut line, event, tables)?;
            out.write_all(&line)
        }
    })
}

/// Appends the line of [`write_parsed`] to `out` (writing to a `Vec` does not fail).
fn render_parsed<T: EventTables + ?Sized>(out: &mut Vec<u8>, event: &Event, tables: Option<&T>) -> io::Result<()> {
    let kind = event.kind();
    out.extend_from_slice(b"M=");
    write_i64(out, event.m);
    out.extend_from_slice(b" P=");
    write_i64(out, event.p);
    out.extend_from_slice(b" G=");
    write_i64(out, event.g);
    out.push(b' ');
    out.extend_from_slice(kind.name().as_bytes());
    out.extend_from_slice(b" Time=");
    write_i64(out, event.time);
    let mut transition_stack = None;
    match event_details(event, tables) {
        Details::Sync { number, clock } => {
            out.extend_from_slice(b" N=");
            write_u64(out, number);
            if let Some(clock) = clock {
                write!(out, " Trace={} Mono={} Wall=", clock.trace_ns, clock.mono_ns)?;
                write_wall(out, clock.wall_sec, clock.wall_nsec)?;
            }
        }
        Details::Metric(metric) => {
            out.extend_from_slice(b" Name=");
            write_quoted(out, metric.name.as_bytes());
            out.extend_from_slice(b" Value=Value{Uint64(");
            write_u64(out, metric.value);
            out.extend_from_slice(b")}");
        }
        Details::Label(label) => {
            out.extend_from_slice(b" Label=");
            write_quoted(out, label.label);
            out.extend_from_slice(b" Resource=Goroutine(");
            write_i64(out, label.goroutine);
            out.push(b')');
        }
        Details::Range(range) => {
            out.extend_from_slice(b" Name=");
            write_quoted(out, &range.name());
            match range.scope {
                Scope::Global => out.extend_from_slice(b" Scope=None"),
                Scope::Proc(p) => write!(out, " Scope=Proc({p})")?,
                Scope::Goroutine(g) => write!(out, " Scope=Goroutine({g})")?,
            }
            if range.phase == RangePhase::End {
                out.extend_from_slice(b" Attributes=[");
                if let (Some(swept), Some(reclaimed)) = (range.bytes_swept, range.bytes_reclaimed) {
                    write!(
                        out,
                        "\"bytes swept\"=Value{{Uint64({swept})}} \"bytes reclaimed\"=Value{{Uint64({reclaimed})}}"
                    )?;
                }
                out.push(b']');
            }
        }
        Details::Task(task) => {
            out.extend_from_slice(b" ID=");
            write_u64(out, task.id);
            out.extend_from_slice(b" Parent=");
            write_u64(out, task.parent);
            out.extend_from_slice(b" Type=");
            write_quoted(out, &task.type_name);
        }
        Details::Region(region) => {
            out.extend_from_slice(b" Task=");
            write_u64(out, region.task);
            out.extend_from_slice(b" Type=");
            write_quoted(out, region.type_name);
        }
        Details::Log(log) => {
            out.extend_from_slice(b" Task=");
            write_u64(out, log.task);
            out.extend_from_slice(b" Category=");
            write_quoted(out, log.category);
            out.extend_from_slice(b" Message=");
            write_quoted(out, log.message);
        }
        Details::StateTransition(st) => {
            let (what, id, from, to): (&[u8], i64, &str, &str) = match st.transition {
                Transition::Goroutine { id, from, to } => (b" GoID=", id, from.name(), to.name()),
                Transition::Proc { id, from, to } => (b" ProcID=", id, from.name(), to.name()),
            };
            out.extend_from_slice(what);
            write_i64(out, id);
            out.push(b' ');
            out.extend_from_slice(from.as_bytes());
            out.extend_from_slice(b"->");
            out.extend_from_slice(to.as_bytes());
            out.extend_from_slice(b" Reason=");
            write_quoted(out, st.reason);
            transition_stack = st.stack;
        }
        Details::Experimental(experimental) => {
            out.extend_from_slice(b" Name=");
            out.extend_from_slice(experimental.name.as_bytes());
            out.extend_from_slice(b" Args=[");
            for (i, (name, value)) in experimental.arg_names.iter().zip(experimental.args).enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"=Value{Uint64(");
                write_u64(out, value);
                out.extend_from_slice(b")}");
            }
            out.push(b']');
        }
        Details::StackSample => {}
    }
    if let Some(id) = transition_stack {
        write_stack(out, "TransitionStack", tables, id);
    }
    if let Some(id) = event.stack_id() {
        write_stack(out, "Stack", tables, id);
    }
    out.push(b'\n');
    Ok(())
}

enum Resource {
    Goroutine(i64),
    Proc(i64),
}

/// The resource, old and new state, reason string ID and stack ID of a state transition.
fn transition(event: &Event) -> (Resource, u64, u64, Option<u64>, Option<u64>) {
    use go_state as gs;
    use proc_state as ps;
    let a = event.args;
    let main_stack = event.stack_id();
    match EventType(event.ty) {
        EventType::ProcStart => (Resource::Proc(a[0] as i64), ps::IDLE, ps::RUNNING, None, None),
        EventType::ProcStop => (Resource::Proc(event.p), ps::RUNNING, ps::IDLE, None, None),
        EventType::ProcSteal => {
            // A proc whose syscall was abandoned was already counted as idle.
            let before =
                if event.extra[0] == crate::order::pstatus::SYSCALL_ABANDONED { ps::IDLE } else { ps::RUNNING };
            (Resource::Proc(a[0] as i64), before, ps::IDLE, None, None)
        }
        EventType::ProcStatus => (Resource::Proc(a[0] as i64), event.extra[0], proc_state_of_status(a[1]), None, None),
        EventType::GoCreate => (Resource::Goroutine(a[0] as i64), gs::NOT_EXIST, gs::RUNNABLE, None, Some(a[1])),
        EventType::GoCreateBlocked => (Resource::Goroutine(a[0] as i64), gs::NOT_EXIST, gs::WAITING, None, Some(a[1])),
        EventType::GoCreateSyscall => (Resource::Goroutine(a[0] as i64), gs::NOT_EXIST, gs::SYSCALL, None, None),
        EventType::GoStart => (Resource::Goroutine(a[0] as i64), gs::RUNNABLE, gs::RUNNING, None, None),
        EventType::GoDestroy => (Resource::Goroutine(event.g), gs::RUNNING, gs::NOT_EXIST, None, None),
        EventType::GoDestroySyscall => (Resource::Goroutine(event.g), gs::SYSCALL, gs::NOT_EXIST, None, None),
        EventType::GoStop => (Resource::Goroutine(event.g), gs::RUNNING, gs::RUNNABLE, Some(a[0]), main_stack),
        EventType::GoBlock => (Resource::Goroutine(event.g), gs::RUNNING, gs::WAITING, Some(a[0]), main_stack),
        EventType::GoSyscallBegin => (Resource::Goroutine(event.g), gs::RUNNING, gs::SYSCALL, None, main_stack),
        EventType::GoSyscallEnd => (Resource::Goroutine(event.g), gs::SYSCALL, gs::RUNNING, None, None),
        EventType::GoSyscallEndBlocked => (Resource::Goroutine(event.g), gs::SYSCALL, gs::RUNNABLE, None, None),
        EventType::GoStatus | EventType::GoStatusStack => {
            let (from, to) = (a[2] >> 32, a[2] & 0xffff_ffff);
            (Resource::Goroutine(a[0] as i64), from, go_state_of_status(to), None, main_stack)
        }
        // GoUnblock, GoSwitch, GoSwitchDestroy: the named goroutine becomes runnable.
        _ => (Resource::Goroutine(a[0] as i64), gs::WAITING, gs::RUNNABLE, None, None),
    }
}
