//! Compact storage for a counter's points. The goroutine counters of a big trace change at
//! almost every event (tens of millions of points), so a point takes 8 bytes, not 16: it is
//! stored as an offset from the start of its block (time as `u32` nanoseconds, value as
//! `i32`), and a point that does not fit starts a new block.

use std::ops::Range;

/// A counter's points `(time, value)`, sorted by time.
#[derive(Debug, Default)]
pub struct Points {
    blocks: Vec<Block>,
    offsets: Vec<(u32, i32)>,
}

/// Where a run of points starts: their times and values are offsets from this one's.
#[derive(Debug, Clone, Copy)]
struct Block {
    time: i64,
    value: i64,
    first: usize,
}

impl Points {
    /// How many points there are.
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// Appends a point (its time must not be before the last one's).
    pub fn push(&mut self, time: i64, value: i64) {
        if let Some(block) = self.blocks.last() {
            let time_offset = time.checked_sub(block.time).and_then(|d| u32::try_from(d).ok());
            let value_offset = value.checked_sub(block.value).and_then(|d| i32::try_from(d).ok());
            if let (Some(dt), Some(dv)) = (time_offset, value_offset) {
                self.offsets.push((dt, dv));
                return;
            }
        }
        self.blocks.push(Block { time, value, first: self.offsets.len() });
        self.offsets.push((0, 0));
    }

    /// Removes the last point and returns it.
    pub fn pop(&mut self) -> Option<(i64, i64)> {
        let last = self.last()?;
        self.offsets.pop();
        if self.blocks.last().is_some_and(|b| b.first == self.offsets.len()) {
            self.blocks.pop();
        }
        Some(last)
    }

    /// The last point.
    pub fn last(&self) -> Option<(i64, i64)> {
        self.len().checked_sub(1).map(|i| self.get(i))
    }

    /// The point at `index` (< [`len`](Self::len)).
    pub fn get(&self, index: usize) -> (i64, i64) {
        let block = self.blocks[self.blocks.partition_point(|b| b.first <= index) - 1];
        let (dt, dv) = self.offsets[index];
        (block.time + i64::from(dt), block.value + i64::from(dv))
    }

    /// The first index in `range` whose point fails `predicate`, which must hold for a prefix
    /// of the points (as [`slice::partition_point`]).
    pub fn partition_point_in(&self, range: Range<usize>, predicate: impl Fn((i64, i64)) -> bool) -> usize {
        let (mut low, mut high) = (range.start, range.end.min(self.len()));
        while low < high {
            let middle = low + (high - low) / 2;
            if predicate(self.get(middle)) {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        low
    }

    /// The points from `index` on, in order.
    pub fn iter_from(&self, index: usize) -> impl Iterator<Item = (i64, i64)> + '_ {
        let first_block = self.blocks.partition_point(|b| b.first <= index).saturating_sub(1);
        self.blocks[first_block.min(self.blocks.len())..].iter().enumerate().flat_map(move |(k, block)| {
            let end = self.blocks.get(first_block + k + 1).map_or(self.offsets.len(), |next| next.first);
            let from = block.first.max(index).min(end);
            self.offsets[from..end]
                .iter()
                .map(move |&(dt, dv)| (block.time + i64::from(dt), block.value + i64::from(dv)))
        })
    }

    /// Every point, in order.
    pub fn iter(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.iter_from(0)
    }

    /// Gives back what growing left unused.
    pub fn shrink_to_fit(&mut self) {
        self.blocks.shrink_to_fit();
        self.offsets.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn points_read_back_as_pushed(steps in prop::collection::vec((0i64..=(1 << 34), -(1i64 << 40)..(1 << 40), any::<bool>()), 0..300)) {
            let mut points = Points::default();
            let mut expected: Vec<(i64, i64)> = Vec::new();
            let mut time = -5_000_000_000i64;
            for (step, value, pop) in steps {
                if pop {
                    prop_assert_eq!(points.pop(), expected.pop());
                    continue;
                }
                // Small steps mostly, so that blocks hold several points; sometimes huge ones.
                time += if step % 7 == 0 { step } else { step % 1000 };
                let value = if value % 3 == 0 { value } else { value % 100 };
                points.push(time, value);
                expected.push((time, value));
            }
            prop_assert_eq!(points.len(), expected.len());
            prop_assert_eq!(points.iter().collect::<Vec<_>>(), expected.clone());
            for i in 0..expected.len() {
                prop_assert_eq!(points.get(i), expected[i]);
                prop_assert_eq!(points.iter_from(i).collect::<Vec<_>>(), expected[i..].to_vec());
            }
            prop_assert_eq!(points.iter_from(expected.len()).count(), 0);
            for probe in expected.iter().map(|p| p.0).chain([i64::MIN, i64::MAX]) {
                prop_assert_eq!(
                    points.partition_point_in(0..expected.len(), |p| p.0 < probe),
                    expected.partition_point(|p| p.0 < probe)
                );
            }
        }
    }

    #[test]
    fn a_dense_counter_takes_eight_bytes_a_point() {
        let mut points = Points::default();
        for i in 0..1_000_000i64 {
            points.push(i * 137, i % 50);
        }
        assert_eq!(points.blocks.len(), 1);
        assert_eq!(std::mem::size_of_val(&points.offsets[0]), 8);
    }
}
