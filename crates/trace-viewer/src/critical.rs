//! The endpoints of the critical-path page and of the timeline's critical-path row, from
//! `trace-analysis`'s [`critical_path`]: the task and region types that have paths, the
//! aggregate and the path profile of every instance of a type, and one path (a task's, a
//! region's, or a goroutine's between two times) with its segments and hops.
//!
//! The execution graph and the task membership are built on first use and kept; so is each
//! type's answer, and the last few single paths (the timeline asks for the same path at every
//! pan and zoom). A path is sent for a window at a pixel width like the timeline's lanes:
//! segments shorter than a pixel are merged, so a long path never reaches the browser whole.
//!
//! Times in answers are nanoseconds from the trace's first event, as everywhere in the API.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use serde_json::{Value, json};
use trace_analysis::golden::UNNAMED_GROUP;
use trace_analysis::{
    Category, CriticalPath, ExecutionGraph, Nanos, PathAggregator, PathHop, PathProfile, PathQuery, PathSegment,
    Percentiles, ProfileRecord, TaskMembership, critical_path, for_each_critical_path, goroutine_query, pprof,
    region_queries, region_query, task_query, task_type_queries,
};

use crate::api::{BadRequest, Loaded, Query, bad, flame_tree, record_stacks};

/// Most instances one type's answer lists (the slowest first); the count says how many.
const MAX_INSTANCES: usize = 1_000;
/// Most segments one path's answer holds when no window is asked for: beyond, short segments
/// are merged as for a window this many pixels wide, halved.
const MAX_SEGMENTS: usize = 10_000;
/// Most hops one path's answer lists.
const MAX_HOPS: usize = 4_000;
/// Most goroutine groups an aggregate or a path lists (the most time first).
const MAX_GROUPS: usize = 50;
/// How many single paths are kept.
const CACHED_PATHS: usize = 16;
/// Most pixels a window may ask for, as for the timeline.
const MAX_WIDTH: i64 = 20_000;

/// What the critical-path endpoints computed so far.
#[derive(Debug, Default)]
pub(crate) struct CriticalCache {
    graph: OnceLock<Graph>,
    types: OnceLock<Value>,
    /// By kind and type name: only types the trace has, so bounded by the trace's types.
    by_type: Mutex<TypeCells>,
    /// The last paths asked for, the most recent last.
    paths: Mutex<Vec<(PathKey, Arc<CriticalPath>)>>,
}

/// Each type's answer by kind and name, computed once however many requests ask at once.
type TypeCells = BTreeMap<(Kind, String), Arc<OnceLock<TypeEntry>>>;

/// The execution graph and who worked for which task.
#[derive(Debug)]
pub(crate) struct Graph {
    pub(crate) graph: ExecutionGraph,
    membership: TaskMembership,
}

/// One type's answer, and its path profile for the pprof download.
#[derive(Debug)]
struct TypeEntry {
    answer: Value,
    profile: Vec<ProfileRecord>,
}

/// Tasks or regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Task,
    Region,
}

impl Kind {
    fn parse(query: &Query) -> Result<Kind, BadRequest> {
        match query.get("kind") {
            Some("task") => Ok(Kind::Task),
            Some("region") => Ok(Kind::Region),
            Some(other) => Err(bad(format!("unknown kind {other:?}: task or region"))),
            None => Err(bad("missing parameter kind (task or region)")),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Task => "task",
            Kind::Region => "region",
        }
    }
}

/// Which path: what the timeline's `cp` parameter names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathKey {
    Task(u64),
    Region(usize),
    /// A goroutine between two absolute times.
    Goroutine(i64, Nanos, Nanos),
}

impl PathKey {
    /// The `cp` parameter of the timeline that shows this path (times from the trace's start).
    fn cp(self, trace_start: Nanos) -> String {
        match self {
            PathKey::Task(id) => format!("task:{id}"),
            PathKey::Region(index) => format!("region:{index}"),
            PathKey::Goroutine(id, start, end) => {
                format!("goroutine:{id}:{}:{}", start - trace_start, end - trace_start)
            }
        }
    }
}

/// A goroutine group's name for people.
fn group_label(name: &str) -> &str {
    if name.is_empty() { UNNAMED_GROUP } else { name }
}

