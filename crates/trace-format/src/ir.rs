//! The intermediate representation (IR): a whole trace's ordered events in a compact encoded
//! stream, with strings, frames and stacks interned across generations behind small `Copy`
//! handles. It is what every later stage reads, and it is stored with `postcard`
//! (`gotrace ir FILE -o FILE.gtir`).
//!
//! The in-memory layout is chosen for size: a 500 MB trace holds about 100 million events, so
//! events are not structs but variable-length records in one byte buffer (type, time delta,
//! context changes, arguments as uvarints), a few bytes each. Reading them back yields the
//! same [`Event`]s the [`Reader`] produced, with string and stack IDs replaced by handles
//! into the IR's tables.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::details::{Details, event_details};
use crate::error::Error;
use crate::event::{Event, EventTables, ResolvedFrame, SYNC_TYPE};
use crate::generation::{ClockSnapshot, ExperimentalBatch, GenerationTables, KeyedName, TASK_NAME_ID};
use crate::spec::{EventType, ID_ARGS, IdArgs};
use crate::stream::{Reader, read_all};
use crate::varint::{MAX_VARINT_LEN, read_uvarint};

/// The version of the IR's layout. Bump it on any change to what is stored.
pub const IR_VERSION: u32 = 2;

/// The first bytes of a stored IR file.
pub const IR_MAGIC: &[u8; 8] = b"GOTRACEI";

/// A handle to an interned string of the IR (0 is the empty string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StringHandle(pub u32);

/// A handle to an interned stack of the IR (0 is the empty stack).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StackHandle(pub u32);

/// A handle to an interned frame of the IR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FrameHandle(pub u32);

/// A stack frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Frame {
    /// Program counter.
    pub pc: u64,
    /// Function name.
    pub func: StringHandle,
    /// File name.
    pub file: StringHandle,
    /// Line number.
    pub line: u64,
}

/// What the IR keeps of each generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationInfo {
    /// The generation's number in the trace.
    pub number: u64,
    /// The clock snapshot that opened it (Go 1.25+).
    pub clock: Option<ClockSnapshot>,
    /// Its experimental batches.
    pub experimental: Vec<ExperimentalBatch>,
}

/// The error that ended reading a damaged trace, kept so that the IR tells the same story.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredError {
    /// The error's message, as the reader's error displayed it.
    pub message: String,
    /// The byte offset in the original trace.
    pub offset: u64,
}

/// A whole trace in the intermediate representation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceIr {
    /// [`IR_VERSION`] when the IR was made.
    pub ir_version: u32,
    /// The minor Go version of the trace's header (22 for `go 1.22 trace`).
    pub trace_version: u32,
    #[serde(with = "serde_bytes")]
    string_bytes: Vec<u8>,
    string_ends: Vec<u32>,
    frames: Vec<Frame>,
    stack_frames: Vec<FrameHandle>,
    stack_ends: Vec<u32>,
    generations: Vec<GenerationInfo>,
    #[serde(with = "serde_bytes")]
    events: Vec<u8>,
    event_count: u64,
    /// Where decoding can start, every [`CHECKPOINT_EVENTS`] events: the time index.
    checkpoints: Vec<Checkpoint>,
    error: Option<StoredError>,
}

/// Events between two checkpoints: a lookup by time decodes at most this many events more
/// than it returns, and the index costs about a hundredth of a byte per event.
pub const CHECKPOINT_EVENTS: u64 = 4096;

/// What the decoder needs to start in the middle of the event stream: the position of an
/// event and the context the events before it left (events are delta-encoded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Checkpoint {
    /// The time of the event at this position.
    time: i64,
    /// Its byte offset in the encoded events.
    offset: u64,
    previous_time: i64,
    previous_m: i64,
    previous_p: i64,
    previous_g: i64,
    generation: u32,
}

/// How many arguments of an event the IR stores.
fn arg_count(ty: u8) -> usize {
    match EventType(ty) {
        _ if ty == SYNC_TYPE => 1,
        // The stack of a sample; the STW kind the ordering engine moves into the end event.
        EventType::CPUSample | EventType::STWEnd => 1,
        ty => ty.spec().map_or(0, |s| s.args.len().saturating_sub(1)),
    }
}

