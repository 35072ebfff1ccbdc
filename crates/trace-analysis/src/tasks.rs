//! User tasks and regions by type, as Go's `/usertasks` and `/userregions` pages show them:
//! how many of each, with a histogram of their durations, and each task's events in order.

use std::collections::BTreeMap;

use trace_format::EventTables;
use trace_format::ir::TraceIr;

use crate::goroutines::{Name, Nanos, RegionSummary, Summary, TaskSummary};
use crate::profile::ProfileFrame;

/// A histogram of durations with five logarithmic buckets per power of ten, as Go's
/// `traceviewer.TimeHistogram`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimeHistogram {
    /// How many durations were added.
    pub count: u64,
    /// How many fell in each bucket, by bucket index.
    pub buckets: BTreeMap<i64, u64>,
    /// The lowest bucket shown.
    pub min_bucket: i64,
    /// The highest bucket shown.
    pub max_bucket: i64,
}

impl TimeHistogram {
    fn log_step() -> f64 {
        10f64.powf(1.0 / 5.0).ln()
    }

    /// The bucket a duration falls in.
    pub fn bucket(duration: Nanos) -> i64 {
        if duration > 0 { ((duration as f64).ln() / Self::log_step()) as i64 } else { 0 }
    }

    /// Adds a duration.
    pub fn add(&mut self, duration: Nanos) {
        let bucket = Self::bucket(duration);
        *self.buckets.entry(bucket).or_default() += 1;
        // Go's rule, including its reading of a zero highest bucket as "none yet".
        if bucket < self.min_bucket || self.max_bucket == 0 {
            self.min_bucket = bucket;
        }
        self.max_bucket = self.max_bucket.max(bucket);
        self.count += 1;
    }

    /// The smallest duration of a bucket (truncated to nanoseconds, as Go does).
    pub fn bucket_min(bucket: i64) -> Nanos {
        (bucket as f64 * Self::log_step()).exp() as Nanos
    }

    /// The buckets Go shows, lowest first: each with its smallest duration and its count
    /// (empty buckets between the lowest and highest included).
    pub fn rows(&self) -> Vec<(Nanos, u64)> {
        if self.count == 0 {
            return Vec::new();
        }
        (self.min_bucket..=self.max_bucket)
            .map(|b| (Self::bucket_min(b), self.buckets.get(&b).copied().unwrap_or(0)))
            .collect()
    }
}

/// The tasks of one type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskType {
    /// The type (empty for tasks the trace names without showing their beginning).
    pub name: Name,
    /// Their IDs.
    pub tasks: Vec<u64>,
    /// The durations of those the trace shows from beginning to end.
    pub histogram: TimeHistogram,
}

/// The tasks by type, in order of type.
pub fn task_types(summary: &Summary) -> Vec<TaskType> {
    let mut types: BTreeMap<&str, TaskType> = BTreeMap::new();
    for task in summary.tasks.values() {
        let entry = types.entry(&task.name).or_insert_with(|| TaskType {
            name: task.name.clone(),
            tasks: Vec::new(),
            histogram: TimeHistogram::default(),
        });
        entry.tasks.push(task.id);
        if let (Some(start), Some(end)) = (&task.start, &task.end) {
            entry.histogram.add(end.time - start.time);
        }
    }
    types.into_values().collect()
}

/// The regions of one type that began at one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionType {
    /// The type.
    pub name: Name,
    /// Where they began: the outermost frame of the beginning's stack (Go's choice), if known.
    pub frame: Option<ProfileFrame>,
    /// The regions, as indices into [`Summary::regions`], with their goroutines.
    pub regions: Vec<(i64, usize)>,
    /// Their durations (the trace's start or end standing in for what it does not show).
    pub histogram: TimeHistogram,
}

/// The frame Go uses to tell regions of one type apart: the outermost of the beginning's stack.
pub fn region_start_frame(ir: &TraceIr, region: &RegionSummary) -> Option<ProfileFrame> {
    let stack = region.start.as_ref()?.stack?;
    let mut last = None;
    ir.for_each_frame(stack, &mut |f| {
        last = Some(ProfileFrame {
            func: String::from_utf8_lossy(f.func).into_owned(),
            file: String::from_utf8_lossy(f.file).into_owned(),
            line: f.line,
            pc: f.pc,
        });
    });
    last
}

/// The regions of every goroutine by type and starting place, in order of type then program
/// counter.
pub fn region_types(ir: &TraceIr, summary: &Summary) -> Vec<RegionType> {
    let mut types: BTreeMap<(Name, u64, Option<ProfileFrame>), RegionType> = BTreeMap::new();
    for g in summary.goroutines.values() {
        for &index in &g.regions {
            let region = &summary.regions[index];
            let frame = region_start_frame(ir, region);
            let key = (region.name.clone(), frame.as_ref().map_or(0, |f| f.pc), frame.clone());
            let entry = types.entry(key).or_insert_with(|| RegionType {
                name: region.name.clone(),
                frame,
                regions: Vec::new(),
                histogram: TimeHistogram::default(),
            });
            let (start, end) = summary.region_interval(region);
            entry.histogram.add(end - start);
            entry.regions.push((g.id, index));
        }
    }
    types.into_values().collect()
}

/// One event of a task, as its page lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskEvent {
    /// When.
    pub time: Nanos,
    /// The goroutine it is about.
    pub goroutine: i64,
    /// What happened.
    pub what: String,
}

/// A task's events in order: its beginning and end, its logs, and the beginnings and ends of
/// its regions.
pub fn task_events(summary: &Summary, task: &TaskSummary) -> Vec<TaskEvent> {
    let edge = |e: &crate::goroutines::EventRef| TaskEvent {
        time: e.time,
        goroutine: e.primary_goroutine,
        what: e.description(),
    };
    let mut events: Vec<TaskEvent> = Vec::new();
    events.extend(task.start.iter().map(edge));
    events.extend(task.end.iter().map(edge));
    events.extend(task.logs.iter().map(|log| TaskEvent {
        time: log.time,
        goroutine: log.goroutine,
        what: log_description(&log.category, &log.message),
    }));
    for &index in &task.regions {
        let region = &summary.regions[index];
        events.extend(region.start.iter().map(edge));
        events.extend(region.end.iter().map(edge));
    }
    events.retain(|e| !e.what.is_empty());
    // Stable, so that simultaneous events keep Go's order.
    events.sort_by_key(|e| e.time);
    events
}

fn log_description(category: &str, message: &str) -> String {
    let mut quoted = Vec::new();
    trace_format::text::quote_into(&mut quoted, message.as_bytes());
    let quoted = String::from_utf8_lossy(&quoted);
    if category.is_empty() { format!("log {quoted}") } else { format!("log (category: {category}): {quoted}") }
}

#[cfg(test)]
mod tests {
    use super::TimeHistogram;

    #[test]
    fn histogram_buckets_are_fifths_of_decades() {
        assert_eq!(TimeHistogram::bucket_min(5), 10);
        assert_eq!(TimeHistogram::bucket_min(30), 1_000_000);
        let mut h = TimeHistogram::default();
        h.add(1_000_000);
        h.add(2_000_000);
        h.add(999);
        let rows = h.rows();
        assert_eq!(rows.first().map(|r| r.1), Some(1));
        assert_eq!(rows.iter().map(|r| r.1).sum::<u64>(), 3);
        assert_eq!(h.count, 3);
    }
}