/// A fragment of the page: the timeline around `start..end` (from the trace's start) with
/// the path `cp` drawn, with a little context on each side as the page's own links have.
fn timeline_link(start: Nanos, end: Nanos, cp: &str) -> String {
    let pad = ((end - start) / 10).max(500);
    format!("#timeline?view=goroutine&start={}&end={}&cp={cp}", (start - pad).max(0), end + pad)
}

/// An unsigned integer parameter.
fn unsigned<T: std::str::FromStr>(query: &Query, name: &str) -> Result<T, BadRequest> {
    let value = query.get(name).ok_or_else(|| bad(format!("missing parameter {name}")))?;
    value.parse().map_err(|_| bad(format!("parameter {name} is not a non-negative integer: {value:?}")))
}

impl Loaded {
    pub(crate) fn graph(&self) -> &Graph {
        self.critical.graph.get_or_init(|| Graph {
            graph: ExecutionGraph::build(&self.ir),
            membership: TaskMembership::new(self.summary()),
        })
    }

    /// A time of a request, as an absolute time inside the trace.
    fn trace_time(&self, offset: i64) -> Nanos {
        let t = &self.timeline;
        t.at(offset).clamp(t.start, t.end.max(t.start))
    }

    fn relative(&self, time: Nanos) -> Nanos {
        time - self.timeline.start
    }

    /// The task a span of a task lane shows: the task of that type with that interval.
    pub(crate) fn task_of_span(&self, name: &str, start: Nanos, end: Nanos) -> Option<u64> {
        let summary = self.summary();
        summary.tasks.values().find(|t| *t.name == *name && summary.task_interval(t) == (start, end)).map(|t| t.id)
    }

    /// `GET /api/critical-path/types`: the task types and region types with instances that
    /// have a critical path (the trace shows their beginning and end, and they last), each
    /// with the count of such instances and their median and longest duration. Regions are
    /// by name, wherever they begin.
    pub fn critical_path_types(&self) -> Value {
        self.critical
            .types
            .get_or_init(|| {
                let summary = self.summary();
                let mut tasks: BTreeMap<&str, Vec<Nanos>> = BTreeMap::new();
                for t in summary.tasks.values() {
                    if let (Some(s), Some(e)) = (&t.start, &t.end)
                        && e.time > s.time
                    {
                        tasks.entry(&t.name).or_default().push(e.time - s.time);
                    }
                }
                let mut regions: BTreeMap<&str, Vec<Nanos>> = BTreeMap::new();
                for r in &summary.regions {
                    if let (Some(s), Some(e)) = (&r.start, &r.end)
                        && e.time > s.time
                        && !r.name.is_empty()
                    {
                        regions.entry(&r.name).or_default().push(e.time - s.time);
                    }
                }
                let list = |types: BTreeMap<&str, Vec<Nanos>>| -> Vec<Value> {
                    types
                        .into_iter()
                        .map(|(name, durations)| {
                            json!({
                                "name": name,
                                "count": durations.len(),
                                "max": durations.iter().copied().max().unwrap_or(0),
                                "median": Percentiles::of(durations).p50,
                            })
                        })
                        .collect()
                };
                json!({"tasks": list(tasks), "regions": list(regions)})
            })
            .clone()
    }

    /// The answer for one type, computed once.
    fn type_entry(&self, query: &Query) -> Result<Arc<OnceLock<TypeEntry>>, BadRequest> {
        let kind = Kind::parse(query)?;
        if query.get("type").is_none() {
            return Err(bad("missing parameter type"));
        }
        let name = query.text("type");
        let types = self.critical_path_types();
        let known = types[if kind == Kind::Task { "tasks" } else { "regions" }]
            .as_array()
            .is_some_and(|list| list.iter().any(|t| t["name"] == *name));
        if !known {
            return Err(bad(format!(
                "the trace has no complete {} of type {name:?} with a critical path",
                kind.name()
            )));
        }
        let cell = {
            let mut entries = self.critical.by_type.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(entries.entry((kind, name.clone())).or_default())
        };
        cell.get_or_init(|| self.compute_type(kind, &name));
        Ok(cell)
    }

