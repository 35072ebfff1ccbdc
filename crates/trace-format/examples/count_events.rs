//! Counts the events of a trace by kind, reading it as a stream in bounded memory.
//!
//! ```sh
//! cargo run --release -p trace-format --example count_events -- FILE
//! ```

use std::collections::HashMap;

use trace_format::{Reader, TraceFile};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: count_events FILE")?;
    let file = TraceFile::open(&path)?;
    let mut reader = Reader::new(file.bytes())?;
    let mut counts = HashMap::new();
    let mut last_release = 0;
    while let Some(event) = reader.next() {
        *counts.entry(event?.kind()).or_insert(0u64) += 1;
        // Let the pages already read go, so that memory stays bounded on huge traces.
        if reader.consumed_offset() > last_release {
            last_release = reader.consumed_offset();
            file.release_before(last_release);
        }
    }
    let mut counts: Vec<(String, u64)> = counts.into_iter().map(|(kind, n)| (format!("{kind:?}"), n)).collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    for (kind, count) in counts {
        println!("{count:>12} {kind}");
    }
    Ok(())
}
