//! Comparing traces of two builds: each side is a set of samples (one per trace, or one per
//! benchmark measurement of a `go test -bench -trace` trace), each measured by name
//! ([`sample`]), and the two sets are compared metric by metric with benchmark statistics
//! ([`stats`], [`compare`]).

mod compare;
mod sample;
pub mod stats;

pub use compare::{CompareOptions, Comparison, MIN_SAMPLES, Row, Side, Verdict, compare, floor};
pub use sample::{
    Direction, MetricKey, MetricKind, MetricScope, Sample, SampleOptions, TraceAnalyses, Unit, samples_of,
};
