//! The one error type of the crate: what went wrong, and where in the file.

use std::fmt;

use crate::spec::EventType;

/// Where a failing batch starts and what its header says, when the header could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLocation {
    /// Byte offset of the batch's first byte (its type byte).
    pub offset: u64,
    /// The generation the batch belongs to.
    pub generation: u64,
    /// The thread (Go's M) that wrote the batch; `u64::MAX` for batches written for no thread.
    pub thread: u64,
}

/// What the reader was about to read when the input ended or held a bad value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expected {
    /// The 16-byte file header.
    Header,
    /// The type byte of a batch or of an end-of-generation record.
    BatchType,
    /// A batch header field (`"generation"`, `"thread ID"`, `"timestamp"`, `"size"`,
    /// `"experiment"`).
    BatchField(&'static str),
    /// The data of a batch, as many bytes as its size field says.
    BatchData,
    /// The type byte of a record inside a batch.
    EventType,
    /// The named argument of an event.
    Argument {
        /// The event's name.
        event: &'static str,
        /// The argument's name in the event table.
        arg: &'static str,
    },
    /// One of the four values of a stack frame.
    Frame {
        /// Index of the frame in its stack.
        index: u64,
        /// Which value (`"pc"`, `"func"`, `"file"`, `"line"`).
        field: &'static str,
    },
    /// The length of an event's data trailer.
    DataLength(&'static str),
    /// The bytes of an event's data trailer.
    Data(&'static str),
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Header => f.write_str("the 16-byte trace header"),
            Expected::BatchType => f.write_str("the type byte of the next batch"),
            Expected::BatchField(field) => write!(f, "the batch header's {field}"),
            Expected::BatchData => f.write_str("the batch's data"),
            Expected::EventType => f.write_str("the type byte of the next event"),
            Expected::Argument { event, arg } => write!(f, "argument `{arg}` of a {event} event"),
            Expected::Frame { index, field } => write!(f, "the {field} of frame {index} of a stack"),
            Expected::DataLength(event) => write!(f, "the data length of a {event} record"),
            Expected::Data(event) => write!(f, "the data bytes of a {event} record"),
        }
    }
}

