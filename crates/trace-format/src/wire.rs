//! The wire layer of v2 traces (Go 1.22 and later): the header, batch framing, generation
//! boundaries and the records inside batches, decoded without copying or allocating.
//!
//! A trace is a header followed by batches. Each batch carries a generation number, the
//! thread that wrote it, a base timestamp and up to 64 KiB of records; Go 1.26 and later end
//! every generation with a one-byte `EndOfGeneration` record. [`WireReader`] walks the
//! top level, and [`Batch::records`] walks the records of one batch.

use crate::error::{BatchLocation, Error, ErrorKind, Expected};
use crate::spec::{EventSpec, EventType, FRAME_FIELDS, MAX_ARGS, MAX_BATCH_SIZE, Trailer};
use crate::varint::{VarintError, read_uvarint};
use crate::version::{HEADER_LEN, Version, read_header};

/// One item at the top level of a trace: a batch, or the end of a generation.
#[derive(Debug, Clone, Copy)]
pub enum Item<'a> {
    /// A batch of records.
    Batch(Batch<'a>),
    /// The `EndOfGeneration` record that closes a generation (Go 1.26 and later).
    EndOfGeneration {
        /// Offset of the record's byte.
        offset: u64,
    },
}

/// What a batch holds, from its experiment byte and the first byte of its data (Go's rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BatchKind {
    /// Timed events written by one thread.
    Events,
    /// A section of the generation's string table.
    Strings,
    /// A section of the generation's stack table.
    Stacks,
    /// CPU profile samples.
    CpuSamples,
    /// The generation's clock information: a `Sync` batch (Go 1.25 and later) or the lone
    /// `Frequency` batch of earlier versions.
    Sync,
    /// Opaque data of an experiment (the byte is the experiment ID, 1 = AllocFree).
    Experimental(u8),
}

/// A batch: a header and a slice of the file holding its records.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    location: BatchLocation,
    experiment: Option<u8>,
    time: u64,
    size: u64,
    data: &'a [u8],
    data_offset: u64,
    version: Version,
}

impl<'a> Batch<'a> {
    /// Where the batch starts, its generation and its thread.
    pub fn location(&self) -> BatchLocation {
        self.location
    }

    /// The experiment ID of an `ExperimentalBatch`, `None` for an ordinary `EventBatch`.
    pub fn experiment(&self) -> Option<u8> {
        self.experiment
    }

    /// The batch's base timestamp in trace-clock ticks.
    pub fn time(&self) -> u64 {
        self.time
    }

    /// The data size the header declares.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The batch's data. Shorter than [`size`](Self::size) only when the file is truncated.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Offset of the first data byte.
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// Whether the file ends before the batch's data does.
    pub fn is_truncated(&self) -> bool {
        (self.data.len() as u64) < self.size
    }

    /// What the batch holds.
    pub fn kind(&self) -> BatchKind {
        if let Some(exp) = self.experiment.filter(|&e| e != 0) {
            return BatchKind::Experimental(exp);
        }
        match self.data.first().map(|&b| EventType(b)) {
            Some(EventType::Strings) => BatchKind::Strings,
            Some(EventType::Stacks) => BatchKind::Stacks,
            Some(EventType::CPUSamples) => BatchKind::CpuSamples,
            Some(EventType::Frequency) if self.version < Version::Go125 => BatchKind::Sync,
            Some(EventType::Sync) if self.version >= Version::Go125 => BatchKind::Sync,
            _ => BatchKind::Events,
        }
    }

    /// The records of the batch, in file order. An experimental batch's data is opaque and
    /// yields no records.
    pub fn records(&self) -> Records<'a> {
        self.records_from(0)
    }

    /// The bytes [`records`](Self::records) walks: none for an experimental batch.
    #[inline]
    pub(crate) fn record_bytes(&self) -> &'a [u8] {
        if self.experiment.is_some() { &[] } else { self.data }
    }

    /// The records from byte `pos` of [`record_bytes`](Self::record_bytes) on.
    pub(crate) fn records_from(&self, pos: usize) -> Records<'a> {
        Records {
            data: self.record_bytes(),
            pos,
            base: self.data_offset,
            batch_end: self.data_offset + self.size,
            version: self.version,
            location: self.location,
            failed: false,
        }
    }
}

