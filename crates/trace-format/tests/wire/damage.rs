//! Damaged input: truncations and corruptions of real fixtures, and hand-made bad traces.
//! Every case must end in a clean error naming the right offset, never a panic, and the
//! output must hold everything before the damage.

use trace_format::text::{DumpError, write_batch_header, write_record, write_wire_dump};
use trace_format::writer::TraceWriter;
use trace_format::{Error, ErrorKind, EventType, Expected, Item, Version, WireReader, summarize};

use crate::fixtures::{short, v2_traces};

/// One printed unit of a valid trace: its text and the offset just after its last byte.
struct Unit {
    end: usize,
    text: Vec<u8>,
}

fn units(bytes: &[u8]) -> Vec<Unit> {
    let mut out = Vec::new();
    for item in WireReader::new(bytes).unwrap() {
        match item.unwrap() {
            Item::EndOfGeneration { offset } => {
                out.push(Unit { end: offset as usize + 1, text: b"EndOfGeneration\n".to_vec() })
            }
            Item::Batch(batch) => {
                let mut text = Vec::new();
                write_batch_header(&mut text, &batch).unwrap();
                let header_end = match batch.experiment() {
                    Some(_) => batch.data_offset() + batch.size(),
                    None => batch.data_offset(),
                };
                out.push(Unit { end: header_end as usize, text });
                for record in batch.records() {
                    let record = record.unwrap();
                    let mut text = Vec::new();
                    write_record(&mut text, &record).unwrap();
                    out.push(Unit { end: record.offset() as usize + record.encoded_len(), text });
                }
            }
        }
    }
    out
}

/// The output expected when the file is cut at `cut`: every unit that ends by then.
fn prefix(units: &[Unit], cut: usize) -> Vec<u8> {
    units.iter().take_while(|u| u.end <= cut).flat_map(|u| u.text.iter().copied()).collect()
}

fn dump(bytes: &[u8]) -> (Vec<u8>, Result<(), Error>) {
    let mut out = Vec::new();
    let result = match write_wire_dump(bytes, &mut out) {
        Ok(()) => Ok(()),
        Err(DumpError::Trace(error)) => Err(error),
        Err(DumpError::Write(error)) => panic!("writing to memory failed: {error}"),
    };
    (out, result)
}

/// Offsets at which a cut leaves a complete trace: after the header, and after every batch
/// (Go 1.22-1.25) or every end-of-generation record (Go 1.26+).
fn clean_cuts(bytes: &[u8]) -> Vec<usize> {
    let reader = WireReader::new(bytes).unwrap();
    let marked = reader.version().has_end_of_generation();
    let mut cuts = vec![trace_format::HEADER_LEN];
    for item in reader {
        match item.unwrap() {
            Item::EndOfGeneration { offset } => cuts.push(offset as usize + 1),
            Item::Batch(batch) if !marked => cuts.push((batch.data_offset() + batch.size()) as usize),
            Item::Batch(_) => {}
        }
    }
    cuts
}

/// A small deterministic generator, so that failures reproduce.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// The smallest fixture of each format version, to keep the quadratic cut test quick.
fn one_trace_per_version() -> Vec<(Vec<u8>, String)> {
    let mut best: Vec<(Version, Vec<u8>, String)> = Vec::new();
    for path in v2_traces() {
        let bytes = std::fs::read(&path).unwrap();
        let version = trace_format::read_header(&bytes).unwrap();
        match best.iter_mut().find(|(v, _, _)| *v == version) {
            Some(entry) if entry.1.len() > bytes.len() => *entry = (version, bytes, short(&path)),
            Some(_) => {}
            None => best.push((version, bytes, short(&path))),
        }
    }
    assert_eq!(best.len(), Version::ALL.len(), "a fixture of every format version");
    best.into_iter().map(|(_, bytes, name)| (bytes, name)).collect()
}

