//! Old-format traces (Go 1.5 to 1.21): the same output whatever the number of threads, and
//! damaged input (cut, flipped, hand-made, random) gives a clean error, never a panic.
//!
//! An old-format trace keeps its tick frequency and its stacks at its end, so a damaged one
//! yields no events, only the error (as in Go).

use trace_format::ir::TraceIr;
use trace_format::text::write_parsed_dump;
use trace_format::{Error, ErrorKind, EventKind, Expected, Reader};

use crate::damage::Lcg;
use crate::fixtures::{old_traces, short};

fn parsed_dump(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    write_parsed_dump(bytes, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Every event, and the error that ended the reading, if any.
fn read_all(bytes: &[u8]) -> (Vec<trace_format::Event>, Option<Error>) {
    let mut reader = match Reader::new(bytes) {
        Ok(reader) => reader,
        Err(error) => return (Vec::new(), Some(error)),
    };
    let mut events = Vec::new();
    for event in &mut reader {
        match event {
            Ok(event) => events.push(event),
            Err(error) => return (events, Some(error)),
        }
    }
    (events, None)
}

fn assert_clean(error: &Error, len: usize, context: &str) {
    assert!(error.offset() <= len as u64, "{context}: offset past the end: {error}");
    assert!(error.to_string().ends_with(&format!("at offset {:#x}", error.offset())), "{context}: {error}");
}

#[test]
fn one_thread_and_many_threads_give_the_same_events() {
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let many = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
    for path in old_traces() {
        let bytes = std::fs::read(&path).unwrap();
        let single = one.install(|| parsed_dump(&bytes)).unwrap();
        let parallel = many.install(|| parsed_dump(&bytes)).unwrap();
        assert!(single == parallel, "{}: 1 thread and 4 threads differ", short(&path));
        assert!(single.len() > 1000, "{}: suspiciously small dump", short(&path));
    }
}

/// What an event is and when and where it happened, without its stacks.
fn shape(events: &[trace_format::Event]) -> Vec<(EventKind, i64, i64, i64, i64)> {
    events.iter().map(|e| (e.kind(), e.time(), e.thread(), e.proc(), e.goroutine())).collect()
}

#[test]
fn truncated_old_traces_give_clean_errors() {
    for path in old_traces() {
        let bytes = std::fs::read(&path).unwrap();
        let full = shape(&read_all(&bytes).0);
        let mut rng = Lcg(bytes.len() as u64 ^ 0xc07);
        // Every cut of the smallest traces, a sample of the others.
        let cuts: Vec<usize> = if bytes.len() < 4096 {
            (trace_format::HEADER_LEN..bytes.len()).collect()
        } else {
            (0..60).map(|_| trace_format::HEADER_LEN + rng.below(bytes.len() - trace_format::HEADER_LEN)).collect()
        };
        for cut in cuts {
            let context = format!("{} cut at {cut}", short(&path));
            let (events, error) = read_all(&bytes[..cut]);
            match error {
                Some(error) => {
                    assert_clean(&error, cut, &context);
                    assert!(events.is_empty(), "{context}: events before an error in the whole-file stage");
                }
                // A cut in the stack table, which comes last, leaves a readable trace whose
                // events are all there, some without their stacks.
                None => assert_eq!(shape(&events), full, "{context}: no error, but events are lost"),
            }
            let _ = TraceIr::from_trace(&bytes[..cut]);
        }
    }
}

#[test]
fn flipped_bytes_in_old_traces_give_clean_errors() {
    for path in old_traces() {
        let original = std::fs::read(&path).unwrap();
        let mut rng = Lcg(original.len() as u64 ^ 0xf11b);
        for _ in 0..60 {
            let mut bytes = original.clone();
            let at = trace_format::HEADER_LEN + rng.below(bytes.len() - trace_format::HEADER_LEN);
            bytes[at] ^= 1 << rng.below(8) as u8 | [0, 0x80, 0x7f][rng.below(3)];
            let (_, error) = read_all(&bytes);
            if let Some(error) = error {
                assert_clean(&error, bytes.len(), &format!("{} flip at {at}", short(&path)));
            }
            let _ = TraceIr::from_trace(&bytes);
        }
    }
}

fn header(minor: u32) -> Vec<u8> {
    let mut out = format!("go 1.{minor} trace").into_bytes();
    out.resize(trace_format::HEADER_LEN, 0);
    out
}

fn uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a record of type `ty` with `values`: inline when there are at most three, else
/// length-prefixed, as the runtime writes them (Go 1.7 and later).
fn record(out: &mut Vec<u8>, ty: u8, values: &[u64]) {
    if values.len() <= 3 {
        out.push(ty | ((values.len() as u8).saturating_sub(1)) << 6);
        values.iter().for_each(|&v| uvarint(out, v));
    } else {
        out.push(ty | 3 << 6);
        let mut body = Vec::new();
        values.iter().for_each(|&v| uvarint(&mut body, v));
        uvarint(out, body.len() as u64);
        out.extend(body);
    }
}

fn error_of(bytes: &[u8]) -> Error {
    let (events, error) = read_all(bytes);
    let error = error.unwrap_or_else(|| panic!("no error; {} events", events.len()));
    assert_clean(&error, bytes.len(), "hand-made trace");
    error
}

fn message_of(bytes: &[u8]) -> String {
    match error_of(bytes).kind() {
        ErrorKind::InvalidOldTrace(message) | ErrorKind::Ordering(message) => message.clone(),
        other => panic!("unexpected kind {other:?}"),
    }
}

/// Event types of the old format used below.
const BATCH: u8 = 1;
const FREQUENCY: u8 = 2;
const PROC_START: u8 = 5;
const GO_START: u8 = 14;
const GO_UNBLOCK: u8 = 21;
const FUTILE_WAKEUP: u8 = 36;
const STRING: u8 = 37;

#[test]
fn hand_made_bad_old_traces() {
    // A header alone: no frequency.
    assert!(message_of(&header(21)).starts_with("no EvFrequency event"));

    // A batch must say it has two arguments.
    let mut t = header(21);
    t.extend([BATCH, 0, 5]);
    assert_eq!(message_of(&t), "EvBatch has wrong number of arguments: got 1, want 2");

    // An event type the version does not have, at its offset.
    let mut t = header(11);
    record(&mut t, BATCH, &[0, 100]);
    let at = t.len();
    record(&mut t, 49, &[1, 2, 3, 4, 5]);
    let e = error_of(&t);
    assert_eq!(e.kind(), &ErrorKind::UnknownEventType { found: 49, minor: 11 });
    assert_eq!(e.offset(), at as u64);

    // An event before any batch.
    let mut t = header(21);
    record(&mut t, PROC_START, &[1, 0]);
    assert!(message_of(&t).contains("but P has no batches yet"));

    // A proc ID above Go's limit.
    let mut t = header(21);
    record(&mut t, BATCH, &[1 << 40, 100]);
    assert!(message_of(&t).starts_with("processor ID 1099511627776 is larger than maximum"));

    // Strings with ID 0, or twice the same ID.
    let mut t = header(21);
    t.extend([STRING, 0, 1, b'x']);
    assert_eq!(message_of(&t), "string has invalid id 0");
    let mut t = header(21);
    t.extend([STRING, 1, 1, b'x', STRING, 1, 1, b'y']);
    assert_eq!(message_of(&t), "string has duplicate id 1");

    // The wrong number of values for an event.
    let mut t = header(21);
    record(&mut t, BATCH, &[0, 100]);
    record(&mut t, GO_START, &[1, 2]);
    record(&mut t, FREQUENCY, &[1_000_000_000]);
    assert_eq!(message_of(&t), "GoStart has wrong number of arguments: want 3, got 2");

    // A trace cut in the middle of an event names what it was reading.
    let mut t = header(21);
    record(&mut t, BATCH, &[0, 100]);
    t.extend([PROC_START | 1 << 6, 0x85]);
    let e = error_of(&t);
    assert_eq!(e.kind(), &ErrorKind::UnexpectedEof(Expected::Argument { event: "ProcStart", arg: "dt" }));
    assert_eq!(e.offset(), t.len() as u64);

    let mut t = header(21);
    record(&mut t, BATCH, &[0, 100]);
    t.extend([GO_START | 2 << 6, 1, 7]);
    let e = error_of(&t);
    assert_eq!(e.kind(), &ErrorKind::UnexpectedEof(Expected::Argument { event: "GoStart", arg: "seq" }));
    assert!(e.to_string().contains("argument `seq` of a GoStart event"), "{e}");

    // A length-prefixed record longer than Go 1.27 accepts.
    let mut t = header(21);
    record(&mut t, BATCH, &[0, 100]);
    t.extend([GO_UNBLOCK | 3 << 6, 0x81, 0x20]);
    assert!(message_of(&t).contains("length-prefixed argument too big: 4097 bytes"));

    // A goroutine started twice with the same sequence number can never be ordered.
    let mut t = header(21);
    record(&mut t, BATCH, &[0, 100]);
    record(&mut t, GO_START, &[1, 7, 5]);
    record(&mut t, FREQUENCY, &[1_000_000_000]);
    assert_eq!(message_of(&t), "no consistent ordering of events possible");

    // The frequency must be positive.
    let mut t = header(21);
    record(&mut t, BATCH, &[0, 100]);
    record(&mut t, FREQUENCY, &[0]);
    assert_eq!(message_of(&t), "time stamps out of order");
}

#[test]
fn futile_wakeups_are_an_error_from_go_1_11_and_dropped_before() {
    for (minor, fails) in [(11, true), (9, false)] {
        let mut t = header(minor);
        record(&mut t, BATCH, &[0, 100]);
        let at = t.len();
        record(&mut t, FUTILE_WAKEUP, &[3]);
        record(&mut t, FREQUENCY, &[1_000_000_000]);
        let (events, error) = read_all(&t);
        assert_eq!(events.len(), if fails { 1 } else { 2 }, "go 1.{minor}");
        assert_eq!(events[0].kind(), EventKind::Sync);
        match error {
            Some(error) if fails => {
                assert_eq!(error.kind(), &ErrorKind::InvalidOldTrace("unexpected event type 36".into()));
                assert_eq!(error.offset(), at as u64);
            }
            None if !fails => assert_eq!(events[1].kind(), EventKind::Sync),
            other => panic!("go 1.{minor}: {other:?}"),
        }
    }
}

#[test]
fn arbitrary_bytes_after_an_old_header_never_panic() {
    let mut rng = Lcg(11);
    for minor in [5, 7, 8, 9, 10, 11, 19, 21] {
        for _ in 0..1500 {
            let mut bytes = header(minor);
            record(&mut bytes, BATCH, &[rng.below(3) as u64, 100]);
            let len = rng.below(48);
            // Mostly valid-looking type bytes, so that the walk gets past the first byte.
            bytes.extend((0..len).map(|_| {
                if rng.below(3) == 0 { rng.below(50) as u8 | (rng.below(4) as u8) << 6 } else { rng.below(256) as u8 }
            }));
            if rng.below(2) == 0 {
                record(&mut bytes, FREQUENCY, &[1_000_000_000]);
            }
            if let (_, Some(error)) = read_all(&bytes) {
                assert_clean(&error, bytes.len(), &format!("go 1.{minor} {bytes:?}"));
            }
        }
    }
}
