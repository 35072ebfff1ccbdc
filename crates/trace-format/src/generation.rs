//! Generations of a v2 trace: finding their batches and reading their tables (strings,
//! stacks, frames, CPU samples, frequency, clock snapshot, experimental data), with Go's rules.
//!
//! A generation is self-contained: its string and stack IDs mean nothing outside it, and every
//! goroutine and proc restates its status in it. That is what makes generations the unit of
//! parallel work.

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use crate::error::{Error, ErrorKind};
use crate::spec::EventType;
use crate::varint::read_uvarint;
use crate::version::Version;
use crate::wire::{Batch, BatchKind, Item, Record, WireReader};

/// The longest string Go's reader accepts in a string table.
pub(crate) const MAX_STRING_LEN: u64 = 1 << 10;
/// The most frames Go's reader accepts in one stack.
pub(crate) const MAX_STACK_FRAMES: u64 = 128;

/// A frame of the generation's frame table, found by program counter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FrameInfo {
    pub func: u64,
    pub file: u64,
    pub line: u64,
}

/// The clock snapshot that opens a Go 1.25+ generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClockSnapshot {
    /// The trace time of the snapshot, in nanoseconds.
    pub trace_ns: i64,
    /// The monotonic clock in nanoseconds.
    pub mono_ns: u64,
    /// The wall clock: seconds since the Unix epoch.
    pub wall_sec: u64,
    /// The wall clock: nanoseconds within the second.
    pub wall_nsec: u64,
}

/// A batch of an experiment's opaque data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExperimentalBatch {
    /// The experiment's ID (1 = AllocFree).
    pub experiment: u8,
    /// The thread that wrote it (`u64::MAX` for none).
    pub thread: u64,
    /// The raw data.
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

/// Go's conversion of trace-clock ticks to nanoseconds, reproduced exactly: the
/// nanoseconds per tick as a float64 computed as `1 / (freq / 1e9)`, each value truncated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Frequency {
    ns_per_tick: f64,
    /// `ns_per_tick` when it is a whole number (1 for a nanosecond clock, 64 for Go's usual
    /// CPU-tick clock), else 0.
    whole_ns_per_tick: u64,
}

/// Integers up to this are exact as floats.
const EXACT_IN_FLOAT: u64 = 1 << f64::MANTISSA_DIGITS;

impl Frequency {
    fn new(ticks_per_second: u64) -> Frequency {
        let ns_per_tick = 1.0 / (ticks_per_second as f64 / 1e9);
        let whole = ns_per_tick >= 1.0 && ns_per_tick < EXACT_IN_FLOAT as f64 && ns_per_tick.fract() == 0.0;
        Frequency { ns_per_tick, whole_ns_per_tick: if whole { ns_per_tick as u64 } else { 0 } }
    }

    #[inline]
    pub(crate) fn ns(self, ticks: u64) -> i64 {
        // With a whole factor, the float product is the integer product whenever that is
        // exact as a float: the conversions, slow and on every event, are skipped.
        if self.whole_ns_per_tick != 0
            && let Some(product) = ticks.checked_mul(self.whole_ns_per_tick)
            && product < EXACT_IN_FLOAT
        {
            return product as i64;
        }
        (ticks as f64 * self.ns_per_tick) as i64
    }
}

/// A table keyed by the IDs the runtime hands out (strings, stacks): a vector indexed by ID
/// with a presence bitmap when the IDs are dense, as Go's `dataTable` does, else a hash map.
/// Lookups happen for nearly every event, so the dense form matters: one bit to test, no
/// hashing, and the bitmap of even half a million strings stays in cache.
#[derive(Debug)]
enum IdTable<T> {
    Dense { values: Vec<T>, present: Vec<u64> },
    Sparse(HashMap<u64, T>),
}

impl<T> Default for IdTable<T> {
    fn default() -> Self {
        IdTable::Dense { values: Vec::new(), present: Vec::new() }
    }
}

impl<T: Copy + Default> IdTable<T> {
    /// Builds the table from entries with distinct IDs.
    fn new(entries: Vec<(u64, T)>) -> IdTable<T> {
        let max = entries.iter().map(|e| e.0).max().unwrap_or(0);
        // Go's rule: at most about twice the memory of the entries themselves.
        if max > 2 * entries.len() as u64 + 64 {
            return IdTable::Sparse(entries.into_iter().collect());
        }
        let size = max as usize + 1;
        let mut values = vec![T::default(); size];
        let mut present = vec![0u64; size.div_ceil(64)];
        for (id, value) in entries {
            values[id as usize] = value;
            present[id as usize / 64] |= 1 << (id % 64);
        }
        IdTable::Dense { values, present }
    }