#[test]
fn truncation_keeps_everything_before_the_cut() {
    for (bytes, name) in one_trace_per_version() {
        let units = units(&bytes);
        let clean = clean_cuts(&bytes);
        let mut rng = Lcg(bytes.len() as u64);
        let mut cuts: Vec<usize> = (0..64).collect();
        for u in units.iter().step_by((units.len() / 40).max(1)) {
            cuts.extend([u.end - 1, u.end, u.end + 1]);
        }
        cuts.extend((0..120).map(|_| rng.below(bytes.len())));
        cuts.extend(clean.iter().copied());
        cuts.retain(|&c| c < bytes.len());
        cuts.sort_unstable();
        cuts.dedup();
        for cut in cuts {
            let (out, result) = dump(&bytes[..cut]);
            match result {
                Ok(()) => assert!(clean.contains(&cut), "{name} cut at {cut}: accepted a trace cut mid-generation"),
                Err(error) => {
                    assert!(!clean.contains(&cut), "{name} cut at {cut}: rejected a complete trace: {error}");
                    let expected_offset = if cut == 0 { 0 } else { cut as u64 };
                    assert_eq!(error.offset(), expected_offset, "{name} cut at {cut}: {error}");
                    assert!(error.to_string().contains(&format!("at offset {expected_offset:#x}")), "{error}");
                }
            }
            if cut >= trace_format::HEADER_LEN {
                assert!(out == prefix(&units, cut), "{name} cut at {cut}: output is not everything before the cut");
            }
            // The summary walks the same bytes and must agree that the trace is damaged.
            if let Ok(summary) = summarize(&bytes[..cut]) {
                assert_eq!(summary.error.is_none(), clean.contains(&cut), "{name} cut at {cut}");
            }
        }
    }
}

#[test]
fn flipped_bytes_give_clean_errors() {
    for path in v2_traces() {
        let original = std::fs::read(&path).unwrap();
        let units = units(&original);
        let mut rng = Lcg(original.len() as u64 ^ 0x5eed);
        for _ in 0..60 {
            let mut bytes = original.clone();
            let at = trace_format::HEADER_LEN + rng.below(bytes.len() - trace_format::HEADER_LEN);
            bytes[at] ^= 1 << rng.below(8) as u8 | [0, 0x80, 0x7f][rng.below(3)];
            let (out, result) = dump(&bytes);
            let intact = prefix(&units, at);
            assert!(out.starts_with(&intact), "{} flip at {at}: lost output before the damage", short(&path));
            if let Err(error) = result {
                let last_intact_end =
                    units.iter().take_while(|u| u.end <= at).last().map_or(trace_format::HEADER_LEN, |u| u.end);
                assert!(
                    (last_intact_end as u64..=bytes.len() as u64).contains(&error.offset()),
                    "{} flip at {at}: error offset {:#x} before the damage: {error}",
                    short(&path),
                    error.offset()
                );
            }
            let _ = summarize(&bytes);
            // The ordered reader and the IR meet the same damage: an error, never a panic.
            let (_, ordered_error) = ordered(&bytes);
            if let Some(error) = ordered_error {
                assert!(error.offset() <= bytes.len() as u64, "{}: {error}", short(&path));
            }
            let _ = trace_format::ir::TraceIr::from_trace(&bytes);
        }
    }
}

#[test]
fn corrupt_event_type_in_a_real_trace() {
    let path = &v2_traces()[0];
    let mut bytes = std::fs::read(path).unwrap();
    let (location, record_offset) = WireReader::new(&bytes)
        .unwrap()
        .find_map(|item| match item.unwrap() {
            Item::Batch(b) if b.records().next().is_some() => Some((b.location(), b.data_offset() as usize)),
            _ => None,
        })
        .unwrap();
    bytes[record_offset] = 0x7f;
    let (_, result) = dump(&bytes);
    let error = result.unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::UnknownEventType { found: 0x7f, .. }), "{error}");
    assert_eq!(error.offset(), record_offset as u64);
    assert_eq!(error.batch(), Some(location));
}

fn error_of(bytes: &[u8]) -> Error {
    let (_, result) = dump(bytes);
    let error = result.expect_err("the trace is bad");
    assert!(error.to_string().ends_with(&format!("at offset {:#x}", error.offset())), "{error}");
    error
}

