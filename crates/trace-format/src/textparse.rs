//! Go's text trace format and trace test cases, converted into binary trace bytes.
//!
//! Go writes the tests of its trace reader as text (`internal/trace/raw`'s text format): a
//! `Trace Go1.NN` header line, then one record per line in the form `go tool trace -d=wire`
//! prints, e.g. `GoStart dt=145 g=21 g_seq=2`. [`parse_text_trace`] turns such a text into
//! the bytes Go's own conversion produces: the header of the version, then every record as
//! its type byte and minimal uvarints. [`parse_test_case`] reads Go's `.test` files, txtar
//! archives holding an expectation and a text trace.
//!
//! The rules follow Go 1.27's `internal/trace/raw/textreader.go`, `raw/writer.go`,
//! `internal/trace/testtrace/format.go` and `internal/txtar`:
//!
//! - Tokens are separated by any Unicode white space. Lines that are blank, or whose first
//!   non-space character is `#`, are skipped everywhere, even between a record and its frame
//!   or data lines. A `#` after the arguments of a record is an error.
//! - Every argument of the event table must be present, as `name=value` in table order, with
//!   an unsigned decimal value.
//! - `String` and `ExperimentalBatch` records are followed by a line `data=<Go-quoted
//!   string>`, even when the data is empty (so a `-d=wire` dump holding an empty string, which
//!   prints no data line, cannot be read back, in Go as here).
//! - `Stack` records are followed by `nframes` lines `pc=.. func=.. file=.. line=..`.
//! - The `size` of an `EventBatch` is written as the text gives it: the text must carry the
//!   right sizes, and a wrong one yields a trace with broken framing.

use std::collections::HashMap;
use std::fmt;

use crate::spec::{EventSpec, EventType, FRAME_FIELDS, MAX_ARGS, Trailer};
use crate::varint::write_uvarint;
use crate::version::{Version, header_bytes};

/// Why a text trace or a test case could not be converted, and on which line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextError {
    line: usize,
    message: String,
}

impl TextError {
    fn new(line: usize, message: impl Into<String>) -> TextError {
        TextError { line, message: message.into() }
    }

    /// The 1-based line of the input the error is about. When the input ends too early, the
    /// line of the record that needed more (for a text with no header, its last line); for a
    /// test case, lines are counted from the start of the whole `.test` file.
    pub fn line(&self) -> usize {
        self.line
    }

    /// What is wrong, without the line number.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for TextError {}

/// What a trace test case expects from reading its trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// The trace must be read without error (`SUCCESS`).
    Success,
    /// Reading the trace must fail with an error whose text matches this regular expression
    /// anywhere (`FAILURE "<quoted regexp>"`). The text is the unquoted Go regular
    /// expression; it is not compiled here.
    Failure(String),
}

/// A trace test case: one of Go's `internal/trace/testdata/tests/*.test` files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCase {
    /// What reading the trace must do.
    pub expect: Expectation,
    /// The binary trace converted from the test's text trace.
    pub trace: Vec<u8>,
}

/// Converts a text trace (the `Trace Go1.NN` header and its records) into binary trace bytes,
/// exactly as Go's `internal/trace/raw` text reader and writer do.
///
/// The version's own event table applies (a Go 1.22 text cannot name `GoSwitch`). Where Go
/// accepts texts that make no v2 trace, this function refuses them: headers naming the old
/// format (`Go1.11`, `Go1.19`, `Go1.21`, which Go turns into a bare header), and version
/// numbers that only wrap around to a known one in Go's 32-bit conversion. It has no limit
/// on line length, where Go's line scanner stops at 64 KiB.
///
/// ```
/// use trace_format::textparse::parse_text_trace;
///
/// let bytes = parse_text_trace("Trace Go1.22\nEventBatch gen=1 m=0 time=7 size=2\nFrequency freq=15\n")?;
/// assert_eq!(&bytes[..16], b"go 1.22 trace\0\0\0");
/// assert_eq!(&bytes[16..], [1, 1, 0, 7, 2, 8, 15]);
/// # Ok::<(), trace_format::textparse::TextError>(())
/// ```
pub fn parse_text_trace(text: &str) -> Result<Vec<u8>, TextError> {
    parse_trace_lines(text, 1)
}

/// Reads a Go trace test case: a txtar archive holding exactly the files `expect` (a line
/// `SUCCESS` or `FAILURE <Go-quoted regexp>`) and `trace` (a text trace), in that order.
///
/// The trace is converted with [`parse_text_trace`]; error lines count from the start of
/// the archive. As in Go, an empty `expect` file means success, and anything after
/// `SUCCESS` on its line is ignored.
pub fn parse_test_case(text: &str) -> Result<TestCase, TextError> {
    let files = txtar_files(text);
    let names: Vec<&str> = files.iter().map(|f| f.name).collect();
    let [expect, trace] = files.as_slice() else {
        let line = files.get(2).map_or(1, |f| f.marker_line);
        return Err(TextError::new(
            line,
            format!("a test case holds exactly two files, `expect` and `trace`; found {names:?}"),
        ));
    };
    for (file, wanted) in [(expect, "expect"), (trace, "trace")] {
        if file.name != wanted {
            let message = format!("expected the file `{wanted}` here, found `{}` (files {names:?})", file.name);
            return Err(TextError::new(file.marker_line, message));
        }
    }
    // Go converts the trace before it reads the expectation; report errors in that order too.
    let trace_bytes = parse_trace_lines(trace.data, trace.marker_line + 1)?;
    let expectation = parse_expectation(expect.data, expect.marker_line + 1)?;
    Ok(TestCase { expect: expectation, trace: trace_bytes })
}