/// How many of the values the ordering engine adds an event carries.
fn extra_count(ty: u8) -> usize {
    match EventType(ty) {
        EventType::ProcStatus | EventType::ProcSteal => 1,
        EventType::UserTaskEnd => 2,
        _ => 0,
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Builds an IR from the ordered stream of a trace.
struct Builder {
    ir: TraceIr,
    strings: SliceIndex,
    frames: FxHashMap<Frame, FrameHandle>,
    stacks: SliceIndex,
    /// Handles of the current generation's stacks and strings, by their IDs in the trace.
    generation_stacks: IdCache,
    generation_strings: IdCache,
    /// Handles of the names of the current generation's frames, by their keys.
    generation_frame_names: FxHashMap<usize, StringHandle>,
    current_table: u32,
    /// What the next record is encoded against.
    previous: EncodedContext,
    /// The generation index the decoder will have reached at the next event.
    decoder_generation: u32,
    value_counts: [ValueCounts; 256],
}

/// The context the first event is encoded against.
const BEFORE_FIRST_EVENT: Event =
    Event { ty: SYNC_TYPE, time: 0, m: -1, p: -1, g: -1, args: [0; 4], extra: [0; 2], generation: u32::MAX, offset: 0 };

impl Builder {
    fn new(trace_version: u32) -> Builder {
        let mut builder = Builder {
            ir: TraceIr {
                ir_version: IR_VERSION,
                trace_version,
                string_bytes: Vec::new(),
                string_ends: Vec::new(),
                frames: Vec::new(),
                stack_frames: Vec::new(),
                stack_ends: Vec::new(),
                generations: Vec::new(),
                events: Vec::new(),
                event_count: 0,
                checkpoints: Vec::new(),
                error: None,
            },
            strings: SliceIndex::default(),
            frames: FxHashMap::default(),
            stacks: SliceIndex::default(),
            generation_stacks: IdCache::default(),
            generation_strings: IdCache::default(),
            generation_frame_names: FxHashMap::default(),
            current_table: u32::MAX,
            value_counts: value_counts(),
            previous: EncodedContext {
                time: BEFORE_FIRST_EVENT.time,
                m: BEFORE_FIRST_EVENT.m,
                p: BEFORE_FIRST_EVENT.p,
                g: BEFORE_FIRST_EVENT.g,
            },
            decoder_generation: u32::MAX,
        };
        builder.intern_string(b"");
        builder.intern_stack(&[]);
        builder
    }

    fn intern_string(&mut self, bytes: &[u8]) -> StringHandle {
        StringHandle(self.strings.intern(&mut self.ir.string_bytes, &mut self.ir.string_ends, bytes))
    }

    fn intern_stack(&mut self, frames: &[FrameHandle]) -> StackHandle {
        StackHandle(self.stacks.intern(&mut self.ir.stack_frames, &mut self.ir.stack_ends, frames))
    }

    #[inline(always)]
    fn string(&mut self, tables: &GenerationTables, id: u64) -> u64 {
        match self.generation_strings.get(id) {
            Some(handle) => u64::from(handle),
            None => self.new_string(tables, id),
        }
    }

    /// [`string`](Self::string) for an ID met for the first time in the generation.
    #[inline(never)]
    fn new_string(&mut self, tables: &GenerationTables, id: u64) -> u64 {
        let handle = self.intern_string(tables.string(id).unwrap_or_default());
        self.generation_strings.insert(id, handle.0);
        u64::from(handle.0)
    }

    /// The handle of a frame's function or file name: the same few names recur in most
    /// stacks, so they are looked up by their key in the generation before their bytes are
    /// hashed.
    fn frame_name(&mut self, name: KeyedName<'_>) -> StringHandle {
        if let Some(&handle) = self.generation_frame_names.get(&name.key) {
            return handle;
        }
        let handle = self.intern_string(name.bytes);
        self.generation_frame_names.insert(name.key, handle);
        handle
    }

    #[inline(always)]
    fn stack(&mut self, tables: &GenerationTables, id: u64) -> u64 {
        match self.generation_stacks.get(id) {
            Some(handle) => u64::from(handle),
            None => self.new_stack(tables, id),
        }
    }

    /// [`stack`](Self::stack) for an ID met for the first time in the generation.
    #[inline(never)]
    fn new_stack(&mut self, tables: &GenerationTables, id: u64) -> u64 {
        let mut frames = Vec::new();
        for (pc, func, file, line) in tables.stack_frames_keyed(id) {
            let frame = Frame { pc, func: self.frame_name(func), file: self.frame_name(file), line };
            let next = FrameHandle(self.ir.frames.len() as u32);
            let handle = *self.frames.entry(frame).or_insert(next);
            if handle == next {
                self.ir.frames.push(frame);
            }
            frames.push(handle);
        }
        let handle = self.intern_stack(&frames);
        self.generation_stacks.insert(id, handle.0);
        u64::from(handle.0)
    }

    #[inline(always)]
    fn add(&mut self, mut event: Event, tables: Option<&GenerationTables>) {
        if event.ty == SYNC_TYPE && event.generation != u32::MAX && event.generation != self.current_table {
            // A new generation: its IDs mean something new.
            self.current_table = event.generation;
            self.generation_stacks.clear();
            self.generation_strings.clear();
            self.generation_frame_names.clear();
            let info = tables.map(|t| GenerationInfo {
                number: t.number(),
                clock: t.clock,
                experimental: t.experimental.clone(),
            });
            self.ir.generations.extend(info);
        }
        if let Some(tables) = tables {
            // Arguments in the event table count `dt` as position 0; events drop it.
            match EventType(event.ty) {
                // The ordering engine moves the STW kind string into the end event.
                EventType::STWEnd => event.args[0] = self.string(tables, event.args[0]),
                EventType::CPUSample => event.args[0] = self.stack(tables, event.args[0]),
                ty => {
                    if ty == EventType::UserTaskEnd {
                        // The task's name, carried over by the ordering engine: usually a
                        // string ID of this generation, found without a copy.
                        let stored = event.extra[1];
                        event.extra[1] = if stored & TASK_NAME_ID != 0 {
                            self.string(tables, stored & !TASK_NAME_ID)
                        } else {
                            u64::from(self.intern_string(&tables.extra_string(stored)).0)
                        };
                    }
                    // Events that name no string or stack are told by their masks alone. The
                    // spec's lists keep the order handles are handed out in, part of the IR.
                    let IdArgs { strings, stacks } = ID_ARGS[usize::from(ty.0)];
                    if strings | stacks != 0
                        && let Some(spec) = ty.spec()
                    {
                        for &position in spec.string_args {
                            event.args[position - 1] = self.string(tables, event.args[position - 1]);
                        }
                        for &position in spec.stack_args {
                            event.args[position - 1] = self.stack(tables, event.args[position - 1]);
                        }
                    }
                }
            }
        }
        self.encode(&event);
    }

    fn encode(&mut self, event: &Event) {
        let previous = self.previous;
        if self.ir.event_count.is_multiple_of(CHECKPOINT_EVENTS) {
            self.ir.checkpoints.push(Checkpoint {
                time: event.time,
                offset: self.ir.events.len() as u64,
                previous_time: previous.time,
                previous_m: previous.m,
                previous_p: previous.p,
                previous_g: previous.g,
                generation: self.decoder_generation,
            });
        }
        let changed = u8::from(event.m != previous.m)
            | u8::from(event.p != previous.p) << 1
            | u8::from(event.g != previous.g) << 2;
        // The record is written in place at the end of the stream, in room made for the
        // longest record and cut to the record's length after. Building it elsewhere and
        // copying it over would stall the processor on the copy (wide loads of bytes just
        // stored one by one).
        let start = self.ir.events.len();
        self.ir.events.extend_from_slice(&[0; RECORD_CAPACITY]);
        let Ok(room) = <&mut [u8; RECORD_CAPACITY]>::try_from(&mut self.ir.events[start..]) else {
            unreachable!("room for one record was just made")
        };
        let mut record = Record { bytes: room, len: 2 };
        record.bytes[0] = event.ty;
        record.bytes[1] = changed;
        record.push(zigzag(event.time.wrapping_sub(previous.time)));
        for (bit, value) in [(1, event.m), (2, event.p), (4, event.g)] {
            if changed & bit != 0 {
                record.push(zigzag(value));
            }
        }
        let counts = self.value_counts[event.ty as usize];
        for &arg in &event.args[..usize::from(counts.args)] {
            record.push(arg);
        }
        for &extra in &event.extra[..usize::from(counts.extra)] {
            record.push(extra);
        }
        if event.ty == SYNC_TYPE {
            // Syncs that open a generation name it; the others (the end, damage) do not.
            let index = if event.generation == u32::MAX { 0 } else { self.ir.generations.len() as u64 };
            record.push(index);
            if index != 0 {
                self.decoder_generation = index as u32 - 1;
            }
        }
        let len = record.len;
        self.ir.events.truncate(start + len);
        self.ir.event_count += 1;
        self.previous = EncodedContext { time: event.time, m: event.m, p: event.p, g: event.g };
    }
}

/// The longest record: two bytes and eleven varints.
const RECORD_CAPACITY: usize = 2 + 11 * MAX_VARINT_LEN;

/// What a record is delta-encoded against: the previous event's time and context.
#[derive(Debug, Clone, Copy)]
struct EncodedContext {
    time: i64,
    m: i64,
    p: i64,
    g: i64,
}

/// One encoded event, built in place.
struct Record<'b> {
    bytes: &'b mut [u8; RECORD_CAPACITY],
    len: usize,
}

impl Record<'_> {
    #[inline(always)]
    fn push(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.bytes[self.len] = value as u8 | 0x80;
            self.len += 1;
            value >>= 7;
        }
        self.bytes[self.len] = value as u8;
        self.len += 1;
    }
}