/// Iterates over the top level of a v2 trace: batches and end-of-generation records.
///
/// Checks framing as it goes (batch types, sizes, generation order, the final
/// end-of-generation record of Go 1.26+ traces). After the first error it yields nothing
/// more. A batch cut short by the end of the file is yielded with the data that exists,
/// followed by the error.
#[derive(Debug, Clone)]
pub struct WireReader<'a> {
    bytes: &'a [u8],
    pos: usize,
    version: Version,
    generation: Option<u64>,
    generation_open: bool,
    pending: Option<Error>,
    done: bool,
}

impl<'a> WireReader<'a> {
    /// Reads the header of `bytes` and positions the reader on the first batch.
    pub fn new(bytes: &'a [u8]) -> Result<WireReader<'a>, Error> {
        let version = read_header(bytes)?;
        Ok(WireReader {
            bytes,
            pos: HEADER_LEN,
            version,
            generation: None,
            generation_open: false,
            pending: None,
            done: false,
        })
    }

    /// The version the header declares.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The offset of the next item.
    pub fn offset(&self) -> u64 {
        self.pos as u64
    }

    fn fail(&mut self, error: Error) -> Option<Result<Item<'a>, Error>> {
        self.done = true;
        Some(Err(error))
    }

    fn read_field(&mut self, what: &'static str) -> Result<u64, Error> {
        let (value, next) = read_uvarint(self.bytes, self.pos)
            .map_err(|e| varint_error(e, Expected::BatchField(what), self.pos, self.bytes.len()))?;
        self.pos = next;
        Ok(value)
    }

    fn read_batch(&mut self) -> Result<Batch<'a>, Error> {
        let start = self.pos;
        let experimental = self.bytes[start] == EventType::ExperimentalBatch.0;
        self.pos += 1;
        let experiment = if experimental {
            let Some(&exp) = self.bytes.get(self.pos) else {
                let what = Expected::BatchField("experiment");
                return Err(Error::new(ErrorKind::UnexpectedEof(what), self.pos as u64));
            };
            self.pos += 1;
            Some(exp)
        } else {
            None
        };
        let generation_offset = self.pos as u64;
        let generation = self.read_field("generation")?;
        let thread = self.read_field("thread ID")?;
        let location = BatchLocation { offset: start as u64, generation, thread };
        let time = self.read_field("timestamp").map_err(|e| e.in_batch(location))?;
        let size_offset = self.pos as u64;
        let size = self.read_field("size").map_err(|e| e.in_batch(location))?;
        if size > MAX_BATCH_SIZE {
            return Err(Error::new(ErrorKind::BatchTooLarge { size }, size_offset).in_batch(location));
        }
        self.check_generation(generation, generation_offset).map_err(|e| e.in_batch(location))?;

        let data_start = self.pos;
        let available = (self.bytes.len() - data_start) as u64;
        let data_end = data_start + size.min(available) as usize;
        self.pos = data_end;
        if size > available {
            let kind = ErrorKind::TruncatedBatch { declared: size, available };
            self.pending = Some(Error::new(kind, data_end as u64).in_batch(location));
        }
        Ok(Batch {
            location,
            experiment,
            time,
            size,
            data: &self.bytes[data_start..data_end],
            data_offset: data_start as u64,
            version: self.version,
        })
    }

    fn check_generation(&mut self, found: u64, offset: u64) -> Result<(), Error> {
        if found == 0 {
            return Err(Error::new(ErrorKind::ZeroGeneration, offset));
        }
        match self.generation {
            Some(current) if self.generation_open || !self.version.has_end_of_generation() => {
                let next_ok = !self.version.has_end_of_generation() && current.checked_add(1) == Some(found);
                if found != current && !next_ok {
                    return Err(Error::new(ErrorKind::GenerationOutOfOrder { current, found }, offset));
                }
            }
            // Go 1.26+ generations are delimited by their end record, not by their numbers.
            _ => {}
        }
        self.generation = Some(found);
        self.generation_open = true;
        Ok(())
    }
}

