//! Profiles in pprof's format (gzipped `profile.proto`), the form `go tool pprof` reads, laid
//! out as `go tool trace -pprof=KIND` writes them: sample types `contentions/count` and
//! `delay/nanoseconds`, one location per program counter, one function per file and name.

use std::collections::HashMap;
use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use prost::Message;

use crate::profile::{ProfileFrame, ProfileRecord};

/// `perftools.profiles.Profile`, the fields gotrace writes and reads.
#[derive(Clone, PartialEq, Message)]
pub struct Profile {
    /// What each sample value is.
    #[prost(message, repeated, tag = "1")]
    pub sample_type: Vec<ValueType>,
    /// The samples.
    #[prost(message, repeated, tag = "2")]
    pub sample: Vec<Sample>,
    /// Program locations, referred to by ID from samples.
    #[prost(message, repeated, tag = "4")]
    pub location: Vec<Location>,
    /// Functions, referred to by ID from locations.
    #[prost(message, repeated, tag = "5")]
    pub function: Vec<Function>,
    /// Every string of the profile; index 0 is the empty string.
    #[prost(string, repeated, tag = "6")]
    pub string_table: Vec<String>,
    /// What the sampling period counts.
    #[prost(message, optional, tag = "11")]
    pub period_type: Option<ValueType>,
    /// The sampling period.
    #[prost(int64, tag = "12")]
    pub period: i64,
}

/// `perftools.profiles.ValueType`: a kind of value and its unit, as string indices.
#[derive(Clone, PartialEq, Message)]
pub struct ValueType {
    /// The kind (`contentions`, `delay`).
    #[prost(int64, tag = "1")]
    pub r#type: i64,
    /// The unit (`count`, `nanoseconds`).
    #[prost(int64, tag = "2")]
    pub unit: i64,
}

/// `perftools.profiles.Sample`.
#[derive(Clone, PartialEq, Message)]
pub struct Sample {
    /// The stack as location IDs, innermost first.
    #[prost(uint64, repeated, tag = "1")]
    pub location_id: Vec<u64>,
    /// One value per sample type.
    #[prost(int64, repeated, tag = "2")]
    pub value: Vec<i64>,
}

/// `perftools.profiles.Location`.
#[derive(Clone, PartialEq, Message)]
pub struct Location {
    /// Its ID, from 1.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// The program counter.
    #[prost(uint64, tag = "3")]
    pub address: u64,
    /// The source lines (one: traces do not record inlining separately).
    #[prost(message, repeated, tag = "4")]
    pub line: Vec<Line>,
}

/// `perftools.profiles.Line`.
#[derive(Clone, PartialEq, Message)]
pub struct Line {
    /// The function's ID.
    #[prost(uint64, tag = "1")]
    pub function_id: u64,
    /// The line number.
    #[prost(int64, tag = "2")]
    pub line: i64,
}

/// `perftools.profiles.Function`.
#[derive(Clone, PartialEq, Message)]
pub struct Function {
    /// Its ID, from 1.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// Its name, as a string index.
    #[prost(int64, tag = "2")]
    pub name: i64,
    /// Its name as the system knows it, as a string index.
    #[prost(int64, tag = "3")]
    pub system_name: i64,
    /// Its file, as a string index.
    #[prost(int64, tag = "4")]
    pub filename: i64,
}

/// Interns strings into a profile's string table.
struct Strings {
    table: Vec<String>,
    index: HashMap<String, i64>,
}

impl Strings {
    fn intern(&mut self, s: &str) -> i64 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.table.len() as i64;
        self.table.push(s.to_owned());
        self.index.insert(s.to_owned(), i);
        i
    }
}