/// How many arguments and added values the IR stores for an event type.
#[derive(Debug, Clone, Copy, Default)]
struct ValueCounts {
    args: u8,
    extra: u8,
}

fn value_counts() -> [ValueCounts; 256] {
    std::array::from_fn(|ty| ValueCounts { args: arg_count(ty as u8) as u8, extra: extra_count(ty as u8) as u8 })
}

/// Finds slices already stored in one of the IR's flat tables (strings, stacks) by their
/// content: a map from the content's hash to the first handle with that hash, the rare other
/// contents with the same hash aside. Nothing is copied or allocated per entry.
#[derive(Default)]
struct SliceIndex {
    first: FxHashMap<u64, u32>,
    same_hash: FxHashMap<u64, Vec<u32>>,
}

impl SliceIndex {
    /// The content's hash, and the handle of a stored equal slice if there is one;
    /// `stored` gives the slice behind a handle.
    fn find<'s, T: std::hash::Hash + Eq + 's>(
        &self,
        content: &[T],
        stored: impl Fn(u32) -> &'s [T],
    ) -> (u64, Option<u32>) {
        let hash = {
            let mut hasher = rustc_hash::FxHasher::default();
            std::hash::Hash::hash(content, &mut hasher);
            std::hash::Hasher::finish(&hasher)
        };
        (hash, self.find_hashed(hash, content, stored))
    }