fn frequency_batch(w: &mut TraceWriter, generation: u64) {
    w.batch(generation, u64::MAX, 1, |b| {
        b.event(EventType::Sync, &[]).event(EventType::Frequency, &[15_625_000]);
    });
}

#[test]
fn hand_made_bad_traces() {
    let h = trace_format::HEADER_LEN as u64;

    let mut w = TraceWriter::new(Version::Go126);
    w.raw(&[7]);
    assert_eq!(error_of(w.bytes()).kind(), &ErrorKind::BadBatchType { found: 7 });
    assert_eq!(error_of(w.bytes()).offset(), h);

    // Size 70000 (> 64 KiB) in a batch header at offset 16: type, gen, m, time, then size.
    let mut w = TraceWriter::new(Version::Go126);
    w.raw(&[1, 1, 2, 3, 0xf0, 0xa2, 0x04]);
    let e = error_of(w.bytes());
    assert_eq!(e.kind(), &ErrorKind::BatchTooLarge { size: 70000 });
    assert_eq!(e.offset(), h + 4);
    assert_eq!(e.batch().map(|b| (b.offset, b.generation, b.thread)), Some((h, 1, 2)));

    // An overlong batch size.
    let mut w = TraceWriter::new(Version::Go126);
    w.raw(&[1, 1, 2, 3]).raw(&[0xff; 11]);
    let e = error_of(w.bytes());
    assert_eq!(e.kind(), &ErrorKind::VarintOverflow(Expected::BatchField("size")));
    assert_eq!(e.offset(), h + 4);

    // A type byte in the gap between the structural and experimental events.
    let mut w = TraceWriter::new(Version::Go126);
    w.batch(1, 5, 10, |b| {
        b.raw(&[0x7f]);
    });
    let e = error_of(w.bytes());
    assert_eq!(e.kind(), &ErrorKind::UnknownEventType { found: 0x7f, minor: 26 });
    assert_eq!(e.offset(), h + 14);

    // GoSwitch arrived with Go 1.23: a Go 1.22 trace cannot hold it.
    let mut w = TraceWriter::new(Version::Go122);
    w.batch(1, 5, 10, |b| {
        b.raw(&[EventType::GoSwitch.0, 1, 1, 1]);
    });
    assert_eq!(error_of(w.bytes()).kind(), &ErrorKind::UnknownEventType { found: 45, minor: 22 });

    // A GoStart whose goroutine ID overflows 64 bits: the error names the argument.
    let mut w = TraceWriter::new(Version::Go126);
    w.batch(1, 5, 10, |b| {
        b.raw(&[EventType::GoStart.0, 1]).raw(&[0xff; 10]).raw(&[1]);
    });
    let e = error_of(w.bytes());
    assert_eq!(e.kind(), &ErrorKind::VarintOverflow(Expected::Argument { event: "GoStart", arg: "g" }));
    assert_eq!(e.offset(), h + 14 + 2);

    // A record cut off by the end of its batch (the file continues).
    let mut w = TraceWriter::new(Version::Go126);
    w.batch(1, 5, 10, |b| {
        b.event(EventType::ProcStop, &[1]).raw(&[EventType::GoStart.0, 1]);
    });
    w.end_of_generation();
    let e = error_of(w.bytes());
    assert!(matches!(e.kind(), ErrorKind::RecordOverrunsBatch { event: EventType::GoStart, .. }), "{e}");
    assert_eq!(e.offset(), h + 14 + 2);

    // A stack claiming 2^60 frames, and a string claiming 2^60 bytes: no hang, no allocation.
    // (The batch header for no thread is 23 bytes: the thread ID takes ten.)
    for raw in [
        &[EventType::Stacks.0, EventType::Stack.0, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10][..],
        &[EventType::Strings.0, EventType::String.0, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10],
    ] {
        let mut w = TraceWriter::new(Version::Go126);
        w.batch(1, u64::MAX, 10, |b| {
            b.raw(raw);
        });
        w.end_of_generation();
        let e = error_of(w.bytes());
        assert!(matches!(e.kind(), ErrorKind::RecordOverrunsBatch { .. }), "{e}");
        assert_eq!(e.offset(), h + 23 + 1);
    }

    // A batch header inside a batch.
    let mut w = TraceWriter::new(Version::Go126);
    w.batch(1, 5, 10, |b| {
        b.raw(&[EventType::EventBatch.0, 1, 1, 1, 0]);
    });
    assert_eq!(error_of(w.bytes()).kind(), &ErrorKind::MisplacedRecord(EventType::EventBatch));

    // Generation 0 does not exist.
    let mut w = TraceWriter::new(Version::Go125);
    frequency_batch(&mut w, 0);
    assert_eq!(error_of(w.bytes()).kind(), &ErrorKind::ZeroGeneration);

    // Before Go 1.26 generations follow each other: 1 then 3 is out of order.
    let mut w = TraceWriter::new(Version::Go125);
    frequency_batch(&mut w, 1);
    frequency_batch(&mut w, 2);
    let second_end = w.bytes().len() as u64;
    frequency_batch(&mut w, 4);
    let e = error_of(w.bytes());
    assert_eq!(e.kind(), &ErrorKind::GenerationOutOfOrder { current: 2, found: 4 });
    assert_eq!(e.offset(), second_end + 1);

    // Go 1.26+: a new generation needs the end record of the previous one...
    let mut w = TraceWriter::new(Version::Go126);
    frequency_batch(&mut w, 1);
    frequency_batch(&mut w, 2);
    assert_eq!(error_of(w.bytes()).kind(), &ErrorKind::GenerationOutOfOrder { current: 1, found: 2 });

    // ...and so does the end of the file.
    let mut w = TraceWriter::new(Version::Go126);
    frequency_batch(&mut w, 1);
    let e = error_of(w.bytes());
    assert_eq!(e.kind(), &ErrorKind::MissingEndOfGeneration { generation: 1 });
    assert_eq!(e.offset(), w.bytes().len() as u64);

    // The end-of-generation record does not exist before Go 1.26.
    let mut w = TraceWriter::new(Version::Go125);
    frequency_batch(&mut w, 1);
    w.raw(&[EventType::EndOfGeneration.0]);
    assert_eq!(error_of(w.bytes()).kind(), &ErrorKind::BadBatchType { found: 52 });
}

