//! What an event says beyond its kind, time and context: Go's `Event.Range()`, `Task()`,
//! `Region()`, `Log()`, `Metric()`, `Label()`, `Sync()` and `StateTransition()` in one enum.

use std::borrow::Cow;

use crate::event::{Event, EventKind, EventTables, StateTransition, resolve_transition};
use crate::generation::ClockSnapshot;
use crate::spec::EventType;

/// The payload of an event, with strings resolved through its tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Details<'t> {
    /// The start of generation `number` (counting from 1), or the end of the trace.
    Sync {
        /// Which `Sync` of the trace this is.
        number: u64,
        /// The clocks the runtime sampled when the generation began (Go 1.25 and later).
        clock: Option<ClockSnapshot>,
    },
    /// A metric sample.
    Metric(Metric),
    /// A label on a goroutine.
    Label(Label<'t>),
    /// A CPU profile sample; its stack is the event's [`Event::stack_id`].
    StackSample,
    /// The begin, end, or ongoing activity of a range.
    Range(Range<'t>),
    /// The begin or end of a user task.
    Task(Task<'t>),
    /// The begin or end of a user region.
    Region(Region<'t>),
    /// A user log message.
    Log(Log<'t>),
    /// A goroutine or proc changed state.
    StateTransition(StateTransition<'t>),
    /// An event of an experiment.
    Experimental(Experimental),
}

/// A metric sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// The metric's name in `runtime/metrics` form, as Go names it.
    pub name: &'static str,
    /// The sampled value.
    pub value: u64,
}

/// A label on a goroutine (the runtime labels its GC workers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label<'t> {
    /// The label's text.
    pub label: &'t [u8],
    /// The labelled goroutine.
    pub goroutine: i64,
}

/// The kinds of range the runtime records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RangeKind {
    /// A stop-the-world pause; [`Range::stw_reason`] says why.
    StopTheWorld,
    /// The concurrent mark phase of a GC cycle.
    GcMark,
    /// Incremental sweeping by a proc.
    GcSweep,
    /// A goroutine assisting the GC's marking.
    GcMarkAssist,
}

/// Where a range is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RangePhase {
    /// It begins.
    Begin,
    /// It was already going on when the generation began.
    Active,
    /// It ends.
    End,
}

/// What a range applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The whole program.
    Global,
    /// One proc.
    Proc(i64),
    /// One goroutine.
    Goroutine(i64),
}

/// A range event: GC phases, sweeping, mark assists and stop-the-world pauses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range<'t> {
    /// What kind of range.
    pub kind: RangeKind,
    /// Begin, active or end.
    pub phase: RangePhase,
    /// What the range applies to.
    pub scope: Scope,
    /// For a stop-the-world range, the runtime's reason (`GC mark termination`, ...); empty
    /// otherwise.
    pub stw_reason: &'t [u8],
    /// At the end of a sweep: the bytes swept.
    pub bytes_swept: Option<u64>,
    /// At the end of a sweep: the bytes reclaimed.
    pub bytes_reclaimed: Option<u64>,
}

impl<'t> Range<'t> {
    /// The range's name as Go gives it (`GC concurrent mark phase`, `stop-the-world (...)`).
    pub fn name(&self) -> Cow<'t, [u8]> {
        match self.kind {
            RangeKind::StopTheWorld => {
                let mut name = b"stop-the-world (".to_vec();
                name.extend_from_slice(self.stw_reason);
                name.push(b')');
                Cow::Owned(name)
            }
            RangeKind::GcMark => Cow::Borrowed(b"GC concurrent mark phase"),
            RangeKind::GcSweep => Cow::Borrowed(b"GC incremental sweep"),
            RangeKind::GcMarkAssist => Cow::Borrowed(b"GC mark assist"),
        }
    }
}

/// The begin or end of a user task (`trace.NewTask`, `(*Task).End`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task<'t> {
    /// The task's ID.
    pub id: u64,
    /// The parent task's ID, `u64::MAX` for none (Go's `NoTask`); at the end, the parent
    /// given when it began.
    pub parent: u64,
    /// The task's type; at the end, the type given when it began (empty if unknown).
    pub type_name: Cow<'t, [u8]>,
}

/// The begin or end of a user region (`trace.WithRegion`, `trace.StartRegion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region<'t> {
    /// The task the region belongs to, 0 for none.
    pub task: u64,
    /// The region's type.
    pub type_name: &'t [u8],
}