    fn find_hashed<'s, T: Eq + 's>(&self, hash: u64, content: &[T], stored: impl Fn(u32) -> &'s [T]) -> Option<u32> {
        let &first = self.first.get(&hash)?;
        if stored(first) == content {
            return Some(first);
        }
        let others = self.same_hash.get(&hash).map_or(&[][..], Vec::as_slice);
        others.iter().copied().find(|&handle| stored(handle) == content)
    }

    /// The handle of `content` in the flat table `items` cut at `ends`, which this index
    /// covers: an equal stored slice's, or a new one's.
    fn intern<T: std::hash::Hash + Eq + Copy>(
        &mut self,
        items: &mut Vec<T>,
        ends: &mut Vec<u32>,
        content: &[T],
    ) -> u32 {
        let (hash, found) = self.find(content, |handle| slice_of(items, ends, handle));
        if let Some(handle) = found {
            return handle;
        }
        let handle = ends.len() as u32;
        items.extend_from_slice(content);
        ends.push(items.len() as u32);
        self.insert(hash, handle);
        handle
    }

    /// Records `handle` for a content of `hash` that [`find`](Self::find) did not find.
    fn insert(&mut self, hash: u64, handle: u32) {
        match self.first.entry(hash) {
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(handle);
            }
            std::collections::hash_map::Entry::Occupied(_) => self.same_hash.entry(hash).or_default().push(handle),
        }
    }
}