    #[inline]
    fn contains(&self, id: u64) -> bool {
        match self {
            IdTable::Dense { present, .. } => {
                usize::try_from(id / 64).ok().and_then(|i| present.get(i)).is_some_and(|w| w & (1 << (id % 64)) != 0)
            }
            IdTable::Sparse(map) => map.contains_key(&id),
        }
    }

    #[inline]
    fn get(&self, id: u64) -> Option<T> {
        match self {
            IdTable::Dense { values, .. } => self.contains(id).then(|| values[id as usize]),
            IdTable::Sparse(map) => map.get(&id).copied(),
        }
    }

    /// Every ID in the table, ascending.
    fn ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = match self {
            IdTable::Dense { values, .. } => (0..values.len() as u64).filter(|&id| self.contains(id)).collect(),
            IdTable::Sparse(map) => map.keys().copied().collect(),
        };
        ids.sort_unstable();
        ids
    }
}

/// Collects the entries of an [`IdTable`] and detects duplicate IDs as they arrive: a bitmap
/// for the usual small IDs, a hash set for the rest.
#[derive(Debug, Default)]
struct IdTableBuilder<T> {
    entries: Vec<(u64, T)>,
    seen: Vec<u64>,
    seen_large: rustc_hash::FxHashSet<u64>,
}

impl<T: Copy + Default> IdTableBuilder<T> {
    fn contains(&self, id: u64) -> bool {
        let in_bitmap =
            usize::try_from(id / 64).ok().and_then(|i| self.seen.get(i)).is_some_and(|w| w & (1 << (id % 64)) != 0);
        in_bitmap || (!self.seen_large.is_empty() && self.seen_large.contains(&id))
    }

    /// Adds an entry whose ID is not in the table yet.
    fn insert(&mut self, id: u64, value: T) {
        // The bitmap grows with the table, so that a few huge IDs cannot make it large.
        let limit = 64 * (self.entries.len() as u64 + 1024);
        if id < limit {
            let word = (id / 64) as usize;
            if word >= self.seen.len() {
                self.seen.resize((word + 1).next_power_of_two(), 0);
            }
            self.seen[word] |= 1 << (id % 64);
        } else {
            self.seen_large.insert(id);
        }
        self.entries.push((id, value));
    }

    fn finish(self) -> IdTable<T> {
        IdTable::new(self.entries)
    }
}

/// The ID, text and end of a well-formed `String` record at `pos` of a batch's records, or
/// `None` for anything else (left to the wire decoder).
#[inline]
fn plain_string_record(data: &[u8], pos: usize) -> Option<(u64, &[u8], usize)> {
    if *data.get(pos)? != EventType::String.0 {
        return None;
    }
    let (id, after_id) = read_uvarint(data, pos + 1).ok()?;
    let (len, after_len) = read_uvarint(data, after_id).ok()?;
    let end = after_len.checked_add(usize::try_from(len).ok()?)?;
    Some((id, data.get(after_len..end)?, end))
}

/// Where an entry's data lies in its table's arena.
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: usize,
    end: usize,
}

/// A frame of a stack: its PC and line, its names as spans of the string bytes.
#[derive(Debug, Clone, Copy)]
struct StackFrame {
    pc: u64,
    func: Span,
    file: Span,
    line: u64,
}

/// A name of a stack frame with a key unique to its text within the generation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyedName<'t> {
    pub key: usize,
    pub bytes: &'t [u8],
}

/// The lookup tables of one generation.
#[derive(Debug, Default)]
pub struct GenerationTables {
    pub(crate) number: u64,
    /// String IDs to spans of `string_bytes`: one allocation for the whole table.
    strings: IdTable<Span>,
    string_bytes: Vec<u8>,
    /// Stack IDs to spans of `stack_frames`.
    stacks: IdTable<Span>,
    /// The frames of every stack in stack order, resolved once through the frame table and
    /// the strings: printing a stack looks nothing up.
    stack_frames: Vec<StackFrame>,
    pub(crate) clock: Option<ClockSnapshot>,
    pub(crate) experimental: Vec<ExperimentalBatch>,
    /// Strings the reader adds while ordering (task names carried across generations).
    extra_strings: std::sync::Mutex<Vec<Box<[u8]>>>,
}

