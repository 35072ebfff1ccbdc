//! The ordering engine: accepts an event only when the state it describes follows from the
//! current state of its goroutine, proc and thread, exactly as Go's reader does
//! (`internal/trace/order.go`), and rewrites ("smuggles") some arguments so that each event
//! can be understood on its own.

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use crate::error::{Error, ErrorKind};
use crate::event::{Event, NONE, go_state, go_state_of_status, proc_state, proc_state_of_status};
use crate::generation::{GenerationTables, TASK_NAME_ID};
use crate::spec::EventType;

/// Wire goroutine statuses.
pub(crate) mod gstatus {
    pub const RUNNABLE: u64 = 1;
    pub const RUNNING: u64 = 2;
    pub const SYSCALL: u64 = 3;
    pub const WAITING: u64 = 4;
    pub const NAMES: [&str; 5] = ["Bad", "Runnable", "Running", "Syscall", "Waiting"];
}

/// Wire proc statuses.
pub(crate) mod pstatus {
    pub const RUNNING: u64 = 1;
    pub const IDLE: u64 = 2;
    pub const SYSCALL: u64 = 3;
    pub const SYSCALL_ABANDONED: u64 = 4;
    pub const NAMES: [&str; 5] = ["Bad", "Running", "Idle", "Syscall", "SyscallAbandoned"];
}

/// An event as read from a batch, before ordering.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BaseEvent {
    pub ty: u8,
    pub time: i64,
    pub args: [u64; 4],
    pub offset: u64,
}

/// A sequence number scoped to its generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seq {
    generation: u64,
    n: u64,
}

impl Seq {
    fn succeeds(self, previous: Seq) -> bool {
        self.generation == previous.generation && self.n == previous.n.wrapping_add(1)
    }
}

/// A range in flight on a goroutine or proc: its start event type and description (the STW
/// kind string for stop-the-world ranges).
type RangeType = (u8, u64);

#[derive(Debug)]
struct GState {
    status: u64,
    seq: Seq,
    regions: Vec<Region>,
    ranges: Vec<RangeType>,
}

/// A region in flight: its task and name. The name is a string ID of the generation it began
/// in (an index of the reader's tables): no copy per region. When the reader lets go of a
/// generation's tables, the names still in flight are copied into the engine
/// ([`Ordering::adopt_names`]) and marked with [`OWNED`].
#[derive(Debug, Clone, Copy)]
struct Region {
    task: u64,
    table_index: u32,
    name: u64,
}

/// A task in flight: its name (a string ID of the generation it began in, or an owned copy,
/// as for regions) and parent.
#[derive(Debug, Clone, Copy)]
struct Task {
    table_index: u32,
    name: u64,
    parent: u64,
}

/// The table index of a name the engine holds itself: the name is an index of
/// `Ordering::owned_names`.
const OWNED: u32 = u32::MAX;

#[derive(Debug)]
struct PState {
    status: u64,
    seq: Seq,
    ranges: Vec<RangeType>,
}

#[derive(Debug, Clone, Copy)]
struct MState {
    g: i64,
    p: i64,
}

/// The states of threads, in slots that never move, found by ID through an index. A cursor
/// finds its thread's slot once and then reaches the state without hashing, for every event.
#[derive(Debug, Default)]
struct Threads {
    states: Vec<(i64, MState)>,
    index: HashMap<i64, u32>,
}

impl Threads {
    /// The slot of thread `id`, created (with no proc or goroutine) if it has none.
    fn slot(&mut self, id: i64) -> u32 {
        if let Some(&slot) = self.index.get(&id) {
            return slot;
        }
        self.insert(id, MState { g: NONE, p: NONE })
    }

    fn insert(&mut self, id: i64, state: MState) -> u32 {
        let slot = self.states.len() as u32;
        self.states.push((id, state));
        self.index.insert(id, slot);
        slot
    }

    fn get_mut(&mut self, id: i64) -> Option<&mut MState> {
        let slot = *self.index.get(&id)?;
        Some(&mut self.states[slot as usize].1)
    }
}

/// The states of live goroutines by ID. The runtime hands goroutine IDs out in order, so most
/// are found through a vector indexed by ID, without hashing; an ID far beyond what the live
/// goroutines justify (a long-running program's, or a hostile trace's) goes to a hash map, so
/// that memory stays proportional to the goroutines alive at once.
#[derive(Debug, Default)]
struct Goroutines {
    /// By ID, the slot in `states` plus one; 0 for none.
    slots: Vec<u32>,
    states: Vec<GState>,
    /// Slots of `states` free for reuse.
    free: Vec<u32>,
    /// Goroutines whose IDs `slots` does not cover; it never holds an ID below `slots.len()`.
    sparse: HashMap<i64, GState>,
}

/// IDs that `slots` covers whatever the number of live goroutines, and per live goroutine.
const DENSE_IDS_MIN: usize = 4096;
const DENSE_IDS_PER_LIVE: usize = 64;

impl Goroutines {
    #[inline]
    fn slot(&self, id: i64) -> Option<Option<usize>> {
        let index = usize::try_from(id).ok().filter(|&i| i < self.slots.len())?;
        Some(self.slots[index].checked_sub(1).map(|slot| slot as usize))
    }

    #[inline]
    fn get(&self, id: &i64) -> Option<&GState> {
        match self.slot(*id) {
            Some(slot) => slot.map(|slot| &self.states[slot]),
            None => self.sparse.get(id),
        }
    }

    #[inline]
    fn get_mut(&mut self, id: &i64) -> Option<&mut GState> {
        match self.slot(*id) {
            Some(slot) => slot.map(|slot| &mut self.states[slot]),
            None => self.sparse.get_mut(id),
        }
    }

