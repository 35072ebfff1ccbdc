//! The endpoints of the analysis pages, all from `trace-analysis` with Go's definitions:
//! goroutine groups and each goroutine's breakdown (Go's `/goroutines` and `/goroutine`),
//! tasks and regions by type with histograms and instance lists (`/usertasks`, `/userregions`),
//! and the MMU curve with its worst windows (`/mmu`). Each result is computed on first use and
//! kept, per flag set for the MMU.
//!
//! Times in answers are nanoseconds from the trace's first event, as everywhere in the API.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use serde_json::{Value, json};
use trace_analysis::golden::UNNAMED_GROUP;
use trace_analysis::{
    ExecStats, GoroutineGroup, GoroutineSummary, Intervals, MmuCurve, NO_TASK, Nanos, RegionType, TaskSummary,
    TaskType, TimeHistogram, UtilChange, UtilFlags, group_goroutines, mutator_utilization, region_start_frame,
    region_types, task_events, task_types,
};

use crate::api::{BadRequest, Loaded, Query, bad};

/// What the analysis pages computed so far.
#[derive(Debug, Default)]
pub(crate) struct PageCache {
    groups: OnceLock<Vec<GoroutineGroup>>,
    task_types: OnceLock<Vec<TaskType>>,
    region_types: OnceLock<Vec<RegionType>>,
    /// By flag set (Go's names, `stw|background|...`): at most 32 of them.
    mmu: Mutex<BTreeMap<String, Arc<OnceLock<MmuEntry>>>>,
    /// The findings' answer.
    pub(crate) findings: OnceLock<Value>,
}

/// The mutator utilization functions of one flag set, and the curve's plot once asked for.
#[derive(Debug)]
struct MmuEntry {
    utilization: Vec<Vec<UtilChange>>,
    plot: OnceLock<Value>,
}

/// One column of a breakdown: a time out of a goroutine's statistics.
type Column = fn(&ExecStats) -> Nanos;

/// The columns of a goroutine's or region's breakdown, as Go's goroutine pages named them
/// before Go 1.22 (the categories people look for). The first five never overlap; the GC
/// columns overlap execution.
const BREAKDOWN: [(&str, Column); 8] = [
    ("Execution", |s| s.exec_time),
    ("Network wait", ExecStats::network_wait),
    ("Sync block", ExecStats::sync_block),
    ("Blocking syscall", ExecStats::blocking_syscall),
    ("Scheduler wait", |s| s.sched_wait_time),
    ("GC sweeping", ExecStats::gc_sweeping),
    ("GC mark assist", ExecStats::gc_mark_assist),
    ("GC pause", ExecStats::gc_pause),
];

/// How many of [`BREAKDOWN`]'s columns, from the first, never overlap.
const DISJOINT_COLUMNS: usize = 5;

/// Most goroutines or regions one answer lists (the longest first); the count says how many
/// there are in all.
const MAX_ROWS: usize = 10_000;
/// Most tasks one answer lists, with their events.
const MAX_TASKS: usize = 1_000;
/// Most events listed for one task.
const MAX_TASK_EVENTS: usize = 200;
/// How many worst windows the MMU page lists, as Go's.
const WORST_WINDOWS: usize = 10;

fn columns_json() -> Value {
    let columns: Vec<Value> = BREAKDOWN
        .iter()
        .enumerate()
        .map(|(i, (name, _))| json!({"name": name, "overlaps": i >= DISJOINT_COLUMNS}))
        .collect();
    Value::Array(columns)
}

fn breakdown(stats: &ExecStats) -> Vec<Nanos> {
    BREAKDOWN.iter().map(|(_, column)| column(stats)).collect()
}

/// A group's name for people: Go's words for goroutines whose start was never seen.
fn group_label(name: &str) -> &str {
    if name.is_empty() { UNNAMED_GROUP } else { name }
}

