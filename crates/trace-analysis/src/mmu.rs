//! Minimum mutator utilization: for a window size, the smallest share of the CPU the program
//! (rather than the garbage collector) had in any window of that size. Utilization follows
//! Go 1.27's definition (`internal/trace.MutatorUtilizationV2`): a proc is lost to the GC
//! while the world is stopped for the GC, while it sweeps, while a goroutine on it assists the
//! marking, or while it runs a background mark worker, as the flags choose.

use rustc_hash::{FxHashMap, FxHashSet};
use trace_format::ir::TraceIr;
use trace_format::{Details, EventKind, GoState, RangeKind, Scope, Transition};

use crate::goroutines::Nanos;

/// What counts as time lost to the GC, and whether procs are looked at one by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtilFlags {
    /// Stop-the-world pauses of the GC.
    pub stw: bool,
    /// Background mark workers.
    pub background: bool,
    /// Mark assists.
    pub assist: bool,
    /// Sweeping.
    pub sweep: bool,
    /// One utilization function per proc (a window's utilization is then the worst proc's),
    /// instead of one for the whole program.
    pub per_proc: bool,
}

impl UtilFlags {
    /// Everything the GC takes, system-wide: what Go's MMU page shows first.
    pub const ALL: UtilFlags = UtilFlags { stw: true, background: true, assist: true, sweep: true, per_proc: false };

    /// The flags as Go's MMU page names them in its URLs (`stw|background|assist|sweep`).
    pub fn names(self) -> String {
        let names = [
            (self.per_proc, "perProc"),
            (self.stw, "stw"),
            (self.background, "background"),
            (self.assist, "assist"),
            (self.sweep, "sweep"),
        ];
        names.iter().filter(|(on, _)| *on).map(|(_, name)| *name).collect::<Vec<_>>().join("|")
    }
}

/// A change of mutator utilization: from `time` on, the program had `util` (0 to 1) of the CPU.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UtilChange {
    /// When, in nanoseconds.
    pub time: Nanos,
    /// The utilization from then on.
    pub util: f64,
}

/// Appends a change unless it changes nothing; at one instant, the lowest utilization wins.
fn push_change(series: &mut Vec<UtilChange>, change: UtilChange) {
    if let Some(last) = series.last_mut() {
        if last.util == change.util {
            return;
        }
        if last.time == change.time {
            if change.util < last.util {
                *last = change;
            }
            return;
        }
    }
    series.push(change);
}

#[derive(Default, Clone, Copy)]
struct ProcState {
    /// How many reasons the GC has this proc now.
    gc: i32,
    /// Which series the proc's utilization goes into.
    series: usize,
}

