//! Coarser versions of a lane's spans, so that a zoomed-out window is answered from a number of
//! spans proportional to its width in pixels, not to the trace's size.
//!
//! Level `k` has a resolution of `BASE * FACTOR^k` nanoseconds: consecutive spans are grouped
//! while a group covers at most one resolution step, so two consecutive groups always cover
//! more than one step and a window of `w` steps holds at most about `2w` groups. A level is
//! kept only when it holds at most a quarter of the spans of the finer level kept before it:
//! the pyramid then costs at most a third of the lane, and a query reads at most four times
//! the spans of the ideal level. Short lanes get no levels: reading them whole is cheap.

use crate::timeline::{Span, SpanKind};

/// The finest resolution of the pyramid, in nanoseconds.
const BASE: i64 = 1_000;
/// How much coarser each level is than the one below.
const FACTOR: i64 = 4;
/// Lanes with fewer spans than this are answered from their spans directly.
const MIN_SPANS_FOR_LEVELS: usize = 512;

/// A span as the page receives it: possibly several spans merged below pixel resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merged {
    /// Start of the first span.
    pub start: i64,
    /// End of the last span.
    pub end: i64,
    /// How many spans of the lane this stands for.
    pub count: u32,
    /// The kind covering most of its time.
    pub kind: SpanKind,
    /// The label of the span when `count` is 1 (see [`Span::label`]).
    pub label: u32,
}

impl Merged {
    fn of(span: &Span) -> Merged {
        Merged { start: span.start, end: span.end, count: 1, kind: span.kind(), label: span.label() }
    }
}

/// One level of the pyramid.
#[derive(Debug)]
struct Level {
    resolution: i64,
    spans: Vec<Merged>,
}

/// The pyramid of one lane.
#[derive(Debug, Default)]
pub struct Levels {
    levels: Vec<Level>,
}

/// Groups consecutive spans while a group covers at most `resolution`.
fn merge(spans: impl Iterator<Item = Merged>, resolution: i64) -> Vec<Merged> {
    let mut out: Vec<Merged> = Vec::new();
    let mut time_by_kind = [0i64; SpanKind::ALL.len()];
    let finish = |group: &mut Merged, time_by_kind: &mut [i64; SpanKind::ALL.len()]| {
        if group.count > 1 {
            // Ties go to the lowest-numbered kind, so the result does not depend on order.
            let best = (0..time_by_kind.len()).max_by_key(|&k| (time_by_kind[k], std::cmp::Reverse(k))).unwrap_or(0);
            group.kind = SpanKind::ALL[best];
            group.label = 0;
        }
        time_by_kind.fill(0);
    };
    for span in spans {
        match out.last_mut() {
            Some(group) if span.end - group.start <= resolution => {
                group.end = group.end.max(span.end);
                group.count += span.count;
                time_by_kind[span.kind as usize] += span.end - span.start;
            }
            _ => {
                if let Some(group) = out.last_mut() {
                    finish(group, &mut time_by_kind);
                }
                time_by_kind[span.kind as usize] += span.end - span.start;
                out.push(span);
            }
        }
    }
    if let Some(group) = out.last_mut() {
        finish(group, &mut time_by_kind);
    }
    out
}

impl Levels {
    /// Builds the pyramid over `spans` (sorted, not overlapping).
    pub fn build(spans: &[Span]) -> Levels {
        let extent = match (spans.first(), spans.last()) {
            (Some(first), Some(last)) => last.end - first.start,
            _ => return Levels::default(),
        };
        if spans.len() < MIN_SPANS_FOR_LEVELS {
            return Levels::default();
        }
        let mut levels = Vec::new();
        let mut kept_len = spans.len();
        let mut resolution = BASE;
        let mut current: Vec<Merged> = merge(spans.iter().map(Merged::of), resolution);
        loop {
            let len = current.len();
            let next_resolution = resolution.saturating_mul(FACTOR);
            let next = (len > 1 && resolution < extent).then(|| merge(current.iter().copied(), next_resolution));
            if len * 4 <= kept_len {
                kept_len = len;
                levels.push(Level { resolution, spans: current });
            }
            match next {
                Some(next) => current = next,
                None => break,
            }
            resolution = next_resolution;
        }
        levels.shrink_to_fit();
        Levels { levels }
    }