/// A histogram's buckets for the page, from the lowest to the highest holding a duration:
/// each with its index, range, count, and the sum of its durations. Go's own range can leave
/// out its lowest buckets (it reads a highest bucket of 0 as none); here none is left out.
fn histogram_json(histogram: &TimeHistogram, durations: impl Iterator<Item = Nanos>) -> Vec<Value> {
    let mut totals: BTreeMap<i64, Nanos> = BTreeMap::new();
    for duration in durations {
        *totals.entry(TimeHistogram::bucket(duration)).or_default() += duration;
    }
    let (Some(&first), Some(&last)) = (histogram.buckets.keys().next(), histogram.buckets.keys().next_back()) else {
        return Vec::new();
    };
    let (lowest, highest) = (first.min(histogram.min_bucket), last.max(histogram.max_bucket));
    (lowest..=highest)
        .map(|b| {
            json!({
                "bucket": b,
                "from": TimeHistogram::bucket_min(b),
                "to": TimeHistogram::bucket_min(b.saturating_add(1)),
                "count": histogram.buckets.get(&b).copied().unwrap_or(0),
                "total": totals.get(&b).copied().unwrap_or(0),
            })
        })
        .collect()
}

/// The bucket a request names, if any.
fn bucket_of(query: &Query) -> Result<Option<i64>, BadRequest> {
    match query.get("bucket") {
        Some(b) if !b.is_empty() => Ok(Some(query.int("bucket")?)),
        _ => Ok(None),
    }
}

/// A bucket's index and the durations it holds, for the heading of its instance list.
fn bucket_range(bucket: Option<i64>) -> Value {
    bucket.map_or(
        Value::Null,
        |b| json!({"bucket": b, "from": TimeHistogram::bucket_min(b), "to": TimeHistogram::bucket_min(b.saturating_add(1))}),
    )
}

/// The flags of an MMU request: Go's names joined by `|`; without the parameter, what Go's
/// page starts with (STW, background workers and mark assists, system-wide).
fn util_flags(query: &Query) -> Result<UtilFlags, BadRequest> {
    if query.get("flags").is_none() {
        return Ok(UtilFlags { sweep: false, ..UtilFlags::ALL });
    }
    let mut flags = UtilFlags { stw: false, background: false, assist: false, sweep: false, per_proc: false };
    for name in query.text("flags").split('|').filter(|n| !n.is_empty()) {
        match name {
            "stw" => flags.stw = true,
            "background" => flags.background = true,
            "assist" => flags.assist = true,
            "sweep" => flags.sweep = true,
            "perProc" => flags.per_proc = true,
            other => {
                return Err(bad(format!("unknown MMU flag {other:?}: stw, background, assist, sweep or perProc")));
            }
        }
    }
    Ok(flags)
}

impl Loaded {
    /// The time a profile covers: every goroutine's lifetime, those of a group
    /// (`group=NAME`), or the outermost regions of a type (`region=NAME&pc=HEX`), as the
    /// profiles of Go's group and region pages.
    pub(crate) fn profile_scope(&self, query: &Query) -> Result<Intervals, BadRequest> {
        let summary = self.summary();
        if query.get("group").is_some() {
            let name = query.text("group");
            if !self.groups().iter().any(|g| g.name == name) {
                return Err(bad(format!("no goroutine group starts in {name:?}")));
            }
            return Ok(Intervals::goroutines(summary, Some(&name)));
        }
        if query.get("region").is_some() {
            let region_type = self.region_type(&query.text("region"), query.get("pc"))?;
            let pc = region_type.frame.as_ref().map(|f| f.pc);
            let name = region_type.name.clone();
            return Ok(Intervals::regions(summary, |r| {
                r.name == name && region_start_frame(&self.ir, r).map(|f| f.pc) == pc
            }));
        }
        Ok(Intervals::goroutines(summary, None))
    }

    pub(crate) fn groups(&self) -> &[GoroutineGroup] {
        self.pages.groups.get_or_init(|| group_goroutines(self.summary()))
    }

    /// Nanoseconds from the trace's first event.
    fn since_start(&self, time: Nanos) -> Nanos {
        (time - self.timeline.start).max(0)
    }

    /// `GET /api/goroutines`: the goroutines grouped by start function, the group with the most
    /// execution time first, each with its count, share of all execution time, total time and
    /// breakdown (the sums over its goroutines).
    pub fn goroutine_groups(&self) -> Value {
        let groups: Vec<Value> = self
            .groups()
            .iter()
            .map(|g| {
                json!({
                    "name": g.name,
                    "label": group_label(&g.name),
                    "count": g.goroutines.len(),
                    "first": g.goroutines.first(),
                    "exec_share": g.exec_share,
                    "total": g.stats.total_time,
                    "values": breakdown(&g.stats),
                })
            })
            .collect();
        json!({"columns": columns_json(), "groups": groups})
    }