/// Why a Go-quoted string could not be unquoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnquoteError {
    offset: usize,
    reason: &'static str,
}

impl UnquoteError {
    /// The byte offset in the quoted text where the problem is.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// What is wrong.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for UnquoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.offset)
    }
}

impl std::error::Error for UnquoteError {}

/// Unquotes a Go string literal as Go's `strconv.Unquote` does, returning its bytes (which
/// need not be UTF-8: `\xHH` and octal escapes give single bytes).
///
/// Accepts the three forms `strconv.Unquote` accepts: an interpreted `"..."` string with the
/// escapes `\a \b \f \n \r \t \v \\ \" \xHH \ooo \uHHHH \UHHHHHHHH`; a raw `` `...` `` string
/// (carriage returns dropped, no escapes); and a `'...'` character literal (one character,
/// `\'` instead of `\"`; as in Go, `''` gives the empty string). Nothing may follow the
/// closing quote.
pub fn unquote(quoted: &str) -> Result<Vec<u8>, UnquoteError> {
    let bytes = quoted.as_bytes();
    let fail = |offset: usize, reason: &'static str| Err(UnquoteError { offset, reason });
    let Some(&quote) = bytes.first() else {
        return fail(0, "empty text, expected a quoted string");
    };
    if quote == b'`' {
        let Some(end) = bytes[1..].iter().position(|&b| b == b'`').map(|i| i + 1) else {
            return fail(bytes.len(), "missing closing quote");
        };
        if end + 1 != bytes.len() {
            return fail(end + 1, "text after the closing quote");
        }
        return Ok(bytes[1..end].iter().copied().filter(|&b| b != b'\r').collect());
    }
    if quote != b'"' && quote != b'\'' {
        return fail(0, "expected a quote (\", ' or `)");
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut pos = 1;
    while let Some(&b) = bytes.get(pos) {
        if b == quote {
            break;
        }
        pos = unquote_char(quoted, pos, quote, &mut out)?;
        // A character literal holds exactly one character.
        if quote == b'\'' {
            break;
        }
    }
    if bytes.get(pos) != Some(&quote) {
        return fail(
            pos,
            if quote == b'\'' { "a character literal holds one character" } else { "missing closing quote" },
        );
    }
    if pos + 1 != bytes.len() {
        return fail(pos + 1, "text after the closing quote");
    }
    Ok(out)
}

/// Decodes the character or escape at `pos` of a `quote`-delimited literal into `out`,
/// returning the position after it (Go's `strconv.UnquoteChar`).
fn unquote_char(text: &str, pos: usize, quote: u8, out: &mut Vec<u8>) -> Result<usize, UnquoteError> {
    let bytes = text.as_bytes();
    let fail = |offset: usize, reason: &'static str| Err(UnquoteError { offset, reason });
    let Some(&c) = bytes.get(pos) else {
        return fail(pos, "missing closing quote");
    };
    if c == b'\n' {
        return fail(pos, "newline in a quoted string");
    }
    if c != b'\\' {
        // Copy one whole character: `text` is a str, so a multi-byte character is valid UTF-8.
        let len = text[pos..].chars().next().map_or(1, char::len_utf8);
        out.extend_from_slice(&bytes[pos..pos + len]);
        return Ok(pos + len);
    }
    let Some(&kind) = bytes.get(pos + 1) else {
        return fail(pos, "unfinished escape");
    };
    let after = pos + 2;
    let simple = match kind {
        b'a' => Some(0x07),
        b'b' => Some(0x08),
        b'f' => Some(0x0c),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        b'v' => Some(0x0b),
        b'\\' => Some(b'\\'),
        // Each quote may be escaped only inside its own kind of literal.
        b'\'' | b'"' if kind == quote => Some(kind),
        b'\'' | b'"' => return fail(pos, "this quote cannot be escaped in this kind of literal"),
        _ => None,
    };
    if let Some(byte) = simple {
        out.push(byte);
        return Ok(after);
    }
    match kind {
        b'x' | b'u' | b'U' => {
            let digits = match kind {
                b'x' => 2,
                b'u' => 4,
                _ => 8,
            };
            let mut value = 0u32;
            for i in 0..digits {
                let digit = bytes.get(after + i).and_then(|&d| char::from(d).to_digit(16));
                let Some(digit) = digit else {
                    return fail(after + i, "expected a hexadecimal digit");
                };
                value = value << 4 | digit;
            }
            if kind == b'x' {
                // `\xHH` is one byte, whatever UTF-8 says.
                out.push(value as u8);
            } else {
                let Some(ch) = char::from_u32(value) else {
                    return fail(pos, "escape of an invalid Unicode code point");
                };
                let mut utf8 = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
            }
            Ok(after + digits)
        }
        b'0'..=b'7' => {
            // Exactly three octal digits, at most 0o377.
            let mut value = u32::from(kind - b'0');
            for i in 0..2 {
                match bytes.get(after + i) {
                    Some(&d @ b'0'..=b'7') => value = value << 3 | u32::from(d - b'0'),
                    _ => return fail(after + i, "expected an octal digit"),
                }
            }
            let Ok(byte) = u8::try_from(value) else {
                return fail(pos, "octal escape above \\377");
            };
            out.push(byte);
            Ok(after + 2)
        }
        _ => fail(pos, "unknown escape"),
    }
}

/// Converts the lines of a text trace; `first_line` is the number of its first line.
fn parse_trace_lines(text: &str, first_line: usize) -> Result<Vec<u8>, TextError> {
    let mut lines = Lines::new(text, first_line);
    let Some((number, header)) = lines.next_line() else {
        return Err(TextError::new(lines.last, "the text is empty: expected a header line `Trace Go1.NN`"));
    };
    let version = parse_header(header).map_err(|message| TextError::new(number, message))?;
    let mut parser = Parser { lines, version, names: event_names(version), out: header_bytes(version).to_vec() };
    while let Some((number, line)) = parser.lines.next_line() {
        parser.record(number, line)?;
    }
    Ok(parser.out)
}

/// Reads `Trace Go1.NN` (any white space around the two tokens, nothing else).
fn parse_header(line: &str) -> Result<Version, String> {
    let bad = || format!("expected the header `Trace Go1.NN`, found `{}`", line.trim());
    let Some(("Trace", rest)) = next_token(line) else {
        return Err(bad());
    };
    let Some((go_version, rest)) = next_token(rest) else {
        return Err(bad());
    };
    let Some(minor) = go_version.strip_prefix("Go1.") else {
        return Err(bad());
    };
    let minor = parse_decimal(minor).ok_or_else(bad)?;
    let version = u32::try_from(minor).ok().and_then(Version::from_minor).ok_or_else(|| {
        let known: Vec<String> = Version::ALL.iter().map(|v| format!("Go1.{}", v.minor())).collect();
        format!("unsupported trace version {go_version}: text traces exist for {}", known.join(", "))
    })?;
    if !is_blank(rest) {
        return Err(format!("unexpected text after the header: `{}`", rest.trim()));
    }
    Ok(version)
}

/// The specification of `ty` in the event table Go's text reader uses for `version`.
///
/// Go's raw tables (those of `go tool trace -d=wire` and of the text format) hold the
/// AllocFree experiment's events only from Go 1.26 on, while [`Version::spec`] also gives
/// them to 1.23 and 1.25 (Go's full reader knows them there); the text follows Go's raw table.
fn text_spec(version: Version, ty: EventType) -> Option<&'static EventSpec> {
    version.spec(ty).filter(|spec| spec.experiment == 0 || version >= Version::Go126)
}

