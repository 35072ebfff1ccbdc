//! The ordered event stream of a v2 trace: Go's reader loop (`internal/trace.Reader`), which
//! merges the per-thread batches of each generation into one stream with the ordering engine,
//! slips CPU samples in by time, opens every generation with a `Sync` event and closes the
//! trace with one more.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender};

use crate::error::{Error, ErrorKind};
use crate::event::{Event, NONE, SYNC_TYPE};
use crate::generation::{CpuSample, Frequency, Generation, GenerationTables, Generations, NextGeneration};
use crate::order::{BaseEvent, GenerationId, Ordering};
use crate::spec::{EventClass, EventType, FAST_ARG_COUNTS, ID_ARGS, NOT_FAST};
use crate::varint::read_uvarint;
use crate::version::Version;
use crate::wire::Batch;

/// A cursor over the events of one thread in the current generation.
struct Cursor<'a> {
    /// The thread's next event.
    ev: BaseEvent,
    /// The record bytes of the current batch, and where the next record starts in them.
    data: &'a [u8],
    pos: usize,
    last_ts: i64,
    batch: usize,
    batches: Vec<Batch<'a>>,
    m: u64,
    /// The ordering engine's slot for thread `m`, found on the first attempt to advance.
    m_slot: Option<u32>,
}

impl<'a> Cursor<'a> {
    fn new(m: u64, batches: Vec<Batch<'a>>) -> Cursor<'a> {
        let data = batches[0].record_bytes();
        Cursor { ev: BaseEvent::default(), data, pos: 0, last_ts: 0, batch: 0, batches, m, m_slot: None }
    }

    /// Reads the thread's next event into `ev`; false when the thread has no more.
    ///
    /// Timed records are decoded here in place, the hot loop of the reader; anything else
    /// (another class of record, a bad varint) is left to the wire decoder, which reports
    /// it exactly.
    #[inline]
    fn next_event(&mut self, freq: Frequency, fast_arg_counts: &[u8; 256]) -> Result<bool, Error> {
        while self.pos >= self.data.len() {
            self.batch += 1;
            self.pos = 0;
            self.last_ts = 0;
            match self.batches.get(self.batch) {
                Some(batch) => self.data = batch.record_bytes(),
                None => return Ok(false),
            }
        }
        let start = self.pos;
        let data = self.data;
        let ty = data[start];
        let count = usize::from(fast_arg_counts[usize::from(ty)]);
        if count == usize::from(NOT_FAST) {
            return self.next_event_slow(freq);
        }
        let Ok((dt, mut pos)) = read_uvarint(data, start + 1) else { return self.next_event_slow(freq) };
        // Each value goes straight to its field: an array filled value by value and then
        // copied whole would stall the processor on the copy (a wide load cannot take its
        // value from narrower stores still in flight).
        self.ev.args = [0; 4];
        for i in 0..count.min(4) {
            match read_uvarint(data, pos) {
                Ok((value, next)) => {
                    self.ev.args[i] = value;
                    pos = next;
                }
                Err(_) => return self.next_event_slow(freq),
            }
        }
        self.pos = pos;
        self.ev.ty = ty;
        self.ev.time = self.advance_time(freq, dt);
        self.ev.offset = self.batches[self.batch].data_offset() + start as u64;
        Ok(true)
    }

    /// The time of the thread's next event, `dt` ticks after its last one, as Go computes it.
    #[inline(always)]
    fn advance_time(&mut self, freq: Frequency, dt: u64) -> i64 {
        if self.last_ts == 0 {
            self.last_ts = freq.ns(self.batches[self.batch].time());
        }
        self.last_ts = freq.ns(dt).wrapping_add(self.last_ts);
        self.last_ts
    }

    /// Reads the record at `pos` with the wire decoder: its error, or the error of an
    /// untimed record, or (should the fast path ever decline a good timed record) the event.
    #[cold]
    fn next_event_slow(&mut self, freq: Frequency) -> Result<bool, Error> {
        let Some(record) = self.batches[self.batch].records_from(self.pos).next() else { return Ok(false) };
        let record = record?;
        if record.spec().class != EventClass::Timed {
            let message = format!("found event without a timestamp: type={}", record.event_type().0);
            return Err(Error::new(ErrorKind::Malformed(message), record.offset()));
        }
        self.pos += record.encoded_len();
        let raw = record.args();
        let mut args = [0u64; 4];
        for (slot, &value) in args.iter_mut().zip(&raw[1..]) {
            *slot = value;
        }
        let time = self.advance_time(freq, raw[0]);
        self.ev = BaseEvent { ty: record.event_type().0, time, args, offset: record.offset() };
        Ok(true)
    }
}

/// The frontier: one cursor per thread, a binary min-heap on the next event's time, kept
/// exactly as Go keeps it so that simultaneous events come out in Go's order. The heap holds
/// indices, so that reordering moves four bytes per cursor rather than the cursor.
#[derive(Default)]
struct Frontier<'a> {
    cursors: Vec<Cursor<'a>>,
    heap: Vec<u32>,
}