    /// `GET /api/goroutine-group?name=NAME|id=G[&sort=total|COLUMN]`: the goroutines of one
    /// group (named, or the group of goroutine `G`), each with its lifetime and breakdown,
    /// sorted by total time or by the column with that index, largest first.
    pub fn goroutine_group(&self, query: &Query) -> Result<Value, BadRequest> {
        let summary = self.summary();
        let name: String = match query.get("id").filter(|id| !id.is_empty()) {
            Some(_) => {
                let id = query.int("id")?;
                summary
                    .goroutines
                    .get(&id)
                    .ok_or_else(|| bad(format!("the trace has no goroutine G{id}")))?
                    .name
                    .to_string()
            }
            None if query.get("name").is_some() => query.text("name"),
            None => return Err(bad("missing parameter name or id")),
        };
        let group = self
            .groups()
            .iter()
            .find(|g| g.name == name)
            .ok_or_else(|| bad(format!("no goroutine group starts in {name:?}")))?;
        let sort = match query.get("sort").unwrap_or("total") {
            "total" => None,
            column => Some(
                column
                    .parse::<usize>()
                    .ok()
                    .filter(|&c| c < BREAKDOWN.len())
                    .ok_or_else(|| bad(format!("no column {column:?}")))?,
            ),
        };
        let key = |g: &GoroutineSummary| sort.map_or(g.stats.total_time, |c| BREAKDOWN[c].1(&g.stats));
        let mut members: Vec<&GoroutineSummary> =
            group.goroutines.iter().filter_map(|id| summary.goroutines.get(id)).collect();
        members.sort_by(|a, b| key(b).cmp(&key(a)).then(a.id.cmp(&b.id)));
        let goroutines: Vec<Value> = members
            .iter()
            .take(MAX_ROWS)
            .map(|g| {
                let end = g.end_time.unwrap_or(self.timeline.end);
                json!({
                    "id": g.id,
                    "start": self.since_start(g.creation_time),
                    "end": self.since_start(end),
                    "total": g.stats.total_time,
                    "values": breakdown(&g.stats),
                })
            })
            .collect();
        Ok(json!({
            "name": group.name,
            "label": group_label(&group.name),
            "count": members.len(),
            "exec_share": group.exec_share,
            "total": group.stats.total_time,
            "values": breakdown(&group.stats),
            "columns": columns_json(),
            "sort": sort.map_or(json!("total"), |c| json!(c)),
            "goroutines": goroutines,
        }))
    }

    fn task_types(&self) -> &[TaskType] {
        self.pages.task_types.get_or_init(|| task_types(self.summary()))
    }

    /// The duration of a task the trace shows from beginning to end.
    fn complete_duration(task: &TaskSummary) -> Option<Nanos> {
        Some(task.end.as_ref()?.time - task.start.as_ref()?.time)
    }

    /// `GET /api/tasks`: the task types, each with its count and the histogram of the durations
    /// of its complete tasks; with `type=NAME[&bucket=N]`, that type's tasks (those of one
    /// bucket, which are complete) in order of start, each with its events.
    pub fn tasks(&self, query: &Query) -> Result<Value, BadRequest> {
        let summary = self.summary();
        let types = self.task_types();
        let durations = |t: &TaskType| {
            t.tasks
                .iter()
                .filter_map(|id| summary.tasks.get(id))
                .filter_map(Self::complete_duration)
                .collect::<Vec<_>>()
        };
        if query.get("type").is_none() {
            let types: Vec<Value> = types
                .iter()
                .map(|t| {
                    json!({
                        "name": &*t.name,
                        "count": t.tasks.len(),
                        "complete": t.histogram.count,
                        "histogram": histogram_json(&t.histogram, durations(t).into_iter()),
                    })
                })
                .collect();
            return Ok(json!({ "types": types }));
        }
        let name = query.text("type");
        let task_type = types
            .iter()
            .find(|t| *t.name == *name)
            .ok_or_else(|| bad(format!("the trace has no task of type {name:?}")))?;
        let bucket = bucket_of(query)?;
        let mut selected: Vec<&TaskSummary> = task_type
            .tasks
            .iter()
            .filter_map(|id| summary.tasks.get(id))
            .filter(|task| bucket.is_none() || Self::complete_duration(task).map(TimeHistogram::bucket) == bucket)
            .collect();
        selected.sort_by_key(|task| (summary.task_interval(task).0, task.id));
        let tasks: Vec<Value> = selected
            .iter()
            .take(MAX_TASKS)
            .map(|task| {
                let (start, end) = summary.task_interval(task);
                let goroutine = task
                    .start
                    .as_ref()
                    .map(|e| e.goroutine)
                    .filter(|&g| g >= 0)
                    .or_else(|| task.goroutines.iter().next().copied());
                let events = task_events(summary, task);
                let listed: Vec<Value> = events
                    .iter()
                    .take(MAX_TASK_EVENTS)
                    .map(|e| json!({"time": self.since_start(e.time), "goroutine": e.goroutine, "what": e.what}))
                    .collect();
                json!({
                    "id": task.id,
                    "parent": task.parent.filter(|&p| p != NO_TASK),
                    "goroutine": goroutine,
                    "start": self.since_start(start),
                    "end": self.since_start(end),
                    "duration": end - start,
                    "complete": task.is_complete(),
                    "event_count": events.len(),
                    "events": listed,
                })
            })
            .collect();
        Ok(json!({
            "name": &*task_type.name,
            "bucket": bucket_range(bucket),
            "count": selected.len(),
            "tasks": tasks,
        }))
    }

