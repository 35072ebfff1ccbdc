//! A wire-level summary of a v2 trace: generations, batches and records by type, with the
//! bytes each takes in the file.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::Error;
use crate::spec::EventType;
use crate::version::{HEADER_LEN, Version};
use crate::wire::{BatchKind, Item, WireReader};

/// How many items of one kind there are and how many bytes of the file they take.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Number of items.
    pub count: u64,
    /// Bytes they take in the file, headers included.
    pub bytes: u64,
}

impl Tally {
    fn add(&mut self, bytes: u64) {
        self.count += 1;
        self.bytes += bytes;
    }
}

/// What a trace holds at the wire level.
#[derive(Debug, Clone)]
pub struct WireSummary {
    /// The header's version.
    pub version: Version,
    /// Size of the file in bytes.
    pub file_size: u64,
    /// The generation numbers met, in file order (one entry per generation).
    pub generations: Vec<u64>,
    /// Batches by kind; bytes include the batch headers.
    pub batches: BTreeMap<BatchKind, Tally>,
    /// The distinct threads that wrote batches.
    pub threads: BTreeSet<u64>,
    /// Records by type; bytes are the records' own bytes in the file.
    pub records: BTreeMap<EventType, Tally>,
    /// End-of-generation records.
    pub end_of_generation: u64,
    /// The error that stopped the walk early, if the trace is damaged. Everything before it
    /// is counted.
    pub error: Option<Error>,
}

impl WireSummary {
    /// The total of all records.
    pub fn total_records(&self) -> Tally {
        self.records
            .values()
            .fold(Tally::default(), |acc, t| Tally { count: acc.count + t.count, bytes: acc.bytes + t.bytes })
    }
}

/// Walks a v2 trace and counts what it holds. Fails only if the header is unreadable.
pub fn summarize(bytes: &[u8]) -> Result<WireSummary, Error> {
    let mut reader = WireReader::new(bytes)?;
    let mut summary = WireSummary {
        version: reader.version(),
        file_size: bytes.len() as u64,
        generations: Vec::new(),
        batches: BTreeMap::new(),
        threads: BTreeSet::new(),
        records: BTreeMap::new(),
        end_of_generation: 0,
        error: None,
    };
    // Per-type tallies in an array first: a map lookup per record would dominate the walk.
    let mut by_type = [Tally::default(); 256];
    let mut generation_closed = true;
    let mut offset = HEADER_LEN as u64;
    'items: while let Some(item) = reader.next() {
        let item = match item {
            Ok(item) => item,
            Err(error) => {
                summary.error = Some(error);
                break;
            }
        };
        let end = reader.offset();
        match item {
            Item::EndOfGeneration { .. } => {
                summary.end_of_generation += 1;
                generation_closed = true;
            }
            Item::Batch(batch) => {
                let generation = batch.location().generation;
                if generation_closed || summary.generations.last() != Some(&generation) {
                    summary.generations.push(generation);
                    generation_closed = false;
                }
                if batch.location().thread != u64::MAX {
                    summary.threads.insert(batch.location().thread);
                }
                summary.batches.entry(batch.kind()).or_default().add(end - offset);
                for record in batch.records() {
                    match record {
                        Ok(record) => by_type[usize::from(record.event_type().0)].add(record.encoded_len() as u64),
                        Err(_) if batch.is_truncated() => break,
                        Err(error) => {
                            summary.error = Some(error);
                            break 'items;
                        }
                    }
                }
            }
        }
        offset = end;
    }
    for (ty, tally) in by_type.iter().enumerate() {
        if tally.count > 0 {
            summary.records.insert(EventType(ty as u8), *tally);
        }
    }
    Ok(summary)
}
