//! The event table of the v2 wire format (Go 1.22 and later): the single source of truth for
//! decoding, printing and writing records.
//!
//! Every entry names the event, its arguments (with the names Go's own tables and text format
//! use), which arguments are string or stack IDs, and the trace version that introduced it.

use std::fmt;

/// A wire event type: the byte that starts every record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventType(pub u8);

/// How a record's bytes continue after its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trailer {
    /// Nothing follows the arguments.
    None,
    /// A uvarint length followed by that many raw bytes (strings, experimental batches).
    Data,
    /// The `nframes` argument is followed by that many frames of four uvarints each:
    /// program counter, function-name string ID, file-name string ID, line.
    Frames,
}

/// Whether an event appears inside event batches with a timestamp, or frames the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventClass {
    /// Records that frame the file: batch headers and the end-of-generation marker.
    Framing,
    /// Table sections and their records, clock records: untimed records inside batches.
    Structural,
    /// An event with a timestamp delta as its first argument.
    Timed,
}

/// The specification of one wire event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSpec {
    /// The event's name, as Go's tools print it.
    pub name: &'static str,
    /// Argument names in wire order. Timed events start with `dt`, the timestamp delta.
    pub args: &'static [&'static str],
    /// Positions in `args` that are string IDs resolved through the generation's string table.
    pub string_args: &'static [usize],
    /// Positions in `args` that are stack IDs; the first is the event's main stack.
    pub stack_args: &'static [usize],
    /// Whether the event is timed or structural.
    pub class: EventClass,
    /// What follows the arguments.
    pub trailer: Trailer,
    /// The experiment an experimental event belongs to (0 = none, 1 = AllocFree).
    pub experiment: u8,
    /// The first trace version (minor Go version of the header) whose table has this event.
    pub since: u32,
}

/// The most arguments any v2 record has (`CPUSample`, `UserLog`, `GoStatusStack`).
pub const MAX_ARGS: usize = 5;

/// The largest data size of a batch that Go's reader accepts.
pub const MAX_BATCH_SIZE: u64 = 64 << 10;

/// Names of the four values of each stack frame, in wire order.
pub const FRAME_FIELDS: [&str; 4] = ["pc", "func", "file", "line"];

macro_rules! table {
    ($( $ty:literal $name:ident since $since:literal $class:ident $trailer:ident [$($arg:literal),*]
        $(strings [$($s:literal),*])? $(stacks [$($k:literal),*])? $(experiment $exp:literal)? ;)*) => {
        const fn build_table() -> [Option<EventSpec>; 256] {
            let mut table = [None; 256];
            $(
                table[$ty] = Some(EventSpec {
                    name: stringify!($name),
                    args: &[$($arg),*],
                    string_args: &[$($($s),*)?],
                    stack_args: &[$($($k),*)?],
                    class: EventClass::$class,
                    trailer: Trailer::$trailer,
                    experiment: 0 $(+ $exp)?,
                    since: $since,
                });
            )*
            table
        }
        /// Constants for every event type in the table.
        #[allow(non_upper_case_globals)]
        impl EventType {
            $(
                #[doc = concat!("`", stringify!($name), "` (type ", stringify!($ty), ").")]
                pub const $name: EventType = EventType($ty);
            )*
        }
    };
}