#[test]
fn headers_are_checked() {
    let old = error_of(b"go 1.21 trace\0\0\0\x00\x01");
    assert_eq!(old.kind(), &ErrorKind::OldFormat { minor: 21 });
    assert!(old.to_string().contains("go 1.21"), "{old}");
    assert_eq!(error_of(b"go 1.27 trace\0\0\0").kind(), &ErrorKind::UnsupportedVersion { minor: 27 });
    assert_eq!(error_of(b"PK\x03\x04 a zip file, not a trace").kind(), &ErrorKind::NotATrace);
    assert_eq!(error_of(b"").kind(), &ErrorKind::NotATrace);
}

#[test]
fn arbitrary_bytes_after_a_header_never_panic() {
    let mut rng = Lcg(7);
    for version in Version::ALL {
        for _ in 0..2000 {
            let mut bytes = trace_format::header_bytes(version).to_vec();
            let len = rng.below(64);
            // Mostly valid-looking type bytes, so that the walk gets past the first byte.
            bytes.extend((0..len).map(|i| if i == 0 { [1, 49, 52][rng.below(3)] } else { rng.below(256) as u8 }));
            let (_, result) = dump(&bytes);
            if let Err(error) = result {
                assert!(error.offset() <= bytes.len() as u64, "{error}");
            }
            let _ = summarize(&bytes);
            let _ = ordered(&bytes);
        }
    }
}