    fn region_types(&self) -> &[RegionType] {
        self.pages.region_types.get_or_init(|| region_types(&self.ir, self.summary()))
    }

    /// The region type named `name` that begins at `pc` (hexadecimal; 0 or none for regions
    /// whose beginning has no stack).
    fn region_type(&self, name: &str, pc: Option<&str>) -> Result<&RegionType, BadRequest> {
        let pc =
            u64::from_str_radix(pc.unwrap_or("0"), 16).map_err(|_| bad(format!("pc is not hexadecimal: {pc:?}")))?;
        self.region_types()
            .iter()
            .find(|t| *t.name == *name && t.frame.as_ref().map_or(0, |f| f.pc) == pc)
            .ok_or_else(|| bad(format!("the trace has no region of type {name:?} at pc {pc:x}")))
    }

    /// `GET /api/regions`: the region types (a name and the place regions of it begin), each
    /// with its count and the histogram of its durations; with `type=NAME&pc=HEX[&bucket=N]`,
    /// that type's regions (of one bucket), longest first, with their goroutine's breakdown
    /// while each was active.
    pub fn regions(&self, query: &Query) -> Result<Value, BadRequest> {
        let summary = self.summary();
        let types = self.region_types();
        let duration = |index: usize| {
            let (start, end) = summary.region_interval(&summary.regions[index]);
            end - start
        };
        let pc = |t: &RegionType| t.frame.as_ref().map_or(0, |f| f.pc);
        if query.get("type").is_none() {
            let types: Vec<Value> = types
                .iter()
                .map(|t| {
                    json!({
                        "name": &*t.name,
                        "pc": format!("{:x}", pc(t)),
                        "func": t.frame.as_ref().map(|f| f.func.as_str()),
                        "file": t.frame.as_ref().map(|f| f.file.as_str()),
                        "line": t.frame.as_ref().map(|f| f.line),
                        "count": t.regions.len(),
                        "histogram": histogram_json(&t.histogram, t.regions.iter().map(|&(_, i)| duration(i))),
                    })
                })
                .collect();
            return Ok(json!({ "types": types }));
        }
        let region_type = self.region_type(&query.text("type"), query.get("pc"))?;
        let wanted_pc = pc(region_type);
        let bucket = bucket_of(query)?;
        let mut selected: Vec<(i64, usize)> = region_type
            .regions
            .iter()
            .copied()
            .filter(|&(_, i)| bucket.is_none_or(|b| TimeHistogram::bucket(duration(i)) == b))
            .collect();
        selected.sort_by(|a, b| duration(b.1).cmp(&duration(a.1)).then(a.1.cmp(&b.1)));
        let regions: Vec<Value> = selected
            .iter()
            .take(MAX_ROWS)
            .map(|&(goroutine, index)| {
                let region = &summary.regions[index];
                let (start, end) = summary.region_interval(region);
                json!({
                    "goroutine": goroutine,
                    "task": region.task,
                    "start": self.since_start(start),
                    "end": self.since_start(end),
                    "duration": end - start,
                    "complete": region.start.is_some() && region.end.is_some(),
                    "values": breakdown(&region.stats),
                })
            })
            .collect();
        Ok(json!({
            "name": &*region_type.name,
            "pc": format!("{wanted_pc:x}"),
            "func": region_type.frame.as_ref().map(|f| f.func.as_str()),
            "bucket": bucket_range(bucket),
            "count": selected.len(),
            "columns": columns_json(),
            "regions": regions,
        }))
    }