    fn contains_key(&self, id: &i64) -> bool {
        self.get(id).is_some()
    }

    fn live(&self) -> usize {
        self.states.len() - self.free.len() + self.sparse.len()
    }

    /// Adds goroutine `id`, which has no state.
    fn insert(&mut self, id: i64, state: GState) {
        let Ok(index) = usize::try_from(id) else {
            self.sparse.insert(id, state);
            return;
        };
        if index >= self.slots.len() {
            let limit = DENSE_IDS_MIN + DENSE_IDS_PER_LIVE * self.live();
            if index >= limit {
                self.sparse.insert(id, state);
                return;
            }
            self.grow((index + 1).max(2 * self.slots.len()).min(limit));
        }
        self.slots[index] = self.store(state) + 1;
    }

    /// Puts `state` in a free slot of `states`, or a new one, and returns the slot.
    fn store(&mut self, state: GState) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                self.states[slot as usize] = state;
                slot
            }
            None => {
                self.states.push(state);
                self.states.len() as u32 - 1
            }
        }
    }

    /// Covers IDs below `len` with `slots`, moving the goroutines it now covers out of
    /// `sparse`, so that each ID lives in one place.
    fn grow(&mut self, len: usize) {
        self.slots.resize(len, 0);
        if self.sparse.is_empty() {
            return;
        }
        let covered: Vec<i64> = self.sparse.keys().copied().filter(|&id| (0..len as i64).contains(&id)).collect();
        for id in covered {
            if let Some(state) = self.sparse.remove(&id) {
                self.slots[id as usize] = self.store(state) + 1;
            }
        }
    }

    fn remove(&mut self, id: &i64) {
        match self.slot(*id) {
            Some(Some(slot)) => {
                self.slots[*id as usize] = 0;
                // A free slot holds no regions, so that `values_mut` may pass over it.
                self.states[slot].regions.clear();
                self.free.push(slot as u32);
            }
            Some(None) => {}
            None => {
                self.sparse.remove(id);
            }
        }
    }

    /// The state of every live goroutine (and stale ones, without regions, of free slots).
    fn values_mut(&mut self) -> impl Iterator<Item = &mut GState> {
        self.states.iter_mut().chain(self.sparse.values_mut())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GcState {
    Undetermined,
    NotRunning,
    Running,
}

/// The scheduling context of an event: thread, proc, goroutine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ctx {
    m: i64,
    p: i64,
    g: i64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    MustNot,
    May,
    Must,
}

const USER: [Need; 3] = [Need::Must, Need::Must, Need::Must];

/// What a handler decided.
enum Step {
    /// The event cannot be ordered yet; try another thread.
    NotYet,
    /// Accepted; the thread's new proc and goroutine.
    Accept(Ctx),
}

/// The ordering engine. Its state persists across generations.
#[derive(Debug)]
pub(crate) struct Ordering {
    /// Names of tasks and regions that outlived their generation\'s tables.
    owned_names: Vec<Box<[u8]>>,
    gs: Goroutines,
    ps: HashMap<i64, PState>,
    ms: Threads,
    tasks: HashMap<u64, Task>,
    gc_seq: u64,
    gc_state: GcState,
    initial_generation: u64,
}

fn as_id(raw: u64) -> i64 {
    raw as i64
}

/// The generation being ordered: its index in the reader's tables and its number in the trace.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GenerationId {
    pub(crate) table_index: u32,
    pub(crate) number: u64,
}

/// The "no task" ID that replaces a parent of 0.
const NO_TASK: u64 = u64::MAX;

impl Ordering {
    pub(crate) fn new() -> Ordering {
        Ordering {
            gs: Goroutines::default(),
            ps: HashMap::default(),
            ms: Threads::default(),
            tasks: HashMap::default(),
            gc_seq: 0,
            gc_state: GcState::Undetermined,
            initial_generation: 0,
            owned_names: Vec::new(),
        }
    }

    /// Copies the names of tasks and regions still in flight that live in the tables of
    /// generation `dropping`, which the reader is about to let go of.
    pub(crate) fn adopt_names(&mut self, tables: &GenerationTables, dropping: u32) {
        let owned = &mut self.owned_names;
        let mut adopt = |table_index: &mut u32, name: &mut u64| {
            if *table_index == dropping {
                owned.push(tables.string(*name).unwrap_or_default().into());
                *table_index = OWNED;
                *name = owned.len() as u64 - 1;
            }
        };
        for task in self.tasks.values_mut() {
            adopt(&mut task.table_index, &mut task.name);
        }
        for g in self.gs.values_mut() {
            for region in &mut g.regions {
                adopt(&mut region.table_index, &mut region.name);
            }
        }
    }