/// Entry `handle` of a flat table: `items` cut at `ends`.
fn slice_of<'t, T>(items: &'t [T], ends: &[u32], handle: u32) -> &'t [T] {
    let end = ends[handle as usize] as usize;
    let start = handle.checked_sub(1).map_or(0, |previous| ends[previous as usize] as usize);
    &items[start..end]
}

/// Maps a generation's string or stack IDs to IR handles: a vector for the usual small IDs, a
/// hash map for the rest, so that neither hashing nor a huge ID costs much.
#[derive(Default)]
struct IdCache {
    dense: Vec<u32>,
    sparse: FxHashMap<u64, u32>,
}

impl IdCache {
    /// IDs below this are kept in the vector (at most 4 MiB of it).
    const DENSE_LIMIT: u64 = 1 << 20;
    const ABSENT: u32 = u32::MAX;

    #[inline]
    fn get(&self, id: u64) -> Option<u32> {
        match self.dense.get(id as usize) {
            Some(&handle) if id < Self::DENSE_LIMIT => (handle != Self::ABSENT).then_some(handle),
            _ if id < Self::DENSE_LIMIT => None,
            _ => self.sparse.get(&id).copied(),
        }
    }

    fn insert(&mut self, id: u64, handle: u32) {
        if id < Self::DENSE_LIMIT {
            let i = id as usize;
            if i >= self.dense.len() {
                self.dense.resize((i + 1).next_power_of_two(), Self::ABSENT);
            }
            self.dense[i] = handle;
        } else {
            self.sparse.insert(id, handle);
        }
    }

    fn clear(&mut self) {
        self.dense.fill(Self::ABSENT);
        self.sparse.clear();
    }
}

impl TraceIr {
    /// Reads a whole trace into the IR. A damaged trace gives the IR of everything before the
    /// damage, with the error kept; only an unreadable header is an error here.
    pub fn from_trace(bytes: &[u8]) -> Result<TraceIr, Error> {
        TraceIr::from_trace_with_progress(bytes, |_| {})
    }

    /// As [`from_trace`](Self::from_trace), calling `progress` at each generation with the
    /// offset before which the trace will not be read again (for progress bars, and for
    /// [`TraceFile::release_before`](crate::TraceFile::release_before)).
    pub fn from_trace_with_progress(bytes: &[u8], progress: impl FnMut(u64) + Send) -> Result<TraceIr, Error> {
        let reader = Reader::new(bytes)?;
        let mut builder = Builder::new(reader.header_minor());
        // The encoded events take about as many bytes as the trace: reserving that once
        // avoids the doubling reallocations that would briefly need twice as much.
        builder.ir.events.reserve(bytes.len() + bytes.len() / 8);
        let error = read_all(reader, progress, |event, tables| {
            builder.add(*event, tables);
            true
        });
        builder.ir.error = error.map(|error| StoredError { message: error.to_string(), offset: error.offset() });
        Ok(builder.ir)
    }

    /// Writes the stored IR ([`IR_MAGIC`] followed by the postcard encoding) to `out`
    /// without building it in memory first.
    pub fn write_to<W: std::io::Write>(&self, mut out: W) -> std::io::Result<()> {
        out.write_all(IR_MAGIC)?;
        postcard::to_io(self, out).map(|_| ()).map_err(std::io::Error::other)
    }