/// Marks a task name stored by string ID (`extra_string`) rather than as an extra string:
/// the usual case of a task that began in the same generation needs no copy.
pub(crate) const TASK_NAME_ID: u64 = 1 << 63;

impl GenerationTables {
    /// The generation's number.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The string with `id`; ID 0 is the empty string.
    #[inline]
    pub fn string(&self, id: u64) -> Option<&[u8]> {
        if id == 0 {
            return Some(&[]);
        }
        self.strings.get(id).map(|s| &self.string_bytes[s.start..s.end])
    }

    /// Whether string `id` exists (ID 0 always does).
    #[inline]
    pub(crate) fn has_string(&self, id: u64) -> bool {
        id == 0 || self.strings.contains(id)
    }

    #[inline]
    pub(crate) fn has_stack(&self, id: u64) -> bool {
        id == 0 || self.stacks.contains(id)
    }

    /// The frames of stack `id` as (pc, function, file, line); empty for ID 0 or an unknown ID.
    pub fn stack_frames(&self, id: u64) -> impl Iterator<Item = (u64, &[u8], &[u8], u64)> + '_ {
        self.stack_frames_keyed(id).map(|(pc, func, file, line)| (pc, func.bytes, file.bytes, line))
    }

    /// As [`stack_frames`](Self::stack_frames), with each name's position in the string
    /// bytes: one key per distinct string of the generation (0 for the empty string), so that
    /// a caller can cache what it makes of a name without hashing its bytes.
    pub(crate) fn stack_frames_keyed(
        &self,
        id: u64,
    ) -> impl Iterator<Item = (u64, KeyedName<'_>, KeyedName<'_>, u64)> + '_ {
        let span = if id == 0 { None } else { self.stacks.get(id) };
        let frames = span.map_or(&[][..], |s| &self.stack_frames[s.start..s.end]);
        let name = |span: Span| KeyedName {
            key: if span.start == span.end { 0 } else { span.start + 1 },
            bytes: &self.string_bytes[span.start..span.end],
        };
        frames.iter().map(move |f| (f.pc, name(f.func), name(f.file), f.line))
    }

    pub(crate) fn add_extra_string(&self, text: Box<[u8]>) -> u64 {
        let mut extra = self.extra_strings.lock().unwrap_or_else(|e| e.into_inner());
        extra.push(text);
        extra.len() as u64 - 1
    }

    /// The text behind a task name the ordering engine stored: an index of
    /// [`add_extra_string`](Self::add_extra_string), or a string ID marked with [`TASK_NAME_ID`].
    pub(crate) fn extra_string(&self, index: u64) -> Box<[u8]> {
        if index & TASK_NAME_ID != 0 {
            return self.string(index & !TASK_NAME_ID).unwrap_or_default().into();
        }
        let extra = self.extra_strings.lock().unwrap_or_else(|e| e.into_inner());
        extra.get(index as usize).cloned().unwrap_or_default()
    }
}

impl GenerationTables {
    /// Tables made from parts rather than read from batches: those of an old-format trace,
    /// whose strings and stacks span the whole trace. String IDs must be distinct; `frame`
    /// gives the function and file string IDs and the line of a PC.
    pub(crate) fn assemble(
        number: u64,
        strings: Vec<(u64, &[u8])>,
        stacks: Vec<(u64, &[u64])>,
        frame: impl Fn(u64) -> FrameInfo,
    ) -> GenerationTables {
        let mut tables = GenerationTables { number, ..Default::default() };
        let mut string_spans = Vec::with_capacity(strings.len());
        for (id, text) in strings {
            let start = tables.string_bytes.len();
            tables.string_bytes.extend_from_slice(text);
            string_spans.push((id, Span { start, end: tables.string_bytes.len() }));
        }
        tables.strings = IdTable::new(string_spans);
        let name = |id: u64| tables.strings.get(id).unwrap_or_default();
        let mut stack_spans = Vec::with_capacity(stacks.len());
        let mut frames = Vec::new();
        for (id, pcs) in stacks {
            let start = frames.len();
            frames.extend(pcs.iter().map(|&pc| {
                let info = frame(pc);
                StackFrame { pc, func: name(info.func), file: name(info.file), line: info.line }
            }));
            stack_spans.push((id, Span { start, end: frames.len() }));
        }
        tables.stacks = IdTable::new(stack_spans);
        tables.stack_frames = frames;
        tables
    }
}

