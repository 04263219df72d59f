//! Build ids: Prow's default when no `tot` service is configured is a
//! bwmarrin/snowflake id from node 1 (`pkg/pjutil/tot.go`), printed in decimal.
//! The id orders builds in GCS listings and Spyglass, so Skiff's ids must sort
//! the same way and never repeat.
//!
//! Layout (snowflake v0.0.0, the version Prow pins): milliseconds since the
//! Twitter epoch (2010-11-04T01:42:54.657Z) in the high 41 bits, then 10 bits
//! of node, then a 12-bit sequence within the millisecond.

/// The snowflake epoch, in Unix milliseconds.
pub const SNOWFLAKE_EPOCH_MS: i64 = 1_288_834_974_657;
/// The node Prow's plank generates as.
pub const PROW_NODE: u16 = 1;

const NODE_BITS: u32 = 10;
const STEP_BITS: u32 = 12;
const NODE_MAX: u16 = (1 << NODE_BITS) - 1;
const STEP_MASK: i64 = (1 << STEP_BITS) - 1;

/// The node number does not fit the snowflake's 10 node bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("snowflake node {0} is out of range (0..={NODE_MAX})")]
pub struct NodeOutOfRange(pub u16);

/// A snowflake generator with the clock passed in, so it stays pure.
///
/// Ids are strictly increasing across calls. Where the library would spin
/// until the wall clock moves (4096 ids in one millisecond) or go backwards
/// with the clock, this one instead runs on a logical millisecond that never
/// falls behind the last one used, borrowing from the future when a
/// millisecond's sequence is spent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildIdGenerator {
    node: i64,
    last_ms: Option<i64>,
    step: i64,
}

impl Default for BuildIdGenerator {
    fn default() -> Self {
        Self::new()
    }
}

impl BuildIdGenerator {
    /// A generator for node 1, as Prow's.
    pub fn new() -> Self {
        BuildIdGenerator {
            node: i64::from(PROW_NODE),
            last_ms: None,
            step: 0,
        }
    }

    /// A generator for another node, so concurrent generators cannot collide.
    pub fn for_node(node: u16) -> Result<Self, NodeOutOfRange> {
        if node > NODE_MAX {
            return Err(NodeOutOfRange(node));
        }
        Ok(BuildIdGenerator {
            node: i64::from(node),
            ..Self::new()
        })
    }

    /// The next id at wall-clock time `now_ms` (Unix milliseconds).
    pub fn next(&mut self, now_ms: i64) -> String {
        let ms = match self.last_ms {
            Some(last) if now_ms <= last => {
                self.step = (self.step + 1) & STEP_MASK;
                if self.step == 0 {
                    // Saturating: no clock value may panic a pure function.
                    last.saturating_add(1)
                } else {
                    last
                }
            }
            _ => {
                self.step = 0;
                now_ms
            }
        };
        self.last_ms = Some(ms);
        let id = (ms.wrapping_sub(SNOWFLAKE_EPOCH_MS) << (NODE_BITS + STEP_BITS))
            | (self.node << STEP_BITS)
            | self.step;
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_real_prow_build_ids() {
        // Real node-1 ids: origin-ci-test build 1496462115936931840 (the first
        // id of its millisecond) and prow.k8s.io build 1258197944759226371
        // (the fourth), both quoted in Prow's sources; the times are their
        // high bits plus the epoch.
        let mut g = BuildIdGenerator::new();
        assert_eq!(g.next(1_645_619_346_018), "1496462115936931840");

        let mut g = BuildIdGenerator::new();
        let ids: Vec<String> = (0..4).map(|_| g.next(1_588_812_740_875)).collect();
        assert_eq!(ids[3], "1258197944759226371");
    }

    #[test]
    fn layout_is_time_then_node_then_step() {
        let cases = [
            (SNOWFLAKE_EPOCH_MS, 1, "4096"),
            (SNOWFLAKE_EPOCH_MS, 0, "0"),
            (SNOWFLAKE_EPOCH_MS + 1, 1, "4198400"),
            (SNOWFLAKE_EPOCH_MS, 1023, "4190208"),
            (1_700_000_000_000, 1, "1724551110456250368"),
        ];
        for (ms, node, want) in cases {
            let mut g = BuildIdGenerator::for_node(node).unwrap();
            assert_eq!(g.next(ms), want, "{ms} node {node}");
        }
    }

    #[test]
    fn node_must_fit_ten_bits() {
        assert!(BuildIdGenerator::for_node(1023).is_ok());
        assert_eq!(BuildIdGenerator::for_node(1024), Err(NodeOutOfRange(1024)));
    }

    #[test]
    fn ids_strictly_increase_within_one_millisecond_past_the_sequence() {
        let mut g = BuildIdGenerator::new();
        let t = 1_700_000_000_000;
        let mut prev: i64 = g.next(t).parse().unwrap();
        for _ in 0..10_000 {
            let id: i64 = g.next(t).parse().unwrap();
            assert!(id > prev, "{id} <= {prev}");
            prev = id;
        }
    }

    #[test]
    fn ids_strictly_increase_when_the_clock_steps_back() {
        let mut g = BuildIdGenerator::new();
        let clock = [
            1_000_000_000_000i64,
            1_000_000_000_005,
            999_999_999_000,
            1_000_000_000_005,
            1_000_000_000_006,
        ];
        let mut prev = i64::MIN;
        for now in clock {
            let id: i64 = g.next(now).parse().unwrap();
            assert!(id > prev, "at {now}: {id} <= {prev}");
            prev = id;
        }
        // The clock is back past the last id's millisecond: ids follow it again.
        let expected = ((1_000_000_000_007 - SNOWFLAKE_EPOCH_MS) << 22) | (1 << 12);
        assert_eq!(g.next(1_000_000_000_007), expected.to_string());
    }

    #[test]
    fn extreme_clock_values_do_not_panic() {
        let mut g = BuildIdGenerator::new();
        for now in [i64::MIN, 0, i64::MAX, i64::MAX] {
            let _ = g.next(now);
        }
    }
}