    /// The stored IR: [`IR_MAGIC`] followed by the postcard encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = IR_MAGIC.to_vec();
        // Serializing into memory cannot fail for these types.
        out.extend(postcard::to_allocvec(self).unwrap_or_default());
        out
    }

    /// Reads a stored IR, checking its magic and version.
    pub fn from_bytes(bytes: &[u8]) -> Result<TraceIr, IrError> {
        let payload = bytes.strip_prefix(IR_MAGIC).ok_or(IrError::NotAnIr)?;
        let ir: TraceIr = postcard::from_bytes(payload).map_err(|e| IrError::Corrupt(e.to_string()))?;
        if ir.ir_version != IR_VERSION {
            return Err(IrError::Version(ir.ir_version));
        }
        Ok(ir)
    }

    /// Whether `bytes` start like a stored IR.
    pub fn is_ir(bytes: &[u8]) -> bool {
        bytes.starts_with(IR_MAGIC)
    }

    /// How many events the IR holds.
    pub fn event_count(&self) -> u64 {
        self.event_count
    }

    /// The error that ended reading the trace, if it was damaged.
    pub fn error(&self) -> Option<&StoredError> {
        self.error.as_ref()
    }

    /// The generations, in order.
    pub fn generations(&self) -> &[GenerationInfo] {
        &self.generations
    }

    /// The interned string behind `handle`.
    pub fn string(&self, handle: StringHandle) -> Option<&[u8]> {
        let i = handle.0 as usize;
        let end = *self.string_ends.get(i)? as usize;
        let start = if i == 0 { 0 } else { self.string_ends[i - 1] as usize };
        self.string_bytes.get(start..end)
    }

    /// The frames of the stack behind `handle`, innermost first.
    pub fn stack(&self, handle: StackHandle) -> impl Iterator<Item = Frame> + '_ {
        let i = handle.0 as usize;
        let end = self.stack_ends.get(i).map_or(0, |&e| e as usize);
        let start = if i == 0 { 0 } else { self.stack_ends.get(i - 1).map_or(0, |&e| e as usize) };
        let handles = self.stack_frames.get(start..end).unwrap_or_default();
        handles.iter().filter_map(|h| self.frames.get(h.0 as usize).copied())
    }

    /// The events, in order. String and stack IDs in them are handles of this IR.
    pub fn events(&self) -> IrEvents<'_> {
        IrEvents { ir: self, pos: 0, previous: BEFORE_FIRST_EVENT, generation: u32::MAX }
    }

    /// The events at or after `time` (nanoseconds), in order: found through the time index,
    /// so that a window of a huge trace costs about what the window holds.
    pub fn events_from(&self, time: i64) -> impl Iterator<Item = Event> + '_ {
        // The last checkpoint at or before `time`; the events before it are all earlier.
        let after = self.checkpoints.partition_point(|c| c.time <= time);
        let mut events = match after.checked_sub(1).map(|i| self.checkpoints[i]) {
            Some(c) => IrEvents {
                ir: self,
                pos: c.offset as usize,
                previous: Event {
                    time: c.previous_time,
                    m: c.previous_m,
                    p: c.previous_p,
                    g: c.previous_g,
                    ..BEFORE_FIRST_EVENT
                },
                generation: c.generation,
            },
            None => self.events(),
        };
        let first = events.by_ref().find(|e| e.time >= time);
        first.into_iter().chain(events)
    }

    /// The events with `start <= time < end`, in order (see [`events_from`](Self::events_from)).
    pub fn events_between(&self, start: i64, end: i64) -> impl Iterator<Item = Event> + '_ {
        self.events_from(start).take_while(move |e| e.time < end)
    }
}

/// The IR's tables as seen by the events of one generation, for printing and lookups.
#[derive(Debug, Clone, Copy)]
pub struct IrTables<'i> {
    ir: &'i TraceIr,
    generation: Option<&'i GenerationInfo>,
}