    fn compute_type(&self, kind: Kind, name: &str) -> TypeEntry {
        let summary = self.summary();
        let g = self.graph();
        let (keys, queries): (Vec<PathKey>, Vec<PathQuery>) = match kind {
            Kind::Task => task_type_queries(summary, name).into_iter().map(|(id, q)| (PathKey::Task(id), q)).unzip(),
            Kind::Region => region_queries(summary, name).into_iter().map(|(i, q)| (PathKey::Region(i), q)).unzip(),
        };
        let queries_total = queries.len();
        // An instance that lasts no time has no path: it is left out and counted.
        let (keys, queries): (Vec<PathKey>, Vec<PathQuery>) =
            keys.into_iter().zip(queries).filter(|(_, q)| q.end > q.start).unzip();
        let skipped = queries_total - queries.len();
        // The paths are folded into the aggregate and the profile as they come; only the
        // listed (slowest) instances keep theirs.
        let durations: Vec<Nanos> = queries.iter().map(|q| q.end - q.start).collect();
        let mut order: Vec<usize> = (0..queries.len()).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(durations[i]), queries[i].start));
        order.truncate(MAX_INSTANCES);
        let listed_set: std::collections::BTreeSet<usize> = order.iter().copied().collect();
        let mut kept: BTreeMap<usize, CriticalPath> = BTreeMap::new();
        let mut aggregator = PathAggregator::new(durations);
        let mut profile = PathProfile::default();
        for_each_critical_path(&g.graph, &queries, Some(&g.membership), |i, result| {
            let Ok(path) = result else { return };
            aggregator.add(i, &path);
            profile.add(&path);
            if listed_set.contains(&i) {
                kept.insert(i, path);
            }
        });
        let agg = aggregator.finish();
        let profile = profile.records(&self.ir);
        let instances: Vec<(PathKey, &CriticalPath)> = order.iter().map(|&i| (keys[i], &kept[&i])).collect();
        let categories: Vec<Value> = Category::ALL
            .iter()
            .map(|c| {
                json!({
                    "name": c.name(),
                    "median": agg.median_by_category[c],
                    "slowest": agg.slowest_by_category[c],
                    "total": agg.total_by_category[c],
                })
            })
            .collect();
        let mut groups: Vec<(&str, Nanos, Nanos)> = agg
            .median_by_group
            .iter()
            .map(|(n, &m)| (&**n, m, agg.slowest_by_group.get(n).copied().unwrap_or(0)))
            .collect();
        groups.sort_by(|a, b| (b.1, b.2).cmp(&(a.1, a.2)).then(a.0.cmp(b.0)));
        let group_count = groups.len();
        let groups: Vec<Value> = groups
            .into_iter()
            .take(MAX_GROUPS)
            .map(|(n, median, slowest)| json!({"name": n, "label": group_label(n), "median": median, "slowest": slowest}))
            .collect();
        let trace_start = self.timeline.start;
        let listed: Vec<Value> = instances
            .iter()
            .take(MAX_INSTANCES)
            .map(|(key, p)| {
                let (category, time) = p.dominant();
                let (start, end) = (self.relative(p.start), self.relative(p.end));
                let cp = key.cp(trace_start);
                let id = match key {
                    PathKey::Task(id) => json!(id),
                    PathKey::Region(index) => json!(index),
                    PathKey::Goroutine(..) => Value::Null,
                };
                json!({
                    "id": id,
                    "goroutine": p.goroutine,
                    "task": p.task,
                    "start": start,
                    "end": end,
                    "duration": end - start,
                    "dominant": {"category": category.name(), "time": time},
                    "cp": cp,
                    "link": timeline_link(start, end, &cp),
                })
            })
            .collect();
        let answer = json!({
            "kind": kind.name(),
            "name": name,
            "count": agg.count,
            "skipped": skipped,
            "aggregate": {
                "count": agg.count,
                "median_duration": agg.median_duration,
                "slowest_count": agg.slowest_count,
                "slowest_threshold": agg.slowest_threshold,
                "categories": categories,
                "groups": groups,
                "group_count": group_count,
            },
            "profile": {"kind": "critical-path", "unit": "ns", "pprof": true, "root": flame_tree(&profile_stacks(&profile))},
            "instances": listed,
        });
        TypeEntry { answer, profile }
    }

    /// `GET /api/critical-path?kind=task|region&type=NAME`: the critical paths of every
    /// complete instance of a type: their aggregate (per category and per goroutine group, the
    /// median over instances and the mean over the slowest 1%), the path profile as a flame
    /// graph tree (as `/api/profile`'s: roots are the categories, then the goroutine groups,
    /// then the stacks), and the instances, the slowest first, each with the `cp` parameter
    /// and the link of the timeline that draws its path.
    pub fn critical_path_type(&self, query: &Query) -> Result<Value, BadRequest> {
        Ok(self.type_entry(query)?.get().expect("computed by type_entry").answer.clone())
    }

    /// `GET /api/critical-path/pprof?kind=task|region&type=NAME`: the path profile of a type
    /// as a gzipped pprof file.
    pub fn critical_path_pprof(&self, query: &Query) -> Result<Vec<u8>, BadRequest> {
        Ok(pprof::encode(&self.type_entry(query)?.get().expect("computed by type_entry").profile))
    }

    /// The path a request names, and its key.
    fn path_of(&self, query: &Query) -> Result<(PathKey, PathQuery), BadRequest> {
        let summary = self.summary();
        let given = ["task", "region", "goroutine"].iter().filter(|p| query.get(p).is_some()).count();
        if given != 1 {
            return Err(bad("give one of the parameters task=ID, region=INDEX or goroutine=ID[&start=NS&end=NS]"));
        }
        if query.get("task").is_some() {
            let id: u64 = unsigned(query, "task")?;
            let task = summary.tasks.get(&id).ok_or_else(|| bad(format!("the trace has no task {id}")))?;
            let q = task_query(summary, id).ok_or_else(|| {
                bad(format!("task {id} ({:?}) is not complete in the trace: it has no critical path", task.name))
            })?;
            return Ok((PathKey::Task(id), q));
        }
        if query.get("region").is_some() {
            let index: usize = unsigned(query, "region")?;
            if index >= summary.regions.len() {
                return Err(bad(format!("the trace has no region {index}")));
            }
            let q = region_query(summary, index)
                .ok_or_else(|| bad(format!("region {index} is not complete in the trace: it has no critical path")))?;
            return Ok((PathKey::Region(index), q));
        }
        let id = query.int("goroutine")?;
        let time = |name: &str| -> Result<Option<Nanos>, BadRequest> {
            match query.get(name) {
                Some(v) if !v.is_empty() => Ok(Some(self.trace_time(query.int(name)?))),
                _ => Ok(None),
            }
        };
        let (from, to) = (time("start")?, time("end")?);
        let q = goroutine_query(&self.graph().graph, id, from, to).map_err(|e| bad(e.to_string()))?;
        Ok((PathKey::Goroutine(id, q.start, q.end), q))
    }

    /// The path of `key`, from the cache or computed.
    fn path(&self, key: PathKey, query: &PathQuery) -> Result<Arc<CriticalPath>, BadRequest> {
        let cached = {
            let paths = self.critical.paths.lock().unwrap_or_else(PoisonError::into_inner);
            paths.iter().find(|(k, _)| *k == key).map(|(_, p)| Arc::clone(p))
        };
        let path = match cached {
            Some(path) => path,
            None => {
                // Computed without the lock: other paths are answered meanwhile.
                let g = self.graph();
                Arc::new(critical_path(&g.graph, query, Some(&g.membership)).map_err(|e| bad(e.to_string()))?)
            }
        };
        let mut paths = self.critical.paths.lock().unwrap_or_else(PoisonError::into_inner);
        paths.retain(|(k, _)| *k != key);
        paths.push((key, Arc::clone(&path)));
        if paths.len() > CACHED_PATHS {
            paths.remove(0);
        }
        Ok(path)
    }

    fn stack(&self, stack: Option<u64>) -> Vec<Value> {
        stack.and_then(|s| u32::try_from(s).ok()).map(|s| self.stack_json(s)).unwrap_or_default()
    }

    fn segment_json(&self, s: &PathSegment) -> Value {
        json!({
            "start": self.relative(s.start),
            "end": self.relative(s.end),
            "duration": s.duration(),
            "count": 1,
            "goroutine": s.goroutine,
            "function": &*s.function,
            "depth": s.depth,
            "category": s.category.name(),
            "detail": &*s.detail,
            "edge": s.edge.name(),
            "relation": s.relation.name(),
            "task": s.task,
            "stack": self.stack(s.stack),
        })
    }

    fn hop_json(&self, h: &PathHop) -> Value {
        json!({
            "edge": h.edge.name(),
            "waiter": h.waiter,
            "cause": h.cause,
            "cause_function": &*h.cause_function,
            "blocked_at": self.relative(h.blocked_at),
            "reason": &*h.reason,
            "unblocked_at": self.relative(h.unblocked_at),
            "depth": h.depth,
            "blocked_stack": self.stack(h.blocked_stack),
            "unblocked_stack": self.stack(h.unblocked_stack),
        })
    }

    /// `GET /api/critical-path/one?task=ID | region=INDEX | goroutine=ID[&start=NS&end=NS]
    /// [&from=NS&to=NS&width=PX]`: one critical path (a region by its index in the trace's
    /// regions, as the type's instances name it; a goroutine over its life or between two
    /// times): its time by category and by goroutine group, its segments in time order
    /// (goroutine, function, depth, category, detail, edge, task relation and stack), which
    /// partition the interval, and the hops between goroutines (the waiter, the goroutine
    /// that ended its wait, when it blocked and when it was unblocked). With a width, only the
    /// segments and hops of the window `from..to`, segments shorter than a pixel merged (a
    /// merged one has a count above 1, its dominant category, and its goroutine only if all
    /// of its segments are that goroutine's).
    pub fn critical_path_one(&self, query: &Query) -> Result<Value, BadRequest> {
        let (key, path_query) = self.path_of(query)?;
        let path = self.path(key, &path_query)?;
        let summary = self.summary();
        let (kind, id, name) = match key {
            PathKey::Task(id) => ("task", json!(id), summary.tasks.get(&id).map(|t| t.name.to_string())),
            PathKey::Region(index) => ("region", json!(index), summary.regions.get(index).map(|r| r.name.to_string())),
            PathKey::Goroutine(g, ..) => ("goroutine", json!(g), None),
        };
        let function = path.segments.last().map(|s| s.function.to_string()).unwrap_or_default();
        let segments = &path.segments;
        let (from, to, resolution) = if query.get("width").is_some() {
            let width = query.int("width")?;
            if !(1..=MAX_WIDTH).contains(&width) {
                return Err(bad(format!("width out of range (1 to {MAX_WIDTH} pixels)")));
            }
            let bound = |name: &str, default: Nanos| -> Result<Nanos, BadRequest> {
                match query.get(name) {
                    Some(v) if !v.is_empty() => Ok(self.timeline.at(query.int(name)?)),
                    _ => Ok(default),
                }
            };
            let (from, to) = (bound("from", path.start)?, bound("to", path.end)?);
            if to <= from {
                return Err(bad("the window ends before it starts"));
            }
            (from, to, ((to - from) / width).max(1))
        } else if segments.len() > MAX_SEGMENTS {
            (path.start, path.end, ((path.end - path.start) / (MAX_SEGMENTS as i64 / 2)).max(1))
        } else {
            (path.start, path.end, 0)
        };
        let first = segments.partition_point(|s| s.end <= from && s.start < from);
        let shown: Vec<&PathSegment> = segments[first..].iter().take_while(|s| s.start < to).collect();
        let listed: Vec<Value> = merge(&shown, resolution)
            .into_iter()
            .map(|group| match group {
                [one] => self.segment_json(one),
                many => merged_json(self, many),
            })
            .collect();
        let mut hops: Vec<&PathHop> =
            path.hops.iter().filter(|h| h.blocked_at <= to && h.unblocked_at >= from).collect();
        hops.sort_by_key(|h| (h.unblocked_at, h.blocked_at));
        let hop_count = hops.len();
        let step = hop_count.div_ceil(MAX_HOPS).max(1);
        let hops: Vec<Value> = hops.into_iter().step_by(step).map(|h| self.hop_json(h)).collect();
        let by_category = path.by_category();
        let mut groups: Vec<(String, Nanos)> = path.by_group().into_iter().map(|(n, t)| (n.to_string(), t)).collect();
        groups.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let groups: Vec<Value> = groups
            .iter()
            .take(MAX_GROUPS)
            .map(|(n, t)| json!({"name": n, "label": group_label(n), "time": t}))
            .collect();
        Ok(json!({
            "kind": kind,
            "id": id,
            "name": name,
            "cp": key.cp(self.timeline.start),
            "goroutine": path.goroutine,
            "function": function,
            "task": path.task,
            "start": self.relative(path.start),
            "end": self.relative(path.end),
            "duration": path.end - path.start,
            "categories": Category::ALL.iter().map(|c| json!({"name": c.name(), "time": by_category[c]})).collect::<Vec<_>>(),
            "groups": groups,
            "segment_count": segments.len(),
            "window": {"from": self.relative(from), "to": self.relative(to), "resolution": resolution},
            "segments": listed,
            "hop_count": hop_count,
            "hops": hops,
        }))
    }
}

