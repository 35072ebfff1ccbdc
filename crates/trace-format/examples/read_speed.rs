//! Reads a trace a number of times and prints how fast: ordering every event (`order`) or
//! building the in-memory IR (`ir`). Handy for comparing two builds run in turn.
//!
//! ```sh
//! cargo run --release -p trace-format --example read_speed -- order|ir FILE [TIMES]
//! ```

use std::time::Instant;

use trace_format::ir::TraceIr;
use trace_format::{Reader, TraceFile};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: read_speed order|ir FILE [TIMES]";
    let mode = args.next().ok_or(usage)?;
    let path = args.next().ok_or(usage)?;
    let times: u32 = args.next().map_or(Ok(1), |t| t.parse())?;
    let file = TraceFile::open(&path)?;
    let bytes = file.bytes();
    let start = Instant::now();
    for _ in 0..times {
        let summary = match mode.as_str() {
            "order" => {
                let mut events = 0u64;
                let mut time_sum = 0i64;
                for event in Reader::new(bytes)? {
                    time_sum = time_sum.wrapping_add(event?.time());
                    events += 1;
                }
                format!("{events} events, time sum {time_sum}")
            }
            "ir" => {
                let ir = TraceIr::from_trace(bytes)?;
                format!("{} events", ir.event_count())
            }
            _ => return Err(usage.into()),
        };
        println!("{summary}");
    }
    let seconds = start.elapsed().as_secs_f64();
    let mib = bytes.len() as f64 * f64::from(times) / (1024.0 * 1024.0);
    println!("{:.1} MiB/s", mib / seconds);
    Ok(())
}