impl TraceIr {
    /// The tables `event` (an event of this IR) refers to.
    pub fn tables(&self, event: &Event) -> IrTables<'_> {
        IrTables { ir: self, generation: self.generations.get(event.generation as usize) }
    }

    /// Writes every event as `go tool trace -d=parsed` prints it, then returns the stored
    /// error of a damaged trace, if any: the same output as reading the trace itself.
    pub fn write_parsed_dump<W: std::io::Write + ?Sized>(&self, out: &mut W) -> std::io::Result<Option<&StoredError>> {
        for event in self.events() {
            crate::event::write_parsed(out, &event, Some(&self.tables(&event)))?;
        }
        Ok(self.error.as_ref())
    }
}

impl EventTables for IrTables<'_> {
    fn string(&self, id: u64) -> Option<&[u8]> {
        EventTables::string(self.ir, id)
    }

    fn for_each_frame(&self, id: u64, frame: &mut dyn FnMut(ResolvedFrame<'_>)) {
        EventTables::for_each_frame(self.ir, id, frame);
    }

    fn clock(&self) -> Option<ClockSnapshot> {
        self.generation.and_then(|g| g.clock)
    }

    fn task_name(&self, stored: u64) -> Vec<u8> {
        EventTables::task_name(self.ir, stored)
    }
}

/// The IR's handles are the same in every generation, so the IR itself serves as the tables
/// of any event; only the clock, which is per generation, needs [`TraceIr::tables`].
impl EventTables for TraceIr {
    fn string(&self, id: u64) -> Option<&[u8]> {
        self.string(StringHandle(u32::try_from(id).ok()?))
    }

    fn for_each_frame(&self, id: u64, frame: &mut dyn FnMut(ResolvedFrame<'_>)) {
        let Ok(handle) = u32::try_from(id) else { return };
        for f in self.stack(StackHandle(handle)) {
            let name = |h: StringHandle| self.string(h).unwrap_or_default();
            frame(ResolvedFrame { pc: f.pc, func: name(f.func), file: name(f.file), line: f.line });
        }
    }

    /// Always `None`: the clock belongs to a generation, see [`TraceIr::tables`].
    fn clock(&self) -> Option<ClockSnapshot> {
        None
    }

    fn task_name(&self, stored: u64) -> Vec<u8> {
        EventTables::string(self, stored).unwrap_or_default().to_vec()
    }
}

impl TraceIr {
    /// What `event` (an event of this IR) says beyond its kind: range, task, region, log,
    /// metric, label, state transition, or the clock of a `Sync`.
    pub fn details(&self, event: &Event) -> Details<'_> {
        let mut details = event_details(event, Some(self));
        if let Details::Sync { clock, .. } = &mut details {
            *clock = self.generations.get(event.generation as usize).and_then(|g| g.clock);
        }
        details
    }
}

/// Why a stored IR could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IrError {
    /// The bytes do not start with [`IR_MAGIC`].
    NotAnIr,
    /// The IR was written by a different version of this library.
    Version(u32),
    /// The bytes after the magic are not a valid IR.
    Corrupt(String),
}

impl std::fmt::Display for IrError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IrError::NotAnIr => f.write_str("not a gotrace IR file (it does not start with \"GOTRACEI\")"),
            IrError::Version(v) => write!(
                f,
                "this IR file has layout version {v}, this gotrace reads version {IR_VERSION}: recreate it with `gotrace ir`"
            ),
            IrError::Corrupt(why) => write!(f, "the IR file is damaged: {why}"),
        }
    }
}

impl std::error::Error for IrError {}

/// The events of an IR, decoded one at a time.
pub struct IrEvents<'i> {
    ir: &'i TraceIr,
    pos: usize,
    previous: Event,
    generation: u32,
}

