//! The file header and the trace format versions it names.

use std::fmt;

use nom::bytes::complete::{tag, take_while_m_n};
use nom::{IResult, Parser};

use crate::error::{Error, ErrorKind, Expected};
use crate::spec::{EventSpec, EventType};

/// The length of every trace header, old format and new.
pub const HEADER_LEN: usize = 16;

/// A v2 trace format version (Go 1.22 and later), named after the header the runtime writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// `go 1.22 trace`, written by Go 1.22.
    Go122,
    /// `go 1.23 trace`, written by Go 1.23 and Go 1.24.
    Go123,
    /// `go 1.25 trace`, written by Go 1.25.
    Go125,
    /// `go 1.26 trace`, written by Go 1.26 and Go 1.27.
    Go126,
}

impl Version {
    /// Every v2 version, oldest first.
    pub const ALL: [Version; 4] = [Version::Go122, Version::Go123, Version::Go125, Version::Go126];

    /// The minor Go version in the header (22 for `go 1.22 trace`).
    pub fn minor(self) -> u32 {
        match self {
            Version::Go122 => 22,
            Version::Go123 => 23,
            Version::Go125 => 25,
            Version::Go126 => 26,
        }
    }

    /// The version whose header names `minor`, if it is a v2 version.
    pub fn from_minor(minor: u32) -> Option<Version> {
        Version::ALL.into_iter().find(|v| v.minor() == minor)
    }

    /// Which Go releases write this version.
    pub fn written_by(self) -> &'static str {
        match self {
            Version::Go122 => "Go 1.22",
            Version::Go123 => "Go 1.23 and 1.24",
            Version::Go125 => "Go 1.25",
            Version::Go126 => "Go 1.26 and 1.27",
        }
    }

    /// The specification of `ty` in this version, or `None` when the byte names no event
    /// that this version's runtimes write.
    ///
    /// Go's raw reader (`go tool trace -d=wire`) leaves the AllocFree experiment's events
    /// (types 128-136) out of the 1.23 table although Go 1.23 and 1.24 write them; they are
    /// included here, as Go's full reader includes them.
    pub fn spec(self, ty: EventType) -> Option<&'static EventSpec> {
        ty.spec().filter(|spec| spec.since <= self.minor())
    }

    /// Whether generations end with an explicit `EndOfGeneration` record.
    pub fn has_end_of_generation(self) -> bool {
        self >= Version::Go126
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "go 1.{}", self.minor())
    }
}

/// The minor versions of the old (v1) format that Go runtimes wrote, Go 1.5 to Go 1.21.
const OLD_FORMAT_MINORS: [u32; 8] = [5, 7, 8, 9, 10, 11, 19, 21];

/// `"go 1.NN trace"` followed by zero padding up to [`HEADER_LEN`] bytes; yields NN.
fn header(input: &[u8]) -> IResult<&[u8], u32> {
    let (rest, (_, digits, _)) =
        (tag(&b"go 1."[..]), take_while_m_n(1, 3, |b: u8| b.is_ascii_digit()), tag(&b" trace"[..])).parse(input)?;
    let minor = digits.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    Ok((rest, minor))
}

/// Whether a file shorter than a header could be the start of one (so it was cut short,
/// rather than being something else).
fn is_header_prefix(bytes: &[u8]) -> bool {
    // Compare against "go 1.N trace", "go 1.NN trace" and "go 1.NNN trace", zero-padded.
    !bytes.is_empty()
        && (1..=3).any(|digits| {
            let mut template = b"go 1.".to_vec();
            template.extend(std::iter::repeat_n(b'0', digits));
            template.extend_from_slice(b" trace");
            template.resize(HEADER_LEN, 0);
            let is_digit_position = |i: usize| (5..5 + digits).contains(&i);
            bytes
                .iter()
                .zip(&template)
                .enumerate()
                .all(|(i, (&b, &t))| if is_digit_position(i) { b.is_ascii_digit() } else { b == t })
        })
}

/// Reads the 16-byte header at the start of `bytes` and returns the v2 version it declares.
///
/// Old-format headers (Go 1.5 to 1.21) and unknown versions are reported as errors that say
/// which version was found.
pub fn read_header(bytes: &[u8]) -> Result<Version, Error> {
    let not_a_trace = || Error::new(ErrorKind::NotATrace, 0);
    let Some(head) = bytes.get(..HEADER_LEN) else {
        if is_header_prefix(bytes) {
            return Err(Error::new(ErrorKind::UnexpectedEof(Expected::Header), bytes.len() as u64));
        }
        return Err(not_a_trace());
    };
    let (padding, minor) = header(head).map_err(|_| not_a_trace())?;
    if padding.is_empty() || padding.iter().any(|&b| b != 0) {
        return Err(not_a_trace());
    }
    match Version::from_minor(minor) {
        Some(version) => Ok(version),
        None if OLD_FORMAT_MINORS.contains(&minor) => Err(Error::new(ErrorKind::OldFormat { minor }, 0)),
        None => Err(Error::new(ErrorKind::UnsupportedVersion { minor }, 0)),
    }
}

/// The canonical header bytes of `version`.
pub fn header_bytes(version: Version) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    let text = format!("go 1.{} trace", version.minor());
    out[..text.len()].copy_from_slice(text.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        for v in Version::ALL {
            assert_eq!(read_header(&header_bytes(v)), Ok(v));
        }
        assert_eq!(read_header(b"go 1.21 trace\0\0\0").unwrap_err().kind(), &ErrorKind::OldFormat { minor: 21 });
        assert_eq!(read_header(b"go 1.5 trace\0\0\0\0").unwrap_err().kind(), &ErrorKind::OldFormat { minor: 5 });
        assert_eq!(
            read_header(b"go 1.27 trace\0\0\0").unwrap_err().kind(),
            &ErrorKind::UnsupportedVersion { minor: 27 }
        );
        assert_eq!(read_header(b"gotrace\0\0\0\0\0\0\0\0\0").unwrap_err().kind(), &ErrorKind::NotATrace);
        assert_eq!(read_header(b"go 1.22 trace\0\0x").unwrap_err().kind(), &ErrorKind::NotATrace);
        assert_eq!(read_header(b"").unwrap_err().kind(), &ErrorKind::NotATrace);
        assert_eq!(read_header(b"go 1.22 xx").unwrap_err().kind(), &ErrorKind::NotATrace);
        let short = read_header(b"go 1.22 tr").unwrap_err();
        assert_eq!(short.kind(), &ErrorKind::UnexpectedEof(Expected::Header));
        assert_eq!(short.offset(), 10);
    }

    #[test]
    fn tables_per_version() {
        assert!(Version::Go122.spec(EventType::UserLog).is_some());
        assert!(Version::Go122.spec(EventType::GoSwitch).is_none());
        assert!(Version::Go123.spec(EventType::ExperimentalBatch).is_some());
        assert!(Version::Go123.spec(EventType::Sync).is_none());
        assert!(Version::Go125.spec(EventType::ClockSnapshot).is_some());
        assert!(Version::Go125.spec(EventType::EndOfGeneration).is_none());
        assert!(Version::Go126.spec(EventType::EndOfGeneration).is_some());
        assert!(Version::Go126.spec(EventType::Span).is_some());
        assert!(Version::Go123.spec(EventType::Span).is_some());
        assert!(Version::Go122.spec(EventType::Span).is_none());
    }
}