table! {
    1 EventBatch since 22 Framing None ["gen", "m", "time", "size"];
    2 Stacks since 22 Structural None [];
    3 Stack since 22 Structural Frames ["id", "nframes"];
    4 Strings since 22 Structural None [];
    5 String since 22 Structural Data ["id"];
    6 CPUSamples since 22 Structural None [];
    7 CPUSample since 22 Structural None ["time", "m", "p", "g", "stack"] stacks [4];
    8 Frequency since 22 Structural None ["freq"];
    9 ProcsChange since 22 Timed None ["dt", "procs_value", "stack"] stacks [2];
    10 ProcStart since 22 Timed None ["dt", "p", "p_seq"];
    11 ProcStop since 22 Timed None ["dt"];
    12 ProcSteal since 22 Timed None ["dt", "p", "p_seq", "m"];
    13 ProcStatus since 22 Timed None ["dt", "p", "pstatus"];
    14 GoCreate since 22 Timed None ["dt", "new_g", "new_stack", "stack"] stacks [3, 2];
    15 GoCreateSyscall since 22 Timed None ["dt", "new_g"];
    16 GoStart since 22 Timed None ["dt", "g", "g_seq"];
    17 GoDestroy since 22 Timed None ["dt"];
    18 GoDestroySyscall since 22 Timed None ["dt"];
    19 GoStop since 22 Timed None ["dt", "reason_string", "stack"] strings [1] stacks [2];
    20 GoBlock since 22 Timed None ["dt", "reason_string", "stack"] strings [1] stacks [2];
    21 GoUnblock since 22 Timed None ["dt", "g", "g_seq", "stack"] stacks [3];
    22 GoSyscallBegin since 22 Timed None ["dt", "p_seq", "stack"] stacks [2];
    23 GoSyscallEnd since 22 Timed None ["dt"];
    24 GoSyscallEndBlocked since 22 Timed None ["dt"];
    25 GoStatus since 22 Timed None ["dt", "g", "m", "gstatus"];
    26 STWBegin since 22 Timed None ["dt", "kind_string", "stack"] strings [1] stacks [2];
    27 STWEnd since 22 Timed None ["dt"];
    28 GCActive since 22 Timed None ["dt", "gc_seq"];
    29 GCBegin since 22 Timed None ["dt", "gc_seq", "stack"] stacks [2];
    30 GCEnd since 22 Timed None ["dt", "gc_seq"];
    31 GCSweepActive since 22 Timed None ["dt", "p"];
    32 GCSweepBegin since 22 Timed None ["dt", "stack"] stacks [1];
    33 GCSweepEnd since 22 Timed None ["dt", "swept_value", "reclaimed_value"];
    34 GCMarkAssistActive since 22 Timed None ["dt", "g"];
    35 GCMarkAssistBegin since 22 Timed None ["dt", "stack"] stacks [1];
    36 GCMarkAssistEnd since 22 Timed None ["dt"];
    37 HeapAlloc since 22 Timed None ["dt", "heapalloc_value"];
    38 HeapGoal since 22 Timed None ["dt", "heapgoal_value"];
    39 GoLabel since 22 Timed None ["dt", "label_string"] strings [1];
    40 UserTaskBegin since 22 Timed None ["dt", "task", "parent_task", "name_string", "stack"] strings [3] stacks [4];
    41 UserTaskEnd since 22 Timed None ["dt", "task", "stack"] stacks [2];
    42 UserRegionBegin since 22 Timed None ["dt", "task", "name_string", "stack"] strings [2] stacks [3];
    43 UserRegionEnd since 22 Timed None ["dt", "task", "name_string", "stack"] strings [2] stacks [3];
    44 UserLog since 22 Timed None ["dt", "task", "key_string", "value_string", "stack"] strings [2, 3] stacks [4];
    45 GoSwitch since 23 Timed None ["dt", "g", "g_seq"];
    46 GoSwitchDestroy since 23 Timed None ["dt", "g", "g_seq"];
    47 GoCreateBlocked since 23 Timed None ["dt", "new_g", "new_stack", "stack"] stacks [3, 2];
    48 GoStatusStack since 23 Timed None ["dt", "g", "m", "gstatus", "stack"] stacks [4];
    49 ExperimentalBatch since 23 Framing Data ["exp", "gen", "m", "time"];
    50 Sync since 25 Structural None [];
    51 ClockSnapshot since 25 Timed None ["dt", "mono", "sec", "nsec"];
    52 EndOfGeneration since 26 Framing None [];
    128 Span since 23 Timed None ["dt", "id", "npages_value", "kindclass"] experiment 1;
    129 SpanAlloc since 23 Timed None ["dt", "id", "npages_value", "kindclass"] experiment 1;
    130 SpanFree since 23 Timed None ["dt", "id"] experiment 1;
    131 HeapObject since 23 Timed None ["dt", "id", "type"] experiment 1;
    132 HeapObjectAlloc since 23 Timed None ["dt", "id", "type"] experiment 1;
    133 HeapObjectFree since 23 Timed None ["dt", "id"] experiment 1;
    134 GoroutineStack since 23 Timed None ["dt", "id", "order"] experiment 1;
    135 GoroutineStackAlloc since 23 Timed None ["dt", "id", "order"] experiment 1;
    136 GoroutineStackFree since 23 Timed None ["dt", "id"] experiment 1;
}

static TABLE: [Option<EventSpec>; 256] = build_table();

/// Which arguments of an ordered event (those after the time delta) are stack IDs and which
/// are string IDs, as bit masks (bit `i` for argument `i`): the reader checks them for every
/// event, and a mask costs less to walk than the spec's lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdArgs {
    pub stacks: u8,
    pub strings: u8,
}

