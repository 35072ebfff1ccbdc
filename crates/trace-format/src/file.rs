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