impl<'a> Frontier<'a> {
    fn time(&self, i: usize) -> i64 {
        self.cursors[self.heap[i] as usize].ev.time
    }

    fn cursor(&mut self, i: usize) -> &mut Cursor<'a> {
        &mut self.cursors[self.heap[i] as usize]
    }

    fn len(&self) -> usize {
        self.heap.len()
    }

    fn insert(&mut self, cursor: Cursor<'a>) {
        self.heap.push(self.cursors.len() as u32);
        self.cursors.push(cursor);
        self.sift_up(self.heap.len() - 1);
    }

    fn update(&mut self, i: usize) {
        if self.sift_up(i) == i {
            self.sift_down(i);
        }
    }

    fn remove(&mut self, mut i: usize) {
        while i > 0 {
            self.heap.swap((i - 1) / 2, i);
            i = (i - 1) / 2;
        }
        let last = self.heap.len() - 1;
        self.heap.swap(0, last);
        self.heap.pop();
        self.sift_down(0);
    }

    fn sift_up(&mut self, mut i: usize) -> usize {
        while i > 0 && self.time((i - 1) / 2) > self.time(i) {
            self.heap.swap((i - 1) / 2, i);
            i = (i - 1) / 2;
        }
        i
    }

    fn sift_down(&mut self, mut i: usize) {
        loop {
            let mut min = i;
            let mut min_time = if i < self.heap.len() { self.time(i) } else { i64::MAX };
            for child in [2 * i + 1, 2 * i + 2] {
                if child < self.heap.len() && self.time(child) < min_time {
                    min_time = self.time(child);
                    min = child;
                }
            }
            if min == i {
                return;
            }
            self.heap.swap(i, min);
            i = min;
        }
    }

    /// Sorts the heap array by time, stably: Go's sort is an insertion sort (also stable)
    /// for the usual twelve threads or fewer.
    fn sort(&mut self) {
        let cursors = &self.cursors;
        self.heap.sort_by_key(|&c| cursors[c as usize].ev.time);
    }
}

/// Where the reader gets its generations: read when needed, or read ahead by a loader thread
/// (see [`V2Reader::load_ahead`]) so that ordering one overlaps reading the next.
enum GenerationSource<'a> {
    Inline(Generations<'a>),
    LoadedAhead { version: Version, receiver: Receiver<LoadedGeneration<'a>> },
}

/// A generation as [`Generations`] gives it, with the read error it deferred to after it.
pub(crate) struct LoadedGeneration<'a> {
    next: NextGeneration<'a>,
    deferred: Option<Error>,
}

impl<'a> GenerationSource<'a> {
    fn version(&self) -> Version {
        match self {
            GenerationSource::Inline(generations) => generations.version(),
            GenerationSource::LoadedAhead { version, .. } => *version,
        }
    }

    fn next(&mut self) -> LoadedGeneration<'a> {
        match self {
            GenerationSource::Inline(generations) => load(generations),
            // The loader stops after the last generation: nothing more follows.
            GenerationSource::LoadedAhead { receiver, .. } => {
                receiver.recv().unwrap_or(LoadedGeneration { next: NextGeneration::End, deferred: None })
            }
        }
    }
}

