//! Reads Go execution traces: the files written by `runtime/trace`, `go test -trace` and the
//! `/debug/pprof/trace` handler.
//!
//! This crate is the foundation of gotrace and a complete library on its own. Today it decodes
//! the wire format of Go 1.22 and later traces (format versions 1.22, 1.23, 1.25 and 1.26):
//! the header, batch framing, generation boundaries and every record, exactly as Go's own
//! reader splits them, without copying the input or allocating per event.
//!
//! - [`WireReader`] walks the top level of a trace: batches and end-of-generation records.
//! - [`Batch::records`] walks the records of one batch; [`Record`] gives the raw arguments,
//!   string data and stack frames, described by the [`EventSpec`] table in [`spec`].
//! - [`text`] prints records in Go's text form, the output of `go tool trace -d=wire`.
//! - [`textparse`] converts Go's text traces and trace test cases back into trace bytes.
//! - [`summarize`] counts generations, batches and records by type.
//! - [`TraceFile`] maps a file into memory; every reader works over `&[u8]`.
//!
//! Input is never trusted: every error is an [`Error`] naming the byte offset, the batch and
//! what was expected, and a damaged trace still yields everything before the damage.
//!
//! # Example
//!
//! ```
//! use trace_format::writer::TraceWriter;
//! use trace_format::{EventType, Item, Version, WireReader};
//!
//! // A tiny Go 1.26 trace: one generation with a sync batch and one event batch.
//! let mut trace = TraceWriter::new(Version::Go126);
//! trace
//!     .batch(1, u64::MAX, 1000, |b| {
//!         b.event(EventType::Sync, &[]).event(EventType::Frequency, &[15_625_000]);
//!     })
//!     .batch(1, 42, 1001, |b| {
//!         b.event(EventType::ProcStatus, &[1, 0, 1]).event(EventType::GoStart, &[3, 7, 1]);
//!     })
//!     .end_of_generation();
//! let bytes = trace.into_bytes();
//!
//! let mut started = Vec::new();
//! for item in WireReader::new(&bytes)? {
//!     if let Item::Batch(batch) = item? {
//!         for record in batch.records() {
//!             let record = record?;
//!             if record.event_type() == EventType::GoStart {
//!                 started.push(record.args()[1]);
//!             }
//!         }
//!     }
//! }
//! assert_eq!(started, [7]);
//! # Ok::<(), trace_format::Error>(())
//! ```

mod error;
mod event;
mod file;
mod generation;
mod order;
mod reader;
pub mod spec;
mod summary;
pub mod text;
pub mod textparse;
mod varint;
mod version;
pub mod wire;
pub mod writer;

pub use error::{BatchLocation, Error, ErrorKind, Expected};
pub use event::{Event, EventKind, NONE, write_parsed};
pub use file::TraceFile;
pub use generation::{ClockSnapshot, ExperimentalBatch, GenerationTables};
pub use reader::Reader;
pub use spec::{EventSpec, EventType};
pub use summary::{Tally, WireSummary, summarize};
pub use version::{HEADER_LEN, Version, header_bytes, read_header};
pub use wire::{Batch, BatchKind, Item, Record, WireReader};