/// The ordered reader on a cut trace: the events it delivers are the first events of the
/// whole trace (but for a last `Sync`, which Go's reader adds before reporting damage found
/// between generations), and it ends with an error at or before the cut.
///
/// Before Go 1.26 a generation cut short is still delivered, and its start time is the
/// earliest batch that survived, so times may differ there: they are compared from Go 1.26 on,
/// where only complete generations are delivered.
#[test]
fn ordered_reader_keeps_events_before_the_cut() {
    let richest = v2_traces().into_iter().filter(|p| p.ends_with("allevents.trace")).collect::<Vec<_>>();
    assert_eq!(richest.len(), 6, "an allevents fixture of each Go release from 1.22 to 1.27");
    for path in richest {
        let (bytes, name) = (std::fs::read(&path).unwrap(), short(&path));
        let compare_times = trace_format::read_header(&bytes).unwrap().has_end_of_generation();
        let key = |events: &[trace_format::Event]| -> Vec<(trace_format::EventKind, i64, i64, i64, Option<i64>)> {
            let time = |e: &trace_format::Event| compare_times.then_some(e.time());
            events.iter().map(|e| (e.kind(), e.thread(), e.proc(), e.goroutine(), time(e))).collect()
        };
        let full = key(&ordered(&bytes).0);
        let mut rng = Lcg(bytes.len() as u64 ^ 0x0bde);
        for _ in 0..40 {
            let cut = trace_format::HEADER_LEN + rng.below(bytes.len() - trace_format::HEADER_LEN);
            let (events, error) = ordered(&bytes[..cut]);
            let events = key(&events);
            let error = error.unwrap_or_else(|| panic!("{name} cut at {cut}: no error"));
            assert!(error.offset() <= cut as u64, "{name} cut at {cut}: {error}");
            let same = if full.starts_with(&events) {
                events.len()
            } else {
                let last = events.last().expect("at least one event");
                assert_eq!(last.0, trace_format::EventKind::Sync, "{name} cut at {cut}: {error}");
                events.len() - 1
            };
            assert!(full.starts_with(&events[..same]), "{name} cut at {cut}: events differ from the whole trace's");
        }
    }
}

/// Every event the reader delivers, and the error that ended it, if any.
fn ordered(bytes: &[u8]) -> (Vec<trace_format::Event>, Option<Error>) {
    let mut events = Vec::new();
    for event in trace_format::Reader::new(bytes).unwrap() {
        match event {
            Ok(event) => events.push(event),
            Err(error) => return (events, Some(error)),
        }
    }
    (events, None)
}

/// String tables are read record by record with Go's checks, whichever way a record is
/// decoded: duplicate and zero IDs, oversized strings and foreign records are reported at
/// their own record.
#[test]
fn string_tables_are_checked_record_by_record() {
    // The batch header for no thread is 23 bytes; the section marker takes one more, and a
    // one-letter string with a small ID four.
    let records = trace_format::HEADER_LEN as u64 + 23;
    let long = vec![b'x'; 1025];
    // The records after the marker, the error's message, and its record's place.
    type Case<'c> = (&'c dyn Fn(&mut trace_format::writer::BatchWriter), String, u64);
    let cases: [Case; 4] = [
        (
            &|b| {
                b.string(1, b"a").string(2, b"b").string(1, b"c");
            },
            "multiple strings with the same ID: id=1".into(),
            9,
        ),
        (
            &|b| {
                b.string(0, b"a");
            },
            "multiple strings with the same ID: id=0".into(),
            1,
        ),
        (
            &|b| {
                b.string(1, b"a").string(2, &long);
            },
            "invalid string size 1025, maximum is 1024".into(),
            5,
        ),
        (
            &|b| {
                b.string(1, b"a").event(EventType::Strings, &[]);
            },
            format!("expected string event, got {}", EventType::Strings.0),
            5,
        ),
    ];
    for (fill, message, at) in cases {
        let mut w = TraceWriter::new(Version::Go126);
        w.batch(1, u64::MAX, 10, |b| {
            b.event(EventType::Strings, &[]);
            fill(b);
        });
        w.end_of_generation();
        // Tables are read (and judged) when their generation is, not by the wire dump.
        let reader = trace_format::Reader::new(w.bytes()).expect("a valid header");
        let e = reader.filter_map(Result::err).next().expect("the string table is bad");
        assert_eq!(e.kind(), &ErrorKind::Malformed(message.clone()), "{e}");
        assert_eq!(e.offset(), records + at, "{message}");
    }
}
