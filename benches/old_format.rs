//! Reading throughput on a big old-format trace (Go 1.21): the whole-file stage (decoding
//! every proc's batches, merging, checking) with the ordered stream read to the end, and the
//! parsed dump (what `gotrace dump` prints).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_main};
use gotrace_benches::{bench_old_trace, count_events};
use trace_format::text::write_parsed_dump;

fn old_format(c: &mut Criterion) {
    let (file, _) = bench_old_trace();
    let bytes = file.bytes();
    let mut group = c.benchmark_group("old_format");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.sample_size(10).measurement_time(Duration::from_secs(30));
    group.bench_function("events", |b| b.iter(|| count_events(black_box(bytes))));
    group.bench_function("dump_parsed_text", |b| {
        b.iter(|| write_parsed_dump(black_box(bytes), &mut std::io::sink()).expect("valid trace"))
    });
    group.finish();
}

// criterion_group! generates an undocumented function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::old_format);
}
criterion_main!(group::benches);
