//! The data endpoints of the viewer: each turns the query of a request into JSON from the
//! timeline index, touching only what the requested window needs.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{Value, json};
use trace_analysis::{ProfileKind, ProfileRecord, Summary, pprof, profile, summarize};
use trace_format::ir::{StackHandle, TraceIr};

use crate::critical::CriticalCache;
use crate::pages::PageCache;
use crate::series::Points;
use crate::timeline::{LaneKey, MarkKind, SpanKind, Timeline, View};

/// A trace loaded for viewing: the IR (for stacks) and the timeline index over it.
#[derive(Debug)]
pub struct Loaded {
    /// The trace's events and tables.
    pub ir: TraceIr,
    /// The index the timeline is drawn from.
    pub timeline: Timeline,
    summary: OnceLock<Summary>,
    pub(crate) pages: PageCache,
    pub(crate) critical: CriticalCache,
}

/// Why a request could not be answered.
#[derive(Debug, PartialEq, Eq)]
pub struct BadRequest(pub String);

pub(crate) fn bad(message: impl Into<String>) -> BadRequest {
    BadRequest(message.into())
}

/// The parameters of a request's query string.
pub struct Query<'q> {
    pairs: Vec<(&'q str, &'q str)>,
}

impl<'q> Query<'q> {
    /// Splits `query` (`a=1&b=2`, no percent-decoding needed for the values the page sends
    /// except in filters, which are decoded).
    pub fn parse(query: &'q str) -> Query<'q> {
        let pairs = query.split('&').filter(|p| !p.is_empty()).map(|p| p.split_once('=').unwrap_or((p, ""))).collect();
        Query { pairs }
    }

    /// The raw value of `name`.
    pub fn get(&self, name: &str) -> Option<&'q str> {
        self.pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }

    pub(crate) fn int(&self, name: &str) -> Result<i64, BadRequest> {
        let value = self.get(name).ok_or_else(|| bad(format!("missing parameter {name}")))?;
        value.parse().map_err(|_| bad(format!("parameter {name} is not an integer: {value:?}")))
    }

    fn int_or(&self, name: &str, default: i64) -> Result<i64, BadRequest> {
        if self.get(name).is_some() { self.int(name) } else { Ok(default) }
    }

    pub(crate) fn text(&self, name: &str) -> String {
        percent_decode(self.get(name).unwrap_or(""))
    }
}

/// Decodes `%XX` escapes and `+` in a query value.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Most lanes one window request may ask for.
const MAX_LANES_PER_REQUEST: usize = 2000;
/// Most pixels one window request may ask for.
const MAX_WIDTH: i64 = 20_000;
/// Most points of a counter read for one pixel of a window.
const MAX_SAMPLES_PER_PIXEL: usize = 64;
/// Most arrows one window answer holds.
const MAX_FLOWS: usize = 4000;

impl Loaded {
    /// Builds the timeline of `ir`.
    pub fn new(ir: TraceIr) -> Loaded {
        Self::new_with_progress(ir, |_| {})
    }

    /// As [`new`](Self::new), reporting the events indexed so far to `progress` (see
    /// [`Timeline::build_with_progress`]).
    pub fn new_with_progress(ir: TraceIr, progress: impl FnMut(u64)) -> Loaded {
        let timeline = Timeline::build_with_progress(&ir, progress);
        Loaded {
            ir,
            timeline,
            summary: OnceLock::new(),
            pages: PageCache::default(),
            critical: CriticalCache::default(),
        }
    }

    /// The goroutines, tasks and regions of `trace-analysis`, summarized on first use.
    pub(crate) fn summary(&self) -> &Summary {
        self.summary.get_or_init(|| summarize(&self.ir))
    }

    /// `GET /api/info`: the trace's extent, views, counters and kinds.
    pub fn info(&self) -> Value {
        let t = &self.timeline;
        json!({
            "duration": t.end - t.start,
            "events": self.ir.event_count(),
            "goroutines": t.goroutines.len(),
            "kinds": SpanKind::ALL.iter().map(|k| k.name()).collect::<Vec<_>>(),
            "counters": t.counters.iter().map(|c| c.name).collect::<Vec<_>>(),
            "error": t.error,
        })
    }