impl<'a> Iterator for WireReader<'a> {
    type Item = Result<Item<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if let Some(error) = self.pending.take() {
            return self.fail(error);
        }
        let Some(&ty) = self.bytes.get(self.pos) else {
            self.done = true;
            if self.version.has_end_of_generation() && self.generation_open {
                let generation = self.generation.unwrap_or_default();
                let kind = ErrorKind::MissingEndOfGeneration { generation };
                return Some(Err(Error::new(kind, self.pos as u64)));
            }
            return None;
        };
        let ty = EventType(ty);
        let batch_type =
            ty == EventType::EventBatch || ty == EventType::ExperimentalBatch && self.version.spec(ty).is_some();
        if ty == EventType::EndOfGeneration && self.version.has_end_of_generation() {
            let offset = self.pos as u64;
            self.pos += 1;
            self.generation_open = false;
            return Some(Ok(Item::EndOfGeneration { offset }));
        }
        if !batch_type {
            return self.fail(Error::new(ErrorKind::BadBatchType { found: ty.0 }, self.pos as u64));
        }
        match self.read_batch() {
            Ok(batch) => Some(Ok(Item::Batch(batch))),
            Err(error) => self.fail(error),
        }
    }
}

impl std::iter::FusedIterator for WireReader<'_> {}

/// An error for a uvarint at `offset`: an overflow is reported where the number starts, the
/// end of the input where the input ends (`end`).
fn varint_error(error: VarintError, what: Expected, offset: usize, end: usize) -> Error {
    match error {
        VarintError::Eof | VarintError::Truncated => Error::new(ErrorKind::UnexpectedEof(what), end as u64),
        VarintError::Overflow => Error::new(ErrorKind::VarintOverflow(what), offset as u64),
    }
}

/// What follows a record's arguments.
#[derive(Debug, Clone, Copy)]
enum TrailerBytes<'a> {
    None,
    Data(&'a [u8]),
    Frames(&'a [u8]),
}

/// One record inside a batch, decoded in place.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    spec: &'static EventSpec,
    ty: EventType,
    offset: u64,
    len: u32,
    args: [u64; MAX_ARGS],
    trailer: TrailerBytes<'a>,
}

impl<'a> Record<'a> {
    /// The record's type.
    pub fn event_type(&self) -> EventType {
        self.ty
    }

    /// The record's entry in the event table.
    pub fn spec(&self) -> &'static EventSpec {
        self.spec
    }

    /// Offset of the record's type byte.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// How many bytes the record occupies in the file.
    pub fn encoded_len(&self) -> usize {
        self.len as usize
    }

    /// The raw argument values in table order (`dt` first for timed events).
    pub fn args(&self) -> &[u64] {
        &self.args[..self.spec.args.len()]
    }

    /// The data trailer of a `String` record.
    pub fn data(&self) -> Option<&'a [u8]> {
        match self.trailer {
            TrailerBytes::Data(data) => Some(data),
            _ => None,
        }
    }

    /// The frames of a `Stack` record (empty for every other record).
    pub fn frames(&self) -> Frames<'a> {
        match self.trailer {
            TrailerBytes::Frames(bytes) => Frames { bytes, pos: 0 },
            _ => Frames { bytes: &[], pos: 0 },
        }
    }
}

/// One frame of a `Stack` record: raw values, the names are string IDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawFrame {
    /// Program counter.
    pub pc: u64,
    /// String ID of the function name.
    pub func: u64,
    /// String ID of the file name.
    pub file: u64,
    /// Line number.
    pub line: u64,
}

/// The frames of a `Stack` record, decoded lazily from bytes already validated.
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Iterator for Frames<'_> {
    type Item = RawFrame;

    fn next(&mut self) -> Option<RawFrame> {
        let mut values = [0u64; 4];
        for value in &mut values {
            // The record was validated when it was decoded, so this cannot fail; stopping
            // is the safe answer if it ever did.
            let (v, next) = read_uvarint(self.bytes, self.pos).ok()?;
            *value = v;
            self.pos = next;
        }
        let [pc, func, file, line] = values;
        Some(RawFrame { pc, func, file, line })
    }
}