impl IrEvents<'_> {
    fn value(&mut self) -> Option<u64> {
        let (value, next) = read_uvarint(&self.ir.events, self.pos).ok()?;
        self.pos = next;
        Some(value)
    }

    fn decode(&mut self) -> Option<Event> {
        let ty = *self.ir.events.get(self.pos)?;
        let changed = *self.ir.events.get(self.pos + 1)?;
        self.pos += 2;
        let mut event = self.previous;
        event.ty = ty;
        event.time = self.previous.time.wrapping_add(unzigzag(self.value()?));
        if changed & 1 != 0 {
            event.m = unzigzag(self.value()?);
        }
        if changed & 2 != 0 {
            event.p = unzigzag(self.value()?);
        }
        if changed & 4 != 0 {
            event.g = unzigzag(self.value()?);
        }
        event.args = [0; 4];
        for i in 0..arg_count(ty) {
            event.args[i] = self.value()?;
        }
        event.extra = [0; 2];
        for i in 0..extra_count(ty) {
            event.extra[i] = self.value()?;
        }
        if ty == SYNC_TYPE {
            let index = self.value()?;
            event.generation = if index == 0 { u32::MAX } else { (index - 1) as u32 };
            if index != 0 {
                self.generation = event.generation;
            }
        } else {
            event.generation = self.generation;
        }
        event.offset = 0;
        self.previous = event;
        Some(event)
    }
}

impl Iterator for IrEvents<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        self.decode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slice_index_tells_apart_contents_with_the_same_hash() {
        let table: [&[u8]; 3] = [b"first", b"second", b"third"];
        let stored = |handle: u32| table[handle as usize];
        let mut index = SliceIndex::default();
        for handle in 0..3 {
            // All under one hash, as a collision would put them.
            assert_eq!(index.find_hashed(7, table[handle as usize], stored), None);
            index.insert(7, handle);
        }
        for handle in 0..3 {
            assert_eq!(index.find_hashed(7, table[handle as usize], stored), Some(handle));
        }
        assert_eq!(index.find_hashed(7, b"fourth", stored), None);
        assert_eq!(index.find_hashed(8, b"first", stored), None);
    }

    fn event_strategy() -> impl Strategy<Value = Event> {
        let types: Vec<u8> = (0..=255u8)
            .filter(|&t| {
                t == SYNC_TYPE || EventType(t).spec().is_some_and(|s| s.class == crate::spec::EventClass::Timed)
            })
            .chain([EventType::CPUSample.0])
            .collect();
        let id = prop_oneof![Just(-1i64), 0i64..50, any::<i64>()];
        (
            proptest::sample::select(types),
            any::<i64>(),
            id.clone(),
            id.clone(),
            id,
            any::<[u64; 4]>(),
            any::<[u64; 2]>(),
        )
            .prop_map(|(ty, time, m, p, g, mut args, mut extra)| {
                for (i, arg) in args.iter_mut().enumerate() {
                    if i >= arg_count(ty) {
                        *arg = 0;
                    }
                }
                for (i, e) in extra.iter_mut().enumerate() {
                    if i >= extra_count(ty) {
                        *e = 0;
                    }
                }
                Event { ty, time, m, p, g, args, extra, generation: u32::MAX, offset: 0 }
            })
    }

    proptest! {
        #[test]
        fn event_stream_round_trips(events in proptest::collection::vec(event_strategy(), 0..60)) {
            let mut builder = Builder::new(26);
            for event in &events {
                builder.encode(event);
            }
            let ir = TraceIr::from_bytes(&builder.ir.to_bytes()).unwrap();
            let decoded: Vec<Event> = ir.events().collect();
            prop_assert_eq!(decoded, events);
        }
    }

    #[test]
    fn stored_ir_is_checked() {
        assert_eq!(TraceIr::from_bytes(b"go 1.26 trace\0\0\0"), Err(IrError::NotAnIr));
        let mut bytes = Builder::new(26).ir.to_bytes();
        bytes.truncate(IR_MAGIC.len() + 1);
        assert!(matches!(TraceIr::from_bytes(&bytes), Err(IrError::Corrupt(_))));
        let mut old = Builder::new(26).ir;
        old.ir_version = IR_VERSION + 1;
        assert_eq!(TraceIr::from_bytes(&old.to_bytes()), Err(IrError::Version(IR_VERSION + 1)));
    }
}
