//! Old-format traces, written by Go 1.5 to Go 1.21: decoding, ordering, and conversion to the
//! event model of Go 1.22 and later, so that every later stage reads them unchanged.
//!
//! Go 1.27 reads Go 1.11-1.21 traces this way; this module reproduces its result exactly, and
//! reads Go 1.5-1.10 traces (which Go 1.27 rejects) with the same conversion, using the
//! ordering and checking rules of Go 1.21's parser where those versions differ.
//!
//! The old format has no generations: strings, stacks and the tick frequency are file-wide,
//! and the frequency and stacks come last, so the whole file is read before the first event
//! is delivered. The stages:
//!
//! - `parse`: one sequential scan reads the file-wide records and indexes each proc's batches;
//!   then each proc's batches are decoded into its event stream, all procs in parallel.
//! - `order`: the streams are merged under the goroutines' sequence numbers, times converted
//!   to nanoseconds, and the result checked as Go checks it.
//! - `convert`: the events are converted to [`Event`](crate::Event)s one by one as they are read.
//!
//! What did not exist yet in older versions becomes, in the converted events:
//! - the stop-the-world kind (before Go 1.10): "GC mark termination", as Go 1.21 assumed;
//! - the swept and reclaimed byte counts of a sweep (before Go 1.9): 0;
//! - goroutine and GC sequence numbers (Go 1.5, ordered by global sequence numbers): 0;
//! - the stack of a new goroutine (Go 1.5 records its start PC instead): none;
//! - function and file names of stack frames (Go 1.5 records bare PCs): empty, line 0;
//! - `FutileWakeup` events (Go 1.5-1.10): dropped, with the transitions around them kept.

mod convert;
mod order;
mod parse;
mod spec;

pub(crate) use convert::Converter;

use crate::error::{Error, ErrorKind};
use crate::version::read_header;
use spec::OldVersion;

/// The minor version of an old-format header at the start of `bytes`, if that is what it is.
pub(crate) fn old_format_minor(bytes: &[u8]) -> Option<u32> {
    match read_header(bytes) {
        Err(error) => match error.kind() {
            ErrorKind::OldFormat { minor } => Some(*minor),
            _ => None,
        },
        Ok(_) => None,
    }
}

/// Reads, orders and checks a whole old-format trace whose header names `minor`.
pub(crate) fn read(bytes: &[u8], minor: u32) -> Result<Converter, Error> {
    let version = OldVersion(minor);
    let mut scan = parse::scan(bytes, version)?;
    let mut events = order::merge(bytes, version, &mut scan)?;
    let Some((ticks_per_second, _)) = scan.frequency else {
        let message = "no EvFrequency event: expected the record of the tick frequency, which the runtime writes when tracing stops (the trace was probably cut short)";
        return Err(Error::new(ErrorKind::InvalidOldTrace(message.into()), bytes.len() as u64));
    };
    order::to_nanoseconds(&mut events, ticks_per_second, &scan);
    order::check(&mut events, version, &scan)?;
    Ok(Converter::new(bytes, version, &scan, events))
}