    /// `GET /api/lanes?view=proc|thread|goroutine[&filter=TEXT][&focus=ID]`: the lanes of a
    /// view. A filter keeps the goroutine with that ID, or those whose start function contains
    /// it (and the lanes that are not goroutines'); a focus keeps one goroutine and the goroutines that created
    /// or unblocked it.
    pub fn lanes(&self, query: &Query) -> Result<Value, BadRequest> {
        let t = &self.timeline;
        let view_name = query.get("view").unwrap_or("proc");
        let view = View::parse(view_name).ok_or_else(|| bad(format!("unknown view {view_name:?}")))?;
        let filter = query.text("filter");
        let focus: Option<i64> = match query.get("focus") {
            Some(f) if !f.is_empty() => {
                Some(f.parse().map_err(|_| bad(format!("focus is not a goroutine ID: {f:?}")))?)
            }
            _ => None,
        };
        let related: Vec<i64> = match focus {
            Some(g) => {
                let mut ids: Vec<i64> = t.flows.iter().filter(|f| f.to == g).map(|f| f.from).collect();
                ids.push(g);
                ids.sort_unstable();
                ids.dedup();
                ids
            }
            None => Vec::new(),
        };
        let keep = |key: LaneKey| -> bool {
            let g = match key {
                LaneKey::Goroutine(g) | LaneKey::Regions(g, _) => g,
                _ => return focus.is_none(),
            };
            if focus.is_some() {
                return related.binary_search(&g).is_ok();
            }
            if filter.is_empty() {
                return true;
            }
            // An ID (`42` or `G42`) picks that goroutine; anything else is part of a name.
            if let Ok(id) = filter.trim_start_matches('G').parse::<i64>() {
                return g == id;
            }
            t.goroutine(g).is_some_and(|info| info.name.contains(filter.as_str()))
        };
        let lanes: Vec<Value> = t
            .view(view)
            .iter()
            .map(|&i| (i, &t.lanes[i as usize]))
            .filter(|(_, lane)| keep(lane.key))
            .map(|(i, lane)| {
                let goroutine = match lane.key {
                    LaneKey::Goroutine(g) | LaneKey::Regions(g, _) => Some(g),
                    _ => None,
                };
                json!({"id": i, "name": t.lane_name(lane), "goroutine": goroutine})
            })
            .collect();
        Ok(json!({ "view": view_name, "lanes": lanes }))
    }

    /// `GET /api/window?lanes=1,2,3&start=NS&end=NS&width=PX`: the spans and marks of those
    /// lanes between `start` and `end` (nanoseconds from the trace's start) merged to the
    /// resolution of `width` pixels, the counters over the window, and the arrows in it.
    pub fn window(&self, query: &Query) -> Result<Value, BadRequest> {
        let t = &self.timeline;
        let start = t.at(query.int_or("start", 0)?);
        let end = t.at(query.int_or("end", t.end - t.start)?);
        let width = query.int_or("width", 1000)?;
        if end <= start || !(1..=MAX_WIDTH).contains(&width) {
            return Err(bad(format!("empty window or width out of range (1 to {MAX_WIDTH} pixels)")));
        }
        let resolution = ((end - start) / width).max(1);
        let ids = parse_lane_ids(&query.text("lanes"), t.lanes.len())?;
        let mut lanes = serde_json::Map::new();
        for id in ids {
            let lane = &t.lanes[id];
            let mut spans = Vec::new();
            for m in t.spans_in(lane, start, end, resolution) {
                spans.extend([json!(m.start - t.start), json!(m.end - t.start), json!(m.kind as u8), json!(m.count)]);
                spans.push(json!(self.span_label(lane.key, m.count, m.label)));
            }
            let mut marks = Vec::new();
            let mut from = start;
            while from < end {
                let i = lane.marks.partition_point(|m| m.time < from);
                let Some(mark) = lane.marks.get(i).filter(|m| m.time < end) else { break };
                marks.extend([json!(mark.time - t.start), json!(mark.kind as u8)]);
                from = mark.time + resolution;
            }
            lanes.insert(id.to_string(), json!({"spans": spans, "marks": marks}));
        }
        let counters: Vec<Value> = t
            .counters
            .iter()
            .map(|c| {
                let points = counter_window(&c.points, start, end, resolution);
                let flat: Vec<i64> = points.iter().flat_map(|&(time, v)| [time - t.start, v]).collect();
                json!({"name": c.name, "points": flat})
            })
            .collect();
        let first = t.flows.partition_point(|f| f.time < start);
        let last = t.flows.partition_point(|f| f.time < end).max(first);
        let step = (last - first).div_ceil(MAX_FLOWS).max(1);
        let flows: Vec<i64> = t.flows[first..last]
            .iter()
            .step_by(step)
            .flat_map(|f| [f.time - t.start, f.from, f.to, i64::from(f.creation)])
            .collect();
        Ok(json!({"start": start - t.start, "end": end - t.start, "resolution": resolution,
                  "lanes": lanes, "counters": counters, "flows": flows}))
    }