/// Maps every event name of `version`'s text table to its type and specification.
fn event_names(version: Version) -> HashMap<&'static str, (EventType, &'static EventSpec)> {
    (0..=u8::MAX).map(EventType).filter_map(|ty| text_spec(version, ty).map(|spec| (spec.name, (ty, spec)))).collect()
}

/// The state of one conversion.
struct Parser<'a> {
    lines: Lines<'a>,
    version: Version,
    names: HashMap<&'static str, (EventType, &'static EventSpec)>,
    out: Vec<u8>,
}

impl Parser<'_> {
    /// Converts the record on `line` and the frame or data lines that follow it.
    fn record(&mut self, number: usize, line: &str) -> Result<(), TextError> {
        let fail = |message: String| TextError::new(number, message);
        // `Lines` yields only lines with a token; an empty name would be reported as unknown.
        let (name, rest) = next_token(line).unwrap_or(("", ""));
        let Some(&(ty, spec)) = self.names.get(name) else {
            return Err(fail(self.unknown_event(name)));
        };
        let mut values = [0u64; MAX_ARGS];
        read_args(rest, spec.args, &mut values).map_err(|message| fail(format!("`{name}`: {message}")))?;
        // Go's raw writer writes every argument as a minimal uvarint, the experiment ID of
        // an `ExperimentalBatch` included (the runtime writes that one as a plain byte: the
        // same bytes for IDs below 128), and the `size` of an `EventBatch` as given.
        self.out.push(ty.0);
        for &value in values.iter().take(spec.args.len()) {
            write_uvarint(&mut self.out, value);
        }
        match spec.trailer {
            Trailer::None => Ok(()),
            // The frame count is `Stack`'s second argument, `nframes`.
            Trailer::Frames => self.frames(number, name, values[1]),
            Trailer::Data => self.data(number, name),
        }
    }

    /// Says why `name` is not an event of this trace, naming the version that added it.
    fn unknown_event(&self, name: &str) -> String {
        let minor = self.version.minor();
        let known = (0..=u8::MAX).filter_map(|ty| EventType(ty).spec()).find(|spec| spec.name == name);
        match known {
            Some(spec) if spec.experiment != 0 => {
                format!("`{name}` is not an event of Go1.{minor} text traces (experimental events need Go1.26)")
            }
            Some(spec) => {
                format!("`{name}` is not an event of Go1.{minor} traces (it was added in Go1.{})", spec.since)
            }
            None => format!("unknown event `{name}`"),
        }
    }

    /// Reads the `count` frame lines of the `Stack` record on line `number`.
    fn frames(&mut self, number: usize, name: &str, count: u64) -> Result<(), TextError> {
        // Go converts the count to a (64-bit) int, so a count above i64::MAX reads no frame
        // lines while the record still declares that count.
        let count = if i64::try_from(count).is_ok() { count } else { 0 };
        let mut values = [0u64; MAX_ARGS];
        for index in 0..count {
            let Some((frame_number, line)) = self.lines.next_line() else {
                let message = format!("the text ends inside `{name}`: it declares {count} frames, found {index}");
                return Err(TextError::new(number, message));
            };
            read_args(line, &FRAME_FIELDS, &mut values).map_err(|message| {
                TextError::new(frame_number, format!("frame {index} of the `{name}` on line {number}: {message}"))
            })?;
            for &value in values.iter().take(FRAME_FIELDS.len()) {
                write_uvarint(&mut self.out, value);
            }
        }
        Ok(())
    }

    /// Reads the `data=` line of the record on line `number` and writes the data trailer.
    fn data(&mut self, number: usize, name: &str) -> Result<(), TextError> {
        let Some((data_number, line)) = self.lines.next_line() else {
            return Err(TextError::new(number, format!("the text ends before the `data=` line of `{name}`")));
        };
        let fail = |message: String| TextError::new(data_number, message);
        let Some(("data", quoted)) = line.split_once('=').map(|(key, value)| (key.trim(), value.trim())) else {
            return Err(fail(format!("expected the `data=\"...\"` line of `{name}`, found `{}`", line.trim())));
        };
        let data = unquote(quoted)
            .map_err(|error| fail(format!("the data of `{name}` is not a Go-quoted string: {error}")))?;
        write_uvarint(&mut self.out, data.len() as u64);
        self.out.extend_from_slice(&data);
        Ok(())
    }
}

