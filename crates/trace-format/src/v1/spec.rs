//! The event table of the old format, and how each header version lays records out.

/// Event types of the old format, by the names Go's parsers give them.
pub(crate) mod ev {
    pub const BATCH: u8 = 1;
    pub const FREQUENCY: u8 = 2;
    pub const STACK: u8 = 3;
    pub const GOMAXPROCS: u8 = 4;
    pub const PROC_START: u8 = 5;
    pub const PROC_STOP: u8 = 6;
    pub const GC_START: u8 = 7;
    pub const GC_DONE: u8 = 8;
    pub const STW_START: u8 = 9;
    pub const STW_DONE: u8 = 10;
    pub const GC_SWEEP_START: u8 = 11;
    pub const GC_SWEEP_DONE: u8 = 12;
    pub const GO_CREATE: u8 = 13;
    pub const GO_START: u8 = 14;
    pub const GO_END: u8 = 15;
    pub const GO_STOP: u8 = 16;
    pub const GO_SCHED: u8 = 17;
    pub const GO_PREEMPT: u8 = 18;
    pub const GO_SLEEP: u8 = 19;
    pub const GO_BLOCK: u8 = 20;
    pub const GO_UNBLOCK: u8 = 21;
    pub const GO_BLOCK_SEND: u8 = 22;
    pub const GO_BLOCK_RECV: u8 = 23;
    pub const GO_BLOCK_SELECT: u8 = 24;
    pub const GO_BLOCK_SYNC: u8 = 25;
    pub const GO_BLOCK_COND: u8 = 26;
    pub const GO_BLOCK_NET: u8 = 27;
    pub const GO_SYSCALL: u8 = 28;
    pub const GO_SYS_EXIT: u8 = 29;
    pub const GO_SYS_BLOCK: u8 = 30;
    pub const GO_WAITING: u8 = 31;
    pub const GO_IN_SYSCALL: u8 = 32;
    pub const HEAP_ALLOC: u8 = 33;
    pub const HEAP_GOAL: u8 = 34;
    pub const TIMER_GOROUTINE: u8 = 35;
    pub const FUTILE_WAKEUP: u8 = 36;
    pub const STRING: u8 = 37;
    pub const GO_START_LOCAL: u8 = 38;
    pub const GO_UNBLOCK_LOCAL: u8 = 39;
    pub const GO_SYS_EXIT_LOCAL: u8 = 40;
    pub const GO_START_LABEL: u8 = 41;
    pub const GO_BLOCK_GC: u8 = 42;
    pub const GC_MARK_ASSIST_START: u8 = 43;
    pub const GC_MARK_ASSIST_DONE: u8 = 44;
    pub const USER_TASK_CREATE: u8 = 45;
    pub const USER_TASK_END: u8 = 46;
    pub const USER_REGION: u8 = 47;
    pub const USER_LOG: u8 = 48;
    pub const CPU_SAMPLE: u8 = 49;
}

/// Whether `ty` blocks the running goroutine until another unblocks it.
pub(crate) fn is_blocking(ty: u8) -> bool {
    use ev::*;
    matches!(
        ty,
        GO_BLOCK
            | GO_BLOCK_SEND
            | GO_BLOCK_RECV
            | GO_BLOCK_SELECT
            | GO_BLOCK_SYNC
            | GO_BLOCK_COND
            | GO_BLOCK_NET
            | GO_SLEEP
            | GO_BLOCK_GC
    )
}

/// One event type of the old format.
#[derive(Debug)]
pub(crate) struct OldEventSpec {
    pub name: &'static str,
    /// The first header version (minor) whose runtimes write it.
    pub since: u32,
    /// Whether its last value is the ID of the stack where it happened.
    pub stack: bool,
    /// Its arguments as Go 1.11-1.21 write them (after the timestamp delta, before the stack).
    pub args: &'static [&'static str],
}

macro_rules! old_table {
    ($($ty:literal $name:literal since $since:literal $stack:literal [$($arg:literal),*];)*) => {
        const fn build() -> [Option<OldEventSpec>; 64] {
            let mut table = [const { None }; 64];
            $(table[$ty] = Some(OldEventSpec { name: $name, since: $since, stack: $stack, args: &[$($arg),*] });)*
            table
        }
    };
}

old_table! {
    1 "Batch" since 5 false ["p", "ticks"];
    2 "Frequency" since 5 false ["freq"];
    3 "Stack" since 5 false ["id", "siz"];
    4 "Gomaxprocs" since 5 true ["procs"];
    5 "ProcStart" since 5 false ["thread"];
    6 "ProcStop" since 5 false [];
    7 "GCStart" since 5 true ["seq"];
    8 "GCDone" since 5 false [];
    9 "GCSTWStart" since 5 false ["kindid"];
    10 "GCSTWDone" since 5 false [];
    11 "GCSweepStart" since 5 true [];
    12 "GCSweepDone" since 5 false ["swept", "reclaimed"];
    13 "GoCreate" since 5 true ["g", "stack"];
    14 "GoStart" since 5 false ["g", "seq"];
    15 "GoEnd" since 5 false [];
    16 "GoStop" since 5 true [];
    17 "GoSched" since 5 true [];
    18 "GoPreempt" since 5 true [];
    19 "GoSleep" since 5 true [];
    20 "GoBlock" since 5 true [];
    21 "GoUnblock" since 5 true ["g", "seq"];
    22 "GoBlockSend" since 5 true [];
    23 "GoBlockRecv" since 5 true [];
    24 "GoBlockSelect" since 5 true [];
    25 "GoBlockSync" since 5 true [];
    26 "GoBlockCond" since 5 true [];
    27 "GoBlockNet" since 5 true [];
    28 "GoSysCall" since 5 true [];
    29 "GoSysExit" since 5 false ["g", "seq", "ts"];
    30 "GoSysBlock" since 5 false [];
    31 "GoWaiting" since 5 false ["g"];
    32 "GoInSyscall" since 5 false ["g"];
    33 "HeapAlloc" since 5 false ["mem"];
    34 "HeapGoal" since 5 false ["mem"];
    35 "TimerGoroutine" since 5 false ["g"];
    36 "FutileWakeup" since 5 false [];
    37 "String" since 7 false [];
    38 "GoStartLocal" since 7 false ["g"];
    39 "GoUnblockLocal" since 7 true ["g"];
    40 "GoSysExitLocal" since 7 false ["g", "ts"];
    41 "GoStartLabel" since 8 false ["g", "seq", "labelid"];
    42 "GoBlockGC" since 8 true [];
    43 "GCMarkAssistStart" since 9 true [];
    44 "GCMarkAssistDone" since 9 false [];
    45 "UserTaskCreate" since 11 true ["taskid", "pid", "typeid"];
    46 "UserTaskEnd" since 11 true ["taskid"];
    47 "UserRegion" since 11 true ["taskid", "mode", "typeid"];
    48 "UserLog" since 11 true ["id", "keyid"];
    49 "CPUSample" since 19 true ["ts", "p", "g"];
}

