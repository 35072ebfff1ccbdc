//! Analyses of Go execution traces, computed from the ordered events of `trace-format`'s IR
//! with the definitions of Go 1.27's `go tool trace`:
//!
//! - [`summarize`]: per-goroutine time statistics (execution, scheduler wait, syscalls, block
//!   time by reason, special ranges), user tasks with their logs, and user regions;
//!   [`group_goroutines`] groups goroutines by start function, with percentiles.
//! - [`profile`]: the four pprof-like profiles (network, synchronization, syscall, scheduler
//!   latency) over all goroutines, a group, a task or a region type; [`pprof`] writes them in
//!   pprof's format.
//! - [`task_types`], [`region_types`], [`task_events`]: user tasks and regions by type, with
//!   histograms of their durations, as Go's task and region pages.
//! - [`mutator_utilization`] and [`MmuCurve`]: minimum mutator utilization with Go's options.
//! - [`ExecutionGraph`]: every goroutine's life as segments (running, runnable, waiting, in a
//!   system call) with the edges between goroutines (created, unblocked, handed off), and
//!   [`critical_path`]: for a task, a region or a goroutine between two times, who was doing
//!   what at each moment such that the end could not come sooner; [`aggregate`] sums the
//!   paths of a task or region type, [`path_profile`] makes them a profile.
//! - [`report`]: all of it at once, with an [`overview`] and [`Finding`]s: each of a kind from
//!   [`FindingKind`]'s documented list, a problem or a note, with its subject, evidence, time
//!   range, text and advice.
//! - [`diff`]: two sets of traces (or of benchmark measurements inside them) compared metric by
//!   metric, by name, with the median, its confidence interval, Mann-Whitney U and
//!   Holm-Bonferroni.
//! - [`golden`]: the text forms in which all of this is compared with Go's own output.
//!
//! Every analysis is a pure function of the trace's events; this crate does no I/O.
//!
//! # Examples
//!
//! Find the goroutine group that waited longest for a CPU:
//!
//! ```
//! use trace_analysis::{group_goroutines, summarize};
//! use trace_format::ir::TraceIr;
//!
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/traces/1.27.3/mandelbrot-pixel.trace");
//! let ir = TraceIr::from_trace(&std::fs::read(path).unwrap())?;
//! let summary = summarize(&ir);
//! let groups = group_goroutines(&summary);
//! let waited = groups.iter().max_by_key(|g| g.stats.sched_wait_time).unwrap();
//! assert!(waited.goroutines.len() > 100);
//! # Ok::<(), trace_format::Error>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod critical;
pub mod diff;
mod findings;
pub mod golden;
mod goroutines;
mod graph;
mod groups;
mod mmu;
pub mod pprof;
mod profile;
mod report;
mod tasks;

pub use critical::{
    Category, CriticalPath, PathAggregate, PathAggregator, PathEdge, PathError, PathHop, PathProfile, PathQuery,
    PathSegment, TaskMembership, TaskRelation, aggregate, critical_path, critical_paths, for_each_critical_path,
    goroutine_query, path_profile, region_queries, region_query, task_query, task_type_queries,
};
pub use findings::{Finding, FindingKind, MAX_NAMED_GOROUTINES, Quantity, Severity, Subject, SubjectKind};
pub use goroutines::{
    EXECUTION_TIME, EdgeKind, EventRef, ExecStats, GoroutineSummary, LogEntry, NO_TASK, Name, Nanos, RegionSummary,
    Summary, TaskSummary, is_sync_reason, is_system_goroutine, summarize,
};
pub use graph::{ExecutionGraph, GoroutineNode, Segment, SegmentId, SegmentStart, SegmentState};
pub use groups::{GoroutineGroup, Percentiles, group_goroutines};
pub use mmu::{MmuCurve, UtilChange, UtilFlags, UtilWindow, mutator_utilization};
pub use profile::{Intervals, ProfileFrame, ProfileKind, ProfileRecord, profile, profiles};
pub use report::{MmuPoint, Overview, REPORT_MMU_WINDOWS, Report, Timed, findings, format_duration, overview, report};
pub use tasks::{
    RegionType, TaskEvent, TaskType, TimeHistogram, region_start_frame, region_types, task_events, task_types,
};
pub use trace_format;