/// The profile of `records` as a pprof message.
pub fn build(records: &[ProfileRecord]) -> Profile {
    let mut strings = Strings { table: vec![String::new()], index: HashMap::from([(String::new(), 0)]) };
    let mut profile = Profile {
        sample_type: vec![
            ValueType { r#type: strings.intern("contentions"), unit: strings.intern("count") },
            ValueType { r#type: strings.intern("delay"), unit: strings.intern("nanoseconds") },
        ],
        period_type: Some(ValueType { r#type: strings.intern("trace"), unit: strings.intern("count") }),
        period: 1,
        ..Profile::default()
    };
    let mut locations: HashMap<u64, u64> = HashMap::new();
    let mut functions: HashMap<(String, String), u64> = HashMap::new();
    for record in records {
        let mut location_id = Vec::with_capacity(record.stack.len());
        for frame in &record.stack {
            let id = match locations.get(&frame.pc) {
                Some(&id) => id,
                None => {
                    let key = (frame.file.clone(), frame.func.clone());
                    let function_id = match functions.get(&key) {
                        Some(&id) => id,
                        None => {
                            let id = profile.function.len() as u64 + 1;
                            let name = strings.intern(&frame.func);
                            profile.function.push(Function {
                                id,
                                name,
                                system_name: name,
                                filename: strings.intern(&frame.file),
                            });
                            functions.insert(key, id);
                            id
                        }
                    };
                    let id = profile.location.len() as u64 + 1;
                    profile.location.push(Location {
                        id,
                        address: frame.pc,
                        line: vec![Line { function_id, line: frame.line as i64 }],
                    });
                    locations.insert(frame.pc, id);
                    id
                }
            };
            location_id.push(id);
        }
        profile.sample.push(Sample { location_id, value: vec![record.count as i64, record.time] });
    }
    profile.string_table = strings.table;
    profile
}

/// The profile of `records`, gzipped, ready to be written to a file for `go tool pprof`.
pub fn encode(records: &[ProfileRecord]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    // Writing into memory cannot fail.
    gz.write_all(&build(records).encode_to_vec()).expect("writing to memory");
    gz.finish().expect("writing to memory")
}

/// The samples of a pprof profile (gzipped or not) written by `go tool trace -pprof` or by
/// [`encode`]: each with its stack resolved and its two values.
pub fn decode(bytes: &[u8]) -> Result<Vec<ProfileRecord>, String> {
    let mut raw = Vec::new();
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        GzDecoder::new(bytes).read_to_end(&mut raw).map_err(|e| format!("cannot decompress the profile: {e}"))?;
        &raw[..]
    } else {
        bytes
    };
    let profile = Profile::decode(bytes).map_err(|e| format!("not a pprof profile: {e}"))?;
    let string =
        |i: i64| profile.string_table.get(usize::try_from(i).unwrap_or(usize::MAX)).cloned().unwrap_or_default();
    let functions: HashMap<u64, &Function> = profile.function.iter().map(|f| (f.id, f)).collect();
    let locations: HashMap<u64, &Location> = profile.location.iter().map(|l| (l.id, l)).collect();
    let mut records = Vec::with_capacity(profile.sample.len());
    for sample in &profile.sample {
        let mut stack = Vec::with_capacity(sample.location_id.len());
        for id in &sample.location_id {
            let location = locations.get(id).ok_or_else(|| format!("a sample refers to missing location {id}"))?;
            let line = location.line.first();
            let function = line.and_then(|l| functions.get(&l.function_id));
            stack.push(ProfileFrame {
                func: function.map(|f| string(f.name)).unwrap_or_default(),
                file: function.map(|f| string(f.filename)).unwrap_or_default(),
                line: line.map_or(0, |l| l.line as u64),
                pc: location.address,
            });
        }
        let value = |i: usize| sample.value.get(i).copied().unwrap_or(0);
        records.push(ProfileRecord { stack, count: value(0) as u64, time: value(1) });
    }
    Ok(records)
}

/// The samples as text lines, sorted, one per sample: `count time` then the frames
/// (`function file:line pc`), innermost first. The form profiles are compared in.
pub fn sample_lines(records: &[ProfileRecord]) -> Vec<String> {
    let mut lines: Vec<String> = records
        .iter()
        .map(|r| {
            let frames: Vec<String> =
                r.stack.iter().map(|f| format!("{} {}:{} {:#x}", f.func, f.file, f.line, f.pc)).collect();
            format!("{} {}\t{}", r.count, r.time, frames.join("\t"))
        })
        .collect();
    lines.sort();
    lines
}
