//! Decoding the records of an old-format trace: a sequential scan that reads the file-wide
//! records (strings, stacks, frequency, timer goroutines, CPU samples) and indexes the batches
//! of each proc, then the decoding of one proc's batches into its event stream, which needs
//! nothing from the other procs and so runs in parallel.

use rustc_hash::{FxHashMap, FxHashSet};

use super::spec::{OldEventSpec, OldVersion, ev, is_blocking};
use crate::error::{Error, ErrorKind, Expected};
use crate::varint::{VarintError, read_uvarint};
use crate::version::HEADER_LEN;

/// The longest string Go's parser accepts.
const MAX_STRING_LEN: u64 = 1_000_000;
/// The most frames Go's parser accepts in one stack.
const MAX_STACK_FRAMES: u64 = 1000;
/// The longest length-prefixed record Go 1.27 accepts (Go 1.21 and older have no limit, and
/// neither does this reader for the versions only they read).
const MAX_PREFIXED_LEN: u64 = 2048;
/// The most values a timed record holds (a Go 1.5 `GoSysExit`, a `UserTaskCreate`, a
/// `CPUSample`); more are counted so that the error can say how many there were.
const MAX_VALUES: usize = 6;

/// The proc ID the runtime writes for its global buffer (events without a proc).
const NO_PROC: u64 = u64::MAX;

/// A decoded timed event, before ordering; the unit of all later stages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct OldEvent {
    /// Ticks until ordering is done, then nanoseconds since the first event.
    pub ts: i64,
    /// The goroutine it happened on (0: none).
    pub g: u64,
    /// Its arguments. Go 1.5 events keep their global sequence number in `args[3]`, which no
    /// event of that version uses; `UserLog` events keep their message's offset and length
    /// in `args[2]` and `args[3]` until the messages are numbered.
    pub args: [u64; 4],
    /// Where its record starts in the file.
    pub offset: u64,
    pub stack: u32,
    /// Its proc, or -1, or one of Go's pseudo-procs (timers, netpoll, syscalls, GC).
    pub p: i32,
    pub ty: u8,
}

/// The values of one record as the reader found them.
struct Values {
    values: [u64; MAX_VALUES],
    count: usize,
}

impl Values {
    fn get(&self, i: usize) -> u64 {
        self.values.get(i).copied().unwrap_or(0)
    }
}

/// One record, located.
struct RawRecord<'a> {
    ty: u8,
    start: usize,
    spec: &'static OldEventSpec,
    values: Values,
    /// The bytes holding the values of a length-prefixed record.
    body: &'a [u8],
    /// The message after a `UserLog` record's values: its offset and length.
    message: Option<(usize, usize)>,
}

/// Walks the records of the file.
pub(crate) struct Records<'a> {
    bytes: &'a [u8],
    pos: usize,
    version: OldVersion,
}

fn invalid(message: String, offset: usize) -> Error {
    Error::new(ErrorKind::InvalidOldTrace(message), offset as u64)
}

impl<'a> Records<'a> {
    pub(crate) fn new(bytes: &'a [u8], version: OldVersion, pos: usize) -> Records<'a> {
        Records { bytes, pos, version }
    }

    fn value(&mut self, expected: impl Fn() -> Expected) -> Result<u64, Error> {
        match read_uvarint(self.bytes, self.pos) {
            Ok((value, next)) => {
                self.pos = next;
                Ok(value)
            }
            Err(VarintError::Overflow) => Err(Error::new(ErrorKind::VarintOverflow(expected()), self.pos as u64)),
            Err(_) => Err(Error::new(ErrorKind::UnexpectedEof(expected()), self.bytes.len() as u64)),
        }
    }

    /// `len` bytes at the current position.
    fn take(&mut self, len: u64, expected: Expected) -> Result<&'a [u8], Error> {
        let available = (self.bytes.len() - self.pos) as u64;
        if len > available {
            return Err(Error::new(ErrorKind::UnexpectedEof(expected), self.bytes.len() as u64));
        }
        let slice = &self.bytes[self.pos..self.pos + len as usize];
        self.pos += len as usize;
        Ok(slice)
    }

