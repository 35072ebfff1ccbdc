//! The pages a person looks at: a web timeline of a Go execution trace served from a local
//! server on loopback (lanes by proc, thread and goroutine, counters, tasks and regions),
//! analysis pages (goroutine groups, flame graphs of the blocking and scheduler profiles, task
//! and region histograms, the MMU curve, critical paths of tasks and regions, the findings of
//! `gotrace analyze`), and the Chrome trace-event export that Perfetto opens.
//!
//! The browser never receives the whole trace: it asks for a time window at a pixel width and
//! gets spans merged below pixel resolution, from an index built once at load
//! ([`timeline::Timeline`], with a pyramid of coarser levels per lane).
//!
//! ```no_run
//! use std::sync::Arc;
//! use trace_format::ir::TraceIr;
//! use trace_viewer::{Loaded, Server, random_token};
//!
//! let bytes = std::fs::read("trace.out")?;
//! let loaded = Arc::new(Loaded::new(TraceIr::from_trace(&bytes)?));
//! let server = Server::start(loaded, "127.0.0.1:0".parse()?, random_token()?)?;
//! println!("open {}", server.url());
//! server.wait();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

pub mod api;
pub mod chrome;
mod critical;
mod findings;
mod pages;
pub mod pyramid;
pub mod series;
pub mod server;
pub mod timeline;

pub use api::Loaded;
pub use findings::finding_json;
pub use server::{Server, random_token};
