//! Analyses of Go execution traces, computed from the IR of `trace-format`: per-goroutine
//! time accounting, user tasks and regions, and the blocking and scheduler-latency profiles,
//! with the same definitions as Go 1.27's `go tool trace`, so that the numbers agree.
//!
//! Every analysis is a pure function of the trace's events; this crate does no I/O.
//!
//! # Examples
//!
//! Where did the goroutines of a trace wait for a proc?
//!
//! ```
//! use trace_analysis::goroutines::summarize;
//! use trace_analysis::profiles::{ProfileKind, profile, whole_goroutines};
//! use trace_format::ir::TraceIr;
//!
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/traces/1.27.3/mandelbrot-pixel.trace");
//! let ir = TraceIr::from_trace(&std::fs::read(path).unwrap())?;
//! let summary = summarize(&ir);
//! let sched = profile(&ir, ProfileKind::Sched, &whole_goroutines(&summary));
//! let waited: i64 = sched.iter().map(|r| r.time).sum();
//! assert!(waited > 0);
//! assert!(summary.goroutines.values().any(|g| g.name == "main.main"));
//! # Ok::<(), trace_format::Error>(())
//! ```

pub mod duration;
pub mod goroutines;
pub mod profiles;

pub use trace_format;