    /// Answers from the utilization functions of `flags`, computed once however many requests
    /// ask at once; the lock is held only to find their place, so other flag sets do not wait.
    fn with_mmu<R>(&self, flags: UtilFlags, answer: impl FnOnce(&MmuEntry) -> R) -> R {
        let cell = {
            let mut entries = self.pages.mmu.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(entries.entry(flags.names()).or_default())
        };
        answer(
            cell.get_or_init(|| MmuEntry { utilization: mutator_utilization(&self.ir, flags), plot: OnceLock::new() }),
        )
    }

    /// `GET /api/mmu?flags=stw|background|assist|sweep|perProc`: the minimum mutator
    /// utilization curve as Go's MMU page plots it: 100 window sizes, logarithmically spaced
    /// from the smallest power-of-a-thousand window whose MMU is essentially zero (1 µs in most
    /// traces) to the trace's span.
    pub fn mmu(&self, query: &Query) -> Result<Value, BadRequest> {
        let flags = util_flags(query)?;
        Ok(self.with_mmu(flags, |entry| entry.plot.get_or_init(|| Self::mmu_plot(entry, flags)).clone()))
    }

    /// The curve of one flag set as the page draws it.
    fn mmu_plot(entry: &MmuEntry, flags: UtilFlags) -> Value {
        if entry.utilization.iter().all(Vec::is_empty) {
            return json!({"flags": flags.names(), "span": 0, "points": [],
                          "note": "the trace does not record GOMAXPROCS (Go 1.21 and older traces): no MMU"});
        }
        let curve = MmuCurve::new(&entry.utilization);
        let (x_min, x_max, points) = curve.plot();
        let points: Vec<Value> = points.into_iter().map(|(window, mmu)| json!([window, mmu])).collect();
        json!({"flags": flags.names(), "span": curve.span(), "x_min": x_min, "x_max": x_max, "points": points})
    }

    /// `GET /api/mmu-worst?flags=...&window=NS`: the windows of that size (at most the trace's
    /// span) with the lowest utilization, lowest first, disjoint, as Go's MMU page lists them.
    pub fn mmu_worst(&self, query: &Query) -> Result<Value, BadRequest> {
        let flags = util_flags(query)?;
        let window = query.int("window")?;
        if window <= 0 {
            return Err(bad("the window must be at least 1 ns"));
        }
        let (window, worst) = self.with_mmu(flags, |entry| {
            let curve = MmuCurve::new(&entry.utilization);
            let window = window.min(curve.span()).max(1);
            (window, curve.worst_windows(window, WORST_WINDOWS))
        });
        let windows: Vec<Value> = worst
            .iter()
            .map(|w| {
                let start = self.since_start(w.time);
                json!({"start": start, "end": start + window, "util": w.util})
            })
            .collect();
        Ok(json!({"flags": flags.names(), "window": window, "windows": windows}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mmu_flags_use_go_names() {
        let flags = util_flags(&Query::parse("flags=stw%7Cassist|perProc")).unwrap();
        assert_eq!(flags.names(), "perProc|stw|assist");
        assert_eq!(util_flags(&Query::parse("")).unwrap().names(), "stw|background|assist");
        assert_eq!(util_flags(&Query::parse("flags=")).unwrap().names(), "");
        assert!(util_flags(&Query::parse("flags=stw|bogus")).is_err());
    }

    #[test]
    fn histograms_keep_every_bucket_that_holds_a_duration() {
        let mut histogram = TimeHistogram::default();
        // Go's rule drops the lowest bucket here: 1 ns falls in bucket 0, read as "none".
        for d in [1, 100, 1000] {
            histogram.add(d);
        }
        let rows = histogram_json(&histogram, [1, 100, 1000].into_iter());
        let counts: u64 = rows.iter().map(|r| r["count"].as_u64().unwrap()).sum();
        let totals: i64 = rows.iter().map(|r| r["total"].as_i64().unwrap()).sum();
        assert_eq!((counts, totals), (3, 1101));
        assert!(rows.windows(2).all(|w| w[0]["to"] == w[1]["from"]), "{rows:?}");
    }
}