    /// Offers `ev`, read from thread `m` in generation `generation`, to the engine. Returns
    /// whether it was accepted (and appended to `out`, with the events it implies; on an
    /// error, `out` may hold some of them, which the caller drops). `tables` are the reader's
    /// tables; `m_slot` caches the thread's slot for the engine.
    #[inline(always)]
    pub(crate) fn advance(
        &mut self,
        ev: &mut BaseEvent,
        tables: &[Option<Arc<GenerationTables>>],
        generation: GenerationId,
        m: u64,
        m_slot: &mut Option<u32>,
        out: &mut Vec<Event>,
    ) -> Result<bool, Error> {
        let GenerationId { table_index, number: generation } = generation;
        if self.initial_generation == 0 {
            self.initial_generation = generation;
        }
        let m = as_id(m);
        let slot = if m == NONE { 0 } else { *m_slot.get_or_insert_with(|| self.ms.slot(m)) as usize };
        let cur = if m == NONE {
            Ctx { m, p: NONE, g: NONE }
        } else {
            let state = self.ms.states[slot].1;
            Ctx { m, p: state.p, g: state.g }
        };
        let offset = ev.offset;
        let mut emit = Emit { out, table_index, time: ev.time, offset };
        let state = State {
            gs: &mut self.gs,
            ps: &mut self.ps,
            ms: &mut self.ms,
            tasks: &mut self.tasks,
            gc_seq: &mut self.gc_seq,
            gc_state: &mut self.gc_state,
        };
        let initial = generation == self.initial_generation;
        let all_tables = tables;
        // The reader always holds the tables of the generation being ordered.
        let Some(tables) = tables.get(table_index as usize).and_then(Option::as_deref) else {
            return Err(Error::new(ErrorKind::Ordering("no tables for the current generation".into()), offset));
        };
        let owned_names = &self.owned_names;
        let step = Handler { o: state, initial, generation, tables, all_tables, owned_names, table_index, ev }
            .run(cur, &mut emit)
            .map_err(|message| Error::new(ErrorKind::Ordering(message), offset))?;
        match step {
            Step::NotYet => Ok(false),
            Step::Accept(new) => {
                if m != NONE {
                    // Two separate moves: the handler wrote the two values one by one, and
                    // reading them back as one wide value would stall the processor (a store
                    // cannot be forwarded to a wider load) on every event.
                    let state = &mut self.ms.states[slot].1;
                    state.p = new.p;
                    std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
                    state.g = new.g;
                }
                Ok(true)
            }
        }
    }
}

struct State<'s> {
    gs: &'s mut Goroutines,
    ps: &'s mut HashMap<i64, PState>,
    ms: &'s mut Threads,
    tasks: &'s mut HashMap<u64, Task>,
    gc_seq: &'s mut u64,
    gc_state: &'s mut GcState,
}

/// Queues accepted events with their context.
struct Emit<'q> {
    out: &'q mut Vec<Event>,
    table_index: u32,
    /// The time and offset of the event being ordered, for the events it implies.
    time: i64,
    offset: u64,
}

impl Emit<'_> {
    #[inline]
    fn push(&mut self, ctx: Ctx, ev: &BaseEvent, extra: [u64; 2]) {
        let event = Event {
            ty: ev.ty,
            time: ev.time,
            m: ctx.m,
            p: ctx.p,
            g: ctx.g,
            args: ev.args,
            extra,
            generation: self.table_index,
            offset: ev.offset,
        };
        self.out.push(event);
    }

    /// Queues an event the engine makes up (the parts of a goroutine switch, a steal).
    fn synthetic(&mut self, ctx: Ctx, ty: EventType, args: [u64; 4], extra: [u64; 2]) {
        let ev = BaseEvent { ty: ty.0, time: self.time, args, offset: self.offset };
        self.push(ctx, &ev, extra);
    }
}

struct Handler<'h, 's> {
    o: State<'s>,
    initial: bool,
    generation: u64,
    /// The tables of the event's generation, which is `all_tables[table_index]`.
    tables: &'h GenerationTables,
    all_tables: &'h [Option<Arc<GenerationTables>>],
    owned_names: &'h [Box<[u8]>],
    table_index: u32,
    ev: &'h mut BaseEvent,
}

type Outcome = Result<Step, String>;

#[inline(always)]
fn check(ctx: Ctx, needs: [Need; 3]) -> Result<(), String> {
    // Called for nearly every event with constant needs: this folds to two or three
    // comparisons, and the message is built out of line.
    let fits = |value: i64, need: Need| match need {
        Need::Must => value != NONE,
        Need::MustNot => value == NONE,
        Need::May => true,
    };
    if fits(ctx.m, needs[0]) && fits(ctx.p, needs[1]) && fits(ctx.g, needs[2]) {
        return Ok(());
    }
    check_failed(ctx, needs)
}

#[cold]
#[inline(never)]
fn check_failed(ctx: Ctx, needs: [Need; 3]) -> Result<(), String> {
    let checks = [(ctx.m, needs[0], "thread"), (ctx.p, needs[1], "proc"), (ctx.g, needs[2], "goroutine")];
    for (value, need, what) in checks {
        match need {
            Need::Must if value == NONE => return Err(format!("expected a {what} but didn't have one")),
            Need::MustNot if value != NONE => return Err(format!("expected no {what} but had one")),
            _ => {}
        }
    }
    Ok(())
}

fn name(ty: u8) -> &'static str {
    EventType(ty).name()
}

