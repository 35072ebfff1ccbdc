//! The four pprof-like profiles of `go tool trace`: where goroutines waited on the network,
//! blocked on synchronization, sat in system calls, and waited for a proc. Each sample is the
//! stack of the event that put a goroutine into the state, with how often and how long.

use std::collections::HashMap;
use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use prost::Message;
use trace_format::ir::{StackHandle, TraceIr};
use trace_format::{Details, GoState, Transition};

use crate::goroutines::Summary;

/// Which profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProfileKind {
    /// Time blocked waiting on the network (`go tool trace -pprof=net`).
    Network,
    /// Time blocked on channels, mutexes, `select` and other synchronization (`-pprof=sync`).
    Sync,
    /// Time in system calls (`-pprof=syscall`).
    Syscall,
    /// Time runnable, waiting for a proc: scheduler latency (`-pprof=sched`).
    Sched,
}

impl ProfileKind {
    /// Every kind, in the order Go lists them.
    pub const ALL: [ProfileKind; 4] =
        [ProfileKind::Network, ProfileKind::Sync, ProfileKind::Syscall, ProfileKind::Sched];

    /// The name `go tool trace -pprof=` takes.
    pub fn name(self) -> &'static str {
        match self {
            ProfileKind::Network => "net",
            ProfileKind::Sync => "sync",
            ProfileKind::Syscall => "syscall",
            ProfileKind::Sched => "sched",
        }
    }

    /// The kind `go tool trace -pprof=` names `name`.
    pub fn from_name(name: &str) -> Option<ProfileKind> {
        ProfileKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The goroutine state the profile measures.
    fn state(self) -> GoState {
        match self {
            ProfileKind::Network | ProfileKind::Sync => GoState::Waiting,
            ProfileKind::Syscall => GoState::Syscall,
            ProfileKind::Sched => GoState::Runnable,
        }
    }

    /// Whether a transition into the state for `reason` counts, as Go decides.
    fn tracks(self, reason: &[u8]) -> bool {
        let has = |word: &[u8]| reason.windows(word.len()).any(|w| w == word);
        match self {
            ProfileKind::Network => reason == b"network",
            ProfileKind::Sync => has(b"chan") || has(b"sync") || has(b"select"),
            ProfileKind::Syscall | ProfileKind::Sched => true,
        }
    }
}

/// A frame of a profile's stack.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProfileFrame {
    /// The program counter.
    pub pc: u64,
    /// The function.
    pub func: String,
    /// The source file.
    pub file: String,
    /// The line.
    pub line: u64,
}

/// One stack of a profile: how many times goroutines entered the state there, and the total
/// time they spent in it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ProfileRecord {
    /// The stack, innermost frame first (at most 128 frames, as Go keeps).
    pub stack: Vec<ProfileFrame>,
    /// How many times.
    pub count: u64,
    /// The total time in nanoseconds.
    pub time: i64,
}

/// A time span `[start, end]` in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// Where it begins.
    pub start: i64,
    /// Where it ends.
    pub end: i64,
}

impl Interval {
    fn overlap(self, other: Interval) -> i64 {
        if self.end < other.start || other.end < self.start {
            return 0;
        }
        self.end.min(other.end) - self.start.max(other.start)
    }
}

/// Go keeps this many frames of a stack in a profile.
const MAX_FRAMES: usize = 128;

/// The spans of time to count, per goroutine: each goroutine from its first run to its end
/// (or the end of the trace), which is what `go tool trace -pprof` counts.
pub fn whole_goroutines(summary: &Summary) -> HashMap<i64, Vec<Interval>> {
    summary
        .goroutines
        .values()
        .map(|g| {
            let end = if g.end_time == 0 { summary.last_time } else { g.end_time };
            (g.id, vec![Interval { start: g.start_time, end }])
        })
        .collect()
}