/// The kinds of problem the reader reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file does not start with a Go execution trace header.
    NotATrace,
    /// The header names a version no Go release writes.
    UnsupportedVersion {
        /// The minor version in the header (`N` in `go 1.N trace`).
        minor: u32,
    },
    /// The header names a version of the old format (Go 1.5 to 1.21), which this layer of the
    /// reader does not decode.
    OldFormat {
        /// The minor version in the header.
        minor: u32,
    },
    /// The input ended in the middle of something.
    UnexpectedEof(Expected),
    /// A uvarint is longer than ten bytes or overflows 64 bits.
    VarintOverflow(Expected),
    /// A byte where a batch must start is not a batch type.
    BadBatchType {
        /// The byte found.
        found: u8,
    },
    /// A batch's size field is above Go's limit.
    BatchTooLarge {
        /// The size field's value.
        size: u64,
    },
    /// The file ends before a batch's data does.
    TruncatedBatch {
        /// The size field's value.
        declared: u64,
        /// How many bytes of data the file holds.
        available: u64,
    },
    /// A batch names generation 0, which no trace uses.
    ZeroGeneration,
    /// A batch belongs to a generation that cannot come next.
    GenerationOutOfOrder {
        /// The generation being read.
        current: u64,
        /// The batch's generation.
        found: u64,
    },
    /// A Go 1.26+ trace ends without the end-of-generation record of its last generation.
    MissingEndOfGeneration {
        /// The unfinished generation.
        generation: u64,
    },
    /// A record type byte that is not an event of the trace's version.
    UnknownEventType {
        /// The type byte.
        found: u8,
        /// The trace's header version (minor).
        minor: u32,
    },
    /// A record that only frames the file (a batch header, an end-of-generation record)
    /// appears inside a batch.
    MisplacedRecord(EventType),
    /// A generation's tables or clock records break Go's rules; the message is Go's own text.
    Malformed(String),
    /// An event cannot be ordered: it contradicts the state of the goroutine, proc or thread
    /// it names, or no thread's next event can proceed. The message is Go's own text.
    Ordering(String),
    /// An event names a string or stack that its generation does not define.
    UnknownTableId {
        /// `"string"` or `"stack"`.
        table: &'static str,
        /// The ID.
        id: u64,
        /// The event's name.
        event: &'static str,
    },
    /// An old-format trace (Go 1.5 to 1.21) breaks the format's rules; the message is Go's
    /// own text where Go has one.
    InvalidOldTrace(String),
    /// A record extends past the end of its batch's data.
    RecordOverrunsBatch {
        /// The record's type.
        event: EventType,
        /// Offset of the first byte after the batch.
        batch_end: u64,
    },
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::NotATrace => {
                f.write_str("not a Go execution trace: expected the header \"go 1.NN trace\" followed by zero bytes")
            }
            ErrorKind::UnsupportedVersion { minor } => write!(
                f,
                "unsupported trace version go 1.{minor}: expected go 1.22, 1.23, 1.25 or 1.26 \
                 (written by Go 1.22 to 1.27)"
            ),
            ErrorKind::OldFormat { minor } => write!(
                f,
                "this is an old-format trace (go 1.{minor}, written by Go 1.21 or earlier); \
                 the wire-level tools read Go 1.22 and later traces"
            ),
            ErrorKind::UnexpectedEof(what) => write!(f, "the file ends in the middle of {what}"),
            ErrorKind::VarintOverflow(what) => {
                write!(f, "malformed number: {what} is a uvarint longer than 64 bits")
            }
            ErrorKind::BadBatchType { found } => write!(
                f,
                "expected the start of a batch (type 1 EventBatch or 49 ExperimentalBatch) \
                 or an end-of-generation record (type 52), found byte {found}"
            ),
            ErrorKind::BatchTooLarge { size } => {
                write!(f, "batch size {size} is larger than the maximum of {}", crate::spec::MAX_BATCH_SIZE)
            }
            ErrorKind::TruncatedBatch { declared, available } => write!(
                f,
                "truncated batch: its header declares {declared} bytes of data \
                 but the file ends after {available}"
            ),
            ErrorKind::ZeroGeneration => f.write_str("batch names generation 0; generations start at 1"),
            ErrorKind::GenerationOutOfOrder { current, found } => write!(
                f,
                "batch of generation {found} appears while reading generation {current}; \
                 expected generation {current} or the next one"
            ),
            ErrorKind::MissingEndOfGeneration { generation } => write!(
                f,
                "the trace ends inside generation {generation}: expected its end-of-generation \
                 record (the trace was probably cut short)"
            ),
            ErrorKind::UnknownEventType { found, minor } => {
                write!(f, "expected an event type of a go 1.{minor} trace, found byte {found}")
            }
            ErrorKind::MisplacedRecord(ty) => {
                write!(f, "expected an event inside a batch, found the file-level record {ty}")
            }
            ErrorKind::Malformed(message) => write!(f, "malformed generation: {message}"),
            ErrorKind::Ordering(message) => write!(f, "inconsistent event: {message}"),
            ErrorKind::InvalidOldTrace(message) => write!(f, "invalid old-format trace: {message}"),
            ErrorKind::UnknownTableId { table, id, event } => {
                write!(f, "found invalid {table} ID {id} for event {event}")
            }
            ErrorKind::RecordOverrunsBatch { event, batch_end } => write!(
                f,
                "a {} record runs past the end of its batch, which ends at offset {batch_end:#x}",
                event.name()
            ),
        }
    }
}

/// An error reading a trace: what went wrong, the absolute byte offset where it was found,
/// and the batch it was found in, when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    // Boxed so that `Result<Record, Error>` stays small on the hot path.
    inner: Box<Inner>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Inner {
    kind: ErrorKind,
    offset: u64,
    batch: Option<BatchLocation>,
}

impl Error {
    #[cold]
    pub(crate) fn new(kind: ErrorKind, offset: u64) -> Error {
        Error { inner: Box::new(Inner { kind, offset, batch: None }) }
    }

    pub(crate) fn in_batch(mut self, batch: BatchLocation) -> Error {
        self.inner.batch = Some(batch);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// The absolute byte offset in the file where the problem was found.
    pub fn offset(&self) -> u64 {
        self.inner.offset
    }

    /// The batch in which the problem was found, when its header could be read.
    pub fn batch(&self) -> Option<BatchLocation> {
        self.inner.batch
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.inner.kind)?;
        if let Some(batch) = self.inner.batch {
            write!(f, " (in the batch of generation {} ", batch.generation)?;
            if batch.thread == u64::MAX {
                f.write_str("written for no thread")?;
            } else {
                write!(f, "from thread {}", batch.thread)?;
            }
            write!(f, " that starts at offset {:#x})", batch.offset)?;
        }
        write!(f, " at offset {:#x}", self.inner.offset)
    }
}

impl std::error::Error for Error {}