impl<'h> Handler<'h, '_> {
    fn seq(&self, n: u64) -> Seq {
        Seq { generation: self.generation, n }
    }

    #[inline(always)]
    fn run(self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        let ty = self.ev.ty;
        match EventType(ty) {
            EventType::ProcsChange | EventType::GoLabel | EventType::UserLog => self.annotation(cur, emit),
            EventType::ProcStart => self.proc_start(cur, emit),
            EventType::ProcStop => self.proc_stop(cur, emit),
            EventType::ProcSteal => self.proc_steal(cur, emit),
            EventType::ProcStatus => self.proc_status(cur, emit),
            EventType::GoCreate | EventType::GoCreateBlocked => self.go_create(cur, emit),
            EventType::GoCreateSyscall => self.go_create_syscall(cur, emit),
            EventType::GoStart => self.go_start(cur, emit),
            EventType::GoDestroy | EventType::GoStop | EventType::GoBlock => self.go_stop_exec(cur, emit),
            EventType::GoDestroySyscall => self.go_destroy_syscall(cur, emit),
            EventType::GoUnblock => self.go_unblock(cur, emit),
            EventType::GoSyscallBegin => self.go_syscall_begin(cur, emit),
            EventType::GoSyscallEnd => self.go_syscall_end(cur, emit),
            EventType::GoSyscallEndBlocked => self.go_syscall_end_blocked(cur, emit),
            EventType::GoStatus | EventType::GoStatusStack => self.go_status(cur, emit),
            EventType::STWBegin | EventType::GCMarkAssistBegin => self.go_range_begin(cur, emit),
            EventType::STWEnd | EventType::GCMarkAssistEnd => self.go_range_end(cur, emit),
            EventType::GCMarkAssistActive => self.go_range_active(cur, emit),
            EventType::GCActive => self.gc_active(cur, emit),
            EventType::GCBegin => self.gc_begin(cur, emit),
            EventType::GCEnd => self.gc_end(cur, emit),
            EventType::GCSweepBegin => self.sweep_begin(cur, emit),
            EventType::GCSweepActive => self.sweep_active(cur, emit),
            EventType::GCSweepEnd => self.sweep_end(cur, emit),
            EventType::HeapAlloc | EventType::HeapGoal => {
                check(cur, [Need::Must, Need::Must, Need::May])?;
                emit.push(cur, self.ev, [0; 2]);
                Ok(Step::Accept(cur))
            }
            EventType::UserTaskBegin => self.task_begin(cur, emit),
            EventType::UserTaskEnd => self.task_end(cur, emit),
            EventType::UserRegionBegin | EventType::UserRegionEnd => self.region(cur, emit),
            EventType::GoSwitch | EventType::GoSwitchDestroy => self.go_switch(cur, emit),
            _ if ty >= 128 => {
                check(cur, [Need::Must, Need::May, Need::May])?;
                emit.push(cur, self.ev, [0; 2]);
                Ok(Step::Accept(cur))
            }
            _ => Err(format!("bad event type found while ordering: {ty}")),
        }
    }

    fn annotation(self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        check(cur, USER)?;
        emit.push(cur, self.ev, [0; 2]);
        Ok(Step::Accept(cur))
    }

    fn proc_status(self, mut cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        let pid = as_id(self.ev.args[0]);
        let status = self.ev.args[1];
        if status >= 5 {
            return Err(format!("invalid status for proc {pid}: {status}"));
        }
        let mut old = proc_state_of_status(status);
        match self.o.ps.get_mut(&pid) {
            Some(state) => {
                if status == pstatus::SYSCALL_ABANDONED && state.status == pstatus::SYSCALL {
                    // The proc was in a syscall when the generation started and was stolen
                    // before this status was written: it was running until the steal.
                    old = proc_state::RUNNING;
                    self.ev.args[1] = pstatus::SYSCALL;
                } else if status == pstatus::SYSCALL_ABANDONED && state.status == pstatus::SYSCALL_ABANDONED {
                    old = proc_state::IDLE;
                    self.ev.args[1] = pstatus::SYSCALL_ABANDONED;
                } else if state.status != status {
                    return Err(format!(
                        "inconsistent status for proc {pid}: old {} vs. new {}",
                        pstatus::NAMES[state.status as usize],
                        pstatus::NAMES[status as usize]
                    ));
                }
                state.seq = Seq { generation: self.generation, n: 0 };
            }
            None => {
                self.o
                    .ps
                    .insert(pid, PState { status, seq: Seq { generation: self.generation, n: 0 }, ranges: Vec::new() });
                old = if self.initial { proc_state::UNDETERMINED } else { proc_state::NOT_EXIST };
            }
        }
        let mut new = cur;
        if status == pstatus::RUNNING || status == pstatus::SYSCALL {
            new.p = pid;
        }
        if status == pstatus::SYSCALL_ABANDONED && old == proc_state::RUNNING {
            // Attribute the event to the thread that holds the proc about to be stolen. The
            // lowest thread ID wins if several claim it, for determinism.
            let holder = self.o.ms.states.iter().filter(|(_, ms)| ms.p == pid).copied().min_by_key(|(id, _)| *id);
            let Some((mid, ms)) = holder else {
                return Err(format!("failed to find sched context for proc {pid} that's about to be stolen"));
            };
            cur = Ctx { m: mid, p: pid, g: ms.g };
        }
        emit.push(cur, self.ev, [old, 0]);
        Ok(Step::Accept(new))
    }

    fn proc_start(self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        let pid = as_id(self.ev.args[0]);
        let seq = self.seq(self.ev.args[1]);
        let Some(state) = self.o.ps.get_mut(&pid) else { return Ok(Step::NotYet) };
        if state.status != pstatus::IDLE || !seq.succeeds(state.seq) || cur.p != NONE {
            return Ok(Step::NotYet);
        }
        check(cur, [Need::Must, Need::MustNot, Need::May])?;
        state.status = pstatus::RUNNING;
        state.seq = seq;
        emit.push(cur, self.ev, [0; 2]);
        Ok(Step::Accept(Ctx { p: pid, ..cur }))
    }

    fn proc_stop(self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        let ty = self.ev.ty;
        let Some(state) = self.o.ps.get_mut(&cur.p) else {
            return Err(format!("event {} for proc ({}) that doesn't exist", name(ty), cur.p));
        };
        if state.status != pstatus::RUNNING && state.status != pstatus::SYSCALL {
            return Err(format!("{} event for proc that's not Running or Syscall", name(ty)));
        }
        check(cur, [Need::Must, Need::Must, Need::May])?;
        state.status = pstatus::IDLE;
        emit.push(cur, self.ev, [0; 2]);
        Ok(Step::Accept(Ctx { p: NONE, ..cur }))
    }

    fn proc_steal(self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        let pid = as_id(self.ev.args[0]);
        let seq = self.seq(self.ev.args[1]);
        let Some(state) = self.o.ps.get_mut(&pid) else { return Ok(Step::NotYet) };
        if (state.status != pstatus::SYSCALL && state.status != pstatus::SYSCALL_ABANDONED) || !seq.succeeds(state.seq)
        {
            return Ok(Step::NotYet);
        }
        check(cur, [Need::Must, Need::May, Need::May])?;
        let old = state.status;
        state.status = pstatus::IDLE;
        state.seq = seq;
        if old == pstatus::SYSCALL_ABANDONED {
            emit.push(cur, self.ev, [old, 0]);
            return Ok(Step::Accept(cur));
        }
        let victim = as_id(self.ev.args[2]);
        if victim == cur.m {
            if cur.p != pid {
                return Err(format!(
                    "tried to self-steal proc {pid} (thread {victim}), but got proc {} instead",
                    cur.p
                ));
            }
            emit.push(cur, self.ev, [old, 0]);
            return Ok(Step::Accept(Ctx { p: NONE, ..cur }));
        }
        let Some(ms) = self.o.ms.get_mut(victim) else {
            return Err(format!("stole proc from non-existent thread {victim}"));
        };
        if ms.p != pid {
            return Err(format!("tried to steal proc {pid} from thread {victim}, but got proc {} instead", ms.p));
        }
        ms.p = NONE;
        emit.push(cur, self.ev, [old, 0]);
        Ok(Step::Accept(cur))
    }

    fn go_status(self, mut cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        let gid = as_id(self.ev.args[0]);
        let mid = as_id(self.ev.args[1]);
        let status = self.ev.args[2];
        if status >= 5 {
            return Err(format!("invalid status for goroutine {gid}: {status}"));
        }
        let mut old = go_state_of_status(status);
        match self.o.gs.get_mut(&gid) {
            Some(state) => {
                if state.status != status {
                    return Err(format!(
                        "inconsistent status for goroutine {gid}: old {} vs. new {}",
                        gstatus::NAMES[state.status as usize],
                        gstatus::NAMES[status as usize]
                    ));
                }
                state.seq = Seq { generation: self.generation, n: 0 };
            }
            None if self.initial => {
                let seq = Seq { generation: self.generation, n: 0 };
                self.o.gs.insert(gid, GState { status, seq, regions: Vec::new(), ranges: Vec::new() });
                old = go_state::UNDETERMINED;
            }
            None => {
                return Err(format!(
                    "found goroutine status for new goroutine after the first generation: id={gid} status={}",
                    gstatus::NAMES[status as usize]
                ));
            }
        }
        self.ev.args[2] = (old << 32) | status;
        let mut new = cur;
        if status == gstatus::RUNNING {
            new.g = gid;
        } else if status == gstatus::SYSCALL {
            if mid == NONE {
                return Err(format!("found goroutine {gid} in syscall without a thread"));
            }
            if mid == cur.m {
                if !self.initial && cur.g != gid {
                    return Err(format!(
                        "inconsistent thread for syscalling goroutine {gid}: thread has goroutine {}",
                        cur.g
                    ));
                }
                new.g = gid;
            } else {
                // Written on behalf of another thread, blocked in the syscall.
                match self.o.ms.get_mut(mid).map(|ms| *ms) {
                    Some(ms) if ms.g != gid => {
                        return Err(format!(
                            "inconsistent thread for syscalling goroutine {gid}: thread has goroutine {}",
                            ms.g
                        ));
                    }
                    Some(ms) => cur.g = ms.g,
                    None => {
                        self.o.ms.insert(mid, MState { g: gid, p: NONE });
                    }
                }
                cur.m = mid;
            }
        }
        emit.push(cur, self.ev, [0; 2]);
        Ok(Step::Accept(new))
    }

    fn go_create(self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        let ty = self.ev.ty;
        check(cur, [Need::Must, Need::Must, Need::May])?;
        if self.o.gs.get(&cur.g).is_some_and(|s| s.status != gstatus::RUNNING) {
            return Err(format!("{} event for goroutine that's not Running", name(ty)));
        }
        let new_g = as_id(self.ev.args[0]);
        if self.o.gs.contains_key(&new_g) {
            return Err(format!("tried to create goroutine ({new_g}) that already exists"));
        }
        let status = if ty == EventType::GoCreateBlocked.0 { gstatus::WAITING } else { gstatus::RUNNABLE };
        let seq = Seq { generation: self.generation, n: 0 };
        self.o.gs.insert(new_g, GState { status, seq, regions: Vec::new(), ranges: Vec::new() });
        emit.push(cur, self.ev, [0; 2]);
        Ok(Step::Accept(cur))
    }

    #[inline(always)]
    fn running_goroutine(&mut self, cur: Ctx) -> Result<&mut GState, String> {
        let ty = self.ev.ty;
        let Some(state) = self.o.gs.get_mut(&cur.g) else {
            return Err(format!("event {} for goroutine ({}) that doesn't exist", name(ty), cur.g));
        };
        if state.status != gstatus::RUNNING {
            return Err(format!("{} event for goroutine that's not Running", name(ty)));
        }
        Ok(state)
    }

    #[inline(always)]
    fn go_stop_exec(mut self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        check(cur, USER)?;
        let ty = EventType(self.ev.ty);
        let state = self.running_goroutine(cur)?;
        match ty {
            EventType::GoStop => state.status = gstatus::RUNNABLE,
            EventType::GoBlock => state.status = gstatus::WAITING,
            _ => {
                self.o.gs.remove(&cur.g);
            }
        }
        emit.push(cur, self.ev, [0; 2]);
        Ok(Step::Accept(Ctx { g: NONE, ..cur }))
    }

    #[inline(always)]
    fn go_start(self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        let gid = as_id(self.ev.args[0]);
        let seq = self.seq(self.ev.args[1]);
        let Some(state) = self.o.gs.get_mut(&gid) else { return Ok(Step::NotYet) };
        if state.status != gstatus::RUNNABLE || !seq.succeeds(state.seq) {
            return Ok(Step::NotYet);
        }
        check(cur, [Need::Must, Need::Must, Need::MustNot])?;
        state.status = gstatus::RUNNING;
        state.seq = seq;
        emit.push(cur, self.ev, [0; 2]);
        Ok(Step::Accept(Ctx { g: gid, ..cur }))
    }

    #[inline(always)]
    fn go_unblock(self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        let gid = as_id(self.ev.args[0]);
        let seq = self.seq(self.ev.args[1]);
        let Some(state) = self.o.gs.get_mut(&gid) else { return Ok(Step::NotYet) };
        if state.status != gstatus::WAITING || !seq.succeeds(state.seq) {
            return Ok(Step::NotYet);
        }
        state.status = gstatus::RUNNABLE;
        state.seq = seq;
        emit.push(cur, self.ev, [0; 2]);
        Ok(Step::Accept(cur))
    }

    fn go_switch(mut self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        check(cur, USER)?;
        self.running_goroutine(cur)?;
        let next = as_id(self.ev.args[0]);
        let seq = self.seq(self.ev.args[1]);
        match self.o.gs.get(&next) {
            Some(state) if state.status == gstatus::WAITING && seq.succeeds(state.seq) => {}
            _ => return Ok(Step::NotYet),
        }
        emit.push(cur, self.ev, [0; 2]);
        if self.ev.ty == EventType::GoSwitch.0 {
            if let Some(state) = self.o.gs.get_mut(&cur.g) {
                state.status = gstatus::WAITING;
            }
            emit.synthetic(cur, EventType::GoBlock, [0; 4], [0; 2]);
        } else {
            self.o.gs.remove(&cur.g);
            emit.synthetic(cur, EventType::GoDestroy, [0; 4], [0; 2]);
        }
        if let Some(state) = self.o.gs.get_mut(&next) {
            state.status = gstatus::RUNNING;
            state.seq = seq;
        }
        emit.synthetic(Ctx { g: NONE, ..cur }, EventType::GoStart, [next as u64, self.ev.args[1], 0, 0], [0; 2]);
        Ok(Step::Accept(Ctx { g: next, ..cur }))
    }

    fn go_syscall_begin(mut self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        check(cur, USER)?;
        let ty = self.ev.ty;
        self.running_goroutine(cur)?.status = gstatus::SYSCALL;
        let seq = self.seq(self.ev.args[0]);
        let Some(p) = self.o.ps.get_mut(&cur.p) else {
            return Err(format!("uninitialized proc {} found during {}", cur.p, name(ty)));
        };
        p.status = pstatus::SYSCALL;
        if !seq.succeeds(p.seq) {
            return Err(format!(
                "failed to advance {}: can't make sequence: {} (gen={}) -> {} (gen={})",
                name(ty),
                p.seq.n,
                p.seq.generation,
                seq.n,
                seq.generation
            ));
        }
        p.seq = seq;
        emit.push(cur, self.ev, [0; 2]);
        Ok(Step::Accept(cur))
    }

    fn go_syscall_end(self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        check(cur, USER)?;
        let ty = self.ev.ty;
        let Some(g) = self.o.gs.get_mut(&cur.g) else {
            return Err(format!("event {} for goroutine ({}) that doesn't exist", name(ty), cur.g));
        };
        if g.status != gstatus::SYSCALL {
            return Err(format!("{} event for goroutine that's not Running", name(ty)));
        }
        g.status = gstatus::RUNNING;
        let Some(p) = self.o.ps.get_mut(&cur.p) else {
            return Err(format!("uninitialized proc {} found during {}", cur.p, name(ty)));
        };
        if p.status != pstatus::SYSCALL {
            return Err(format!(
                "expected proc {} in state Syscall, but got {} instead",
                cur.p,
                pstatus::NAMES[p.status as usize]
            ));
        }
        p.status = pstatus::RUNNING;
        emit.push(cur, self.ev, [0; 2]);
        Ok(Step::Accept(cur))
    }

    fn go_syscall_end_blocked(self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        let ty = self.ev.ty;
        if cur.p != NONE {
            let Some(p) = self.o.ps.get(&cur.p) else {
                return Err(format!("uninitialized proc {} found during {}", cur.p, name(ty)));
            };
            // Wait until the proc has been stolen or stopped.
            if p.status == pstatus::SYSCALL {
                return Ok(Step::NotYet);
            }
        }
        check(cur, [Need::Must, Need::May, Need::Must])?;
        let Some(g) = self.o.gs.get_mut(&cur.g) else {
            return Err(format!("event {} for goroutine ({}) that doesn't exist", name(ty), cur.g));
        };
        if g.status != gstatus::SYSCALL {
            return Err(format!("{} event for goroutine that's not Running", name(ty)));
        }
        g.status = gstatus::RUNNABLE;
        emit.push(cur, self.ev, [0; 2]);
        Ok(Step::Accept(Ctx { g: NONE, ..cur }))
    }

    fn go_create_syscall(self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        check(cur, [Need::Must, Need::May, Need::MustNot])?;
        let new_g = as_id(self.ev.args[0]);
        if self.o.gs.contains_key(&new_g) {
            return Err(format!("tried to create goroutine ({new_g}) in syscall that already exists"));
        }
        let seq = Seq { generation: self.generation, n: 0 };
        self.o.gs.insert(new_g, GState { status: gstatus::SYSCALL, seq, regions: Vec::new(), ranges: Vec::new() });
        emit.push(cur, self.ev, [0; 2]);
        Ok(Step::Accept(Ctx { g: new_g, ..cur }))
    }

    fn go_destroy_syscall(self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        let ty = self.ev.ty;
        check(cur, [Need::Must, Need::May, Need::Must])?;
        let Some(g) = self.o.gs.get(&cur.g) else {
            return Err(format!("event {} for goroutine ({}) that doesn't exist", name(ty), cur.g));
        };
        if g.status != gstatus::SYSCALL {
            return Err(format!("{} event for goroutine that's not Syscall", name(ty)));
        }
        self.o.gs.remove(&cur.g);
        let mut new = Ctx { g: NONE, ..cur };
        if cur.p != NONE {
            let Some(p) = self.o.ps.get_mut(&cur.p) else {
                return Err(format!("found invalid proc {} during {}", cur.p, name(ty)));
            };
            if p.status != pstatus::SYSCALL {
                return Err(format!(
                    "proc {} in unexpected state {} during {}",
                    cur.p,
                    pstatus::NAMES[p.status as usize],
                    name(ty)
                ));
            }
            p.status = pstatus::SYSCALL_ABANDONED;
            new.p = NONE;
            emit.synthetic(cur, EventType::ProcSteal, [cur.p as u64, 0, 0, 0], [pstatus::SYSCALL, 0]);
        }
        emit.push(cur, self.ev, [0; 2]);
        Ok(Step::Accept(new))
    }

    /// The text of a task or region name the engine keeps.
    fn name_bytes(&self, table_index: u32, name: u64) -> &'h [u8] {
        name_bytes(self.all_tables, self.owned_names, table_index, name)
    }

    fn task_begin(self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        let id = self.ev.args[0];
        if self.o.tasks.contains_key(&id) {
            return Err(format!("task ID conflict: {id}"));
        }
        if self.ev.args[1] == 0 {
            self.ev.args[1] = NO_TASK;
        }
        let name_id = self.ev.args[2];
        if !self.tables.has_string(name_id) {
            return Err(format!("invalid string ID {name_id} for {} event", self.ev.ty));
        }
        self.o.tasks.insert(id, Task { table_index: self.table_index, name: name_id, parent: self.ev.args[1] });
        check(cur, USER)?;
        emit.push(cur, self.ev, [0; 2]);
        Ok(Step::Accept(cur))
    }

    fn task_end(self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        // The task's name and parent come from its begin event, which may be in an earlier
        // generation whose strings are gone: carry the name along.
        let task = self.o.tasks.remove(&self.ev.args[0]);
        let parent = task.map_or(NO_TASK, |t| t.parent);
        let name_index = match task {
            // String 0 is the empty name of a task that began before the trace.
            None => TASK_NAME_ID,
            Some(t) if t.table_index == self.table_index && t.name & TASK_NAME_ID == 0 => t.name | TASK_NAME_ID,
            Some(t) => {
                let name = self.name_bytes(t.table_index, t.name);
                self.tables.add_extra_string(name.into())
            }
        };
        check(cur, USER)?;
        emit.push(cur, self.ev, [parent, name_index]);
        Ok(Step::Accept(cur))
    }

    fn region(self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        check(cur, USER)?;
        let ty = self.ev.ty;
        let (task, name_id) = (self.ev.args[0], self.ev.args[1]);
        let Some(name) = self.tables.string(name_id) else {
            return Err(format!("invalid string ID {name_id} for {ty} event"));
        };
        let begin = ty == EventType::UserRegionBegin.0;
        let label = if begin { "EvUserRegionBegin" } else { "EvUserRegionEnd" };
        let Some(g) = self.o.gs.get_mut(&cur.g) else {
            return Err(format!("encountered {label} without known state for current goroutine {}", cur.g));
        };
        if begin {
            g.regions.push(Region { task, table_index: self.table_index, name: name_id });
        } else if let Some(&top) = g.regions.last() {
            // A region that began before the trace started has no begin: its end is ignored.
            let same_name = top.table_index == self.table_index && top.name == name_id;
            let top_name = || name_bytes(self.all_tables, self.owned_names, top.table_index, top.name);
            if top.task != task || !same_name && top_name() != name {
                return Err(format!(
                    "misuse of region in goroutine {}: region end {{{task} {}}} when the inner-most active region start event is {{{} {}}}",
                    cur.g,
                    String::from_utf8_lossy(name),
                    top.task,
                    String::from_utf8_lossy(top_name())
                ));
            }
            g.regions.pop();
        }
        emit.push(cur, self.ev, [0; 2]);
        Ok(Step::Accept(cur))
    }

    fn gc_active(self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        let seq = self.ev.args[0];
        if self.initial {
            if *self.o.gc_state != GcState::Undetermined {
                return Err("GCActive in the first generation isn't first GC event".into());
            }
            *self.o.gc_seq = seq;
            *self.o.gc_state = GcState::Running;
            emit.push(cur, self.ev, [0; 2]);
            return Ok(Step::Accept(cur));
        }
        if seq != self.o.gc_seq.wrapping_add(1) {
            return Ok(Step::NotYet);
        }
        if *self.o.gc_state != GcState::Running {
            return Err("encountered GCActive while GC was not in progress".into());
        }
        *self.o.gc_seq = seq;
        check(cur, USER)?;
        emit.push(cur, self.ev, [0; 2]);
        Ok(Step::Accept(cur))
    }

    fn gc_begin(self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        let seq = self.ev.args[0];
        if *self.o.gc_state == GcState::Undetermined {
            *self.o.gc_seq = seq;
            *self.o.gc_state = GcState::Running;
            emit.push(cur, self.ev, [0; 2]);
            return Ok(Step::Accept(cur));
        }
        if seq != self.o.gc_seq.wrapping_add(1) {
            return Ok(Step::NotYet);
        }
        if *self.o.gc_state == GcState::Running {
            return Err("encountered GCBegin while GC was already in progress".into());
        }
        *self.o.gc_seq = seq;
        *self.o.gc_state = GcState::Running;
        check(cur, USER)?;
        emit.push(cur, self.ev, [0; 2]);
        Ok(Step::Accept(cur))
    }

    fn gc_end(self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        let seq = self.ev.args[0];
        if seq != self.o.gc_seq.wrapping_add(1) {
            return Ok(Step::NotYet);
        }
        match *self.o.gc_state {
            GcState::NotRunning => return Err("encountered GCEnd when GC was not in progress".into()),
            GcState::Undetermined => return Err("encountered GCEnd when GC was in an undetermined state".into()),
            GcState::Running => {}
        }
        *self.o.gc_seq = seq;
        *self.o.gc_state = GcState::NotRunning;
        check(cur, USER)?;
        emit.push(cur, self.ev, [0; 2]);
        Ok(Step::Accept(cur))
    }

    fn sweep_begin(self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        check(cur, [Need::Must, Need::Must, Need::May])?;
        let Some(p) = self.o.ps.get_mut(&cur.p) else {
            return Err(format!("uninitialized proc {} found during {}", cur.p, name(self.ev.ty)));
        };
        begin_range(&mut p.ranges, (EventType::GCSweepBegin.0, 0))?;
        emit.push(cur, self.ev, [0; 2]);
        Ok(Step::Accept(cur))
    }

    fn sweep_active(self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        let pid = as_id(self.ev.args[0]);
        let Some(p) = self.o.ps.get_mut(&pid) else {
            return Err(format!("encountered GCSweepActive for unknown proc {pid}"));
        };
        active_range(&mut p.ranges, (EventType::GCSweepBegin.0, 0), self.initial)?;
        emit.push(cur, self.ev, [0; 2]);
        Ok(Step::Accept(cur))
    }

    fn sweep_end(self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        check(cur, [Need::Must, Need::Must, Need::May])?;
        let Some(p) = self.o.ps.get_mut(&cur.p) else {
            return Err(format!("uninitialized proc {} found during {}", cur.p, name(self.ev.ty)));
        };
        end_range(&mut p.ranges, EventType::GCSweepBegin.0)?;
        emit.push(cur, self.ev, [0; 2]);
        Ok(Step::Accept(cur))
    }

    fn go_range_begin(self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        check(cur, USER)?;
        let ty = self.ev.ty;
        let desc = if ty == EventType::STWBegin.0 { self.ev.args[0] } else { 0 };
        let Some(g) = self.o.gs.get_mut(&cur.g) else {
            return Err(format!("encountered event of type {ty} without known state for current goroutine {}", cur.g));
        };
        begin_range(&mut g.ranges, (ty, desc))?;
        emit.push(cur, self.ev, [0; 2]);
        Ok(Step::Accept(cur))
    }

    fn go_range_active(self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        let gid = as_id(self.ev.args[0]);
        let Some(g) = self.o.gs.get_mut(&gid) else {
            return Err(format!("uninitialized goroutine {gid} found during {}", name(self.ev.ty)));
        };
        active_range(&mut g.ranges, (EventType::GCMarkAssistBegin.0, 0), self.initial)?;
        emit.push(cur, self.ev, [0; 2]);
        Ok(Step::Accept(cur))
    }

    fn go_range_end(self, cur: Ctx, emit: &mut Emit<'_>) -> Outcome {
        check(cur, USER)?;
        let ty = self.ev.ty;
        let start = if ty == EventType::STWEnd.0 { EventType::STWBegin.0 } else { EventType::GCMarkAssistBegin.0 };
        let Some(g) = self.o.gs.get_mut(&cur.g) else {
            return Err(format!("encountered event of type {ty} without known state for current goroutine {}", cur.g));
        };
        let desc = end_range(&mut g.ranges, start)?;
        if ty == EventType::STWEnd.0 {
            self.ev.args[0] = desc;
        }
        emit.push(cur, self.ev, [0; 2]);
        Ok(Step::Accept(cur))
    }
}