    /// Reads the next record, or `None` at the end of the file.
    fn next_record(&mut self) -> Option<Result<RawRecord<'a>, Error>> {
        let start = self.pos;
        let &byte = self.bytes.get(start)?;
        Some(self.read_record(start, byte))
    }

    fn read_record(&mut self, start: usize, byte: u8) -> Result<RawRecord<'a>, Error> {
        let (ty, count_field) = (byte & 0x3f, byte >> 6);
        let spec = self.version.spec(ty).ok_or_else(|| {
            Error::new(ErrorKind::UnknownEventType { found: ty, minor: self.version.0 }, start as u64)
        })?;
        self.pos = start + 1;
        let mut record = RawRecord {
            ty,
            start,
            spec,
            values: Values { values: [0; MAX_VALUES], count: 0 },
            body: &[],
            message: None,
        };
        let name = spec.name;
        if ty == ev::STRING {
            let id = self.value(|| Expected::Argument { event: name, arg: "id" })?;
            let len = self.value(|| Expected::DataLength(name))?;
            if id == 0 {
                return Err(invalid("string has invalid id 0".into(), start));
            }
            if len == 0 {
                return Err(invalid("string has invalid length 0".into(), start));
            }
            if len > MAX_STRING_LEN {
                return Err(invalid(format!("string has too large length {len}"), start));
            }
            record.body = self.take(len, Expected::Data(name))?;
            record.values.values[0] = id;
            record.values.count = 1;
            return Ok(record);
        }
        if ty == ev::BATCH && count_field != 1 {
            let message = format!("EvBatch has wrong number of arguments: got {}, want 2", u32::from(count_field) + 1);
            return Err(invalid(message, start));
        }
        let seq = usize::from(self.version.has_event_seq());
        // The name of the `i`th value, for errors: the event table's names, after the Go 1.5
        // sequence delta and the timestamp delta of timed events.
        let arg_name = move |i: usize| -> &'static str {
            let untimed = matches!(ty, ev::BATCH | ev::FREQUENCY | ev::TIMER_GOROUTINE | ev::STACK);
            if ty == ev::BATCH && seq == 1 {
                return ["p", "seq", "ticks"].get(i).copied().unwrap_or("value");
            }
            if untimed {
                return spec.args.get(i).copied().unwrap_or(if ty == ev::STACK { "frame" } else { "unused" });
            }
            match i.checked_sub(seq) {
                None => "seq",
                Some(0) => "dt",
                Some(i) => spec.args.get(i - 1).copied().unwrap_or(if spec.stack { "stack" } else { "value" }),
            }
        };
        if count_field < 3 {
            let count = usize::from(count_field) + 1 + usize::from(self.version.has_event_seq());
            for i in 0..count {
                let value = self.value(|| Expected::Argument { event: name, arg: arg_name(i) })?;
                record.values.values[i] = value;
            }
            record.values.count = count;
        } else {
            let len = self.value(|| Expected::DataLength(name))?;
            if self.version.0 >= 11 && len > MAX_PREFIXED_LEN {
                let message = format!(
                    "failed to read event {ty} argument: length-prefixed argument too big: {len} bytes, limit is {MAX_PREFIXED_LEN}"
                );
                return Err(invalid(message, start));
            }
            let body_start = self.pos;
            record.body = self.take(len, Expected::Data(name))?;
            // The values must fill the body exactly; each is decoded where it lies in the file,
            // so that an error names its offset.
            let mut pos = body_start;
            let end = self.pos;
            while pos < end {
                let body = &self.bytes[..end];
                match read_uvarint(body, pos) {
                    Ok((value, next)) => {
                        if let Some(slot) = record.values.values.get_mut(record.values.count) {
                            *slot = value;
                        }
                        record.values.count += 1;
                        pos = next;
                    }
                    Err(VarintError::Overflow) => {
                        let arg = arg_name(record.values.count);
                        return Err(Error::new(
                            ErrorKind::VarintOverflow(Expected::Argument { event: name, arg }),
                            pos as u64,
                        ));
                    }
                    Err(_) => {
                        let message = format!(
                            "malformed value in a {name} record: the record's values end at offset {end:#x}, inside a value"
                        );
                        return Err(invalid(message, pos));
                    }
                }
            }
            if ty == ev::USER_LOG {
                let len = self.value(|| Expected::DataLength("UserLog message"))?;
                if len > MAX_STRING_LEN {
                    return Err(invalid(format!("string is too large (len={len})"), self.pos));
                }
                let message_start = self.pos;
                self.take(len, Expected::Data("UserLog message"))?;
                record.message = Some((message_start, len as usize));
            }
        }
        Ok(record)
    }
}

/// Where a batch's records lie.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchSpan {
    pub start: usize,
    pub end: usize,
}

/// The batches of one proc, in file order.
#[derive(Debug)]
pub(crate) struct ProcBatches {
    pub p: i32,
    pub batches: Vec<BatchSpan>,
    /// How many timed events the batches hold, so that decoding allocates once.
    pub event_count: usize,
}

/// A stack: its PCs; frames are shared by PC.
pub(crate) type Stack = Vec<u64>;