    /// The text a span shows: the goroutine on proc and thread lanes, the name of a region
    /// or task, the reason of a goroutine's state.
    fn span_label(&self, key: LaneKey, count: u32, label: u32) -> String {
        if count != 1 {
            return String::new();
        }
        match key {
            LaneKey::Proc(_) | LaneKey::Thread(_) => {
                self.timeline.lane_goroutine(label).map(|g| format!("G{g}")).unwrap_or_default()
            }
            _ => self.timeline.labels.get(label as usize).cloned().unwrap_or_default(),
        }
    }

    pub(crate) fn stack_json(&self, stack: u32) -> Vec<Value> {
        let ir = &self.ir;
        let text = |h| String::from_utf8_lossy(ir.string(h).unwrap_or_default()).into_owned();
        ir.stack(StackHandle(stack))
            .map(|f| json!({"func": text(f.func), "file": text(f.file), "line": f.line}))
            .collect()
    }

    /// `GET /api/details?lane=ID&t=NS[&tol=NS]`: what the span or mark at `t` on a lane is:
    /// goroutine, times, the state transitions around it with the reason, and the stack (and
    /// on a task lane, the task's ID).
    pub fn details(&self, query: &Query) -> Result<Value, BadRequest> {
        let t = &self.timeline;
        let id = parse_lane_ids(&query.text("lane"), t.lanes.len())?;
        let lane = &t.lanes[*id.first().ok_or_else(|| bad("missing parameter lane"))?];
        let time = t.at(query.int("t")?);
        let tolerance = query.int_or("tol", 0)?.max(0);
        if let Some(mark) = Timeline::mark_at(lane, time, tolerance) {
            let (what, text, stack) = match mark.kind {
                MarkKind::CpuSample => ("CPU sample", String::new(), self.stack_json(mark.label)),
                MarkKind::Log => ("log", t.labels.get(mark.label as usize).cloned().unwrap_or_default(), Vec::new()),
            };
            return Ok(json!({"lane": t.lane_name(lane), "what": what, "start": mark.time - t.start,
                             "end": mark.time - t.start, "text": text, "stack": stack}));
        }
        let Some((index, span)) = Timeline::span_at(lane, time, tolerance) else {
            return Ok(json!({"lane": t.lane_name(lane), "what": "nothing"}));
        };
        let before = index.checked_sub(1).and_then(|i| lane.spans.get(i)).filter(|o| o.end == span.start);
        let after = lane.spans.get(index + 1).filter(|o| o.start == span.end);
        let goroutine = match lane.key {
            LaneKey::Goroutine(g) | LaneKey::Regions(g, _) => Some(g),
            LaneKey::Proc(_) | LaneKey::Thread(_) => t.lane_goroutine(span.label()),
            _ => None,
        };
        let label = match lane.key {
            LaneKey::Proc(_) | LaneKey::Thread(_) => String::new(),
            _ => t.labels.get(span.label() as usize).cloned().unwrap_or_default(),
        };
        let name = goroutine.and_then(|g| t.goroutine(g)).map(|g| g.name.clone()).unwrap_or_default();
        let mut answer = json!({
            "lane": t.lane_name(lane),
            "what": span.kind().name(),
            "goroutine": goroutine,
            "function": name,
            "start": span.start - t.start,
            "end": span.end - t.start,
            "duration": span.end - span.start,
            "from": before.map(|s| s.kind().name()),
            "to": after.map(|s| s.kind().name()),
            "reason": label,
            "stack": self.stack_json(span.stack),
        });
        if matches!(lane.key, LaneKey::Tasks(_)) {
            // The task's ID, so that the page can ask for its critical path.
            answer["task"] = json!(self.task_of_span(&label, span.start, span.end));
        }
        Ok(answer)
    }

    /// `GET /api/range?start=NS&end=NS`: time per goroutine state within a range.
    pub fn range(&self, query: &Query) -> Result<Value, BadRequest> {
        let t = &self.timeline;
        let start = t.at(query.int("start")?);
        let end = t.at(query.int("end")?);
        if end <= start {
            return Err(bad("the range ends before it starts"));
        }
        let totals = t.state_totals(start, end);
        let by_state: BTreeMap<&str, i64> =
            totals.iter().enumerate().map(|(i, &total)| (SpanKind::ALL[i].name(), total)).collect();
        Ok(json!({"start": start - t.start, "end": end - t.start, "states": by_state}))
    }

