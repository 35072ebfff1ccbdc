//! Go's text form of raw trace records: the lines `go tool trace -d=wire` prints, and the
//! syntax of Go's textual test traces.

mod printable;
mod ties;

use std::io::{self, Write};

use crate::error::Error;
use crate::spec::FRAME_FIELDS;
use crate::wire::{Batch, Item, Record, WireReader};

pub use ties::canonical_tie_order;

/// Writes `bytes` as Go's `strconv.Quote` does: in double quotes, printable runes as they
/// are, everything else escaped.
pub fn write_go_quoted<W: Write + ?Sized>(out: &mut W, bytes: &[u8]) -> io::Result<()> {
    let mut quoted = Vec::with_capacity(bytes.len() + 2);
    quote_into(&mut quoted, bytes);
    out.write_all(&quoted)
}

/// Appends the Go-quoted form of `bytes` to `out`.
pub fn quote_into(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            quote_char(out, c);
        }
        // Go decodes invalid UTF-8 one byte at a time and escapes each byte.
        for &b in chunk.invalid() {
            push_hex_escape(out, b"\\x", u32::from(b), 2);
        }
    }
    out.push(b'"');
}

fn quote_char(out: &mut Vec<u8>, c: char) {
    let mut utf8 = [0u8; 4];
    match c {
        '"' | '\\' => out.extend_from_slice(&[b'\\', c as u8]),
        ' '..='~' => out.push(c as u8),
        '\x07' => out.extend_from_slice(b"\\a"),
        '\x08' => out.extend_from_slice(b"\\b"),
        '\x0c' => out.extend_from_slice(b"\\f"),
        '\n' => out.extend_from_slice(b"\\n"),
        '\r' => out.extend_from_slice(b"\\r"),
        '\t' => out.extend_from_slice(b"\\t"),
        '\x0b' => out.extend_from_slice(b"\\v"),
        '\0'..='\x7f' => push_hex_escape(out, b"\\x", c as u32, 2),
        _ if is_go_printable(c) => out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes()),
        _ if (c as u32) < 0x10000 => push_hex_escape(out, b"\\u", c as u32, 4),
        _ => push_hex_escape(out, b"\\U", c as u32, 8),
    }
}

fn push_hex_escape(out: &mut Vec<u8>, prefix: &[u8], value: u32, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(prefix);
    for i in (0..digits).rev() {
        out.push(HEX[((value >> (4 * i)) & 0xf) as usize]);
    }
}

/// Whether Go's `strconv.IsPrint` accepts a non-ASCII character.
fn is_go_printable(c: char) -> bool {
    let c = c as u32;
    let ranges = printable::PRINTABLE_RANGES;
    let i = ranges.partition_point(|&(_, hi)| hi < c);
    ranges.get(i).is_some_and(|&(lo, _)| lo <= c)
}

fn write_u64<W: Write + ?Sized>(out: &mut W, value: u64) -> io::Result<()> {
    out.write_all(itoa::Buffer::new().format(value).as_bytes())
}

fn write_args<W: Write + ?Sized>(out: &mut W, names: &[&str], values: &[u64]) -> io::Result<()> {
    for (name, &value) in names.iter().zip(values) {
        out.write_all(b" ")?;
        out.write_all(name.as_bytes())?;
        out.write_all(b"=")?;
        write_u64(out, value)?;
    }
    Ok(())
}

fn write_data<W: Write + ?Sized>(out: &mut W, data: &[u8]) -> io::Result<()> {
    // Go prints no data line for an empty trailer.
    if data.is_empty() {
        return Ok(());
    }
    out.write_all(b"\n\tdata=")?;
    write_go_quoted(out, data)
}

/// Writes a batch header line as `go tool trace -d=wire` does, with the newline.
pub fn write_batch_header<W: Write + ?Sized>(out: &mut W, batch: &Batch<'_>) -> io::Result<()> {
    let loc = batch.location();
    match batch.experiment() {
        None => {
            out.write_all(b"EventBatch")?;
            write_args(out, &["gen", "m", "time", "size"], &[loc.generation, loc.thread, batch.time(), batch.size()])?;
        }
        Some(exp) => {
            out.write_all(b"ExperimentalBatch")?;
            let values = [u64::from(exp), loc.generation, loc.thread, batch.time()];
            write_args(out, &["exp", "gen", "m", "time"], &values)?;
            write_data(out, batch.data())?;
        }
    }
    out.write_all(b"\n")
}

