//! What the random walks (`tests/profile_sequences.rs`, `tests/kyuubi_sequences.rs`) share: a
//! seeded generator and the environment knobs that replay or lengthen a walk.
//!
//! The generator is xorshift64*: small, and the same sequence on every machine, so a failure's
//! printed seed replays it exactly. No crate: proptest's runner would shrink by re-running
//! Terraform, which costs seconds a case.

/// The variable that picks a walk's seed.
pub const SEED_VARIABLE: &str = "KONOHA_SEQUENCE_SEED";
/// The variable that sets a walk's length.
pub const STEPS_VARIABLE: &str = "KONOHA_SEQUENCE_STEPS";

/// A seeded pseudo-random sequence.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// The sequence for `seed` (0, which xorshift cannot leave, is taken as 1).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    /// True one time in `n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }

    /// One of `items`.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[usize::try_from(self.next() % items.len() as u64).unwrap()]
    }

    /// Some of `items` (each with even odds), in their order.
    pub fn some_of<T: Copy>(&mut self, items: &[T]) -> Vec<T> {
        items.iter().copied().filter(|_| self.one_in(2)).collect()
    }
}

/// The walk's seed and length: [`SEED_VARIABLE`] and [`STEPS_VARIABLE`] when set to numbers,
/// else the walk's defaults.
pub fn seed_and_steps(default_seed: u64, default_steps: usize) -> (u64, usize) {
    let number = |name: &str| std::env::var(name).ok().and_then(|v| v.parse().ok());
    (
        number(SEED_VARIABLE).unwrap_or(default_seed),
        number(STEPS_VARIABLE).map_or(default_steps, |n: u64| {
            usize::try_from(n).unwrap_or(default_steps)
        }),
    )
}