    /// `GET /api/profile?kind=sched|sync|network|syscall|cpu[&group=NAME|&region=NAME&pc=HEX]`:
    /// a flame graph, as a tree of frames (outermost first) with the time, or the samples,
    /// spent below each. The four blocking and scheduling profiles are `trace-analysis`'s, the
    /// samples of `go tool trace -pprof`, over all goroutines, those of a group, or the
    /// outermost regions of a type (as Go's group and region pages offer them); `cpu` counts
    /// the trace's CPU samples.
    pub fn profile(&self, query: &Query) -> Result<Value, BadRequest> {
        let kind = query.get("kind").unwrap_or("sched");
        let stacks = self.profile_stacks(kind, query)?;
        let unit = if kind == "cpu" { "samples" } else { "ns" };
        Ok(json!({"kind": kind, "unit": unit, "pprof": kind != "cpu", "root": flame_tree(&stacks)}))
    }

    /// `GET /api/pprof?kind=sched|sync|network|syscall`: the profile as a gzipped pprof file,
    /// what `go tool pprof` reads.
    pub fn pprof(&self, query: &Query) -> Result<Vec<u8>, BadRequest> {
        let kind = analysis_kind(query.get("kind").unwrap_or("sched"))?;
        Ok(pprof::encode(&self.analysis_profile(kind, query)?))
    }

    /// `GET /api/profile.txt?kind=...`: the same profile as folded stacks (`f1;f2;f3 value`),
    /// the text form flame graph tools read.
    pub fn profile_folded(&self, query: &Query) -> Result<String, BadRequest> {
        let stacks = self.profile_stacks(query.get("kind").unwrap_or("sched"), query)?;
        let mut lines: Vec<String> = stacks
            .iter()
            .map(|(frames, value)| {
                let names: Vec<&str> = frames.iter().rev().map(|f| f.0.as_str()).collect();
                let path = if names.is_empty() { "(no stack)".to_owned() } else { names.join(";") };
                format!("{path} {value}")
            })
            .collect();
        lines.sort();
        Ok(lines.join("\n") + "\n")
    }

    fn analysis_profile(&self, kind: ProfileKind, query: &Query) -> Result<Vec<ProfileRecord>, BadRequest> {
        Ok(profile(&self.ir, kind, &self.profile_scope(query)?))
    }

    /// The stacks of one profile (innermost frame first, each as function and `file:line`)
    /// with their time or sample count.
    fn profile_stacks(&self, kind: &str, query: &Query) -> Result<Vec<WeightedStack>, BadRequest> {
        if kind != "cpu" {
            return Ok(record_stacks(self.analysis_profile(analysis_kind(kind)?, query)?));
        }
        if query.get("group").is_some() || query.get("region").is_some() {
            return Err(bad("CPU samples are shown for the whole trace only"));
        }
        let mut samples: BTreeMap<u32, i64> = BTreeMap::new();
        for lane in &self.timeline.lanes {
            for m in lane.marks.iter().filter(|m| m.kind == MarkKind::CpuSample) {
                *samples.entry(m.label).or_default() += 1;
            }
        }
        Ok(samples
            .into_iter()
            .map(|(stack, count)| {
                let frames = self
                    .stack_json(stack)
                    .iter()
                    .map(|f| {
                        (
                            f["func"].as_str().unwrap_or("").to_owned(),
                            format!("{}:{}", f["file"].as_str().unwrap_or(""), f["line"]),
                        )
                    })
                    .collect();
                (frames, count)
            })
            .collect())
    }
}

/// A stack of a profile (innermost frame first, each as function and `file:line`) with its
/// time or sample count.
pub(crate) type WeightedStack = (Vec<(String, String)>, i64);

/// The stacks of `trace-analysis` profile records, with their time.
pub(crate) fn record_stacks(records: Vec<ProfileRecord>) -> Vec<WeightedStack> {
    records
        .into_iter()
        .map(|r| {
            let frames = r.stack.into_iter().map(|f| (f.func, format!("{}:{}", f.file, f.line))).collect();
            (frames, r.time)
        })
        .collect()
}

/// The profile of `trace-analysis` the page's `kind` names.
fn analysis_kind(kind: &str) -> Result<ProfileKind, BadRequest> {
    match kind {
        "network" => Ok(ProfileKind::Network),
        other => ProfileKind::from_name(other)
            .ok_or_else(|| bad(format!("unknown profile {other:?}: sched, sync, network, syscall or cpu"))),
    }
}

