//! [`Reader`], the ordered event stream of any trace: Go 1.22+ traces through the v2 reader,
//! Go 1.5-1.21 traces through the old-format reader, both yielding the same event model.

use crate::error::Error;
use crate::event::{Event, StateTransition, state_transition};
use crate::generation::GenerationTables;
use crate::reader::V2Reader;
use crate::v1;
use crate::version::Version;

/// Reads the events of a trace in order, as Go 1.27's `internal/trace.Reader` does.
///
/// Go 1.22 and later traces are read generation by generation. Older traces (Go 1.5 to 1.21)
/// are read whole first, then converted to the same event model as Go 1.27 converts them (Go
/// 1.27 itself reads only Go 1.11 and later); they form one generation.
///
/// Yields `Ok(event)` for every event, then `None`; on damage, the events before it and then
/// one `Err`, after which it yields nothing. A damaged old-format trace gives only the error:
/// its tick frequency and stacks come at its end, so nothing can be delivered without them.
pub struct Reader<'a> {
    source: Source<'a>,
}

// The v2 reader is the hot path and a `Reader` is made once per trace: it stays inline.
#[allow(clippy::large_enum_variant)]
enum Source<'a> {
    V2(V2Reader<'a>),
    Old { minor: u32, converter: Box<v1::Converter>, len: u64 },
}

impl<'a> Reader<'a> {
    /// Starts reading the trace in `bytes` (for an old-format trace, reads all of it).
    pub fn new(bytes: &'a [u8]) -> Result<Reader<'a>, Error> {
        let source = match v1::old_format_minor(bytes) {
            Some(minor) => {
                let converter = Box::new(v1::read(bytes, minor)?);
                Source::Old { minor, converter, len: bytes.len() as u64 }
            }
            None => Source::V2(V2Reader::new(bytes)?),
        };
        Ok(Reader { source })
    }

    /// The offset before which the reader will not read the trace again (the start of the
    /// current generation; the end of an old-format trace, which is read whole at the start):
    /// a caller holding the trace in a memory map can let the pages before it go
    /// ([`TraceFile::release_before`](crate::TraceFile::release_before)), and it measures
    /// progress.
    pub fn consumed_offset(&self) -> u64 {
        match &self.source {
            Source::V2(reader) => reader.consumed_offset(),
            Source::Old { len, .. } => *len,
        }
    }

    /// The trace's format version, or `None` for an old-format trace (Go 1.21 and earlier; see
    /// [`header_minor`](Self::header_minor)).
    pub fn version(&self) -> Option<Version> {
        match &self.source {
            Source::V2(reader) => Some(reader.version()),
            Source::Old { .. } => None,
        }
    }

    /// The minor Go version in the trace's header (21 for `go 1.21 trace`).
    pub fn header_minor(&self) -> u32 {
        match &self.source {
            Source::V2(reader) => reader.version().minor(),
            Source::Old { minor, .. } => *minor,
        }
    }

    /// The tables (strings, stacks, clock) of the generation an event belongs to.
    ///
    /// The reader keeps only the current generation's tables, so that memory stays bounded
    /// on traces of any size: look up what you need while the event is current (or build a
    /// [`TraceIr`](crate::ir::TraceIr), which keeps everything).
    pub fn tables(&self, event: &Event) -> Option<&GenerationTables> {
        match &self.source {
            Source::V2(reader) => reader.tables(event),
            Source::Old { converter, .. } => (event.generation == 0).then(|| converter.tables()),
        }
    }

    /// The state transition `event` describes, with its reason string resolved, or `None` if
    /// it is not a state transition.
    pub fn transition(&self, event: &Event) -> Option<StateTransition<'_>> {
        state_transition(event, self.tables(event))
    }
}

impl Iterator for Reader<'_> {
    type Item = Result<Event, Error>;

    #[inline]
    fn next(&mut self) -> Option<Result<Event, Error>> {
        match &mut self.source {
            Source::V2(reader) => reader.next(),
            Source::Old { converter, .. } => converter.next_event(),
        }
    }
}