/// Reads `name=value` for each of `names` into `values`, then requires only white space.
fn read_args(mut line: &str, names: &[&str], values: &mut [u64; MAX_ARGS]) -> Result<(), String> {
    debug_assert!(names.len() <= MAX_ARGS);
    for (&name, slot) in names.iter().zip(values.iter_mut()) {
        let Some((token, rest)) = next_token(line) else {
            return Err(format!("missing argument `{name}`"));
        };
        let Some((found, value)) = token.split_once('=') else {
            return Err(format!("expected argument `{name}=<value>`, found `{token}`"));
        };
        if found != name {
            return Err(format!("expected argument `{name}`, found `{found}`"));
        }
        *slot = parse_decimal(value)
            .ok_or_else(|| format!("`{name}` has value `{value}`, which is not an unsigned 64-bit decimal number"))?;
        line = rest;
    }
    if !is_blank(line) {
        return Err(format!("unexpected text after the arguments: `{}`", line.trim()));
    }
    Ok(())
}

/// Parses what Go's `strconv.ParseUint(s, 10, 64)` accepts: one or more ASCII digits.
fn parse_decimal(s: &str) -> Option<u64> {
    // `u64::from_str` would also take a leading `+`, which Go refuses.
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Splits off the first token of `s` as Go's text reader does: skip white space; a `#` there
/// starts a comment (no token); the token ends at white space or `#`.
///
/// Rust's `char::is_whitespace` and Go's `unicode.IsSpace` are both Unicode's White_Space.
fn next_token(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    if s.is_empty() || s.starts_with('#') {
        return None;
    }
    let end = s.find(|c: char| c.is_whitespace() || c == '#').unwrap_or(s.len());
    Some(s.split_at(end))
}

fn is_blank(s: &str) -> bool {
    s.chars().all(char::is_whitespace)
}

/// The lines of a text, numbered, skipping blank and comment lines.
struct Lines<'a> {
    inner: std::iter::Zip<std::ops::RangeFrom<usize>, std::str::SplitInclusive<'a, char>>,
    /// The number of the last line read, for errors at the end of the text.
    last: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str, first_line: usize) -> Lines<'a> {
        // Before any line is read, errors point at the line before the text (the `-- trace --`
        // marker of a test case), or at line 1.
        Lines { inner: (first_line..).zip(text.split_inclusive('\n')), last: first_line.saturating_sub(1).max(1) }
    }

    /// The next line holding a token, with its number.
    fn next_line(&mut self) -> Option<(usize, &'a str)> {
        for (number, line) in self.inner.by_ref() {
            self.last = number;
            // Go's line scanner drops the newline and one carriage return before it.
            let line = line.strip_suffix('\n').unwrap_or(line);
            let line = line.strip_suffix('\r').unwrap_or(line);
            if next_token(line).is_some() {
                return Some((number, line));
            }
        }
        None
    }
}

/// One file of a txtar archive.
struct TxtarFile<'a> {
    name: &'a str,
    data: &'a str,
    /// The line number of the `-- name --` marker.
    marker_line: usize,
}

/// Splits a txtar archive as Go's `internal/txtar` does: a file starts at each line
/// `-- NAME --` (NAME trimmed, not empty); the text before the first marker is a comment.
fn txtar_files(text: &str) -> Vec<TxtarFile<'_>> {
    let mut files: Vec<TxtarFile<'_>> = Vec::new();
    let mut data_start = 0;
    let mut offset = 0;
    for (number, line) in (1..).zip(text.split_inclusive('\n')) {
        let start = offset;
        offset += line.len();
        let Some(name) = txtar_marker(line.strip_suffix('\n').unwrap_or(line)) else {
            continue;
        };
        if let Some(previous) = files.last_mut() {
            previous.data = &text[data_start..start];
        }
        files.push(TxtarFile { name, data: "", marker_line: number });
        data_start = offset;
    }
    if let Some(last) = files.last_mut() {
        last.data = &text[data_start..];
    }
    files
}

/// The file name of a txtar marker line, if `line` is one.
fn txtar_marker(line: &str) -> Option<&str> {
    // Both delimiters are ASCII, so slicing between them stays on character boundaries.
    // "-- --" is no marker: the two delimiters may not overlap.
    let inner = line.strip_prefix("-- ")?.strip_suffix(" --")?;
    Some(inner.trim()).filter(|name| !name.is_empty())
}

