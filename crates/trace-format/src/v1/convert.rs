//! Conversion of ordered old-format events to the event model of Go 1.22+, as Go 1.27's
//! reader does it (`internal/trace/tracev1.go`), so that everything downstream sees one model.
//!
//! Most events have a direct equivalent; blocking events become `GoBlock` or `GoStop` with
//! Go's reason strings; a syscall that did not block becomes a 1 ns `GoSyscallBegin` and
//! `GoSyscallEnd` pair; goroutines that existed before tracing started get a `GoStatus` when
//! the first `Gomaxprocs` event ends the trace's initial burst of events. The whole trace is
//! one generation with one table of strings and stacks.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use super::order::Ordered;
use super::parse::{OldEvent, OldFrame, Scan};
use super::spec::{BUILTIN_STRINGS, OldVersion, builtin, ev, stw_kind};
use crate::error::{Error, ErrorKind};
use crate::event::{Event, NONE};
use crate::generation::{FrameInfo, GenerationTables, TASK_NAME_ID};
use crate::spec::EventType;

/// "No task" in Go's event model.
const NO_TASK: u64 = u64::MAX;
/// "No thread" as a wire argument.
const NO_THREAD_ARG: u64 = u64::MAX;
// Wire goroutine and proc statuses, as the v2 ordering engine knows them.
use crate::order::gstatus::{
    RUNNABLE as GO_RUNNABLE, RUNNING as GO_RUNNING, SYSCALL as GO_SYSCALL, WAITING as GO_WAITING,
};
use crate::order::pstatus::{IDLE as PROC_IDLE, RUNNING as PROC_RUNNING};

/// The generation index of every event of an old trace (it has one table).
const ONLY_GENERATION: u32 = 0;

/// Builds the one table of an old trace: its strings, then the `UserLog` messages (which the
/// old format stores inline) numbered after them, then Go's built-in reason strings; its
/// stacks with their frames. Returns the table, the ID of the first message, and the ID of
/// the first built-in string.
fn build_tables(bytes: &[u8], scan: &Scan<'_>, events: &mut Ordered) -> (GenerationTables, u64) {
    let max_id = scan.strings.keys().copied().max().unwrap_or(0);
    let mut strings: Vec<(u64, &[u8])> = scan.strings.iter().map(|(&id, &s)| (id, s)).collect();
    // Messages are numbered in order of first appearance in the ordered stream.
    let mut messages: FxHashMap<&[u8], u64> = FxHashMap::default();
    for i in 0..events.len() {
        let event = events.get_mut(i);
        if event.ty != ev::USER_LOG {
            continue;
        }
        let (start, len) = (event.args[2] as usize, event.args[3] as usize);
        let text = &bytes[start..start + len];
        let next = messages.len() as u64;
        let index = *messages.entry(text).or_insert(next);
        event.args[2] = 0;
        event.args[3] = max_id.wrapping_add(1).wrapping_add(index);
    }
    let builtin_base = max_id.wrapping_add(messages.len() as u64).wrapping_add(1);
    strings.extend(messages.into_iter().map(|(text, index)| (max_id.wrapping_add(1).wrapping_add(index), text)));
    strings
        .extend(BUILTIN_STRINGS.iter().enumerate().map(|(i, s)| (builtin_base.wrapping_add(i as u64), s.as_bytes())));
    let stacks: Vec<(u64, &[u64])> = scan.stacks.iter().map(|(&id, pcs)| (u64::from(id), pcs.as_slice())).collect();
    let frame = |pc: u64| {
        let OldFrame { func, file, line } = scan.frames.get(&pc).copied().unwrap_or_default();
        FrameInfo { func, file, line }
    };
    (GenerationTables::assemble(1, strings, stacks, frame), builtin_base)
}

/// For each `GoSysCall` event, whether its goroutine's next event is a `GoSysBlock` (the call
/// blocked), as Go looks ahead for it; a bitmap by event index.
fn blocked_syscalls(events: &Ordered) -> Vec<u64> {
    let mut blocked = vec![0u64; events.len().div_ceil(64)];
    let mut next_type: FxHashMap<u64, u8> = FxHashMap::default();
    for i in (0..events.len()).rev() {
        let event = events.get(i);
        if event.ty == ev::GO_SYSCALL && next_type.get(&event.g) == Some(&ev::GO_SYS_BLOCK) {
            blocked[i / 64] |= 1 << (i % 64);
        }
        next_type.insert(event.g, event.ty);
    }
    blocked
}

