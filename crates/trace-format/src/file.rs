//! Access to a trace file's bytes through a memory map, so that nothing is copied.

use std::fs::File;
use std::io;
use std::ops::Deref;
use std::path::Path;

/// The bytes of a trace file, mapped into memory.
#[derive(Debug)]
pub struct TraceFile {
    bytes: Bytes,
}

#[derive(Debug)]
enum Bytes {
    Mapped(memmap2::Mmap),
    // Empty files cannot be mapped.
    Empty,
}

impl TraceFile {
    /// Opens and maps the file at `path`.
    pub fn open(path: impl AsRef<Path>) -> io::Result<TraceFile> {
        let file = File::open(path)?;
        if file.metadata()?.len() == 0 {
            return Ok(TraceFile { bytes: Bytes::Empty });
        }
        Ok(TraceFile { bytes: Bytes::Mapped(map(&file)?) })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Mapped(map) => map,
            Bytes::Empty => &[],
        }
    }
}

impl TraceFile {
    /// Lets the operating system drop the pages of the first `offset` bytes from this
    /// process's memory, once a reader is done with them
    /// ([`Reader::consumed_offset`](crate::Reader::consumed_offset)), so that reading a big
    /// trace does not keep the whole file resident. Reading those bytes again still works:
    /// the pages come back from the file.
    pub fn release_before(&self, offset: u64) {
        const PAGE: usize = 4096;
        let len = (offset as usize).min(self.bytes().len()) / PAGE * PAGE;
        if let (Bytes::Mapped(map), true) = (&self.bytes, len > 0) {
            release(map, len);
        }
    }
}

#[cfg(unix)]
#[allow(unsafe_code)]
fn release(map: &memmap2::Mmap, len: usize) {
    // SAFETY: the map is a shared, read-only map of a file: MADV_DONTNEED only removes this
    // process's page mappings, and any later read faults the same file contents back in, so
    // no reference into the map ever sees different bytes. A failure only costs memory.
    let _ = unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, 0, len) };
}

#[cfg(not(unix))]
fn release(_map: &memmap2::Mmap, _len: usize) {}

impl Deref for TraceFile {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.bytes()
    }
}

#[allow(unsafe_code)]
fn map(file: &File) -> io::Result<memmap2::Mmap> {
    // SAFETY: the map is only read. If another process truncates or rewrites the file while
    // it is mapped, reads may see changed bytes (which the reader treats as any other input)
    // or fault; trace files are written once and then read, so this is accepted for the
    // speed and memory a map gives on traces of hundreds of megabytes.
    unsafe { memmap2::Mmap::map(file) }
}