fn load<'a>(generations: &mut Generations<'a>) -> LoadedGeneration<'a> {
    let next = generations.next_generation();
    LoadedGeneration { next, deferred: generations.take_deferred() }
}

/// Reads the generations of `generations` in order and hands each to `sender`, one at a time
/// (a generation is read while the one before is ordered), until the last or until the
/// receiver is gone.
pub(crate) fn load_generations<'a>(mut generations: Generations<'a>, sender: SyncSender<LoadedGeneration<'a>>) {
    loop {
        let loaded = load(&mut generations);
        let last = !matches!(loaded.next, NextGeneration::Generation(_));
        if sender.send(loaded).is_err() || last {
            return;
        }
    }
}

/// The generation being ordered.
struct Current<'a> {
    number: u64,
    freq: Frequency,
    fast_arg_counts: &'static [u8; 256],
    table_index: u32,
    frontier: Frontier<'a>,
    samples: VecDeque<CpuSample>,
}

/// Reads the events of a Go 1.22+ trace in order, as Go's `internal/trace.Reader` does; the
/// public [`Reader`](crate::Reader) delegates to it for such traces.
///
/// Yields `Ok(event)` for every event, then `None`; on damage, the events before it and then
/// one `Err`, after which it yields nothing.
pub(crate) struct V2Reader<'a> {
    generations: GenerationSource<'a>,
    /// The tables of each generation met so far, by index; only the current generation's
    /// are kept, so that memory stays bounded by one generation.
    tables: Vec<Option<Arc<GenerationTables>>>,
    current: Option<Current<'a>>,
    order: Ordering,
    syncs: u64,
    last_ts: i64,
    /// An error to report after one more `Sync` (if `synced` is false) and then for good.
    pending: Option<Error>,
    synced: bool,
    done: bool,
    consumed: u64,
    /// Events ordered ahead for the iterator, and how many of them it has handed out:
    /// ordering a run of events at a time into a buffer keeps each event in one place
    /// instead of moving it through the layers of a call per event.
    ready: Vec<Event>,
    ready_taken: usize,
    /// The error that ended the trace, for the iterator to report once `ready` is drained.
    failed: Option<Error>,
}

/// Events the iterator orders ahead: enough to stay in the ordering loop for a while, few
/// enough to stay in the processor's cache.
const READY_EVENTS: usize = 256;

