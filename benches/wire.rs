//! Reading throughput on a big trace: wire decoding (every batch and record), and ordering
//! (the full event stream of Go's reader), and building the in-memory IR.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_main};
use gotrace_benches::{bench_trace, count_events};
use trace_format::ir::TraceIr;
use trace_format::text::write_wire_dump;
use trace_format::{Item, WireReader, summarize};

/// Decodes every record and folds its arguments, so that nothing can be optimized away.
fn decode_all(bytes: &[u8]) -> u64 {
    let mut acc = 0u64;
    for item in WireReader::new(bytes).expect("valid header") {
        if let Item::Batch(batch) = item.expect("valid trace") {
            for record in batch.records() {
                let record = record.expect("valid record");
                acc = acc.wrapping_add(record.args().iter().fold(u64::from(record.event_type().0), |a, &v| a ^ v));
            }
        }
    }
    acc
}

fn wire(c: &mut Criterion) {
    let (file, _) = bench_trace();
    let bytes = file.bytes();
    let mut group = c.benchmark_group("wire");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    group.bench_function("decode", |b| b.iter(|| decode_all(black_box(bytes))));
    group.bench_function("summarize", |b| b.iter(|| summarize(black_box(bytes)).expect("valid header")));
    group.bench_function("dump_wire_text", |b| {
        b.iter(|| write_wire_dump(black_box(bytes), &mut std::io::sink()).expect("valid trace"))
    });
    group.finish();

    let mut group = c.benchmark_group("order");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function("events", |b| b.iter(|| count_events(black_box(bytes))));
    group.finish();

    // Parse, order and encode the whole trace into the in-memory IR: with the machine's
    // threads (ordering and encoding overlap), and with one.
    let mut group = c.benchmark_group("ir");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function("build", |b| b.iter(|| TraceIr::from_trace(black_box(bytes)).expect("valid header")));
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a thread pool");
    group.bench_function("build_one_thread", |b| {
        b.iter(|| one_thread.install(|| TraceIr::from_trace(black_box(bytes)).expect("valid header")))
    });
    group.finish();
}

// criterion_group! generates an undocumented function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::wire);
}
criterion_main!(group::benches);