/// The text of a task or region name: a string of a generation's tables, or a copy the
/// engine owns.
fn name_bytes<'t>(
    all_tables: &'t [Option<Arc<GenerationTables>>],
    owned_names: &'t [Box<[u8]>],
    table_index: u32,
    name: u64,
) -> &'t [u8] {
    if table_index == OWNED {
        return owned_names.get(name as usize).map_or(&[], |n| &n[..]);
    }
    let tables = all_tables.get(table_index as usize).and_then(Option::as_deref);
    tables.and_then(|t| t.string(name)).unwrap_or_default()
}

fn begin_range(ranges: &mut Vec<RangeType>, range: RangeType) -> Result<(), String> {
    if ranges.contains(&range) {
        return Err(format!("discovered event already in-flight for when starting event {}", name(range.0)));
    }
    ranges.push(range);
    Ok(())
}

fn active_range(ranges: &mut Vec<RangeType>, range: RangeType, initial: bool) -> Result<(), String> {
    if initial {
        if ranges.contains(&range) {
            return Err(format!("found named active range already in first gen: {}", name(range.0)));
        }
        ranges.push(range);
    } else if !ranges.contains(&range) {
        return Err(format!("resource is missing active range: {}", name(range.0)));
    }
    Ok(())
}

/// Ends the first in-flight range started by `start`, whatever its description, and returns
/// that description.
fn end_range(ranges: &mut Vec<RangeType>, start: u8) -> Result<u64, String> {
    let Some(index) = ranges.iter().position(|r| r.0 == start) else {
        return Err(format!("tried to end event {}, but not in-flight", name(start)));
    };
    Ok(ranges.swap_remove(index).1)
}