impl<'a> V2Reader<'a> {
    /// Starts reading the trace in `bytes`.
    pub fn new(bytes: &'a [u8]) -> Result<V2Reader<'a>, Error> {
        Ok(V2Reader {
            generations: GenerationSource::Inline(Generations::new(bytes)?),
            tables: Vec::new(),
            current: None,
            order: Ordering::new(),
            syncs: 0,
            last_ts: 0,
            pending: None,
            synced: false,
            done: false,
            consumed: 0,
            ready: Vec::with_capacity(READY_EVENTS),
            ready_taken: 0,
            failed: None,
        })
    }

    /// The offset before which the reader will not read the trace again (the start of the
    /// current generation): a caller holding the trace in a memory map can let the pages
    /// before it go ([`TraceFile::release_before`](crate::TraceFile::release_before)), and it
    /// measures progress.
    pub fn consumed_offset(&self) -> u64 {
        self.consumed
    }

    /// Hands the reading of generations to the caller, who is to run [`load_generations`]
    /// on another thread with what this returns: the reader then receives each generation
    /// ready-made. Only the next generation is read ahead, so memory stays bounded. Gives
    /// nothing if reading has started.
    pub(crate) fn load_ahead(&mut self) -> Option<(Generations<'a>, SyncSender<LoadedGeneration<'a>>)> {
        if self.syncs != 0 || self.done || !matches!(self.generations, GenerationSource::Inline(_)) {
            return None;
        }
        // A rendezvous channel: the loader holds at most one generation it has read.
        let (sender, receiver) = std::sync::mpsc::sync_channel(0);
        let version = self.generations.version();
        let source = std::mem::replace(&mut self.generations, GenerationSource::LoadedAhead { version, receiver });
        let GenerationSource::Inline(generations) = source else { return None };
        Some((generations, sender))
    }

    /// The trace's format version.
    pub fn version(&self) -> Version {
        self.generations.version()
    }

    /// The tables (strings, stacks, clock) of the generation an event belongs to.
    ///
    /// The reader keeps only the current generation's tables, so that memory stays bounded
    /// on traces of any size: look up what you need while the event is current (or build a
    /// [`TraceIr`](crate::ir::TraceIr), which keeps everything).
    pub fn tables(&self, event: &Event) -> Option<&GenerationTables> {
        self.tables.get(event.generation as usize).and_then(Option::as_deref)
    }

    fn sync(&mut self, table_index: u32, time: i64) -> Event {
        self.syncs += 1;
        Event::sync(self.syncs, time, table_index)
    }

    fn next_generation(&mut self) -> Result<Event, Error> {
        if let Some(error) = self.pending.take() {
            if self.synced {
                return Err(error);
            }
            self.synced = true;
            self.pending = Some(error);
            return Ok(self.sync(u32::MAX, self.last_ts));
        }
        let LoadedGeneration { next, deferred } = self.generations.next();
        match next {
            NextGeneration::Generation(generation) => {
                if let Some(error) = deferred {
                    self.pending = Some(error);
                    self.synced = false;
                }
                self.install(*generation)
            }
            NextGeneration::Error(error) => {
                self.current = None;
                self.pending = Some(error);
                self.synced = true;
                Ok(self.sync(u32::MAX, self.last_ts))
            }
            NextGeneration::End => {
                self.done = true;
                Ok(self.sync(u32::MAX, self.last_ts))
            }
        }
    }

    fn install(&mut self, generation: Generation<'a>) -> Result<Event, Error> {
        let table_index = self.tables.len() as u32;
        let number = generation.tables.number;
        self.consumed = generation.start_offset;
        if let Some(previous) = self.tables.last_mut().and_then(Option::take) {
            self.order.adopt_names(&previous, table_index - 1);
        }
        self.tables.push(Some(generation.tables));
        let fast_arg_counts = &FAST_ARG_COUNTS[(self.generations.version().minor() - 22) as usize];
        let mut frontier = Frontier::default();
        for (m, batches) in generation.batches {
            let mut cursor = Cursor::new(m, batches);
            if cursor.next_event(generation.freq, fast_arg_counts)? {
                frontier.insert(cursor);
            }
        }
        self.current = Some(Current {
            number,
            freq: generation.freq,
            fast_arg_counts,
            table_index,
            frontier,
            samples: generation.cpu_samples.into(),
        });
        Ok(self.sync(table_index, generation.freq.ns(generation.min_ts)))
    }

    /// Offers the event of frontier cursor `i` to the engine; on success moves the cursor on.
    #[inline]
    fn try_advance(&mut self, i: usize, out: &mut Vec<Event>) -> Result<bool, Error> {
        let Some(current) = self.current.as_mut() else { return Ok(false) };
        let cursor = current.frontier.cursor(i);
        let generation = GenerationId { table_index: current.table_index, number: current.number };
        if !self.order.advance(&mut cursor.ev, &self.tables, generation, cursor.m, &mut cursor.m_slot, out)? {
            return Ok(false);
        }
        if cursor.next_event(current.freq, current.fast_arg_counts)? {
            current.frontier.update(i);
        } else {
            current.frontier.remove(i);
        }
        Ok(true)
    }

    fn sample_event(&self, sample: CpuSample, table_index: u32) -> Event {
        Event {
            ty: EventType::CPUSample.0,
            time: sample.time,
            m: sample.m as i64,
            p: sample.p as i64,
            g: if sample.g == 0 { NONE } else { sample.g as i64 },
            args: [sample.stack, 0, 0, 0],
            extra: [0; 2],
            generation: table_index,
            offset: sample.offset,
        }
    }

    /// Orders events of one generation into `out` until `target` more are there or the
    /// generation has no more; when it had none left, opens the next generation and gives only
    /// its `Sync`. Every event given can thus be looked up in [`tables`](Self::tables) until
    /// the next call. Gives nothing once the trace has ended; on damage, gives the events
    /// before it and returns the error, once.
    pub(crate) fn fill(&mut self, out: &mut Vec<Event>, target: usize) -> Result<(), Error> {
        if self.done && self.pending.is_none() {
            return Ok(());
        }
        let result = self.fill_unchecked(out, target);
        if result.is_err() {
            self.done = true;
            self.pending = None;
        }
        result
    }

    fn fill_unchecked(&mut self, out: &mut Vec<Event>, target: usize) -> Result<(), Error> {
        let start = out.len();
        let ordered = self.order_run(out, start, target);
        // The run's events are checked and timed in one pass: an unknown string or stack ID
        // ends the trace at its event, before any error ordering met after it.
        self.check_and_time(out, start)?;
        ordered
    }

    /// Orders events into `out` as [`fill`](Self::fill) describes, without checking their
    /// string and stack IDs or making their times strictly increasing (see
    /// [`check_and_time`](Self::check_and_time)).
    fn order_run(&mut self, out: &mut Vec<Event>, start: usize, target: usize) -> Result<(), Error> {
        loop {
            let exhausted =
                self.current.as_ref().is_none_or(|current| current.frontier.len() == 0 && current.samples.is_empty());
            if exhausted {
                if out.len() == start {
                    let sync = self.next_generation()?;
                    out.push(sync);
                }
                return Ok(());
            }
            if out.len() - start >= target {
                return Ok(());
            }
            self.step(out)?;
        }
    }

    /// Orders the current generation's next event (or CPU sample) into `out`, with the
    /// events it implies; on an error, leaves `out` as it was.
    fn step(&mut self, out: &mut Vec<Event>) -> Result<(), Error> {
        let before = out.len();
        let current = self.current.as_mut().expect("a generation is installed");
        let table_index = current.table_index;
        if let Some(sample) = current.samples.front().copied()
            && (current.frontier.len() == 0 || sample.time < current.frontier.time(0))
        {
            current.samples.pop_front();
            out.push(self.sample_event(sample, table_index));
            return Ok(());
        }
        match self.advance_any(out) {
            Ok(()) if out.len() > before => Ok(()),
            Ok(()) => Err(Error::new(ErrorKind::Ordering("advancing queued no event".into()), 0)),
            Err(error) => {
                out.truncate(before);
                Err(error)
            }
        }
    }

    /// Checks the string and stack IDs of the events of `out` from `start` on, in order, and
    /// makes their times strictly increasing, as Go's reader does for each event it gives.
    /// At the first event with an unknown ID, drops it and what follows and gives the error.
    fn check_and_time(&mut self, out: &mut Vec<Event>, start: usize) -> Result<(), Error> {
        let mut last_ts = self.last_ts;
        let mut tables: Option<(u32, Option<&GenerationTables>)> = None;
        for i in start..out.len() {
            let event = &mut out[i];
            let event_tables = match tables {
                Some((index, found)) if index == event.generation => found,
                _ => {
                    let found = self.tables.get(event.generation as usize).and_then(Option::as_deref);
                    tables = Some((event.generation, found));
                    found
                }
            };
            if let Some(event_tables) = event_tables
                && !table_ids_present(event_tables, event)
            {
                let error = table_id_error(event_tables, event);
                if error.is_err() {
                    self.last_ts = last_ts;
                    out.truncate(i);
                    return error;
                }
            }
            last_ts = strictly_after(last_ts, event.time);
            event.time = last_ts;
        }
        self.last_ts = last_ts;
        Ok(())
    }

    /// Advances the frontier's earliest thread if the engine accepts its event, else the
    /// first thread by time whose event it accepts, as Go does.
    #[inline]
    fn advance_any(&mut self, out: &mut Vec<Event>) -> Result<(), Error> {
        if self.try_advance(0, out)? {
            return Ok(());
        }
        let current = self.current.as_mut().expect("a generation is installed");
        current.frontier.sort();
        for i in 1..current_len(&self.current) {
            if self.try_advance(i, out)? {
                return Ok(());
            }
        }
        let current = self.current.as_ref().expect("a generation is installed");
        let mut message = format!("broken trace: failed to advance: frontier:\n[gen={}]\n\n", current.number);
        for cursor in current.frontier.heap.iter().map(|&c| &current.frontier.cursors[c as usize]) {
            let spec = EventType(cursor.ev.ty).spec();
            message.push_str(&format!(
                "M {} [{} time={}",
                cursor.m as i64,
                EventType(cursor.ev.ty).name(),
                cursor.ev.time
            ));
            for (name, value) in spec.map_or(&[][..], |s| &s.args[1..]).iter().zip(cursor.ev.args) {
                message.push_str(&format!(" {name}={value}"));
            }
            message.push_str("]\n");
        }
        let offset = current.frontier.heap.first().map_or(0, |&c| current.frontier.cursors[c as usize].ev.offset);
        Err(Error::new(ErrorKind::Ordering(message), offset))
    }
}

/// `time`, or just after `last` if it is not later.
#[inline(always)]
fn strictly_after(last: i64, time: i64) -> i64 {
    if time <= last { last + 1 } else { time }
}

/// Whether every string and stack ID of the event exists in `tables`.
#[inline(always)]
fn table_ids_present(tables: &GenerationTables, event: &Event) -> bool {
    let id_args = ID_ARGS[usize::from(event.ty)];
    if event.ty == SYNC_TYPE || id_args.stacks | id_args.strings == 0 {
        return true;
    }
    let present = |mask: u8, has: fn(&GenerationTables, u64) -> bool| {
        event.args.iter().enumerate().all(|(i, &id)| mask & (1 << i) == 0 || has(tables, id))
    };
    present(id_args.stacks, GenerationTables::has_stack) && present(id_args.strings, GenerationTables::has_string)
}

/// The error for an event with an unknown string or stack ID, naming the first one as Go does.
#[cold]
#[inline(never)]
fn table_id_error(tables: &GenerationTables, event: &Event) -> Result<(), Error> {
    let ty = EventType(event.ty);
    let Some(spec) = ty.spec() else { return Ok(()) };
    let unknown = |table, id| Error::new(ErrorKind::UnknownTableId { table, id, event: spec.name }, event.offset);
    if ty == EventType::CPUSample {
        // Go checks the wrong argument for samples and then panics printing them; an
        // unknown stack is reported here instead.
        if !tables.has_stack(event.args[0]) {
            return Err(unknown("stack", event.args[0]));
        }
        return Ok(());
    }
    for &i in spec.stack_args {
        let id = event.args[i - 1];
        if !tables.has_stack(id) {
            return Err(unknown("stack", id));
        }
    }
    for &i in spec.string_args {
        let id = event.args[i - 1];
        if !tables.has_string(id) {
            return Err(unknown("string", id));
        }
    }
    Ok(())
}

fn current_len(current: &Option<Current<'_>>) -> usize {
    current.as_ref().map_or(0, |c| c.frontier.len())
}

impl Iterator for V2Reader<'_> {
    type Item = Result<Event, Error>;

