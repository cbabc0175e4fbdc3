//! The virtual WASI a plugin's context is built from: clocks that read the same on every run
//! and randomness from a seed. Every store gets these, so even an interface a plugin was
//! granted shows it nothing of the host (see [`gavel_sandbox::Capability`]).

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gavel_sandbox::VIRTUAL_WALL_CLOCK_SECS;
use rand_core::TryRng;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock};

/// Nanoseconds the virtual monotonic clock advances per reading (and its resolution).
const MONOTONIC_STEP_NS: u64 = 1_000;

/// A wall clock stopped at 2000-01-01T00:00:00Z.
pub(crate) struct FixedWallClock;

impl HostWallClock for FixedWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_micros(1)
    }

    fn now(&self) -> Duration {
        Duration::from_secs(VIRTUAL_WALL_CLOCK_SECS)
    }
}

/// A monotonic clock that starts at 0 and advances one step per reading, whatever the real
/// time: a loop waiting for elapsed time still ends, after a number of readings that is the
/// same on every run.
#[derive(Default)]
pub(crate) struct SteppingClock {
    readings: AtomicU64,
}

impl HostMonotonicClock for SteppingClock {
    fn resolution(&self) -> u64 {
        MONOTONIC_STEP_NS
    }

    fn now(&self) -> u64 {
        self.readings.fetch_add(1, Ordering::Relaxed).saturating_mul(MONOTONIC_STEP_NS)
    }
}

/// SplitMix64 (Steele, Lea and Flood, 2014): a small generator whose output is fixed by its
/// definition, so a seed gives the same stream in every gavel version, unlike a library
/// generator whose algorithm may change. Deterministic on purpose, hence not secret.
pub(crate) struct SeededRandom {
    state: u64,
}

impl SeededRandom {
    /// A stream from `seed`; `stream` separates the streams of one seed (secure, insecure).
    pub(crate) fn new(seed: u64, stream: u64) -> Self {
        let mut rng = Self { state: seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03) };
        rng.next();
        rng
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl TryRng for SeededRandom {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.next() >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.next())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

/// The `insecure-seed` value for `seed`: derived from it, so it too is the same on every run.
pub(crate) fn insecure_seed(seed: u64) -> u128 {
    let mut rng = SeededRandom::new(seed, 3);
    (u128::from(rng.next()) << 64) | u128::from(rng.next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_its_reference_output() {
        // The first outputs of SplitMix64 seeded with 0, as published with the algorithm.
        let mut rng = SeededRandom { state: 0 };
        assert_eq!(rng.next(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn one_seed_one_stream() {
        let draw = |seed, stream| {
            let mut bytes = [0u8; 13];
            SeededRandom::new(seed, stream).try_fill_bytes(&mut bytes).unwrap();
            bytes
        };
        assert_eq!(draw(7, 1), draw(7, 1));
        assert_ne!(draw(7, 1), draw(8, 1));
        assert_ne!(draw(7, 1), draw(7, 2));
    }

    #[test]
    fn the_clocks_do_not_read_the_host() {
        assert_eq!(FixedWallClock.now(), Duration::from_secs(946_684_800));
        let clock = SteppingClock::default();
        assert_eq!((clock.now(), clock.now(), clock.now()), (0, 1_000, 2_000));
    }
}
