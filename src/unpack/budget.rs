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
#[derive(Debug, Clone)]
pub struct Budget {
    limits: Limits,
    total_bytes: u64,
    bytes_used: u64,
    files_used: u64,
    started: Instant,
    /// Whether a charge was ever refused (see [`Budget::absorb`]).
    refused: bool,
}

/// Bytes and files spent at one moment, to measure a fork's spend from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spent {
    bytes: u64,
    files: u64,
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
            refused: false,
        }
    }

    /// What has been spent so far.
    pub fn spent(&self) -> Spent {
        Spent {
            bytes: self.bytes_used,
            files: self.files_used,
        }
    }

    /// A copy for work done beside the sequential run (the unpacker
    /// decodes the next container while the current one decodes): the
    /// same limits and clock, and the spend so far. Its spend is taken in
    /// by [`Budget::absorb`] or thrown away.
    pub fn fork(&self) -> Budget {
        Budget {
            refused: false,
            ..self.clone()
        }
    }

    /// Take in what `fork` spent since it was forked from this budget when
    /// this budget had spent `base`, as if its work had run after all this
    /// budget spent since. Returns false, and takes nothing, when the fork
    /// was refused a charge or the sum passes a limit: then the fork's work
    /// is not what a sequential run would have done, and must be redone.
    ///
    /// Why the rest is what a sequential run does: the fork saw at least as
    /// much room as the sequential run would have left it, so whatever it
    /// was refused would have been refused too, in the same words (a
    /// refusal names the limit or the refused size, never the room left;
    /// see [`Budget::refuse_bytes`]); and whatever it kept it was charged
    /// for, so when the sum fits, every charge would have fitted in
    /// sequence.
    pub fn absorb(&mut self, base: Spent, fork: &Budget) -> bool {
        let bytes = fork.bytes_used.saturating_sub(base.bytes);
        let files = fork.files_used.saturating_sub(base.files);
        if fork.refused
            || bytes > self.remaining_bytes()
            || files > self.limits.max_files.saturating_sub(self.files_used)
        {
            return false;
        }
        self.bytes_used += bytes;
        self.files_used += files;
        true
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
            self.refused = true;
            return Err(BudgetExceeded::TotalBytes(self.total_bytes));
        }
        self.bytes_used += n;
        Ok(())
    }

    /// The refusal for bytes an extractor found too many by comparing them
    /// with [`Budget::remaining_bytes`] itself (a file larger than what is
    /// left). It names the whole budget, as a refused charge does, never
    /// what happened to be left: a fork of this budget (see
    /// [`Budget::fork`]) must refuse with the same words as the sequential
    /// run, and it is marked refused, as a refused charge is.
    pub fn refuse_bytes(&mut self) -> BudgetExceeded {
        self.refused = true;
        BudgetExceeded::TotalBytes(self.total_bytes)
    }

    /// Account for one more file, or refuse it.
    pub fn charge_file(&mut self) -> Result<(), BudgetExceeded> {
        if self.files_used >= self.limits.max_files {
            self.refused = true;
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
    fn a_fork_is_taken_in_only_when_its_spend_fits_after_the_main_run() {
        let limits = Limits {
            min_total_bytes: 100,
            max_files: 10,
            ..Limits::default()
        };
        let mut main = Budget::new(limits, 0);
        main.charge_bytes(10).unwrap();
        let base = main.spent();
        let mut fork = main.fork();
        fork.charge_bytes(40).unwrap();
        fork.charge_file().unwrap();
        main.charge_bytes(50).unwrap();
        assert!(main.absorb(base, &fork));
        assert_eq!((main.bytes_used(), main.remaining_bytes()), (100, 0));
        assert_eq!(main.spent(), Spent { bytes: 100, files: 1 });

        // 10 + 50 in the main run and 41 in the fork: one byte too many.
        let mut main = Budget::new(main.limits().clone(), 0);
        main.charge_bytes(10).unwrap();
        let base = main.spent();
        let mut fork = main.fork();
        fork.charge_bytes(41).unwrap();
        main.charge_bytes(50).unwrap();
        assert!(!main.absorb(base, &fork));
        assert_eq!(main.bytes_used(), 60, "a refused fork takes nothing");

        // A fork that was refused a charge is never taken in, even if
        // what it kept fits.
        let mut fork = main.fork();
        assert!(fork.charge_bytes(1000).is_err());
        assert!(!main.absorb(main.spent(), &fork));
        let mut fork = main.fork();
        for _ in 0..10 {
            fork.charge_file().unwrap();
        }
        assert!(fork.charge_file().is_err());
        assert!(!main.absorb(main.spent(), &fork));
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