/// A frame: its function and file string IDs and its line.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OldFrame {
    pub func: u64,
    pub file: u64,
    pub line: u64,
}

/// What the sequential scan finds.
#[derive(Debug, Default)]
pub(crate) struct Scan<'a> {
    /// Every proc that has a batch, ascending by ID.
    pub procs: Vec<ProcBatches>,
    pub strings: FxHashMap<u64, &'a [u8]>,
    pub stacks: FxHashMap<u32, Stack>,
    pub frames: FxHashMap<u64, OldFrame>,
    /// Ticks per second, and the offset of the record that said so.
    pub frequency: Option<(i64, usize)>,
    pub timer_goroutines: FxHashSet<u64>,
    pub cpu_samples: Vec<OldEvent>,
}

fn wrong_count(spec: &OldEventSpec, want: usize, got: usize, offset: usize) -> Error {
    invalid(format!("{} has wrong number of arguments: want {want}, got {got}", spec.name), offset)
}

/// Reads the whole file once: file-wide records into tables, batches into per-proc lists.
pub(crate) fn scan(bytes: &[u8], version: OldVersion) -> Result<Scan<'_>, Error> {
    let mut scan = Scan::default();
    let mut proc_index: FxHashMap<i32, usize> = FxHashMap::default();
    // The proc whose batch is open, and the index of that batch in its list.
    let mut open: Option<(usize, usize)> = None;
    let mut records = Records::new(bytes, version, HEADER_LEN);
    while let Some(record) = records.next_record() {
        let record = record?;
        if let Some((proc, batch)) = open
            && record.ty == ev::BATCH
        {
            scan.procs[proc].batches[batch].end = record.start;
        }
        match record.ty {
            ev::STRING => {
                let id = record.values.get(0);
                if scan.strings.insert(id, record.body).is_some() {
                    return Err(invalid(format!("string has duplicate id {id}"), record.start));
                }
                continue;
            }
            ev::BATCH => {
                let pid = record.values.get(0);
                if pid != NO_PROC && pid > i32::MAX as u64 {
                    let message = format!("processor ID {pid} is larger than maximum of {}", i32::MAX);
                    return Err(invalid(message, record.start));
                }
                let p = if pid == NO_PROC { -1 } else { pid as i32 };
                let index = *proc_index.entry(p).or_insert_with(|| {
                    scan.procs.push(ProcBatches { p, batches: Vec::new(), event_count: 0 });
                    scan.procs.len() - 1
                });
                let list = &mut scan.procs[index].batches;
                list.push(BatchSpan { start: record.start, end: bytes.len() });
                open = Some((index, list.len() - 1));
                continue;
            }
            _ => {}
        }
        let Some((proc, _)) = open else {
            let message = format!("read event {} with current P of 0, but P has no batches yet", record.ty);
            return Err(invalid(message, record.start));
        };
        match record.ty {
            ev::FREQUENCY => {
                let want = version.value_count(record.ty, record.spec);
                if record.values.count != want {
                    return Err(wrong_count(record.spec, want, record.values.count, record.start));
                }
                let ticks = record.values.get(0) as i64;
                if ticks <= 0 {
                    return Err(invalid("time stamps out of order".into(), record.start));
                }
                scan.frequency = Some((ticks, record.start));
            }
            ev::TIMER_GOROUTINE => {
                let want = version.value_count(record.ty, record.spec);
                if record.values.count != want {
                    return Err(wrong_count(record.spec, want, record.values.count, record.start));
                }
                scan.timer_goroutines.insert(record.values.get(0));
            }
            ev::STACK => read_stack(&mut scan, &record, version)?,
            ev::CPU_SAMPLE => {
                let want = version.value_count(record.ty, record.spec);
                if record.values.count != want {
                    let message =
                        format!("CPU sample has wrong number of arguments: want {want}, got {}", record.values.count);
                    return Err(invalid(message, record.start));
                }
                let v = &record.values;
                // The sample's time is the one taken in the signal handler, not the delta.
                scan.cpu_samples.push(OldEvent {
                    ts: v.get(1) as i64,
                    p: v.get(2) as i32,
                    g: v.get(3),
                    stack: v.get(4) as u32,
                    ty: ev::CPU_SAMPLE,
                    offset: record.start as u64,
                    args: [0; 4],
                });
            }
            _ => scan.procs[proc].event_count += 1,
        }
    }
    scan.procs.sort_by_key(|p| p.p);
    Ok(scan)
}

