//! The pages a person looks at: a web timeline of a Go execution trace served from a local
//! server on loopback (lanes by proc, thread and goroutine, counters, tasks and regions),
//! the analysis pages of `trace-analysis` (goroutine groups, flame graphs of the blocking and
//! scheduler profiles, task and region histograms, the MMU plot), and exports such as Chrome
//! trace-event JSON.
//!
//! The browser never receives the whole trace: it asks for a time window at a pixel width and
//! gets spans merged below pixel resolution. This crate is a placeholder until the viewer
//! lands; it depends on the analysis crate it will draw from.

pub use trace_analysis;
