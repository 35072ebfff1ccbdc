//! Reads Go execution traces: the files written by `runtime/trace`, `go test -trace` and the
//! `/debug/pprof/trace` handler.
//!
//! This crate is the foundation of gotrace and a complete library on its own. It reads Go
//! 1.22 and later traces (format versions 1.22, 1.23, 1.25 and 1.26) exactly as Go's own
//! reader does, without copying the input, and older traces (Go 1.5 to 1.21, the old format)
//! into the same event model, exactly as Go 1.27 converts those it reads (Go 1.11 and later):
//!
//! - [`Reader`] yields the ordered stream of [`Event`]s, Go's high-level event model: state
//!   transitions of goroutines and procs, ranges (GC, stop-the-world, sweeps, mark assists),
//!   tasks, regions, logs, metrics, labels, CPU samples and one `Sync` per generation. Strings
//!   and stacks are looked up in the event's [`GenerationTables`]; [`Reader::details`] tells
//!   what an event says (a [`Range`], [`Task`], [`Region`], [`Log`], [`Metric`], [`Label`] or
//!   [`StateTransition`]); [`write_parsed`] prints an event as `go tool trace -d=parsed` does.
//! - [`ir::TraceIr`] keeps the whole ordered stream in memory, compactly, with strings,
//!   frames and stacks interned behind small handles; it can be stored and loaded again.
//! - [`WireReader`] walks the raw top level of a trace: batches and end-of-generation records;
//!   [`Batch::records`] walks the records of one batch, described by the [`EventSpec`] table
//!   in [`spec`]. Decoding allocates nothing per record.
//! - [`text`] prints both dumps (`-d=wire` and `-d=parsed`); [`textparse`] reads Go's textual
//!   test traces; [`summarize`] counts generations, batches and records by type.
//! - [`TraceFile`] maps a file into memory; every reader works over `&[u8]`.
//!
//! Input is never trusted: every error is an [`Error`] naming the byte offset, the batch and
//! what was expected, and a damaged trace still yields everything before the damage.
//!
//! # Examples
//!
//! Count the goroutines a trace creates and find the reasons they blocked:
//!
//! ```
//! use std::collections::BTreeMap;
//! use trace_format::{EventKind, Reader, TraceFile};
//!
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/traces/1.27.3/allevents.trace");
//! let file = TraceFile::open(path).expect("the fixture exists");
//! let mut reader = Reader::new(file.bytes())?;
//! let mut block_reasons = BTreeMap::new();
//! let mut created = 0;
//! while let Some(event) = reader.next() {
//!     let event = event?;
//!     if event.kind() != EventKind::StateTransition {
//!         continue;
//!     }
//!     let transition = reader.transition(&event).expect("a state transition");
//!     if transition.is_creation() {
//!         created += 1;
//!     }
//!     if let Some(reason) = transition.block_reason() {
//!         *block_reasons.entry(String::from_utf8_lossy(reason).into_owned()).or_insert(0) += 1;
//!     }
//! }
//! assert!(created > 10);
//! assert!(block_reasons.contains_key("chan receive"));
//! # Ok::<(), trace_format::Error>(())
//! ```
//!
//! Walk the raw records of a hand-made trace:
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

mod details;
mod error;
mod event;
mod file;
mod generation;
pub mod ir;
mod order;
mod reader;
pub mod spec;
mod stream;
mod summary;
pub mod text;
pub mod textparse;
mod v1;
mod varint;
mod version;
pub mod wire;
pub mod writer;

pub use details::{
    Details, Experimental, Label, Log, Metric, Range, RangeKind, RangePhase, Region, Scope, Task, event_details,
};
pub use error::{BatchLocation, Error, ErrorKind, Expected};
pub use event::{
    Event, EventKind, EventTables, GoState, NONE, ProcState, ResolvedFrame, StateTransition, Transition,
    state_transition, write_parsed,
};
pub use file::TraceFile;
pub use generation::{ClockSnapshot, ExperimentalBatch, GenerationTables};
pub use spec::{EventSpec, EventType};
pub use stream::Reader;
pub use summary::{Tally, WireSummary, summarize};
pub use version::{HEADER_LEN, Version, header_bytes, read_header};
pub use wire::{Batch, BatchKind, Item, Record, WireReader};