/// Stacks merged into a tree from the outermost frame, children sorted by value. A frame is
/// named `function place`, or only by its function when it has no place (the pseudo-frames of
/// a critical-path profile).
pub(crate) fn flame_tree(stacks: &[WeightedStack]) -> Value {
    #[derive(Default)]
    struct Node {
        value: i64,
        children: BTreeMap<String, Node>,
    }
    fn to_json(name: &str, node: &Node) -> Value {
        let mut children: Vec<(&String, &Node)> = node.children.iter().collect();
        children.sort_by(|a, b| b.1.value.cmp(&a.1.value).then(a.0.cmp(b.0)));
        json!({"name": name, "value": node.value,
               "children": children.into_iter().map(|(n, c)| to_json(n, c)).collect::<Vec<_>>()})
    }
    let mut root = Node::default();
    for (frames, value) in stacks {
        root.value += value;
        let mut node = &mut root;
        for (func, place) in frames.iter().rev() {
            let name = if place.is_empty() { func.clone() } else { format!("{func} {place}") };
            node = node.children.entry(name).or_default();
            node.value += value;
        }
    }
    to_json("all", &root)
}

/// The lane indexes of a comma-separated list, each checked against `count`.
fn parse_lane_ids(list: &str, count: usize) -> Result<Vec<usize>, BadRequest> {
    let ids: Vec<usize> = list
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().ok().filter(|&i| i < count).ok_or_else(|| bad(format!("no lane {s:?}"))))
        .collect::<Result<_, _>>()?;
    if ids.len() > MAX_LANES_PER_REQUEST {
        return Err(bad(format!("at most {MAX_LANES_PER_REQUEST} lanes per request")));
    }
    Ok(ids)
}

/// The points of a counter in a window: all of them when few, else the largest value in each
/// pixel (so that peaks stay visible) followed by the value at the end of the pixel.
fn counter_window(points: &Points, start: i64, end: i64, resolution: i64) -> Vec<(i64, i64)> {
    // The value holding at the window's start comes from the last point before it.
    let first = points.partition_point_in(0..points.len(), |p| p.0 <= start).saturating_sub(1);
    let last = points.partition_point_in(first..points.len(), |p| p.0 < end).max(first);
    let pixels = ((end - start) / resolution).max(1) as usize;
    if last - first <= 4 * pixels {
        return points.iter_from(first).take(last - first).collect();
    }
    let mut out = Vec::with_capacity(2 * pixels);
    let mut i = first;
    while i < last {
        let bucket_start = points.get(i);
        let j = points.partition_point_in(i..last, |p| p.0 < bucket_start.0 + resolution);
        // A bucket of a dense counter is sampled at a bounded number of points, so that a
        // zoomed-out window costs the same whatever the trace's size.
        let stride = (j - i).div_ceil(MAX_SAMPLES_PER_PIXEL).max(1);
        let peak = (i..j).step_by(stride).map(|k| points.get(k)).max_by_key(|p| p.1).unwrap_or(bucket_start);
        out.push(peak);
        if let Some(bucket_end) = j.checked_sub(1).filter(|&k| k > i).map(|k| points.get(k)).filter(|l| l.0 != peak.0) {
            out.push(bucket_end);
        }
        i = j.max(i + 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode_percent_escapes() {
        let q = Query::parse("view=goroutine&filter=main.%28*T%29.run+x&x");
        assert_eq!(q.get("view"), Some("goroutine"));
        assert_eq!(q.text("filter"), "main.(*T).run x");
        assert_eq!(q.get("x"), Some(""));
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn lane_lists_are_checked() {
        assert_eq!(parse_lane_ids("0,2", 3), Ok(vec![0, 2]));
        assert!(parse_lane_ids("3", 3).is_err());
        assert!(parse_lane_ids("-1", 3).is_err());
    }

    #[test]
    fn dense_counters_keep_their_peaks() {
        let mut points = Points::default();
        let mut few = Points::default();
        for i in 0..100_000 {
            points.push(i, if i == 5_000 { 999 } else { i % 10 });
            if i < 10 {
                few.push(i, i % 10);
            }
        }
        let out = counter_window(&points, 0, 100_000, 100);
        assert!(out.len() <= 2 * 1000 + 2, "{} points for 1000 pixels", out.len());
        assert!(out.contains(&(5_000, 999)), "the peak is kept");
        let few = counter_window(&few, 2, 5, 1);
        assert_eq!(few, vec![(2, 2), (3, 3), (4, 4)]);
    }
}