    #[inline]
    fn next(&mut self) -> Option<Result<Event, Error>> {
        if let Some(&event) = self.ready.get(self.ready_taken) {
            self.ready_taken += 1;
            return Some(Ok(event));
        }
        self.refill()
    }
}

impl V2Reader<'_> {
    /// Orders the next run of events into `ready` and gives the first, or the error that
    /// ended the trace, or nothing at the end.
    fn refill(&mut self) -> Option<Result<Event, Error>> {
        if let Some(error) = self.failed.take() {
            return Some(Err(error));
        }
        let mut ready = std::mem::take(&mut self.ready);
        ready.clear();
        self.ready_taken = 0;
        if let Err(error) = self.fill(&mut ready, READY_EVENTS) {
            self.failed = Some(error);
        }
        self.ready = ready;
        match self.ready.first() {
            Some(&event) => {
                self.ready_taken = 1;
                Some(Ok(event))
            }
            None => self.failed.take().map(Err),
        }
    }
}

impl V2Reader<'_> {
    /// The tables of the generation an event belongs to, shared, for a consumer on another
    /// thread.
    pub(crate) fn shared_tables(&self, event: &Event) -> Option<Arc<GenerationTables>> {
        self.tables.get(event.generation as usize).cloned().flatten()
    }
}