    /// How many merged spans all levels hold (for memory accounting and tests).
    pub fn len(&self) -> usize {
        self.levels.iter().map(|l| l.spans.len()).sum()
    }

    /// Whether no level was kept.
    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    /// The spans overlapping `[start, end)` at `resolution` nanoseconds per pixel, read from
    /// the coarsest level that is still fine enough and merged once more to exactly
    /// `resolution`.
    pub fn query(&self, raw: &[Span], start: i64, end: i64, resolution: i64) -> Vec<Merged> {
        let level = self.levels.iter().rev().find(|l| l.resolution <= resolution);
        match level {
            Some(level) => {
                let first = level.spans.partition_point(|s| s.end <= start);
                let window = level.spans[first..].iter().take_while(|s| s.start < end).copied();
                merge(window, resolution)
            }
            None => {
                let first = raw.partition_point(|s| s.end <= start);
                let window = raw[first..].iter().take_while(|s| s.start < end).map(Merged::of);
                merge(window, resolution)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: i64, end: i64, kind: SpanKind) -> Span {
        Span::new(start, end, 7, 0, kind)
    }

    /// A lane alternating running and waiting every `step` nanoseconds, `n` spans long.
    fn alternating(n: i64, step: i64) -> Vec<Span> {
        (0..n)
            .map(|i| span(i * step, (i + 1) * step, if i % 2 == 0 { SpanKind::Running } else { SpanKind::Waiting }))
            .collect()
    }

    #[test]
    fn zoomed_out_answers_are_bounded_by_the_width() {
        let spans = alternating(1_000_000, 100);
        let levels = Levels::build(&spans);
        let width = 1000;
        let extent = 100 * 1_000_000;
        let answer = levels.query(&spans, 0, extent, extent / width);
        assert!(answer.len() <= 2 * width as usize + 2, "{} spans for {width} pixels", answer.len());
        let total: u32 = answer.iter().map(|m| m.count).sum();
        assert_eq!(total, 1_000_000, "every span is accounted for exactly once");
        assert_eq!(answer.first().map(|m| m.start), Some(0));
        assert_eq!(answer.last().map(|m| m.end), Some(extent));
    }

    #[test]
    fn zoomed_in_answers_are_the_spans_themselves() {
        let spans = alternating(1000, 10_000);
        let levels = Levels::build(&spans);
        let answer = levels.query(&spans, 25_000, 55_000, 10);
        let got: Vec<(i64, i64, SpanKind, u32)> = answer.iter().map(|m| (m.start, m.end, m.kind, m.label)).collect();
        assert_eq!(
            got,
            vec![
                (20_000, 30_000, SpanKind::Running, 7),
                (30_000, 40_000, SpanKind::Waiting, 7),
                (40_000, 50_000, SpanKind::Running, 7),
                (50_000, 60_000, SpanKind::Waiting, 7),
            ]
        );
        assert!(answer.iter().all(|m| m.count == 1));
    }

    #[test]
    fn merged_spans_take_the_kind_covering_most_time() {
        let spans = vec![
            span(0, 10, SpanKind::Running),
            span(10, 90, SpanKind::Waiting),
            span(90, 100, SpanKind::Running),
            span(1_000_000, 1_000_100, SpanKind::Syscall),
        ];
        let levels = Levels::build(&spans);
        let answer = levels.query(&spans, 0, 2_000_000, 1000);
        assert_eq!(answer.len(), 2, "{answer:?}");
        assert_eq!((answer[0].count, answer[0].kind, answer[0].end), (3, SpanKind::Waiting, 100));
        assert_eq!((answer[1].count, answer[1].kind), (1, SpanKind::Syscall));
    }

    #[test]
    fn long_spans_keep_no_useless_levels() {
        let spans = alternating(10_000, 1_000_000_000);
        let levels = Levels::build(&spans);
        assert!(levels.len() <= spans.len() / 3, "levels hold {} spans for {} raw ones", levels.len(), spans.len());
    }

    #[test]
    fn the_pyramid_costs_at_most_a_third_of_the_lane() {
        for step in [1, 100, 300, 1_000, 5_000, 70_000] {
            let spans = alternating(100_000, step);
            let levels = Levels::build(&spans);
            assert!(levels.len() <= spans.len() / 3, "step {step}: {} merged for {} spans", levels.len(), spans.len());
        }
    }
}
