//! Budgets that bound what one unpack may cost.
//!
//! Firmware is attacker-controlled: a 4 KiB gzip can expand to gigabytes and a
//! container can nest itself hundreds of times. Every extractor charges the
//! shared [`Budget`] before it keeps bytes or files, and checks the clock in
//! its loops, so a hostile image ends as a `partial` container with a reason,
//! never as a hang or an out-of-memory kill.

use std::time::{Duration, Instant};

/// User-settable limits. The defaults suit images of up to a few hundred MiB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// How many containers deep recursion may go.
    pub max_depth: u32,
    /// Total bytes all extractors together may produce, as a multiple of the
    /// input size; see [`Limits::max_total_bytes_for`].
    pub max_expansion: u64,
    /// Floor for the total-bytes budget, so that small inputs may still expand.
    pub min_total_bytes: u64,
    /// Ceiling for the total-bytes budget, whatever the input size.
    pub max_total_bytes: u64,
    /// Files (of any kind) all filesystems together may hold.
    pub max_files: u64,
    /// Wall-clock time one extractor may run.
    pub max_extractor_time: Duration,
    /// Wall-clock time the whole unpack may run.
    pub max_total_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 16,
            max_expansion: 64,
            min_total_bytes: 256 << 20,
            max_total_bytes: 8 << 30,
            max_files: 500_000,
            max_extractor_time: Duration::from_secs(120),
            max_total_time: Duration::from_secs(900),
        }
    }
}

impl Limits {
    /// The total-bytes budget for an input of `input_len` bytes.
    pub fn max_total_bytes_for(&self, input_len: u64) -> u64 {
        input_len
            .saturating_mul(self.max_expansion)
            .max(self.min_total_bytes)
            .min(self.max_total_bytes)
    }
}

/// Which budget ran out. Its text goes into the report verbatim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetExceeded {
    #[error("depth budget exceeded: containers nest deeper than {0}")]
    Depth(u32),
    #[error("size budget exceeded: extraction would produce more than {0} bytes in total")]
    TotalBytes(u64),
    #[error("file-count budget exceeded: more than {0} files in total")]
    FileCount(u64),
    #[error("time budget exceeded: extractor ran longer than {0:?}")]
    ExtractorTime(Duration),
    #[error("time budget exceeded: unpack ran longer than {0:?}")]
    TotalTime(Duration),
}

/// What has been spent so far, shared by all extractors of one unpack.
#[derive(Debug)]
pub struct Budget {
    limits: Limits,
    total_bytes: u64,
    bytes_used: u64,
    files_used: u64,
    started: Instant,
}

impl Budget {
    pub fn new(limits: Limits, input_len: u64) -> Self {
        let total_bytes = limits.max_total_bytes_for(input_len);
        Budget {
            limits,
            total_bytes,
            bytes_used: 0,
            files_used: 0,
            started: Instant::now(),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Bytes produced so far.
    pub fn bytes_used(&self) -> u64 {
        self.bytes_used
    }

    /// Bytes that may still be produced.
    pub fn remaining_bytes(&self) -> u64 {
        self.total_bytes.saturating_sub(self.bytes_used)
    }

    /// Account for `n` produced bytes, or refuse them all.
    pub fn charge_bytes(&mut self, n: u64) -> Result<(), BudgetExceeded> {
        if n > self.remaining_bytes() {
            return Err(BudgetExceeded::TotalBytes(self.total_bytes));
        }
        self.bytes_used += n;
        Ok(())
    }

    /// Account for one more file, or refuse it.
    pub fn charge_file(&mut self) -> Result<(), BudgetExceeded> {
        if self.files_used >= self.limits.max_files {
            return Err(BudgetExceeded::FileCount(self.limits.max_files));
        }
        self.files_used += 1;
        Ok(())
    }

    /// Refuse to go deeper than the depth limit.
    pub fn check_depth(&self, depth: u32) -> Result<(), BudgetExceeded> {
        if depth > self.limits.max_depth {
            return Err(BudgetExceeded::Depth(self.limits.max_depth));
        }
        Ok(())
    }

    /// A deadline for one extractor: the sooner of its own limit and the
    /// whole unpack's.
    pub fn extractor_deadline(&self) -> Deadline {
        let now = Instant::now();
        let total_end = self.started + self.limits.max_total_time;
        let own_end = now + self.limits.max_extractor_time;
        if total_end <= own_end {
            Deadline {
                at: total_end,
                exceeded: BudgetExceeded::TotalTime(self.limits.max_total_time),
            }
        } else {
            Deadline {
                at: own_end,
                exceeded: BudgetExceeded::ExtractorTime(self.limits.max_extractor_time),
            }
        }
    }
}

/// A point in time after which an extractor must stop.
#[derive(Debug, Clone)]
pub struct Deadline {
    at: Instant,
    exceeded: BudgetExceeded,
}

impl Deadline {
    /// A deadline that never passes within any realistic run; for tests and
    /// for callers outside an unpack.
    pub fn far() -> Self {
        Deadline {
            at: Instant::now() + Duration::from_secs(365 * 24 * 3600),
            exceeded: BudgetExceeded::TotalTime(Duration::from_secs(365 * 24 * 3600)),
        }
    }

    pub fn check(&self) -> Result<(), BudgetExceeded> {
        if Instant::now() >= self.at {
            Err(self.exceeded.clone())
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_bytes_scale_with_input_between_floor_and_ceiling() {
        let l = Limits::default();
        assert_eq!(l.max_total_bytes_for(1), l.min_total_bytes);
        assert_eq!(l.max_total_bytes_for(16 << 20), 1 << 30);
        assert_eq!(l.max_total_bytes_for(1 << 40), l.max_total_bytes);
    }

    #[test]
    fn charges_are_refused_past_the_limit() {
        let limits = Limits {
            min_total_bytes: 10,
            max_files: 2,
            ..Limits::default()
        };
        let mut b = Budget::new(limits, 0);
        assert!(b.charge_bytes(6).is_ok());
        assert_eq!(b.charge_bytes(5), Err(BudgetExceeded::TotalBytes(10)));
        assert!(b.charge_bytes(4).is_ok());
        assert!(b.charge_file().is_ok());
        assert!(b.charge_file().is_ok());
        assert_eq!(b.charge_file(), Err(BudgetExceeded::FileCount(2)));
    }

    #[test]
    fn depth_is_checked_against_the_limit() {
        let b = Budget::new(Limits::default(), 0);
        assert!(b.check_depth(16).is_ok());
        assert_eq!(b.check_depth(17), Err(BudgetExceeded::Depth(16)));
    }

    #[test]
    fn a_zero_time_budget_expires_at_once() {
        let limits = Limits {
            max_extractor_time: Duration::ZERO,
            ..Limits::default()
        };
        let b = Budget::new(limits, 0);
        assert!(b.extractor_deadline().check().is_err());
        assert!(Deadline::far().check().is_ok());
    }
}