/// A CPU sample, with its time already converted to nanoseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuSample {
    pub time: i64,
    pub m: u64,
    pub p: u64,
    pub g: u64,
    pub stack: u64,
    pub offset: u64,
}

/// One generation, ready for ordering: its tables and its event batches grouped by thread.
#[derive(Debug)]
pub(crate) struct Generation<'a> {
    pub tables: Arc<GenerationTables>,
    pub freq: Frequency,
    pub min_ts: u64,
    /// Event batches by thread, threads in order of their first batch.
    pub batches: Vec<(u64, Vec<Batch<'a>>)>,
    pub cpu_samples: Vec<CpuSample>,
    /// Offset of the generation's first batch: no byte before it is read again.
    pub start_offset: u64,
}

fn malformed(message: String, record: &Record<'_>) -> Error {
    Error::new(ErrorKind::Malformed(message), record.offset())
}

/// Gathers the batches of one generation and reads its tables.
#[derive(Debug, Default)]
pub(crate) struct GenerationBuilder<'a> {
    number: u64,
    min_ts: u64,
    freq: Option<Frequency>,
    tables: GenerationTables,
    strings: IdTableBuilder<Span>,
    stacks: IdTableBuilder<Span>,
    /// The PCs of every stack, in stack order; `stacks` spans index it.
    stack_pcs: Vec<u64>,
    frames: HashMap<u64, FrameInfo>,
    batches: Vec<(u64, Vec<Batch<'a>>)>,
    batch_index: HashMap<u64, usize>,
    cpu_samples: Vec<CpuSample>,
    start_offset: Option<u64>,
    pub(crate) has_event_batch: bool,
}