/// Consecutive segments grouped while a group spans at most `resolution` (none grouped at 0):
/// a segment longer than that stays alone.
fn merge<'s>(segments: &'s [&'s PathSegment], resolution: Nanos) -> Vec<&'s [&'s PathSegment]> {
    let mut groups = Vec::new();
    let mut first = 0;
    for i in 1..=segments.len() {
        let fits = i < segments.len() && resolution > 0 && segments[i].end - segments[first].start <= resolution;
        if !fits {
            groups.push(&segments[first..i]);
            first = i;
        }
    }
    groups.retain(|g| !g.is_empty());
    groups
}

/// Several segments shorter than a pixel, as one.
fn merged_json(loaded: &Loaded, group: &[&PathSegment]) -> Value {
    let (first, last) = (group[0], group[group.len() - 1]);
    let mut by: BTreeMap<Category, Nanos> = BTreeMap::new();
    for s in group {
        *by.entry(s.category).or_default() += s.duration();
    }
    let category =
        Category::ALL.iter().copied().max_by_key(|c| (by.get(c).copied().unwrap_or(-1), std::cmp::Reverse(*c)));
    let same = group.iter().all(|s| s.goroutine == first.goroutine);
    json!({
        "start": loaded.relative(first.start),
        "end": loaded.relative(last.end),
        "duration": last.end - first.start,
        "count": group.len(),
        "goroutine": same.then_some(first.goroutine),
        "function": if same { first.function.to_string() } else { String::new() },
        "category": category.unwrap_or(Category::Unknown).name(),
        "categories": by.iter().map(|(c, t)| (c.name().to_owned(), json!(t))).collect::<serde_json::Map<_, _>>(),
    })
}

/// The stacks of a path profile for the flame graph: the category and group pseudo-frames
/// are named without a place.
fn profile_stacks(profile: &[ProfileRecord]) -> Vec<crate::api::WeightedStack> {
    let mut stacks = record_stacks(profile.to_vec());
    for (frames, _) in &mut stacks {
        for (func, place) in frames.iter_mut() {
            if place == ":0" && (func.starts_with("critical path: ") || func.starts_with("goroutine group ")) {
                place.clear();
            }
        }
    }
    stacks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(start: Nanos, end: Nanos, goroutine: i64) -> PathSegment {
        PathSegment {
            goroutine,
            function: "f".into(),
            start,
            end,
            depth: 0,
            category: Category::Running,
            detail: "".into(),
            stack: None,
            edge: trace_analysis::PathEdge::Continues,
            task: None,
            relation: trace_analysis::TaskRelation::NoTask,
            segment: 0,
        }
    }

    #[test]
    fn short_segments_merge_below_a_pixel_and_long_ones_stay_alone() {
        let segments = [segment(0, 1, 1), segment(1, 2, 2), segment(2, 3, 1), segment(3, 100, 1), segment(100, 101, 1)];
        let refs: Vec<&PathSegment> = segments.iter().collect();
        let sizes = |r| merge(&refs, r).iter().map(|g| g.len()).collect::<Vec<_>>();
        assert_eq!(sizes(0), vec![1, 1, 1, 1, 1], "nothing merges without a resolution");
        assert_eq!(sizes(10), vec![3, 1, 1]);
        assert_eq!(sizes(1000), vec![5]);
        assert!(merge(&[], 10).is_empty());
    }

    #[test]
    fn links_name_the_path_and_pad_the_window() {
        assert_eq!(PathKey::Goroutine(7, 1_500, 2_500).cp(1_000), "goroutine:7:500:1500");
        assert_eq!(PathKey::Region(3).cp(0), "region:3");
        assert_eq!(timeline_link(1_000, 11_000, "task:1"), "#timeline?view=goroutine&start=0&end=12000&cp=task:1");
    }
}