/// Computes profile `kind`, counting only the time inside `intervals` of each goroutine.
/// Records come sorted by stack.
pub fn profile(ir: &TraceIr, kind: ProfileKind, intervals: &HashMap<i64, Vec<Interval>>) -> Vec<ProfileRecord> {
    let state = kind.state();
    // Goroutines in the state: when they entered it and the stack of the event that put them there.
    let mut tracking: HashMap<i64, (i64, Option<u64>)> = HashMap::new();
    // Stacks are merged by their program counters, as Go merges them.
    let mut records: HashMap<Vec<u64>, (Option<u64>, u64, i64)> = HashMap::new();
    for event in ir.events() {
        let Details::StateTransition(st) = ir.details(&event) else { continue };
        let Transition::Goroutine { id, to, .. } = st.transition else { continue };
        let Some(&(start, stack)) = tracking.get(&id) else {
            if to == state && kind.tracks(st.reason) {
                tracking.insert(id, (event.time(), event.stack_id()));
            }
            continue;
        };
        if to == state {
            continue;
        }
        tracking.remove(&id);
        let sample = Interval { start, end: event.time() };
        let overlapping: i64 = intervals
            .get(&id)
            .map_or(0, |spans| spans.iter().map(|&span| span.overlap(sample)).filter(|&o| o > 0).sum());
        if overlapping > 0 {
            let mut pcs: Vec<u64> = stack_frames(ir, stack).map(|f| f.pc).take(MAX_FRAMES).collect();
            // Go keys stacks by a zero-padded array of 128 PCs: trailing zero PCs do not tell
            // stacks apart (a lone frame at PC 0 merges with the empty stack).
            while pcs.last() == Some(&0) {
                pcs.pop();
            }
            let record = records.entry(pcs).or_insert((stack, 0, 0));
            // The latest stack with these program counters names the frames, as in Go.
            record.0 = stack;
            record.1 += 1;
            record.2 += overlapping;
        }
    }
    let mut out: Vec<ProfileRecord> = records
        .into_values()
        .map(|(stack, count, time)| ProfileRecord {
            stack: stack_frames(ir, stack)
                .take(MAX_FRAMES)
                .map(|f| ProfileFrame {
                    pc: f.pc,
                    func: String::from_utf8_lossy(ir.string(f.func).unwrap_or_default()).into_owned(),
                    file: String::from_utf8_lossy(ir.string(f.file).unwrap_or_default()).into_owned(),
                    line: f.line,
                })
                .collect(),
            count,
            time,
        })
        .collect();
    out.sort();
    out
}

fn stack_frames(ir: &TraceIr, stack: Option<u64>) -> impl Iterator<Item = trace_format::ir::Frame> + '_ {
    stack.into_iter().flat_map(move |id| ir.stack(StackHandle(u32::try_from(id).unwrap_or(u32::MAX))))
}

/// The pprof protobuf messages a profile needs (`profile.proto` of github.com/google/pprof).
pub mod proto {
    /// A whole profile.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Profile {
        /// The kinds of value each sample carries.
        #[prost(message, repeated, tag = "1")]
        pub sample_type: Vec<ValueType>,
        /// The samples.
        #[prost(message, repeated, tag = "2")]
        pub sample: Vec<Sample>,
        /// The locations samples refer to.
        #[prost(message, repeated, tag = "4")]
        pub location: Vec<Location>,
        /// The functions locations refer to.
        #[prost(message, repeated, tag = "5")]
        pub function: Vec<Function>,
        /// Every string, referred to by index; the first is empty.
        #[prost(string, repeated, tag = "6")]
        pub string_table: Vec<String>,
        /// What a period counts.
        #[prost(message, optional, tag = "11")]
        pub period_type: Option<ValueType>,
        /// The sampling period.
        #[prost(int64, tag = "12")]
        pub period: i64,
    }

    /// A kind of value and its unit, as string-table indices.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ValueType {
        /// The kind.
        #[prost(int64, tag = "1")]
        pub r#type: i64,
        /// The unit.
        #[prost(int64, tag = "2")]
        pub unit: i64,
    }

    /// A sample: a stack of locations and its values.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        /// Location IDs, innermost first.
        #[prost(uint64, repeated, tag = "1")]
        pub location_id: Vec<u64>,
        /// One value per sample type.
        #[prost(int64, repeated, tag = "2")]
        pub value: Vec<i64>,
    }

    /// A program counter and the source lines it stands for.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Location {
        /// The location's ID (from 1).
        #[prost(uint64, tag = "1")]
        pub id: u64,
        /// The program counter.
        #[prost(uint64, tag = "3")]
        pub address: u64,
        /// Its lines.
        #[prost(message, repeated, tag = "4")]
        pub line: Vec<Line>,
    }

    /// A line of a function.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Line {
        /// The function's ID.
        #[prost(uint64, tag = "1")]
        pub function_id: u64,
        /// The line number.
        #[prost(int64, tag = "2")]
        pub line: i64,
    }

    /// A function.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Function {
        /// The function's ID (from 1).
        #[prost(uint64, tag = "1")]
        pub id: u64,
        /// Its name, as a string-table index.
        #[prost(int64, tag = "2")]
        pub name: i64,
        /// Its system name, as a string-table index.
        #[prost(int64, tag = "3")]
        pub system_name: i64,
        /// Its file, as a string-table index.
        #[prost(int64, tag = "4")]
        pub filename: i64,
    }
}

