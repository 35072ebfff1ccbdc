//! Analyses of Go execution traces, computed from the ordered events of `trace-format`:
//! goroutine statistics, blocking and scheduler-latency profiles, user tasks and regions,
//! minimum mutator utilization, and the goroutine graph with its critical paths.
//!
//! Every analysis is a pure function of the trace's events; this crate does no I/O.
//! It fills in as the event ordering of `trace-format` lands; today it only re-exports the
//! reader it builds on.

pub use trace_format;