/// The ordered events of an old trace, converted one by one as they are read.
pub(crate) struct Converter {
    version: OldVersion,
    events: Ordered,
    next: usize,
    blocked_syscalls: Vec<u64>,
    tables: Arc<GenerationTables>,
    builtin_base: u64,
    /// Before the first `Gomaxprocs`, the runtime describes the goroutines that already exist.
    pre_init: bool,
    created_pre_init: BTreeSet<u64>,
    pending: VecDeque<Event>,
    /// Open tasks: their parent and name string ID.
    tasks: FxHashMap<u64, (u64, u64)>,
    seen_procs: FxHashSet<i32>,
    proc_threads: FxHashMap<i32, i64>,
    last_stw_reason: u64,
    last_ts: i64,
    syncs: u64,
    done: bool,
}

impl Converter {
    pub(crate) fn new(bytes: &[u8], version: OldVersion, scan: &Scan<'_>, mut events: Ordered) -> Converter {
        let (tables, builtin_base) = build_tables(bytes, scan, &mut events);
        Converter {
            version,
            blocked_syscalls: blocked_syscalls(&events),
            events,
            next: 0,
            tables: Arc::new(tables),
            builtin_base,
            pre_init: true,
            created_pre_init: BTreeSet::new(),
            pending: VecDeque::new(),
            tasks: FxHashMap::default(),
            seen_procs: FxHashSet::default(),
            proc_threads: FxHashMap::default(),
            last_stw_reason: 0,
            last_ts: -1,
            syncs: 0,
            done: false,
        }
    }

    /// The trace's one table.
    pub(crate) fn tables(&self) -> &GenerationTables {
        &self.tables
    }

    pub(crate) fn shared_tables(&self) -> Arc<GenerationTables> {
        Arc::clone(&self.tables)
    }

    fn builtin(&self, index: usize) -> u64 {
        self.builtin_base.wrapping_add(index as u64)
    }

    fn sync(&mut self, time: i64, generation: u32) -> Event {
        self.syncs += 1;
        Event::sync(self.syncs, time, generation)
    }

    /// The next event of the stream, an error, or `None` after the closing `Sync`.
    pub(crate) fn next_event(&mut self) -> Option<Result<Event, Error>> {
        if self.done {
            return None;
        }
        if self.syncs == 0 && self.events.len() > 0 {
            // The trace opens with a `Sync` just before its first event.
            let time = self.events.get(0).ts - 1;
            return Some(Ok(self.sync(time, ONLY_GENERATION)));
        }
        loop {
            let mut event = match self.pending.pop_front() {
                Some(event) => event,
                None => {
                    if self.next == self.events.len() {
                        self.done = true;
                        let time = self.last_ts + 1;
                        return Some(Ok(self.sync(time, u32::MAX)));
                    }
                    let old = *self.events.get(self.next);
                    let index = self.next;
                    self.next += 1;
                    match self.convert(&old, index) {
                        Ok(Some(event)) => event,
                        Ok(None) => continue,
                        Err(error) => {
                            self.done = true;
                            return Some(Err(error));
                        }
                    }
                }
            };
            // Times are strictly increasing in the new model; converted events may collide.
            if event.time <= self.last_ts {
                event.time = self.last_ts + 1;
            }
            self.last_ts = event.time;
            return Some(Ok(event));
        }
    }

    fn event(&self, ty: EventType, old: &OldEvent, m: i64, g: i64, args: [u64; 4]) -> Event {
        Event {
            ty: ty.0,
            time: old.ts,
            m,
            p: i64::from(old.p),
            g,
            args,
            extra: [0; 2],
            generation: ONLY_GENERATION,
            offset: old.offset,
        }
    }

    /// The thread that holds `p`, as Go's early returns look it up (0 when unknown).
    fn thread_or_zero(&self, p: i32) -> i64 {
        self.proc_threads.get(&p).copied().unwrap_or(0)
    }