/// Reads a stack record: an ID, a frame count, then per frame a PC (Go 1.5) or a PC, function
/// and file string IDs and a line (Go 1.7 on).
fn read_stack(scan: &mut Scan<'_>, record: &RawRecord<'_>, version: OldVersion) -> Result<(), Error> {
    let count = record.values.count;
    if count < 2 {
        let message = format!("EvStack has wrong number of arguments: want at least 2, got {count}");
        return Err(invalid(message, record.start));
    }
    let (id, size) = (record.values.get(0), record.values.get(1));
    if size > MAX_STACK_FRAMES {
        return Err(invalid(format!("EvStack has bad number of frames: {size}"), record.start));
    }
    let per_frame = if version.has_event_seq() { 1 } else { 4 };
    let want = 2 + per_frame * size as usize;
    if count != want {
        let message = format!("EvStack has wrong number of arguments: want {want}, got {count}");
        return Err(invalid(message, record.start));
    }
    if id == 0 || size == 0 {
        return Ok(());
    }
    // Short stacks fit in the record's inline values; the values of longer ones, checked
    // while counting, are decoded again from the body.
    let mut values = Vec::with_capacity(count);
    if record.body.is_empty() {
        values.extend_from_slice(&record.values.values[..count.min(MAX_VALUES)]);
    } else {
        let mut pos = 0;
        while let Ok((value, next)) = read_uvarint(record.body, pos) {
            values.push(value);
            pos = next;
        }
    }
    if values.len() != count {
        return Err(invalid(
            format!("EvStack has wrong number of arguments: want {want}, got {}", values.len()),
            record.start,
        ));
    }
    let mut pcs = Vec::with_capacity(size as usize);
    for frame in values[2..].chunks_exact(per_frame) {
        let pc = frame[0];
        pcs.push(pc);
        // The first definition of a PC wins, as in Go. Go 1.5 frames have no names.
        let info = match frame {
            [_, func, file, line] => OldFrame { func: *func, file: *file, line: *line },
            _ => OldFrame::default(),
        };
        scan.frames.entry(pc).or_insert(info);
    }
    scan.stacks.insert(id as u32, pcs);
    Ok(())
}

/// Decodes the batches of one proc into its events, in order, as Go's parser does: each event
/// gets the proc, the goroutine running on it, and its time from the deltas.
pub(crate) fn decode_proc(bytes: &[u8], version: OldVersion, proc: &ProcBatches) -> Result<Vec<OldEvent>, Error> {
    let mut events = Vec::with_capacity(proc.event_count);
    let mut last_g = 0u64;
    let seq_values = usize::from(version.has_event_seq());
    for batch in &proc.batches {
        let mut records = Records::new(&bytes[..batch.end], version, batch.start);
        let (mut last_ts, mut last_seq) = (0i64, 0i64);
        while let Some(record) = records.next_record() {
            let record = record?;
            let v = &record.values;
            match record.ty {
                ev::BATCH => {
                    last_ts = v.get(1 + seq_values) as i64;
                    last_seq = if seq_values == 1 { v.get(1) as i64 } else { 0 };
                    continue;
                }
                ev::STRING | ev::FREQUENCY | ev::TIMER_GOROUTINE | ev::STACK | ev::CPU_SAMPLE => continue,
                _ => {}
            }
            let want = version.value_count(record.ty, record.spec);
            if v.count != want {
                return Err(wrong_count(record.spec, want, v.count, record.start));
            }
            let mut event =
                OldEvent { ty: record.ty, p: proc.p, g: last_g, offset: record.start as u64, ..Default::default() };
            if seq_values == 1 {
                last_seq = last_seq.wrapping_add(v.get(0) as i64);
                event.args[3] = last_seq as u64;
            }
            event.ts = last_ts.wrapping_add(v.get(seq_values) as i64);
            last_ts = event.ts;
            let first_arg = seq_values + 1;
            for i in first_arg..want {
                if i == want - 1 && record.spec.stack {
                    event.stack = v.get(i) as u32;
                } else {
                    event.args[i - first_arg] = v.get(i);
                }
            }
            match record.ty {
                ev::GO_START | ev::GO_START_LOCAL | ev::GO_START_LABEL => {
                    last_g = event.args[0];
                    event.g = last_g;
                }
                ty if is_blocking(ty)
                    || matches!(ty, ev::GO_END | ev::GO_STOP | ev::GO_SCHED | ev::GO_PREEMPT | ev::GO_SYS_BLOCK) =>
                {
                    last_g = 0
                }
                ev::GO_SYS_EXIT | ev::GO_WAITING | ev::GO_IN_SYSCALL => event.g = event.args[0],
                ev::USER_LOG => {
                    let (start, len) = record.message.unwrap_or_default();
                    event.args[2] = start as u64;
                    event.args[3] = len as u64;
                }
                _ => {}
            }
            events.push(event);
        }
    }
    Ok(events)
}