/// Writes one record as `go tool trace -d=wire` does, with the newline.
pub fn write_record<W: Write + ?Sized>(out: &mut W, record: &Record<'_>) -> io::Result<()> {
    let spec = record.spec();
    out.write_all(spec.name.as_bytes())?;
    write_args(out, spec.args, record.args())?;
    for frame in record.frames() {
        let values = [frame.pc, frame.func, frame.file, frame.line];
        for (i, (name, value)) in FRAME_FIELDS.iter().zip(values).enumerate() {
            out.write_all(if i == 0 { b"\n\t" } else { b" " })?;
            out.write_all(name.as_bytes())?;
            out.write_all(b"=")?;
            write_u64(out, value)?;
        }
    }
    if let Some(data) = record.data() {
        write_data(out, data)?;
    }
    out.write_all(b"\n")
}

/// Why a dump stopped early.
#[derive(Debug)]
pub enum DumpError {
    /// The trace is damaged; everything before the damage was written.
    Trace(Error),
    /// Writing the output failed.
    Write(io::Error),
}

impl From<io::Error> for DumpError {
    fn from(error: io::Error) -> DumpError {
        DumpError::Write(error)
    }
}

impl std::fmt::Display for DumpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DumpError::Trace(error) => error.fmt(f),
            DumpError::Write(error) => write!(f, "cannot write the output: {error}"),
        }
    }
}

impl std::error::Error for DumpError {}

/// Writes every record of a v2 trace as `go tool trace -d=wire` prints it.
///
/// On a damaged trace, everything before the damage is written, then the error is returned.
pub fn write_wire_dump<W: Write + ?Sized>(bytes: &[u8], out: &mut W) -> Result<(), DumpError> {
    let reader = WireReader::new(bytes).map_err(DumpError::Trace)?;
    for item in reader {
        match item.map_err(DumpError::Trace)? {
            Item::EndOfGeneration { .. } => out.write_all(b"EndOfGeneration\n")?,
            Item::Batch(batch) => {
                write_batch_header(out, &batch)?;
                for record in batch.records() {
                    match record {
                        Ok(record) => write_record(out, &record)?,
                        // The reader reports the truncation itself, naming the batch.
                        Err(_) if batch.is_truncated() => break,
                        Err(error) => return Err(DumpError::Trace(error)),
                    }
                }
            }
        }
    }
    Ok(())
}

/// Writes every event of a Go 1.22+ trace, in order, as `go tool trace -d=parsed` prints it
/// (with `TZ=UTC`: wall-clock times are printed in UTC).
///
/// On a damaged trace, every event before the damage is written, then the error is returned.
pub fn write_parsed_dump<W: Write + ?Sized>(bytes: &[u8], out: &mut W) -> Result<(), DumpError> {
    write_parsed_dump_with_progress(bytes, out, |_| {})
}

/// As [`write_parsed_dump`], calling `progress` at each generation with the offset before
/// which the trace will not be read again (for progress bars, and for
/// [`TraceFile::release_before`](crate::TraceFile::release_before)).
pub fn write_parsed_dump_with_progress<W: Write + ?Sized>(
    bytes: &[u8],
    out: &mut W,
    progress: impl FnMut(u64) + Send,
) -> Result<(), DumpError> {
    let reader = crate::Reader::new(bytes).map_err(DumpError::Trace)?;
    let mut written = Ok(());
    let error = crate::stream::read_all(reader, progress, |event, tables| {
        written = crate::write_parsed(out, event, tables);
        written.is_ok()
    });
    written?;
    error.map_or(Ok(()), |error| Err(DumpError::Trace(error)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        quote_into(&mut out, bytes);
        String::from_utf8(out).unwrap()
    }

    // Expected strings are Go 1.27's strconv.Quote of the same inputs.
    #[test]
    fn quoting_matches_go() {
        assert_eq!(quoted(b"hello \"world\"\n"), r#""hello \"world\"\n""#);
        assert_eq!(quoted("whyé\x01\t".as_bytes()), r#""whyé\x01\t""#);
        assert_eq!(
            quoted(b"\x01\x80\x80\x80\xec\x83\xee\x0c\x80@\x08\x80\x10"),
            r#""\x01\x80\x80\x80\xec\x83\xee\f\x80@\b\x80\x10""#
        );
        assert_eq!(quoted("\u{a0}\u{ad}\u{7f}\u{feff}".as_bytes()), r#""\u00a0\u00ad\x7f\ufeff""#);
        assert_eq!(quoted("\u{1f600}\u{e0001}\u{10ffff}".as_bytes()), r#""😀\U000e0001\U0010ffff""#);
        assert_eq!(quoted("\u{fffd}".as_bytes()), "\"\u{fffd}\"");
        assert_eq!(quoted(b"\xe2\x82\xe2\x82\xac"), "\"\\xe2\\x82\u{20ac}\"");
        assert_eq!(quoted(b"\xed\xa0\x80"), r#""\xed\xa0\x80""#);
    }
}