/// Reads the first line of an `expect` file, numbered `first_line`.
fn parse_expectation(data: &str, first_line: usize) -> Result<Expectation, TextError> {
    // Go reads only the first line, and an empty file expects success.
    let Some(line) = data.split('\n').next().filter(|_| !data.is_empty()) else {
        return Ok(Expectation::Success);
    };
    let line = line.strip_suffix('\r').unwrap_or(line);
    let fail = |message: String| TextError::new(first_line, message);
    match line.split_once(' ') {
        None if line == "SUCCESS" => Ok(Expectation::Success),
        Some(("SUCCESS", _)) => Ok(Expectation::Success),
        Some(("FAILURE", quoted)) => {
            let pattern = unquote(quoted)
                .map_err(|error| fail(format!("the FAILURE pattern {quoted} is not a Go-quoted string: {error}")))?;
            let pattern = String::from_utf8(pattern)
                .map_err(|_| fail(format!("the FAILURE pattern {quoted} is not valid UTF-8")))?;
            Ok(Expectation::Failure(pattern))
        }
        None if line == "FAILURE" => Err(fail("`FAILURE` needs a quoted regular expression".to_string())),
        _ => Err(fail(format!("expected `SUCCESS` or `FAILURE \"<regexp>\"`, found `{line}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::write_wire_dump;
    use crate::wire::{Item, RawFrame, WireReader};
    use crate::writer::TraceWriter;
    use proptest::prelude::*;

    /// The header bytes of `version` followed by `records`.
    fn trace(version: Version, records: &[u8]) -> Vec<u8> {
        let mut bytes = header_bytes(version).to_vec();
        bytes.extend_from_slice(records);
        bytes
    }

    fn error(text: &str) -> TextError {
        parse_text_trace(text).expect_err("the text should be rejected")
    }

    #[test]
    fn records_become_type_bytes_and_minimal_uvarints() {
        let text = "Trace Go1.22\n\
                    EventBatch gen=1 m=18446744073709551615 time=300 size=3\n\
                    GoStart dt=128 g=1 g_seq=0\n";
        let mut expected = vec![1, 1];
        expected.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        expected.extend_from_slice(&[0xac, 0x02, 3, 16, 0x80, 0x01, 1, 0]);
        assert_eq!(parse_text_trace(text), Ok(trace(Version::Go122, &expected)));
    }

    #[test]
    fn batch_size_is_taken_literally() {
        // Five is wrong for one `Strings` byte: the text decides, not the contents.
        let bytes = parse_text_trace("Trace Go1.23\nEventBatch gen=1 m=0 time=0 size=5\nStrings\n").unwrap();
        assert_eq!(bytes, trace(Version::Go123, &[1, 1, 0, 0, 5, 4]));
    }

    #[test]
    fn strings_stacks_and_experimental_batches() {
        let text = "Trace Go1.26\n\
                    EventBatch gen=1 m=0 time=0 size=30\n\
                    String id=1\n\tdata=\"a\\x00\\n\"\n\
                    Stack id=2 nframes=2\n\
                    \tpc=200 func=1 file=3 line=4\n\
                    \tpc=5 func=6 file=7 line=8\n\
                    ExperimentalBatch exp=1 gen=1 m=0 time=9\n\
                    \tdata=\"\\x01\\x80\"\n\
                    EndOfGeneration\n";
        let expected = [
            1, 1, 0, 0, 30, // EventBatch
            5, 1, 3, b'a', 0, b'\n', // String
            3, 2, 2, 0xc8, 0x01, 1, 3, 4, 5, 6, 7, 8, // Stack
            49, 1, 1, 0, 9, 2, 0x01, 0x80, // ExperimentalBatch
            52,   // EndOfGeneration
        ];
        assert_eq!(parse_text_trace(text), Ok(trace(Version::Go126, &expected)));
    }

    #[test]
    fn blank_lines_comments_and_unicode_white_space() {
        let text = "\n# a comment\n  \t\nTrace\u{3000}Go1.25 \r\n\
                    \u{a0}GoStart\u{2028}dt=1\tg=2\u{85}g_seq=3\u{3000}\n\
                    String id=4\n\n   # between a record and its data\n data = \"x\" \n\
                    Stack id=5 nframes=1\n#\n\u{2003}pc=1 func=2 file=3 line=4\n";
        let expected = [16, 1, 2, 3, 5, 4, 1, b'x', 3, 5, 1, 1, 2, 3, 4];
        assert_eq!(parse_text_trace(text), Ok(trace(Version::Go125, &expected)));
        // Leading zeros are plain decimal.
        assert_eq!(parse_text_trace("Trace Go1.026\nFrequency freq=007"), Ok(trace(Version::Go126, &[8, 7])));
    }

    #[test]
    fn data_may_be_any_go_literal() {
        // Go's reader hands the value to strconv.Unquote, which also takes raw strings and
        // character literals.
        let text = "Trace Go1.22\nString id=1\ndata=`a\\n`\nString id=2\ndata='\\''\nString id=3\ndata=\"\"\n";
        let expected = [5, 1, 3, b'a', b'\\', b'n', 5, 2, 1, b'\'', 5, 3, 0];
        assert_eq!(parse_text_trace(text), Ok(trace(Version::Go122, &expected)));
    }

    #[test]
    fn huge_frame_counts_follow_go() {
        // Go turns nframes into an int: above i64::MAX it reads no frame lines.
        let text = "Trace Go1.22\nStack id=1 nframes=18446744073709551615\nStrings\n";
        let mut expected = vec![3, 1];
        write_uvarint(&mut expected, u64::MAX);
        expected.push(4);
        assert_eq!(parse_text_trace(text), Ok(trace(Version::Go122, &expected)));
        // Below it, the frames must be there.
        let error = error("Trace Go1.22\nStack id=1 nframes=9223372036854775807\n pc=1 func=2 file=3 line=4\n");
        assert_eq!(error.line(), 2);
        assert!(error.message().contains("found 1"), "{error}");
    }

    #[test]
    fn header_errors() {
        let cases = [
            ("", 1, "empty"),
            ("\n# only a comment\n\n", 3, "empty"),
            ("Trace", 1, "expected the header"),
            ("Trace Go1.22 extra", 1, "after the header"),
            ("Trace Go1.22#", 1, "after the header"),
            ("Trace Go1.x", 1, "expected the header"),
            ("Trace Go1.+22", 1, "expected the header"),
            ("Trace go1.22", 1, "expected the header"),
            ("trace Go1.22", 1, "expected the header"),
            ("\nGoStart dt=1 g=1 g_seq=1", 2, "expected the header"),
            ("Trace Go1.21", 1, "unsupported trace version Go1.21"),
            ("Trace Go1.24", 1, "unsupported trace version Go1.24"),
            ("Trace Go1.4294967318", 1, "unsupported"),
            ("Trace Go1.99999999999999999999999", 1, "expected the header"),
        ];
        for (text, line, message) in cases {
            let error = error(text);
            assert_eq!(error.line(), line, "{text:?}: {error}");
            assert!(error.message().contains(message), "{text:?}: {error}");
        }
    }

    #[test]
    fn record_errors() {
        let cases = [
            ("Nonsense", 2, "unknown event `Nonsense`"),
            ("GoSwitch dt=1 g=1 g_seq=1", 2, "added in Go1.23"),
            ("EndOfGeneration", 2, "added in Go1.26"),
            ("Span dt=1 id=1 npages_value=1 kindclass=1", 2, "experimental"),
            ("GoStart dt=1 g=2", 2, "missing argument `g_seq`"),
            ("GoStart dt=1 g_seq=2 g=3", 2, "expected argument `g`, found `g_seq`"),
            ("GoStart dt=1 g 2 g_seq=3", 2, "expected argument `g=<value>`, found `g`"),
            ("GoStart dt=1 g=2 g_seq=3 x", 2, "unexpected text after the arguments: `x`"),
            ("GoStart dt=1 g=2 g_seq=3 # why", 2, "unexpected text after the arguments: `# why`"),
            ("GoStart dt=1#x g=2 g_seq=3", 2, "missing argument `g`"),
            ("GoStart dt=+1 g=2 g_seq=3", 2, "not an unsigned 64-bit decimal"),
            ("GoStart dt=-1 g=2 g_seq=3", 2, "not an unsigned 64-bit decimal"),
            ("GoStart dt=0x1 g=2 g_seq=3", 2, "not an unsigned 64-bit decimal"),
            ("GoStart dt= g=2 g_seq=3", 2, "not an unsigned 64-bit decimal"),
            ("GoStart dt=18446744073709551616 g=2 g_seq=3", 2, "not an unsigned 64-bit decimal"),
            ("Strings extra", 2, "unexpected text"),
            ("String id=1", 2, "ends before the `data=` line"),
            ("String id=1\n# comment\n", 2, "ends before the `data=` line"),
            ("String id=1\nStrings", 3, "expected the `data=\"...\"` line"),
            ("String id=1\ndatum=\"x\"", 3, "expected the `data=\"...\"` line"),
            ("String id=1\ndata=x", 3, "not a Go-quoted string"),
            ("String id=1\ndata=\"x\" # comment", 3, "text after the closing quote"),
            ("String id=1\ndata=\"\\q\"", 3, "unknown escape"),
            ("Stack id=1 nframes=2\npc=1 func=2 file=3 line=4", 2, "declares 2 frames, found 1"),
            (
                "Stack id=1 nframes=1\npc=1 func=2 file=3",
                3,
                "frame 0 of the `Stack` on line 2: missing argument `line`",
            ),
            ("Stack id=1 nframes=1\npc=1 func=2 line=3 file=4", 3, "expected argument `file`"),
        ];
        for (record, line, message) in cases {
            let text = format!("Trace Go1.22\n{record}");
            let error = error(&text);
            assert_eq!(error.line(), line, "{record:?}: {error}");
            assert!(error.message().contains(message), "{record:?}: {error}");
            assert_eq!(error.to_string(), format!("line {line}: {}", error.message()));
        }
    }

    #[test]
    fn tables_follow_the_header_version() {
        assert!(parse_text_trace("Trace Go1.23\nGoSwitch dt=1 g=1 g_seq=1").is_ok());
        assert!(parse_text_trace("Trace Go1.23\nSync").is_err());
        assert!(parse_text_trace("Trace Go1.25\nClockSnapshot dt=1 mono=2 sec=3 nsec=4").is_ok());
        assert!(parse_text_trace("Trace Go1.25\nSpan dt=1 id=1 npages_value=1 kindclass=1").is_err());
        let span = parse_text_trace("Trace Go1.26\nSpan dt=1 id=2 npages_value=3 kindclass=4");
        assert_eq!(span, Ok(trace(Version::Go126, &[128, 1, 2, 3, 4])));
        // The experiment ID is written as Go's raw writer writes it: a uvarint.
        let exp = parse_text_trace("Trace Go1.23\nExperimentalBatch exp=200 gen=1 m=2 time=3\ndata=\"\"");
        assert_eq!(exp, Ok(trace(Version::Go123, &[49, 0xc8, 0x01, 1, 2, 3, 0])));
    }

    // Expected results are Go 1.27's strconv.Unquote of the same inputs.
    #[test]
    fn unquote_matches_go() {
        let good: &[(&str, &[u8])] = &[
            (r#""""#, b""),
            ("''", b""),
            ("'a'", b"a"),
            (r"'\''", b"'"),
            (r#"'"'"#, b"\""),
            (r#""'""#, b"'"),
            ("`a\\nb`", b"a\\nb"),
            ("`a\rb`", b"ab"),
            (r#""\a\b\f\n\r\t\v\\\"""#, b"\x07\x08\x0c\n\r\t\x0b\\\""),
            (r#""\x00\xff\xFf""#, b"\x00\xff\xff"),
            (r#""\101\377""#, b"A\xff"),
            (r#""\u00e9\U0001F600""#, "é😀".as_bytes()),
            (r#""\u0041""#, b"A"),
            (r#""é日本""#, "é日本".as_bytes()),
            ("'é'", "é".as_bytes()),
            (r"'\x80'", b"\x80"),
            (r"'\u00e9'", "é".as_bytes()),
            (r#"" \x80\x81""#, b" \x80\x81"),
        ];
        for &(quoted, bytes) in good {
            assert_eq!(unquote(quoted).as_deref(), Ok(bytes), "{quoted}");
        }
        let bad = [
            "",
            "\"",
            "x",
            "'ab'",
            r#"'\"'"#,
            r#""\'""#,
            "`a`b`",
            "`a",
            r#""a"b"#,
            r#""abc"#,
            r#""\xg0""#,
            r#""\x0""#,
            r#""\400""#,
            r#""\08""#,
            r#""\01""#,
            r#""\ud800""#,
            r#""\U00110000""#,
            r#""\q""#,
            r#""\""#,
            "\"a\nb\"",
            "\"a\\\nb\"",
            r#""\0""#,
            r#""\777""#,
            "'",
            "'é",
            "\"\\u00e",
        ];
        for quoted in bad {
            let error = unquote(quoted).expect_err(quoted);
            assert!(error.offset() <= quoted.len(), "{quoted}: {error}");
            assert!(!error.reason().is_empty());
        }
    }

    const TEST_CASE: &str = "comment lines\n\
                             -- expect --\n\
                             FAILURE \".*expected a proc \\\"but\\\" didn't\\\\.*\"\n\
                             -- trace --\n\
                             Trace Go1.22\n\
                             EventBatch gen=1 m=0 time=0 size=2\n\
                             Frequency freq=15\n";

    #[test]
    fn test_cases() {
        let case = parse_test_case(TEST_CASE).unwrap();
        assert_eq!(case.expect, Expectation::Failure(r#".*expected a proc "but" didn't\.*"#.to_string()));
        assert_eq!(case.trace, trace(Version::Go122, &[1, 1, 0, 0, 2, 8, 15]));

        let success = TEST_CASE.replace("FAILURE", "SUCCESS");
        assert_eq!(parse_test_case(&success).unwrap().expect, Expectation::Success);
        let bare = "-- expect --\nSUCCESS\r\n-- trace --\nTrace Go1.26";
        assert_eq!(parse_test_case(bare).unwrap().trace, header_bytes(Version::Go126));
        // As in Go, an empty expectation means success.
        let empty = "-- expect --\n-- trace --\nTrace Go1.26\n";
        assert_eq!(parse_test_case(empty).unwrap().expect, Expectation::Success);
        // Marker names are trimmed; "-- --" is no marker.
        let spaced = "--   expect  --\nSUCCESS\n-- --\n-- trace --\nTrace Go1.26\n";
        assert_eq!(parse_test_case(spaced).unwrap().expect, Expectation::Success);
    }

    #[test]
    fn test_case_errors() {
        let cases = [
            ("Trace Go1.22\n", 1, "exactly two files"),
            ("-- expect --\nSUCCESS\n", 1, "exactly two files"),
            ("-- expect --\n-- trace --\n-- extra --\n", 3, "exactly two files"),
            ("-- trace --\nTrace Go1.22\n-- expect --\nSUCCESS\n", 1, "expected the file `expect`"),
            ("-- expect --\nSUCCESS\n-- traces --\nTrace Go1.22\n", 3, "expected the file `trace`"),
            ("-- expect --\nSUCCESS\n-- trace --\n\nTrace Go1.22\nBad\n", 6, "unknown event"),
            ("-- expect --\nSUCCESS\n-- trace --\n", 3, "empty"),
            ("-- expect --\nFAILURE\n-- trace --\nTrace Go1.22\n", 2, "needs a quoted"),
            ("-- expect --\nFAILURE x\n-- trace --\nTrace Go1.22\n", 2, "not a Go-quoted string"),
            ("-- expect --\nFAILURE  \"x\"\n-- trace --\nTrace Go1.22\n", 2, "not a Go-quoted string"),
            ("-- expect --\nFAILURE \"\\xff\"\n-- trace --\nTrace Go1.22\n", 2, "not valid UTF-8"),
            ("-- expect --\nsuccess\n-- trace --\nTrace Go1.22\n", 2, "expected `SUCCESS`"),
            ("-- expect --\n\nSUCCESS\n-- trace --\nTrace Go1.22\n", 2, "expected `SUCCESS`"),
            // The trace is converted first, as in Go.
            ("-- expect --\nbad\n-- trace --\nTrace Go1.22\nBad\n", 5, "unknown event"),
        ];
        for (text, line, message) in cases {
            let error = parse_test_case(text).expect_err(text);
            assert_eq!(error.line(), line, "{text:?}: {error}");
            assert!(error.message().contains(message), "{text:?}: {error}");
        }
    }

    /// A trace with a record of every type `version`'s text table has, every kind of batch,
    /// awkward data and values of every uvarint length.
    fn sample_trace(version: Version) -> Vec<u8> {
        const VALUES: [u64; 7] = [0, 1, 127, 128, 16_383, 1 << 40, u64::MAX];
        let mut writer = TraceWriter::new(version);
        for generation in [1, 2] {
            writer.batch(generation, 3, 1000 * generation, |b| {
                for (n, ty) in (0..=u8::MAX).map(EventType).enumerate() {
                    let Some(spec) = text_spec(version, ty) else { continue };
                    if spec.frames_file() || spec.trailer != Trailer::None {
                        continue;
                    }
                    let args: Vec<u64> = (0..spec.args.len()).map(|i| VALUES[(n + i) % VALUES.len()]).collect();
                    b.event(ty, &args);
                }
            });
            writer.batch(generation, u64::MAX, 5, |b| {
                b.event(EventType::Strings, &[])
                    .string(1, b"hello \"world\"\n")
                    .string(2, b"\x00\x01\x7f\x80\xff\\ \t\x07 \xe2\x82")
                    .string(u64::MAX, "é 😀 \u{a0}\u{feff}\u{e0001}".as_bytes());
            });
            writer.batch(generation, u64::MAX, 6, |b| {
                let frame = |pc: u64| RawFrame { pc, func: 1, file: 2, line: pc / 2 };
                b.event(EventType::Stacks, &[])
                    .stack(1, &[frame(0x4000_0000), frame(1), frame(u64::MAX)])
                    .stack(2, &[])
                    .stack(3, &[frame(128)]);
            });
            if version >= Version::Go123 {
                writer.experimental_batch(1, generation, u64::MAX, 7, b"\x01\x80\x80\x80\xec\x83\xee\x0c\x80@");
            }
            if version.has_end_of_generation() {
                writer.end_of_generation();
            }
        }
        writer.into_bytes()
    }

    /// `bytes` with every batch header written with minimal uvarints, as the text parser
    /// writes them (the records inside batches are minimal already).
    fn minimal_headers(bytes: &[u8]) -> Vec<u8> {
        let reader = WireReader::new(bytes).unwrap();
        let mut out = header_bytes(reader.version()).to_vec();
        for item in reader {
            match item.unwrap() {
                Item::EndOfGeneration { .. } => out.push(EventType::EndOfGeneration.0),
                Item::Batch(batch) => {
                    let loc = batch.location();
                    match batch.experiment() {
                        None => out.push(EventType::EventBatch.0),
                        Some(exp) => out.extend_from_slice(&[EventType::ExperimentalBatch.0, exp]),
                    }
                    for value in [loc.generation, loc.thread, batch.time(), batch.size()] {
                        write_uvarint(&mut out, value);
                    }
                    out.extend_from_slice(batch.data());
                }
            }
        }
        out
    }

    fn dump(version: Version, bytes: &[u8]) -> String {
        let mut text = format!("Trace Go1.{}\n", version.minor()).into_bytes();
        write_wire_dump(bytes, &mut text).unwrap();
        String::from_utf8(text).unwrap()
    }

    #[test]
    fn wire_dumps_read_back() {
        for version in Version::ALL {
            let original = sample_trace(version);
            let text = dump(version, &original);
            let parsed = parse_text_trace(&text).unwrap_or_else(|e| panic!("{version}: {e}\n{text}"));
            assert_eq!(parsed, minimal_headers(&original), "{version}");
            assert_eq!(dump(version, &parsed), text, "{version}");
        }
    }

    #[test]
    fn empty_strings_do_not_read_back() {
        // -d=wire prints no data line for empty data, while the text format requires one:
        // Go has the same asymmetry.
        let mut writer = TraceWriter::new(Version::Go122);
        writer.batch(1, 0, 0, |b| {
            b.event(EventType::Strings, &[]).string(1, b"").string(2, b"x");
        });
        let text = dump(Version::Go122, writer.bytes());
        assert!(text.contains("String id=1\nString id=2\n"), "{text}");
        let error = parse_text_trace(&text).unwrap_err();
        assert_eq!(error.line(), 5, "{error}");
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            let _ = parse_text_trace(&text);
            let _ = parse_test_case(&text);
            let _ = unquote(&text);
        }

        #[test]
        fn near_valid_text_never_panics(pieces in proptest::collection::vec(prop_oneof![
            Just("Trace Go1.22\n"), Just("Trace Go1.26\n"), Just("EventBatch gen=1 m=2 time=3 size=4\n"),
            Just("String id=1\n"), Just("Stack id=1 nframes=2\n"), Just("nframes=18446744073709551615\n"),
            Just("pc=1 func=2 file=3 line=4\n"), Just("data=\""), Just("\\x"), Just("\\u12"), Just("\\"),
            Just("\"\n"), Just("'"), Just("`"), Just("#"), Just("\n"), Just(" "), Just("\u{3000}"), Just("é"),
            Just("-- expect --\n"), Just("-- trace --\n"), Just("FAILURE "), Just("SUCCESS\n"), Just("="),
            Just("ExperimentalBatch exp=1 gen=1 m=1 time=1\n"), Just("99999999999999999999"), Just("\r"),
        ], 0..40)) {
            let text = pieces.concat();
            let _ = parse_text_trace(&text);
            let _ = parse_test_case(&text);
            let _ = unquote(&text);
        }

        #[test]
        fn quoting_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut quoted = Vec::new();
            crate::text::quote_into(&mut quoted, &bytes);
            let quoted = String::from_utf8(quoted).unwrap();
            prop_assert_eq!(unquote(&quoted), Ok(bytes));
        }
    }
}