/// The mutator utilization functions of the trace: one, or one per proc (and per
/// reappearance of a proc) with `per_proc`. Each ends at the last event with utilization 0.
pub fn mutator_utilization(ir: &TraceIr, flags: UtilFlags) -> Vec<Vec<UtilChange>> {
    let mut out: Vec<Vec<UtilChange>> = Vec::new();
    let mut procs: Vec<ProcState> = Vec::new();
    // GOMAXPROCS over time.
    let mut proc_counts: Vec<(Nanos, usize)> = Vec::new();
    let mut stw = 0;
    let mut in_assist: FxHashSet<i64> = FxHashSet::default();
    let mut background: FxHashSet<i64> = FxHashSet::default();
    let mut states: FxHashMap<i64, GoState> = FxHashMap::default();
    let mut syncs = 0;
    let mut last_time = None;
    let executing = |s: Option<&GoState>| matches!(s, Some(GoState::Running | GoState::Syscall));
    for event in ir.events() {
        let now = event.time();
        last_time = Some(now);
        let details = ir.details(&event);
        match &details {
            Details::Sync { number, .. } => syncs = *number,
            Details::Metric(m) if m.name == "/sched/gomaxprocs:threads" => {
                let n = m.value as usize;
                if procs.len() > n {
                    if flags.per_proc {
                        for p in &procs[n..] {
                            push_change(&mut out[p.series], UtilChange { time: now, util: 0.0 });
                        }
                    }
                    procs.truncate(n);
                }
                while procs.len() < n {
                    let mut series = 0;
                    if flags.per_proc || out.is_empty() {
                        series = out.len();
                        out.push(vec![UtilChange { time: now, util: 1.0 }]);
                    }
                    procs.push(ProcState { gc: 0, series });
                }
                if proc_counts.last().is_none_or(|&(_, last)| last != n) {
                    proc_counts.push((now, n));
                }
            }
            _ => {}
        }
        // Nothing can be said before GOMAXPROCS is known.
        if procs.is_empty() {
            continue;
        }
        let proc = usize::try_from(event.proc()).ok().filter(|&p| p < procs.len());
        let counts = |range: &trace_format::Range<'_>| match range.kind {
            RangeKind::StopTheWorld => flags.stw && String::from_utf8_lossy(&range.name()).contains("GC"),
            RangeKind::GcSweep => flags.sweep,
            RangeKind::GcMarkAssist => flags.assist,
            RangeKind::GcMark => false,
        };
        match (&details, event.kind()) {
            (Details::Range(range), EventKind::RangeActive | EventKind::RangeBegin) if counts(range) => {
                // A range already going on when the trace began, learnt of in the first
                // generation: take the proc's share off everything so far. (A mark assist
                // counts only if its goroutine runs.)
                let late = event.kind() == EventKind::RangeActive
                    && syncs <= 1
                    && !flags.per_proc
                    && (range.kind == RangeKind::GcSweep
                        || (range.kind == RangeKind::GcMarkAssist && executing(states.get(&event.goroutine()))));
                if late {
                    let mut count = 0;
                    for change in &mut out[0] {
                        while count + 1 < proc_counts.len() && proc_counts[count + 1].0 < change.time {
                            count += 1;
                        }
                        change.util = (change.util - 1.0 / proc_counts[count].1 as f64).max(0.0);
                    }
                }
                match range.kind {
                    RangeKind::StopTheWorld => stw += 1,
                    _ => {
                        if let Some(p) = proc {
                            procs[p].gc += 1;
                        }
                        if let (RangeKind::GcMarkAssist, Scope::Goroutine(g)) = (range.kind, range.scope) {
                            in_assist.insert(g);
                        }
                    }
                }
            }
            (Details::Range(range), EventKind::RangeEnd) if counts(range) => match range.kind {
                RangeKind::StopTheWorld => stw -= 1,
                _ => {
                    if let Some(p) = proc {
                        procs[p].gc -= 1;
                    }
                    if let (RangeKind::GcMarkAssist, Scope::Goroutine(g)) = (range.kind, range.scope) {
                        in_assist.remove(&g);
                    }
                }
            },
            (Details::StateTransition(st), _) => {
                if let Transition::Goroutine { id, from, to } = st.transition {
                    if in_assist.contains(&id) || background.contains(&id) {
                        let (was, is) = (executing(Some(&from)), executing(Some(&to)));
                        if let Some(p) = proc {
                            if !was && is {
                                procs[p].gc += 1;
                            } else if was && !is {
                                procs[p].gc -= 1;
                            }
                        }
                    }
                    states.insert(id, to);
                }
            }
            (Details::Label(label), _) if flags.background => {
                let label = label.label;
                // Dedicated workers take a whole proc, which per-proc utilization already
                // shows as the goroutines they push off it.
                if label.starts_with(b"GC ") && label != b"GC (idle)" && !(flags.per_proc && label == b"GC (dedicated)")
                {
                    background.insert(event.goroutine());
                    if let Some(p) = proc {
                        procs[p].gc += 1;
                    }
                }
            }
            _ => {}
        }
        if flags.per_proc {
            for p in &procs {
                let util = if stw > 0 || p.gc > 0 { 0.0 } else { 1.0 };
                push_change(&mut out[p.series], UtilChange { time: now, util });
            }
        } else {
            let lost = if stw > 0 { procs.len() } else { procs.iter().filter(|p| p.gc > 0).count() };
            let util = 1.0 - lost as f64 / procs.len() as f64;
            push_change(&mut out[0], UtilChange { time: now, util });
        }
    }
    if let Some(time) = last_time {
        for p in &procs {
            push_change(&mut out[p.series], UtilChange { time, util: 0.0 });
        }
    }
    out
}