impl<'a> GenerationBuilder<'a> {
    pub(crate) fn new(number: u64) -> GenerationBuilder<'a> {
        GenerationBuilder { number, ..Default::default() }
    }

    pub(crate) fn add(&mut self, batch: Batch<'a>, version: Version) -> Result<(), Error> {
        self.start_offset.get_or_insert(batch.location().offset);
        if self.min_ts == 0 || batch.time() < self.min_ts {
            self.min_ts = batch.time();
        }
        match batch.kind() {
            BatchKind::Strings => self.add_strings(&batch),
            BatchKind::Stacks => self.add_stacks(&batch),
            BatchKind::CpuSamples => self.add_cpu_samples(&batch),
            BatchKind::Sync => self.add_sync(&batch, version),
            BatchKind::Experimental(experiment) => {
                let thread = batch.location().thread;
                self.tables.experimental.push(ExperimentalBatch { experiment, thread, data: batch.data().to_vec() });
                Ok(())
            }
            BatchKind::Events => {
                self.has_event_batch = true;
                let m = batch.location().thread;
                let index = *self.batch_index.entry(m).or_insert_with(|| {
                    self.batches.push((m, Vec::new()));
                    self.batches.len() - 1
                });
                self.batches[index].1.push(batch);
                Ok(())
            }
        }
    }

    /// The records after the batch's section marker, each of which must be an `expected`
    /// record (Go names it `what` in its error).
    fn section(
        batch: &Batch<'a>,
        expected: EventType,
        what: &'static str,
    ) -> impl Iterator<Item = Result<Record<'a>, Error>> {
        Self::checked(batch.records().skip(1), expected, what)
    }

    /// As [`section`](Self::section), from byte `pos` of the batch's records on.
    fn section_from(
        batch: &Batch<'a>,
        pos: usize,
        expected: EventType,
        what: &'static str,
    ) -> impl Iterator<Item = Result<Record<'a>, Error>> {
        Self::checked(batch.records_from(pos), expected, what)
    }

    fn checked(
        records: impl Iterator<Item = Result<Record<'a>, Error>>,
        expected: EventType,
        what: &'static str,
    ) -> impl Iterator<Item = Result<Record<'a>, Error>> {
        records.map(move |record| {
            let record = record?;
            if record.event_type() != expected {
                return Err(malformed(format!("expected {what} event, got {}", record.event_type().0), &record));
            }
            Ok(record)
        })
    }

    fn add_strings(&mut self, batch: &Batch<'a>) -> Result<(), Error> {
        // String tables hold most of a generation's records when a program logs (each log
        // message is a string of its own): well-formed `String` records are read here
        // directly, anything else by the wire decoder, which judges it exactly.
        let data = batch.record_bytes();
        let Some(Ok(marker)) = batch.records().next() else { return Ok(()) };
        let mut pos = marker.encoded_len();
        while pos < data.len() {
            if let Some((id, text, next)) = plain_string_record(data, pos) {
                self.add_string(id, text, batch.data_offset() + pos as u64)?;
                pos = next;
                continue;
            }
            let Some(record) = Self::section_from(batch, pos, EventType::String, "string").next() else { break };
            let record = record?;
            self.add_string(record.args()[0], record.data().unwrap_or_default(), record.offset())?;
            pos += record.encoded_len();
        }
        Ok(())
    }

    /// Adds string `id` of the record at `offset`, with Go's checks.
    fn add_string(&mut self, id: u64, text: &[u8], offset: u64) -> Result<(), Error> {
        if text.len() as u64 > MAX_STRING_LEN {
            let message = format!("invalid string size {}, maximum is {MAX_STRING_LEN}", text.len());
            return Err(Error::new(ErrorKind::Malformed(message), offset));
        }
        if id == 0 || self.strings.contains(id) {
            let message = format!("multiple strings with the same ID: id={id}");
            return Err(Error::new(ErrorKind::Malformed(message), offset));
        }
        let bytes = &mut self.tables.string_bytes;
        let start = bytes.len();
        bytes.extend_from_slice(text);
        self.strings.insert(id, Span { start, end: bytes.len() });
        Ok(())
    }

    fn add_stacks(&mut self, batch: &Batch<'a>) -> Result<(), Error> {
        for record in Self::section(batch, EventType::Stack, "stack") {
            let record = record?;
            let (id, count) = (record.args()[0], record.args()[1]);
            if count > MAX_STACK_FRAMES {
                return Err(malformed(format!("invalid stack size {count}, maximum is {MAX_STACK_FRAMES}"), &record));
            }
            let start = self.stack_pcs.len();
            for frame in record.frames() {
                self.stack_pcs.push(frame.pc);
                // Frames are shared by PC within a generation: the first definition wins.
                self.frames.entry(frame.pc).or_insert(FrameInfo {
                    func: frame.func,
                    file: frame.file,
                    line: frame.line,
                });
            }
            if id == 0 || self.stacks.contains(id) {
                return Err(malformed(format!("multiple trace.stacks with the same ID: id={id}"), &record));
            }
            self.stacks.insert(id, Span { start, end: self.stack_pcs.len() });
        }
        Ok(())
    }

    fn add_cpu_samples(&mut self, batch: &Batch<'a>) -> Result<(), Error> {
        for record in Self::section(batch, EventType::CPUSample, "CPU sample") {
            let record = record?;
            let [time, m, p, g, stack] = record.args().try_into().unwrap_or([0; 5]);
            // The time is converted once the generation's frequency is known.
            self.cpu_samples.push(CpuSample { time: time as i64, m, p, g, stack, offset: record.offset() });
        }
        Ok(())
    }

    fn add_sync(&mut self, batch: &Batch<'a>, version: Version) -> Result<(), Error> {
        let mut records = batch.records();
        if version >= Version::Go125 {
            records.next(); // The Sync marker, which classified the batch.
        }
        for record in records {
            let record = record?;
            match record.event_type() {
                EventType::Frequency => {
                    if self.freq.is_some() {
                        return Err(malformed("found multiple frequency events".into(), &record));
                    }
                    self.freq = Some(Frequency::new(record.args()[0]));
                }
                EventType::ClockSnapshot if version >= Version::Go125 => {
                    if self.tables.clock.is_some() {
                        return Err(malformed("found multiple clock snapshot events".into(), &record));
                    }
                    let [dt, mono, sec, nsec] = record.args().try_into().unwrap_or([0; 4]);
                    // Converted to nanoseconds once the frequency is known: stash the ticks.
                    self.tables.clock = Some(ClockSnapshot {
                        trace_ns: batch.time().wrapping_add(dt) as i64,
                        mono_ns: mono,
                        wall_sec: sec,
                        wall_nsec: nsec,
                    });
                }
                other => {
                    return Err(malformed(
                        format!("expected frequency or clock snapshot event, got {}", other.0),
                        &record,
                    ));
                }
            }
        }
        Ok(())
    }

    /// Checks the generation as a whole and makes it ready for ordering.
    pub(crate) fn finish(mut self, version: Version, end_offset: u64) -> Result<Generation<'a>, Error> {
        let missing = |what: &str| Error::new(ErrorKind::Malformed(format!("no {what} event found")), end_offset);
        let freq = self.freq.ok_or_else(|| missing("frequency"))?;
        if version >= Version::Go125 && self.tables.clock.is_none() {
            return Err(missing("clock snapshot"));
        }
        if let Some(clock) = &mut self.tables.clock {
            clock.trace_ns = freq.ns(clock.trace_ns as u64);
        }
        self.tables.strings = std::mem::take(&mut self.strings).finish();
        self.tables.stacks = std::mem::take(&mut self.stacks).finish();
        self.check_stack_strings(end_offset)?;
        // Every PC has a frame (the stack that brought the PC defined it), and every name a
        // string (just checked; 0 is the empty string).
        let (frames, strings) = (&self.frames, &self.tables.strings);
        let span = |id: u64| strings.get(id).unwrap_or_default();
        let resolve = |pc: u64| {
            let frame = frames[&pc];
            StackFrame { pc, func: span(frame.func), file: span(frame.file), line: frame.line }
        };
        self.tables.stack_frames = self.stack_pcs.iter().map(|&pc| resolve(pc)).collect();
        for sample in &mut self.cpu_samples {
            sample.time = freq.ns(sample.time as u64);
        }
        self.cpu_samples.sort_by_key(|s| s.time);
        self.tables.number = self.number;
        Ok(Generation {
            tables: Arc::new(self.tables),
            freq,
            min_ts: self.min_ts,
            batches: self.batches,
            cpu_samples: self.cpu_samples,
            start_offset: self.start_offset.unwrap_or(end_offset),
        })
    }

    /// Every frame's function and file must name a string of the generation. Stacks are
    /// checked in ascending ID order, as Go does for the usual dense IDs.
    fn check_stack_strings(&self, end_offset: u64) -> Result<(), Error> {
        let tables = &self.tables;
        for id in tables.stacks.ids() {
            let span = tables.stacks.get(id).unwrap_or_default();
            for pc in &self.stack_pcs[span.start..span.end] {
                let frame = self.frames[pc];
                for (what, string) in [("func", frame.func), ("file", frame.file)] {
                    if !tables.has_string(string) {
                        let message = format!("found invalid {what} string ID {string} for stack {id}");
                        return Err(Error::new(ErrorKind::Malformed(message), end_offset));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Splits a v2 trace into generations, in file order, following Go's rules for where one
/// ends. Yields each generation, or the error that ends the trace.
pub(crate) struct Generations<'a> {
    reader: WireReader<'a>,
    version: Version,
    /// The first batch of the next generation, read while finishing the previous one (Go
    /// 1.22-1.25 have no end marker).
    spill: Option<Batch<'a>>,
    /// An error met after some batches of a generation (Go 1.22-1.25): the generation is
    /// delivered first, the error after it.
    deferred: Option<Error>,
    /// Whether a generation was delivered: before Go 1.26, the trace ends after the last one
    /// when no batch of a next generation was seen.
    delivered: bool,
    done: bool,
}

/// What [`Generations`] found next.
pub(crate) enum NextGeneration<'a> {
    Generation(Box<Generation<'a>>),
    /// A read error after which no more generations follow.
    Error(Error),
    End,
}

impl<'a> Generations<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Result<Generations<'a>, Error> {
        let reader = WireReader::new(bytes)?;
        let version = reader.version();
        Ok(Generations { reader, version, spill: None, deferred: None, delivered: false, done: false })
    }

    pub(crate) fn version(&self) -> Version {
        self.version
    }

    /// Whether a deferred read error is waiting after the last delivered generation.
    pub(crate) fn take_deferred(&mut self) -> Option<Error> {
        self.deferred.take()
    }

    pub(crate) fn next_generation(&mut self) -> NextGeneration<'a> {
        if self.done {
            return NextGeneration::End;
        }
        let result = if self.version.has_end_of_generation() { self.read_marked() } else { self.read_spilled() };
        match result {
            Ok(Some(generation)) => {
                self.delivered = true;
                NextGeneration::Generation(Box::new(generation))
            }
            Ok(None) => {
                self.done = true;
                NextGeneration::End
            }
            Err(error) => {
                self.done = true;
                NextGeneration::Error(error)
            }
        }
    }

    /// Go 1.26+: batches up to the end-of-generation record.
    fn read_marked(&mut self) -> Result<Option<Generation<'a>>, Error> {
        let mut builder: Option<GenerationBuilder<'a>> = None;
        loop {
            match self.reader.next() {
                None => return Ok(None),
                Some(Err(error)) => {
                    // A file cut after only table batches of a new generation ends cleanly in
                    // Go's reader; a cut after an event batch is a truncated generation.
                    let cut_clean = matches!(error.kind(), ErrorKind::MissingEndOfGeneration { .. })
                        && builder.as_ref().is_none_or(|b| !b.has_event_batch);
                    if cut_clean {
                        return Ok(None);
                    }
                    return Err(error);
                }
                Some(Ok(Item::EndOfGeneration { offset })) => {
                    let builder = builder.unwrap_or_else(|| GenerationBuilder::new(0));
                    return builder.finish(self.version, offset).map(Some);
                }
                Some(Ok(Item::Batch(batch))) => {
                    let b = builder.get_or_insert_with(|| GenerationBuilder::new(batch.location().generation));
                    if batch.is_truncated() {
                        continue; // The reader reports the truncation next.
                    }
                    b.add(batch, self.version)?;
                }
            }
        }
    }

    /// Go 1.22-1.25: batches until one of the next generation, which is kept for later.
    fn read_spilled(&mut self) -> Result<Option<Generation<'a>>, Error> {
        let mut builder: Option<GenerationBuilder<'a>> = None;
        if self.spill.is_none() && self.delivered {
            return Ok(None);
        }
        if let Some(batch) = self.spill.take() {
            let mut b = GenerationBuilder::new(batch.location().generation);
            b.add(batch, self.version)?;
            builder = Some(b);
        }
        let end_offset;
        loop {
            match self.reader.next() {
                None => {
                    end_offset = self.reader.offset();
                    break;
                }
                Some(Err(error)) => {
                    if builder.is_none() {
                        return Err(error);
                    }
                    end_offset = error.offset();
                    self.deferred = Some(error);
                    self.done = true;
                    break;
                }
                // The wire reader reports this byte as a bad batch type before Go 1.26; kept
                // as an error here rather than trusted.
                Some(Ok(Item::EndOfGeneration { offset })) => {
                    return Err(Error::new(ErrorKind::BadBatchType { found: EventType::EndOfGeneration.0 }, offset));
                }
                Some(Ok(Item::Batch(batch))) => {
                    if batch.is_truncated() {
                        continue;
                    }
                    let number = batch.location().generation;
                    match &mut builder {
                        Some(b) if number != b.number => {
                            self.spill = Some(batch);
                            end_offset = batch.location().offset;
                            break;
                        }
                        Some(b) => b.add(batch, self.version)?,
                        None => {
                            let mut b = GenerationBuilder::new(number);
                            b.add(batch, self.version)?;
                            builder = Some(b);
                        }
                    }
                }
            }
        }
        match builder {
            Some(b) => b.finish(self.version, end_offset).map(Some),
            None => Err(Error::new(ErrorKind::Malformed("no frequency event found".into()), end_offset)),
        }
    }
}

#[cfg(test)]
mod frequency_tests {
    use super::*;

    /// The integer shortcut gives what the float formula gives, at the edges of exactness.
    #[test]
    fn frequency_shortcut_matches_the_float_formula() {
        for ticks_per_second in [1_000_000_000, 15_625_000, 1_000_000, 3_000_000_000, 2_400_000_000, 7, 1] {
            let freq = Frequency::new(ticks_per_second);
            let float = |ticks: u64| (ticks as f64 * freq.ns_per_tick) as i64;
            let edges = [0, 1, 63, 1 << 40, EXACT_IN_FLOAT / 64 - 1, EXACT_IN_FLOAT / 64, EXACT_IN_FLOAT - 1];
            for base in edges.into_iter().chain([EXACT_IN_FLOAT, EXACT_IN_FLOAT + 1, u64::MAX / 2, u64::MAX]) {
                for ticks in [base, base.wrapping_add(1), base.wrapping_sub(1)] {
                    assert_eq!(freq.ns(ticks), float(ticks), "{ticks_per_second} ticks/s, {ticks} ticks");
                }
            }
        }
    }
}
