//! A small writer of v2 wire bytes, for tests and tools that build synthetic traces.
//!
//! It writes what the event table says and checks argument counts; it does not check that
//! the events make sense together.

use crate::spec::{EventType, Trailer};
use crate::varint::{write_uvarint, write_uvarint_padded};
use crate::version::{Version, header_bytes};
use crate::wire::RawFrame;

/// Builds a trace file in memory.
#[derive(Debug, Clone)]
pub struct TraceWriter {
    out: Vec<u8>,
    version: Version,
}

impl TraceWriter {
    /// Starts a trace of `version` by writing its header.
    pub fn new(version: Version) -> TraceWriter {
        TraceWriter { out: header_bytes(version).to_vec(), version }
    }

    /// Appends an `EventBatch` whose data is what `fill` writes; the size field is padded to
    /// ten bytes as the runtime does.
    pub fn batch(&mut self, generation: u64, thread: u64, time: u64, fill: impl FnOnce(&mut BatchWriter)) -> &mut Self {
        let mut batch = BatchWriter { data: Vec::new(), version: self.version };
        fill(&mut batch);
        self.out.push(EventType::EventBatch.0);
        write_uvarint(&mut self.out, generation);
        write_uvarint(&mut self.out, thread);
        write_uvarint(&mut self.out, time);
        write_uvarint_padded(&mut self.out, batch.data.len() as u64);
        self.out.extend_from_slice(&batch.data);
        self
    }

    /// Appends an `ExperimentalBatch` with opaque `data`.
    pub fn experimental_batch(
        &mut self,
        experiment: u8,
        generation: u64,
        thread: u64,
        time: u64,
        data: &[u8],
    ) -> &mut Self {
        self.out.extend_from_slice(&[EventType::ExperimentalBatch.0, experiment]);
        for value in [generation, thread, time, data.len() as u64] {
            write_uvarint(&mut self.out, value);
        }
        self.out.extend_from_slice(data);
        self
    }

    /// Appends an `EndOfGeneration` record.
    pub fn end_of_generation(&mut self) -> &mut Self {
        self.out.push(EventType::EndOfGeneration.0);
        self
    }

    /// Appends raw bytes, for tests of damaged input.
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.out.extend_from_slice(bytes);
        self
    }

    /// The trace written so far.
    pub fn bytes(&self) -> &[u8] {
        &self.out
    }

    /// The finished trace.
    pub fn into_bytes(self) -> Vec<u8> {
        self.out
    }
}

/// Writes the records of one batch.
#[derive(Debug, Clone)]
pub struct BatchWriter {
    data: Vec<u8>,
    version: Version,
}

impl BatchWriter {
    fn record(&mut self, ty: EventType, args: &[u64]) {
        let spec = self.version.spec(ty).unwrap_or_else(|| panic!("{ty} is not an event of {}", self.version));
        assert_eq!(args.len(), spec.args.len(), "{} takes arguments {:?}", spec.name, spec.args);
        self.data.push(ty.0);
        for &arg in args {
            write_uvarint(&mut self.data, arg);
        }
    }

    /// Appends a record with no trailer (a timed event, a section marker, `Frequency`, ...).
    ///
    /// # Panics
    /// If `ty` is not an event of the trace's version, has a trailer, or `args` does not
    /// match its arguments: those are mistakes in the calling test.
    pub fn event(&mut self, ty: EventType, args: &[u64]) -> &mut Self {
        assert!(ty.spec().is_some_and(|s| s.trailer == Trailer::None), "{ty} has a trailer");
        self.record(ty, args);
        self
    }

    /// Appends a `String` record.
    pub fn string(&mut self, id: u64, data: &[u8]) -> &mut Self {
        self.record(EventType::String, &[id]);
        write_uvarint(&mut self.data, data.len() as u64);
        self.data.extend_from_slice(data);
        self
    }

    /// Appends a `Stack` record.
    pub fn stack(&mut self, id: u64, frames: &[RawFrame]) -> &mut Self {
        self.record(EventType::Stack, &[id, frames.len() as u64]);
        for frame in frames {
            for value in [frame.pc, frame.func, frame.file, frame.line] {
                write_uvarint(&mut self.data, value);
            }
        }
        self
    }

    /// Appends raw bytes, for tests of damaged input.
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.data.extend_from_slice(bytes);
        self
    }
}