/// A window and the mutator utilization in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UtilWindow {
    /// Where the window starts, in nanoseconds.
    pub time: Nanos,
    /// The mean utilization over the window.
    pub util: f64,
}

/// One utilization function with the running integral at each change.
struct Series<'a> {
    changes: &'a [UtilChange],
    /// The integral of utilization from the first change to each change.
    integral: Vec<f64>,
}

impl<'a> Series<'a> {
    fn new(changes: &'a [UtilChange]) -> Series<'a> {
        let mut integral = Vec::with_capacity(changes.len());
        let mut sum = 0.0;
        let mut previous = UtilChange { time: 0, util: 0.0 };
        for &change in changes {
            sum += previous.util * (change.time - previous.time) as f64;
            integral.push(sum);
            previous = change;
        }
        Series { changes, integral }
    }

    fn span(&self) -> Nanos {
        match (self.changes.first(), self.changes.last()) {
            (Some(first), Some(last)) => last.time - first.time,
            _ => 0,
        }
    }

    /// Calls `visit` with the utilization of every window of `window` that starts or ends at
    /// a change, in order of start: among them is the lowest, as the windowed utilization is
    /// piecewise linear between them. Streams: nothing is allocated, whatever the trace's size.
    fn for_each_window(&self, window: Nanos, mut visit: impl FnMut(UtilWindow)) {
        let (Some(first), Some(last)) = (self.changes.first(), self.changes.last()) else { return };
        let (first, latest_start) = (first.time, (last.time - window).max(first.time));
        // Two sorted sequences of candidate starts, merged: changes, and changes less a window.
        let (mut at_change, mut before_change) = (0, 0);
        let (mut left, mut right) = (Cursor::default(), Cursor::default());
        let mut previous = None;
        loop {
            let a = self.changes.get(at_change).map(|c| c.time);
            let b = self.changes.get(before_change).map(|c| c.time - window);
            let time = match (a, b) {
                (Some(a), Some(b)) if a <= b => {
                    at_change += 1;
                    a
                }
                (_, Some(b)) => {
                    before_change += 1;
                    b
                }
                (Some(a), None) => {
                    at_change += 1;
                    a
                }
                (None, None) => break,
            };
            if time < first || time > latest_start || previous == Some(time) {
                continue;
            }
            previous = Some(time);
            let util = (right.integral(self, time + window) - left.integral(self, time)) / window as f64;
            visit(UtilWindow { time, util });
        }
        // The last window always counts, even if no change begins or ends it.
        if previous != Some(latest_start) {
            let util = (Cursor::default().integral(self, latest_start + window)
                - Cursor::default().integral(self, latest_start))
                / window as f64;
            visit(UtilWindow { time: latest_start, util });
        }
    }
}

/// A position in a series for integrals at increasing times.
#[derive(Default)]
struct Cursor {
    index: usize,
}

impl Cursor {
    /// The integral of utilization up to `time`; `time` must not decrease between calls.
    fn integral(&mut self, series: &Series<'_>, time: Nanos) -> f64 {
        let changes = series.changes;
        while self.index + 1 < changes.len() && changes[self.index + 1].time <= time {
            self.index += 1;
        }
        let c = changes[self.index];
        series.integral[self.index] + if time > c.time { c.util * (time - c.time) as f64 } else { 0.0 }
    }
}

/// The mutator utilization functions of a trace, ready for queries by window size.
pub struct MmuCurve<'a> {
    series: Vec<Series<'a>>,
}