    /// Converts one event; `None` when it has no counterpart of its own.
    fn convert(&mut self, old: &OldEvent, index: usize) -> Result<Option<Event>, Error> {
        let a = old.args;
        let mut args = a;
        let mut extra = [0u64; 2];
        let ty = if let Some((ty, reason)) = stop_or_block(old.ty) {
            args = [self.builtin(reason), 0, 0, 0];
            ty
        } else {
            match old.ty {
                ev::GOMAXPROCS => {
                    if self.pre_init {
                        // The first one ends the description of the goroutines that existed when
                        // tracing started; those not yet described were runnable.
                        self.pre_init = false;
                        for g in std::mem::take(&mut self.created_pre_init) {
                            let status = [g, NO_THREAD_ARG, GO_RUNNABLE, 0];
                            let mut event = self.event(EventType::GoStatus, old, NONE, NONE, status);
                            event.p = NONE;
                            self.pending.push_back(event);
                        }
                        return Ok(None);
                    }
                    EventType::ProcsChange
                }
                ev::PROC_START => {
                    self.proc_threads.insert(old.p, a[0] as i64);
                    args = [old.p as i64 as u64, 0, 0, 0];
                    if self.seen_procs.insert(old.p) {
                        args[1] = PROC_RUNNING;
                        EventType::ProcStatus
                    } else {
                        EventType::ProcStart
                    }
                }
                ev::PROC_STOP => {
                    args = [old.p as i64 as u64, 0, 0, 0];
                    if self.seen_procs.insert(old.p) {
                        args[1] = PROC_IDLE;
                        EventType::ProcStatus
                    } else {
                        EventType::ProcStop
                    }
                }
                ev::GC_START => EventType::GCBegin,
                ev::GC_DONE => EventType::GCEnd,
                ev::STW_START => {
                    let reason = self.builtin(builtin::STW_UNKNOWN + stw_kind(self.version, a[0]));
                    self.last_stw_reason = reason;
                    args = [reason, 0, 0, 0];
                    EventType::STWBegin
                }
                ev::STW_DONE => {
                    args = [self.last_stw_reason, 0, 0, 0];
                    EventType::STWEnd
                }
                ev::GC_SWEEP_START => EventType::GCSweepBegin,
                ev::GC_SWEEP_DONE => EventType::GCSweepEnd,
                ev::GO_CREATE => {
                    if self.pre_init {
                        self.created_pre_init.insert(a[0]);
                        return Ok(None);
                    }
                    if self.version.has_event_seq() {
                        // Go 1.5 records the new goroutine's start PC, not a stack: no stack.
                        args[1] = 0;
                    }
                    EventType::GoCreate
                }
                ev::GO_START => {
                    if self.pre_init {
                        self.created_pre_init.remove(&a[0]);
                        args = [a[0], NO_THREAD_ARG, GO_RUNNING, 0];
                        EventType::GoStatus
                    } else {
                        EventType::GoStart
                    }
                }
                ev::GO_START_LABEL => {
                    let (m, g) = (self.thread_or_zero(old.p), old.g as i64);
                    let label = self.event(EventType::GoLabel, old, m, g, [a[2], 0, 0, 0]);
                    self.pending.push_back(label);
                    return Ok(Some(self.event(EventType::GoStart, old, m, g, a)));
                }
                ev::GO_END => EventType::GoDestroy,
                ev::GO_UNBLOCK => EventType::GoUnblock,
                ev::GO_SYSCALL => {
                    let blocked = self.blocked_syscalls[index / 64] & (1 << (index % 64)) != 0;
                    args = [0, u64::from(old.stack), 0, 0];
                    if !blocked {
                        // A syscall that did not block lasts the shortest possible time.
                        let (m, g) = (self.thread_or_zero(old.p), old.g as i64);
                        let mut end = self.event(EventType::GoSyscallEnd, old, m, g, [0; 4]);
                        end.time = old.ts + 1;
                        self.pending.push_back(end);
                        return Ok(Some(self.event(EventType::GoSyscallBegin, old, m, g, args)));
                    }
                    EventType::GoSyscallBegin
                }
                ev::GO_SYS_EXIT => EventType::GoSyscallEndBlocked,
                ev::GO_SYS_BLOCK => return Ok(None),
                ev::GO_WAITING | ev::GO_IN_SYSCALL => {
                    self.created_pre_init.remove(&a[0]);
                    // Old traces do not say which thread a goroutine's syscall is on.
                    let status = if old.ty == ev::GO_WAITING { GO_WAITING } else { GO_SYSCALL };
                    args = [a[0], NO_THREAD_ARG, status, 0];
                    EventType::GoStatus
                }
                ev::HEAP_ALLOC => EventType::HeapAlloc,
                ev::HEAP_GOAL => EventType::HeapGoal,
                ev::GC_MARK_ASSIST_START => EventType::GCMarkAssistBegin,
                ev::GC_MARK_ASSIST_DONE => EventType::GCMarkAssistEnd,
                ev::USER_TASK_CREATE => {
                    let parent = if a[1] == 0 { NO_TASK } else { a[1] };
                    args = [a[0], parent, a[2], 0];
                    self.tasks.insert(a[0], (a[1], a[2]));
                    EventType::UserTaskBegin
                }
                ev::USER_TASK_END => {
                    // The task's parent and name travel with its end, as in the new model.
                    let (parent, name) = self.tasks.remove(&a[0]).unwrap_or((NO_TASK, 0));
                    extra = [parent, TASK_NAME_ID | name];
                    EventType::UserTaskEnd
                }
                ev::USER_REGION => {
                    args = [a[0], a[2], 0, 0];
                    if a[1] == 0 { EventType::UserRegionBegin } else { EventType::UserRegionEnd }
                }
                ev::USER_LOG => {
                    args = [a[0], a[1], a[3], 0];
                    EventType::UserLog
                }
                ev::CPU_SAMPLE => {
                    args = [u64::from(old.stack), NO_THREAD_ARG, old.p as i64 as u64, old.g];
                    EventType::CPUSample
                }
                ev::FUTILE_WAKEUP if self.version.0 < 11 => {
                    // Go 1.5-1.10 mark a wakeup that found nothing to do; the new model has no such
                    // event, and the goroutine's transitions around it stand on their own.
                    return Ok(None);
                }
                other => {
                    let message = format!("unexpected event type {other}");
                    return Err(Error::new(ErrorKind::InvalidOldTrace(message), old.offset));
                }
            }
        };
        let has_stack = super::spec::spec(old.ty).is_some_and(|s| s.stack);
        if has_stack && let Some(&position) = ty.spec().and_then(|s| s.stack_args.first()) {
            args[position - 1] = u64::from(old.stack);
        }
        let m = if old.p != -1 && old.ty != ev::CPU_SAMPLE {
            self.proc_threads.get(&old.p).copied().unwrap_or(NONE)
        } else {
            NONE
        };
        if old.ty == ev::PROC_STOP {
            self.proc_threads.remove(&old.p);
        }
        let g = if old.g == 0 { NONE } else { old.g as i64 };
        let mut event = self.event(ty, old, m, g, args);
        event.extra = extra;
        Ok(Some(event))
    }
}