/// Builds the pprof profile of `records` as Go's tool does: samples of (contentions, delay
/// in nanoseconds), one location per program counter, one function per file and name.
pub fn to_pprof(records: &[ProfileRecord]) -> proto::Profile {
    let mut strings: Vec<String> = vec![String::new()];
    let mut string_ids: HashMap<String, i64> = HashMap::from([(String::new(), 0)]);
    let mut intern = |s: &str| -> i64 {
        if let Some(&id) = string_ids.get(s) {
            return id;
        }
        strings.push(s.to_string());
        string_ids.insert(s.to_string(), strings.len() as i64 - 1);
        strings.len() as i64 - 1
    };
    let value_type = |intern: &mut dyn FnMut(&str) -> i64, kind: &str, unit: &str| proto::ValueType {
        r#type: intern(kind),
        unit: intern(unit),
    };
    let mut profile = proto::Profile {
        sample_type: vec![
            value_type(&mut intern, "contentions", "count"),
            value_type(&mut intern, "delay", "nanoseconds"),
        ],
        period_type: Some(value_type(&mut intern, "trace", "count")),
        period: 1,
        ..proto::Profile::default()
    };
    let mut locations: HashMap<u64, u64> = HashMap::new();
    let mut functions: HashMap<(String, String), u64> = HashMap::new();
    for record in records {
        let mut sample = proto::Sample { location_id: Vec::new(), value: vec![record.count as i64, record.time] };
        for frame in &record.stack {
            let location = match locations.get(&frame.pc) {
                Some(&id) => id,
                None => {
                    let key = (frame.file.clone(), frame.func.clone());
                    let function = match functions.get(&key) {
                        Some(&id) => id,
                        None => {
                            let id = profile.function.len() as u64 + 1;
                            let name = intern(&frame.func);
                            profile.function.push(proto::Function {
                                id,
                                name,
                                system_name: name,
                                filename: intern(&frame.file),
                            });
                            functions.insert(key, id);
                            id
                        }
                    };
                    let id = profile.location.len() as u64 + 1;
                    profile.location.push(proto::Location {
                        id,
                        address: frame.pc,
                        line: vec![proto::Line { function_id: function, line: frame.line as i64 }],
                    });
                    locations.insert(frame.pc, id);
                    id
                }
            };
            sample.location_id.push(location);
        }
        profile.sample.push(sample);
    }
    profile.string_table = strings;
    profile
}

/// The profile as a gzipped protobuf, the file format `go tool pprof` reads.
pub fn to_pprof_bytes(records: &[ProfileRecord]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    // Writing to a vector cannot fail.
    let _ = gz.write_all(&to_pprof(records).encode_to_vec());
    gz.finish().unwrap_or_default()
}

/// Reads a pprof profile (gzipped or not) back into records: the stacks resolved to frames,
/// and the two values. For comparing profiles whatever wrote them.
pub fn records_from_pprof(bytes: &[u8]) -> Result<Vec<ProfileRecord>, String> {
    let mut raw = Vec::new();
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut raw)
            .map_err(|e| format!("not a gzipped profile: {e}"))?;
        &raw[..]
    } else {
        bytes
    };
    let profile = proto::Profile::decode(bytes).map_err(|e| format!("not a pprof profile: {e}"))?;
    let string = |i: i64| profile.string_table.get(i as usize).cloned().unwrap_or_default();
    let functions: HashMap<u64, &proto::Function> = profile.function.iter().map(|f| (f.id, f)).collect();
    let locations: HashMap<u64, &proto::Location> = profile.location.iter().map(|l| (l.id, l)).collect();
    let mut records = Vec::new();
    for sample in &profile.sample {
        let mut stack = Vec::new();
        for id in &sample.location_id {
            let location = locations.get(id).ok_or_else(|| format!("sample refers to missing location {id}"))?;
            for line in &location.line {
                let function = functions.get(&line.function_id);
                stack.push(ProfileFrame {
                    pc: location.address,
                    func: function.map(|f| string(f.name)).unwrap_or_default(),
                    file: function.map(|f| string(f.filename)).unwrap_or_default(),
                    line: line.line as u64,
                });
            }
        }
        let value = |i: usize| sample.value.get(i).copied().unwrap_or(0);
        records.push(ProfileRecord { stack, count: value(0) as u64, time: value(1) });
    }
    records.sort();
    Ok(records)
}

/// The records as text, one per line: count, time, then the frames; what tests and goldens
/// compare.
pub fn records_text(records: &[ProfileRecord]) -> String {
    let mut out = String::new();
    for r in records {
        out.push_str(&format!("{} {}", r.count, r.time));
        for f in &r.stack {
            out.push_str(&format!(" {}@{:#x}:{}:{}", f.func, f.pc, f.file, f.line));
        }
        out.push('\n');
    }
    out
}