impl<'a> MmuCurve<'a> {
    /// The curve of the functions `utilization` returned.
    pub fn new(utilization: &'a [Vec<UtilChange>]) -> MmuCurve<'a> {
        MmuCurve { series: utilization.iter().filter(|s| !s.is_empty()).map(|s| Series::new(s)).collect() }
    }

    /// Calls `visit` with every candidate window of `window` (no longer than each function's
    /// span, as Go does).
    fn for_each_window(&self, window: Nanos, mut visit: impl FnMut(UtilWindow)) {
        for series in &self.series {
            series.for_each_window(window.min(series.span()).max(1), &mut visit);
        }
    }

    /// The minimum mutator utilization over windows of `window` nanoseconds (0 to 1).
    pub fn mmu(&self, window: Nanos) -> f64 {
        // Go's banded search also looks, for one-nanosecond windows only, at the window that
        // starts where each function ends (utilization 0): its MMU at 1 ns is always 0.
        if window <= 0 || (window == 1 && !self.series.is_empty()) {
            return 0.0;
        }
        let mut mmu: f64 = 1.0;
        self.for_each_window(window, |w| mmu = mmu.min(w.util));
        mmu
    }

    /// Up to `n` disjoint windows of `window` with low utilization, lowest first: as Go, a
    /// window replaces the overlapping ones it is lower than, and the `n` lowest are kept.
    pub fn worst_windows(&self, window: Nanos, n: usize) -> Vec<UtilWindow> {
        let mut kept: Vec<UtilWindow> = Vec::new();
        let overlap = |a: &UtilWindow, b: &UtilWindow| a.time < b.time + window && b.time < a.time + window;
        self.for_each_window(window, |candidate| {
            let highest = kept.iter().map(|w| w.util).fold(f64::MIN, f64::max);
            if n == 0 || (kept.len() == n && candidate.util >= highest) {
                return;
            }
            if kept.iter().any(|w| overlap(w, &candidate) && w.util <= candidate.util) {
                return;
            }
            kept.retain(|w| !overlap(w, &candidate));
            kept.push(candidate);
            if kept.len() > n {
                let worst = kept.iter().enumerate().max_by(|a, b| a.1.util.total_cmp(&b.1.util)).map(|(i, _)| i);
                kept.remove(worst.expect("not empty"));
            }
        });
        kept.sort_by(|a, b| a.util.total_cmp(&b.util).then(a.time.cmp(&b.time)));
        kept
    }

    /// The time from the earliest to the latest change of any function.
    pub fn span(&self) -> Nanos {
        let first = self.series.iter().filter_map(|s| s.changes.first()).map(|c| c.time).min();
        let last = self.series.iter().filter_map(|s| s.changes.last()).map(|c| c.time).max();
        first.zip(last).map_or(0, |(a, b)| b - a)
    }

    /// The curve as Go's MMU page plots it: from the smallest power-of-a-thousand window
    /// (of a second, a millisecond, ...) whose MMU is still essentially zero, over six orders of
    /// magnitude or up to the trace's length, at 100 logarithmically spaced window sizes.
    pub fn plot(&self) -> (Nanos, Nanos, Vec<(Nanos, f64)>) {
        let mut x_min: Nanos = 1_000_000_000;
        while x_min > 1 {
            if self.mmu(x_min) < 0.0001 {
                break;
            }
            x_min /= 1000;
        }
        let x_max = (x_min * 1_000_000).min(self.span());
        let (log_min, log_max) = ((x_min as f64).ln(), (x_max as f64).ln());
        const SAMPLES: usize = 100;
        let points = (0..SAMPLES)
            .map(|i| {
                let window = (i as f64 / (SAMPLES - 1) as f64 * (log_max - log_min) + log_min).exp() as Nanos;
                (window, self.mmu(window))
            })
            .collect();
        (x_min, x_max, points)
    }
}

#[cfg(test)]
mod tests {
    use super::{MmuCurve, UtilChange};

    fn series(points: &[(i64, f64)]) -> Vec<Vec<UtilChange>> {
        vec![points.iter().map(|&(time, util)| UtilChange { time, util }).collect()]
    }

    #[test]
    fn mmu_of_a_pause() {
        // Full utilization but for a pause from 100 to 110; the trace ends at 200.
        let util = series(&[(0, 1.0), (100, 0.0), (110, 1.0), (200, 0.0)]);
        let curve = MmuCurve::new(&util);
        assert_eq!(curve.mmu(10), 0.0);
        assert_eq!(curve.mmu(20), 0.5);
        assert_eq!(curve.mmu(200), 190.0 / 200.0);
        // Windows longer than the trace are the whole trace.
        assert_eq!(curve.mmu(1000), 190.0 / 200.0);
        let worst = curve.worst_windows(20, 3);
        assert_eq!(worst[0].util, 0.5);
        assert!(worst.windows(2).all(|w| w[0].time + 20 <= w[1].time || w[1].time + 20 <= w[0].time));
    }
}