/// Iterates over the records of one batch; yields nothing more after an error.
#[derive(Debug, Clone)]
pub struct Records<'a> {
    data: &'a [u8],
    pos: usize,
    base: u64,
    batch_end: u64,
    version: Version,
    location: BatchLocation,
    failed: bool,
}

impl<'a> Records<'a> {
    #[cold]
    fn error(&mut self, kind: ErrorKind, at: usize) -> Error {
        self.failed = true;
        Error::new(kind, self.base + at as u64).in_batch(self.location)
    }

    /// Reads a uvarint of the record that starts at `start`; `what` names it for errors.
    #[inline]
    fn value(&mut self, start: usize, what: impl FnOnce() -> Expected) -> Result<u64, Error> {
        match read_uvarint(self.data, self.pos) {
            Ok((value, next)) => {
                self.pos = next;
                Ok(value)
            }
            Err(error) => Err(self.value_error(error, start, what())),
        }
    }

    #[cold]
    fn value_error(&mut self, error: VarintError, start: usize, what: Expected) -> Error {
        match error {
            VarintError::Overflow => {
                let at = self.pos;
                self.error(ErrorKind::VarintOverflow(what), at)
            }
            VarintError::Eof | VarintError::Truncated => self.overrun(start),
        }
    }

    #[cold]
    fn overrun(&mut self, start: usize) -> Error {
        let event = EventType(self.data[start]);
        self.error(ErrorKind::RecordOverrunsBatch { event, batch_end: self.batch_end }, start)
    }

    #[cold]
    fn bad_type(&mut self, start: usize) -> Error {
        let ty = EventType(self.data[start]);
        let kind = match self.version.spec(ty) {
            Some(_) => ErrorKind::MisplacedRecord(ty),
            None => ErrorKind::UnknownEventType { found: ty.0, minor: self.version.minor() },
        };
        self.error(kind, start)
    }

    #[inline]
    fn decode(&mut self) -> Result<Record<'a>, Error> {
        let start = self.pos;
        let ty = EventType(self.data[start]);
        let spec = match self.version.spec(ty) {
            Some(spec) if !spec.frames_file() => spec,
            _ => return Err(self.bad_type(start)),
        };
        self.pos += 1;
        let mut args = [0u64; MAX_ARGS];
        for (i, slot) in args.iter_mut().enumerate().take(spec.args.len()) {
            *slot = self.value(start, || Expected::Argument { event: spec.name, arg: spec.args[i] })?;
        }
        let trailer = match spec.trailer {
            Trailer::None => TrailerBytes::None,
            Trailer::Data => self.data_trailer(start, spec)?,
            Trailer::Frames => self.frames_trailer(start, args[1])?,
        };
        Ok(Record { spec, ty, offset: self.base + start as u64, len: (self.pos - start) as u32, args, trailer })
    }

    fn data_trailer(&mut self, start: usize, spec: &'static EventSpec) -> Result<TrailerBytes<'a>, Error> {
        let len = self.value(start, || Expected::DataLength(spec.name))?;
        if len > (self.data.len() - self.pos) as u64 {
            return Err(self.overrun(start));
        }
        let bytes = &self.data[self.pos..self.pos + len as usize];
        self.pos += len as usize;
        Ok(TrailerBytes::Data(bytes))
    }

    fn frames_trailer(&mut self, start: usize, count: u64) -> Result<TrailerBytes<'a>, Error> {
        // Each frame takes at least four bytes: a count beyond that cannot fit.
        if count > ((self.data.len() - self.pos) / 4) as u64 {
            return Err(self.overrun(start));
        }
        let frames_start = self.pos;
        for index in 0..count {
            for field in FRAME_FIELDS {
                self.value(start, || Expected::Frame { index, field })?;
            }
        }
        Ok(TrailerBytes::Frames(&self.data[frames_start..self.pos]))
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.data.len() {
            return None;
        }
        Some(self.decode())
    }
}

impl std::iter::FusedIterator for Records<'_> {}
