//! [`Reader`], the ordered event stream of any trace: Go 1.22+ traces through the v2 reader,
//! Go 1.5-1.21 traces through the old-format reader, both yielding the same event model.

use std::sync::Arc;

use crate::details::{Details, event_details};
use crate::error::Error;
use crate::event::{Event, SYNC_TYPE, StateTransition, state_transition};
use crate::generation::GenerationTables;
use crate::reader::{V2Reader, load_generations};
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

    /// What `event` says beyond its kind (range, task, region, log, metric, label, state
    /// transition, clock), with strings resolved; look it up while the event is current.
    pub fn details(&self, event: &Event) -> Details<'_> {
        event_details(event, self.tables(event))
    }

    /// The tables of the generation an event belongs to, shared, for a consumer on another
    /// thread.
    fn shared_tables(&self, event: &Event) -> Option<Arc<GenerationTables>> {
        match &self.source {
            Source::V2(reader) => reader.shared_tables(event),
            Source::Old { converter, .. } => (event.generation == 0).then(|| converter.shared_tables()),
        }
    }

    /// Reads the next events into `out`, all of one generation, so that one lookup of the
    /// tables serves them all: for a Go 1.22+ trace, a run ordered in place (see
    /// [`V2Reader::fill`]); otherwise the next event. Gives nothing at the end; on damage,
    /// the events before it and the error.
    fn next_chunk(&mut self, out: &mut Vec<Event>) -> Result<(), Error> {
        match &mut self.source {
            Source::V2(reader) => reader.fill(out, CHUNK_EVENTS),
            Source::Old { converter, .. } => match converter.next_event() {
                Some(Ok(event)) => {
                    out.push(event);
                    Ok(())
                }
                Some(Err(error)) => Err(error),
                None => Ok(()),
            },
        }
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

/// Events of one generation with that generation's tables: what the reading thread hands to
/// the consuming one.
struct EventChunk {
    tables: Option<Arc<GenerationTables>>,
    events: Vec<Event>,
}

/// Events per chunk: large enough that handing chunks over costs nothing per event, small
/// enough that a few chunks in flight take little memory.
const CHUNK_EVENTS: usize = 4096;
/// Chunks read ahead of the consumer at most.
const CHUNKS_IN_FLIGHT: usize = 8;

/// Reads every event of `reader` in order and gives it to `consume` with its generation's
/// tables, until `consume` returns false; `progress` gets the reader's consumed offset at each
/// `Sync`. Returns the error that ended a damaged trace, after every event before it was
/// consumed.
///
/// With more than one thread in the current rayon pool, ordering runs on a thread of its own
/// while `consume` runs on the calling thread, so the two overlap, and a Go 1.22+ trace's next
/// generation is read on a third while the current one is ordered; the events and their
/// order are the same either way.
pub(crate) fn read_all<'a>(
    mut reader: Reader<'a>,
    progress: impl FnMut(u64) + Send,
    mut consume: impl FnMut(&Event, Option<&GenerationTables>) -> bool,
) -> Option<Error> {
    let mut progress = progress;
    if rayon::current_num_threads() < 2 {
        while let Some(event) = reader.next() {
            match event {
                Ok(event) => {
                    if !consume(&event, reader.tables(&event)) {
                        return None;
                    }
                    if event.ty == SYNC_TYPE {
                        progress(reader.consumed_offset());
                    }
                }
                Err(error) => return Some(error),
            }
        }
        return None;
    }
    std::thread::scope(|scope| {
        // A third thread reads each generation's batches and tables while the one before is
        // ordered; it waits most of the time, so it costs the other two little.
        if let Source::V2(v2) = &mut reader.source
            && let Some((generations, sender)) = v2.load_ahead()
        {
            scope.spawn(move || load_generations(generations, sender));
        }
        let (sender, receiver) = std::sync::mpsc::sync_channel::<EventChunk>(CHUNKS_IN_FLIGHT);
        // Consumed chunks go back to the ordering thread to be filled again, rather than
        // allocating and freeing a chunk's memory (and faulting its pages in) every few
        // thousand events.
        let (recycle, recycled) = std::sync::mpsc::sync_channel::<Vec<Event>>(CHUNKS_IN_FLIGHT + 2);
        let ordering = scope.spawn(move || {
            let empty_chunk = || recycled.try_recv().unwrap_or_else(|_| Vec::with_capacity(CHUNK_EVENTS));
            let mut chunk = EventChunk { tables: None, events: Vec::with_capacity(CHUNK_EVENTS) };
            let mut next = Vec::with_capacity(CHUNK_EVENTS);
            loop {
                let result = reader.next_chunk(&mut next);
                if let Some(first) = next.first() {
                    // A chunk holds events of one generation.
                    if first.generation != chunk.events.first().map_or(first.generation, |e| e.generation)
                        || chunk.events.len() + next.len() > CHUNK_EVENTS
                    {
                        let full = EventChunk { tables: None, events: empty_chunk() };
                        if sender.send(std::mem::replace(&mut chunk, full)).is_err() {
                            return None; // The consumer stopped.
                        }
                    }
                    if chunk.events.is_empty() {
                        // The usual case: the run becomes the chunk, without a copy.
                        chunk.tables = reader.shared_tables(first);
                        std::mem::swap(&mut chunk.events, &mut next);
                    } else {
                        chunk.events.append(&mut next);
                    }
                    if chunk.events.last().is_some_and(|e| e.ty == SYNC_TYPE) {
                        progress(reader.consumed_offset());
                    }
                } else if result.is_ok() {
                    break;
                }
                if let Err(error) = result {
                    return sender.send(chunk).is_ok().then_some(error);
                }
            }
            let _ = sender.send(chunk);
            None
        });
        'chunks: for mut chunk in receiver {
            for event in &chunk.events {
                if !consume(event, chunk.tables.as_deref()) {
                    break 'chunks;
                }
            }
            chunk.events.clear();
            let _ = recycle.try_send(chunk.events);
        }
        ordering.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}