/// A user log message (`trace.Log`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Log<'t> {
    /// The task the message belongs to, 0 for none.
    pub task: u64,
    /// Its category.
    pub category: &'t [u8],
    /// The message.
    pub message: &'t [u8],
}

/// An event of an experiment, with its arguments as the wire has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Experimental {
    /// The event's name (`SpanAlloc`, `HeapObjectFree`, ...).
    pub name: &'static str,
    /// The names of its arguments.
    pub arg_names: &'static [&'static str],
    /// The arguments' values, in the order of `arg_names`.
    pub args: [u64; 4],
}

/// The details of `event`, with strings resolved through `tables`, the tables of its
/// generation (strings become empty without them).
pub fn event_details<'t, T: EventTables + ?Sized>(event: &Event, tables: Option<&'t T>) -> Details<'t> {
    let string = |id: u64| tables.and_then(|t| t.string(id)).unwrap_or_default();
    let a = event.args;
    let ty = EventType(event.ty);
    match event.kind() {
        EventKind::Sync => Details::Sync { number: a[0], clock: tables.and_then(|t| t.clock()) },
        EventKind::Metric => {
            let name = match ty {
                EventType::ProcsChange => "/sched/gomaxprocs:threads",
                EventType::HeapAlloc => "/memory/classes/heap/objects:bytes",
                _ => "/gc/heap/goal:bytes",
            };
            Details::Metric(Metric { name, value: a[0] })
        }
        EventKind::Label => Details::Label(Label { label: string(a[0]), goroutine: event.g }),
        EventKind::StackSample => Details::StackSample,
        kind @ (EventKind::RangeBegin | EventKind::RangeActive | EventKind::RangeEnd) => {
            let phase = match kind {
                EventKind::RangeBegin => RangePhase::Begin,
                EventKind::RangeActive => RangePhase::Active,
                _ => RangePhase::End,
            };
            let mut range = Range {
                kind: RangeKind::GcMark,
                phase,
                scope: Scope::Global,
                stw_reason: &[],
                bytes_swept: None,
                bytes_reclaimed: None,
            };
            match ty {
                EventType::STWBegin | EventType::STWEnd => {
                    range.kind = RangeKind::StopTheWorld;
                    range.stw_reason = string(a[0]);
                    range.scope = Scope::Goroutine(event.g);
                }
                EventType::GCBegin | EventType::GCActive | EventType::GCEnd => {}
                EventType::GCSweepBegin | EventType::GCSweepActive | EventType::GCSweepEnd => {
                    range.kind = RangeKind::GcSweep;
                    // An active sweep names its proc; otherwise it is the event's own.
                    let p = if ty == EventType::GCSweepActive { a[0] as i64 } else { event.p };
                    range.scope = Scope::Proc(p);
                    if ty == EventType::GCSweepEnd {
                        range.bytes_swept = Some(a[0]);
                        range.bytes_reclaimed = Some(a[1]);
                    }
                }
                _ => {
                    range.kind = RangeKind::GcMarkAssist;
                    let g = if ty == EventType::GCMarkAssistActive { a[0] as i64 } else { event.g };
                    range.scope = Scope::Goroutine(g);
                }
            }
            Details::Range(range)
        }
        EventKind::TaskBegin => Details::Task(Task { id: a[0], parent: a[1], type_name: Cow::Borrowed(string(a[2])) }),
        EventKind::TaskEnd => {
            // The ordering engine stored what the task's beginning said.
            let type_name = tables.map(|t| t.task_name(event.extra[1])).unwrap_or_default();
            Details::Task(Task { id: a[0], parent: event.extra[0], type_name: Cow::Owned(type_name) })
        }
        EventKind::RegionBegin | EventKind::RegionEnd => {
            Details::Region(Region { task: a[0], type_name: string(a[1]) })
        }
        EventKind::Log => Details::Log(Log { task: a[0], category: string(a[1]), message: string(a[2]) }),
        EventKind::StateTransition => Details::StateTransition(resolve_transition(event, tables)),
        EventKind::Experimental => {
            // The first argument on the wire is the time delta, which the event no longer has.
            let arg_names = ty.spec().map_or(&[][..], |s| s.args.get(1..).unwrap_or_default());
            Details::Experimental(Experimental { name: ty.name(), arg_names, args: a })
        }
    }
}
