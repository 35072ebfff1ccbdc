//! Property: batches written by the test writer read back with the same records.

use proptest::prelude::*;
use trace_format::spec::Trailer;
use trace_format::wire::RawFrame;
use trace_format::writer::TraceWriter;
use trace_format::{EventType, Item, Version, WireReader};

#[derive(Debug, Clone, PartialEq)]
enum Rec {
    Event(EventType, Vec<u64>),
    String(u64, Vec<u8>),
    Stack(u64, Vec<RawFrame>),
}

/// Argument values: mostly small, as in real traces, sometimes anything.
fn value() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..200, any::<u64>()]
}

fn record(version: Version) -> impl Strategy<Value = Rec> {
    let plain: Vec<EventType> = (0..=255u8)
        .map(EventType)
        .filter(|&ty| version.spec(ty).is_some_and(|s| s.trailer == Trailer::None))
        .filter(|&ty| !matches!(ty, EventType::EventBatch | EventType::EndOfGeneration))
        .collect();
    let frame =
        (value(), value(), value(), value()).prop_map(|(pc, func, file, line)| RawFrame { pc, func, file, line });
    prop_oneof![
        4 => proptest::sample::select(plain).prop_flat_map(|ty| {
            proptest::collection::vec(value(), ty.spec().unwrap().args.len()).prop_map(move |args| Rec::Event(ty, args))
        }),
        1 => (value(), proptest::collection::vec(any::<u8>(), 0..40)).prop_map(|(id, data)| Rec::String(id, data)),
        1 => (value(), proptest::collection::vec(frame, 0..6)).prop_map(|(id, frames)| Rec::Stack(id, frames)),
    ]
}

fn batch_case() -> impl Strategy<Value = (Version, u64, u64, u64, Vec<Rec>)> {
    proptest::sample::select(Version::ALL.to_vec()).prop_flat_map(|version| {
        (Just(version), 1u64.., value(), value(), proptest::collection::vec(record(version), 0..30))
    })
}

proptest! {
    #[test]
    fn batch_round_trips((version, generation, thread, time, records) in batch_case()) {
        let mut w = TraceWriter::new(version);
        w.batch(generation, thread, time, |b| {
            for rec in &records {
                match rec {
                    Rec::Event(ty, args) => b.event(*ty, args),
                    Rec::String(id, data) => b.string(*id, data),
                    Rec::Stack(id, frames) => b.stack(*id, frames),
                };
            }
        });
        if version.has_end_of_generation() {
            w.end_of_generation();
        }
        let bytes = w.into_bytes();
        let mut items = WireReader::new(&bytes).unwrap();
        let Some(Ok(Item::Batch(batch))) = items.next() else { panic!("expected a batch") };
        prop_assert_eq!((batch.location().generation, batch.location().thread, batch.time()), (generation, thread, time));
        prop_assert!(!batch.is_truncated());
        let mut read = Vec::new();
        for record in batch.records() {
            let record = record.unwrap();
            read.push(match record.event_type() {
                EventType::String => Rec::String(record.args()[0], record.data().unwrap().to_vec()),
                EventType::Stack => Rec::Stack(record.args()[0], record.frames().collect()),
                ty => Rec::Event(ty, record.args().to_vec()),
            });
        }
        prop_assert_eq!(read, records);
        if version.has_end_of_generation() {
            let ended = matches!(items.next(), Some(Ok(Item::EndOfGeneration { .. })));
            prop_assert!(ended, "expected the end of the generation");
        }
        prop_assert!(items.next().is_none());
    }
}