/// The new-model event and reason string of an old event that stops or blocks a goroutine.
fn stop_or_block(ty: u8) -> Option<(EventType, usize)> {
    Some(match ty {
        ev::GO_STOP => (EventType::GoBlock, builtin::FOREVER),
        ev::GO_SCHED => (EventType::GoStop, builtin::GOSCHED),
        ev::GO_PREEMPT => (EventType::GoStop, builtin::PREEMPTED),
        ev::GO_SLEEP => (EventType::GoBlock, builtin::SLEEP),
        ev::GO_BLOCK => (EventType::GoBlock, builtin::EMPTY),
        ev::GO_BLOCK_SEND => (EventType::GoBlock, builtin::CHAN_SEND),
        ev::GO_BLOCK_RECV => (EventType::GoBlock, builtin::CHAN_RECV),
        ev::GO_BLOCK_SELECT => (EventType::GoBlock, builtin::SELECT),
        ev::GO_BLOCK_SYNC => (EventType::GoBlock, builtin::SYNC),
        ev::GO_BLOCK_COND => (EventType::GoBlock, builtin::SYNC_COND),
        ev::GO_BLOCK_NET => (EventType::GoBlock, builtin::NETWORK),
        ev::GO_BLOCK_GC => (EventType::GoBlock, builtin::MARK_ASSIST_WAIT),
        _ => return None,
    })
}
