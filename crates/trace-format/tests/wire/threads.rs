//! Reading with one thread and with several gives the same IR and the same dump, on whole
//! and on damaged traces.

use trace_format::ir::TraceIr;
use trace_format::text::write_parsed_dump;

use crate::fixtures::{short, v2_traces};

/// Runs `work` in a rayon pool of `threads` threads.
fn with_threads<T: Send>(threads: usize, work: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool").install(work)
}

/// The stored IR and the parsed dump (with its error, if any) of `bytes`.
fn read(bytes: &[u8]) -> (Vec<u8>, Vec<u8>, String) {
    let ir = TraceIr::from_trace(bytes).expect("a valid header").to_bytes();
    let mut dump = Vec::new();
    let error = write_parsed_dump(bytes, &mut dump).err().map(|e| e.to_string()).unwrap_or_default();
    (ir, dump, error)
}

#[test]
fn one_thread_and_many_threads_read_alike() {
    for path in v2_traces() {
        let bytes = std::fs::read(&path).unwrap();
        // The whole trace, and the trace cut in its middle (an error after some generations).
        for len in [bytes.len(), bytes.len() / 2] {
            let cut = &bytes[..len];
            let one = with_threads(1, || read(cut));
            let many = with_threads(4, || read(cut));
            assert!(one.0 == many.0, "{}: the IR differs ({len} bytes)", short(&path));
            assert!(one.1 == many.1, "{}: the dump differs ({len} bytes)", short(&path));
            assert_eq!(one.2, many.2, "{}: the error differs ({len} bytes)", short(&path));
            if len < bytes.len() {
                assert!(!one.2.is_empty(), "{}: a cut trace must end in an error", short(&path));
            }
        }
    }
}