static TABLE: [Option<OldEventSpec>; 64] = build();

/// The specification of `ty`, if it is an event of the old format at all.
pub(crate) fn spec(ty: u8) -> Option<&'static OldEventSpec> {
    TABLE.get(usize::from(ty)).and_then(Option::as_ref)
}

/// An old-format header version, by its minor number (5 for `go 1.5 trace`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct OldVersion(pub u32);

impl OldVersion {
    /// Go 1.5 traces number every event globally, rather than only goroutine transitions.
    pub fn has_event_seq(self) -> bool {
        self.0 < 7
    }

    /// The specification of `ty` in this version, or `None` if this version's runtimes do not
    /// write it.
    pub fn spec(self, ty: u8) -> Option<&'static OldEventSpec> {
        spec(ty).filter(|s| s.since <= self.0)
    }

    /// How many values a record of type `ty` holds, as Go's parsers count them: the timestamp
    /// delta (and the Go 1.5 sequence delta), the arguments, and the stack ID. Stacks vary.
    pub fn value_count(self, ty: u8, spec: &OldEventSpec) -> usize {
        let mut count = spec.args.len() + usize::from(spec.stack);
        if matches!(ty, ev::BATCH | ev::FREQUENCY | ev::TIMER_GOROUTINE) {
            // Before Go 1.7 the batch carried a sequence number, and the other two an unused value.
            return count + usize::from(self.has_event_seq());
        }
        count += 1 + usize::from(self.has_event_seq());
        let missing = match ty {
            // Go 1.9 added the swept and reclaimed byte counts.
            ev::GC_SWEEP_DONE if self.0 < 9 => 2,
            // Go 1.7 added sequence numbers to these.
            ev::GC_START | ev::GO_START | ev::GO_UNBLOCK if self.0 < 7 => 1,
            // Go 1.10 added the kind of stop-the-world.
            ev::STW_START if self.0 < 10 => 1,
            _ => 0,
        };
        count - missing
    }
}

/// Go 1.27's strings for the reasons a goroutine blocked or stopped, and for the kinds of
/// stop-the-world, which it adds to an old trace's string table after the trace's own.
pub(crate) const BUILTIN_STRINGS: [&str; 29] = [
    "forever",
    "preempted",
    "runtime.Gosched",
    "sleep",
    "chan send",
    "chan receive",
    "network",
    "sync",
    "sync.(*Cond).Wait",
    "select",
    "",
    "GC mark assist wait for work",
    // The kinds of stop-the-world, from "unknown" (an empty string) on.
    "",
    "GC mark termination",
    "GC sweep termination",
    "write heap dump",
    "goroutine profile",
    "goroutine profile cleanup",
    "all goroutine stack trace",
    "read mem stats",
    "AllThreadsSyscall",
    "GOMAXPROCS",
    "start trace",
    "stop trace",
    "CountPagesInUse (test)",
    "ReadMetricsSlow (test)",
    "ReadMemStatsSlow (test)",
    "PageCachePagesLeaked (test)",
    "ResetDebugLog (test)",
];

/// Indices into [`BUILTIN_STRINGS`].
pub(crate) mod builtin {
    pub const FOREVER: usize = 0;
    pub const PREEMPTED: usize = 1;
    pub const GOSCHED: usize = 2;
    pub const SLEEP: usize = 3;
    pub const CHAN_SEND: usize = 4;
    pub const CHAN_RECV: usize = 5;
    pub const NETWORK: usize = 6;
    pub const SYNC: usize = 7;
    pub const SYNC_COND: usize = 8;
    pub const SELECT: usize = 9;
    pub const EMPTY: usize = 10;
    pub const MARK_ASSIST_WAIT: usize = 11;
    pub const STW_UNKNOWN: usize = 12;
}

/// The number of stop-the-world kinds Go 1.21 names.
const STW_KINDS_GO121: u64 = 17;

/// The stop-the-world kind (an index from [`builtin::STW_UNKNOWN`]) of a `GCSTWStart` argument:
/// before Go 1.21 only mark termination (0) and sweep termination (1) existed.
pub(crate) fn stw_kind(version: OldVersion, kind: u64) -> usize {
    let known = if version.0 < 21 { (kind <= 1).then(|| kind + 1) } else { (kind < STW_KINDS_GO121).then_some(kind) };
    known.map_or(0, |k| k as usize)
}