/// [`IdArgs`] by event type; none for types without a spec. A CPU sample, as the reader
/// gives it, holds its stack in its first argument.
pub(crate) static ID_ARGS: [IdArgs; 256] = build_id_args();

const fn build_id_args() -> [IdArgs; 256] {
    const fn mask(args: &[usize]) -> u8 {
        let mut mask = 0;
        let mut i = 0;
        while i < args.len() {
            // Spec positions count the time delta first.
            mask |= 1 << (args[i] - 1);
            i += 1;
        }
        mask
    }
    let table = build_table();
    let mut id_args = [IdArgs { stacks: 0, strings: 0 }; 256];
    let mut ty = 0;
    while ty < 256 {
        if let Some(spec) = &table[ty] {
            id_args[ty] = IdArgs { stacks: mask(spec.stack_args), strings: mask(spec.string_args) };
        }
        ty += 1;
    }
    id_args[EventType::CPUSample.0 as usize] = IdArgs { stacks: 1, strings: 0 };
    id_args
}

/// For each version's minor (index `minor - 22`, up to 1.26) and event type, how many
/// arguments (after the time delta) a record of that type has when the reader's fast path can
/// decode it: timed, no trailer, in that version's table; [`NOT_FAST`] otherwise. One load
/// per record instead of a walk through the spec.
pub(crate) static FAST_ARG_COUNTS: [[u8; 256]; 5] = build_fast_arg_counts();

/// The [`FAST_ARG_COUNTS`] entry of a type the fast path leaves to the wire decoder.
pub(crate) const NOT_FAST: u8 = u8::MAX;

const fn build_fast_arg_counts() -> [[u8; 256]; 5] {
    let table = build_table();
    let mut counts = [[NOT_FAST; 256]; 5];
    let mut minor = 0;
    while minor < 5 {
        let mut ty = 0;
        while ty < 256 {
            if let Some(spec) = &table[ty]
                && matches!(spec.class, EventClass::Timed)
                && matches!(spec.trailer, Trailer::None)
                && spec.since <= 22 + minor as u32
            {
                counts[minor][ty] = (spec.args.len() - 1) as u8;
            }
            ty += 1;
        }
        minor += 1;
    }
    counts
}

/// The names of the experiments experimental events and batches belong to, by ID.
pub const EXPERIMENTS: [&str; 2] = ["None", "AllocFree"];

impl EventSpec {
    /// Whether this record frames the file (a batch header or the end of a generation)
    /// rather than appearing inside a batch.
    #[inline]
    pub fn frames_file(&self) -> bool {
        self.class == EventClass::Framing
    }
}

impl EventType {
    /// The event's specification in the newest table, or `None` for a byte that names no
    /// event. Use [`Version::spec`](crate::Version::spec) to honour a trace's own version.
    pub fn spec(self) -> Option<&'static EventSpec> {
        TABLE[usize::from(self.0)].as_ref()
    }

    /// The event's name, or `"unknown"` for a byte that names no event.
    pub fn name(self) -> &'static str {
        self.spec().map_or("unknown", |s| s.name)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.spec() {
            Some(spec) => write!(f, "{} ({})", spec.name, self.0),
            None => write!(f, "unknown event type {}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        let mut count = 0;
        for (ty, spec) in TABLE.iter().enumerate() {
            let Some(spec) = spec else { continue };
            count += 1;
            assert!(spec.args.len() <= MAX_ARGS, "{} has too many arguments", spec.name);
            for &i in spec.string_args {
                assert!(spec.args[i].ends_with("_string"), "{} arg {i}", spec.name);
            }
            for &i in spec.stack_args {
                assert!(spec.args[i].ends_with("stack"), "{} arg {i}", spec.name);
            }
            assert_eq!(spec.class == EventClass::Timed, spec.args.first() == Some(&"dt"), "{}", spec.name);
            assert_eq!(spec.experiment != 0, ty >= 128, "{}", spec.name);
            assert_eq!(EventType(ty as u8).name(), spec.name);
        }
        assert_eq!(count, 52 + 9);
        assert_eq!(EventType::GoStart.spec().unwrap().args, &["dt", "g", "g_seq"]);
        assert!(EventType(0).spec().is_none());
        assert!(EventType(53).spec().is_none());
        assert!(EventType(137).spec().is_none());
    }
}
