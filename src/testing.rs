//! Helpers shared by the unit tests.

/// Marsaglia's xorshift64: a fixed, dependency-free stream of test inputs,
/// the same on every machine.
pub struct Xorshift(u64);

impl Xorshift {
    /// `seed` must not be zero (the stream would stay at zero).
    pub fn new(seed: u64) -> Self {
        Xorshift(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}
