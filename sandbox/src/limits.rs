//! The limits a plugin call runs under.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Per-plugin limits. Budgets are per sample; a batch of `n` samples gets `n` times the fuel
/// and the deadline (the deadline capped at `max_batch_deadline_ms`). When a batch fails, the
/// host scores its samples again one by one with the per-sample budgets, so one bad sample
/// cannot take its neighbours down.
///
/// As JSON (every field optional, unknown fields refused):
/// `{"fuel_per_sample": 100000000, "deadline_ms": 1000, "memory_mib": 64, ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WasmLimits {
    /// Instructions (fuel) per sample. Default 100 M: about 0.1 s of guest work, ten times
    /// Shopify Functions' 11 M; deterministic, so the same input always hits it or never does.
    pub fuel_per_sample: u64,
    /// Wall-clock deadline per sample, in milliseconds. Default 1 000: a safety net behind
    /// fuel, for time spent where fuel does not count (bulk memory copies, host calls).
    pub deadline_ms: u64,
    /// Cap on one batch call's deadline, in milliseconds. Default 10 000.
    pub max_batch_deadline_ms: u64,
    /// Linear memory cap per plugin instance, in MiB. Default 64.
    pub memory_mib: u64,
    /// Cap on one sample's input (prompt, completion, reference JSON, task, group), in bytes.
    /// Default 1 MiB; a larger sample is `invalid` without running the plugin.
    pub max_input_bytes: u64,
    /// Cap on one sample's output (component names, explanation), in bytes. Default 16 KiB.
    pub max_output_bytes: u64,
    /// Cap on components per sample. Default 64.
    pub max_components: u64,
    /// Bytes of the plugin's stderr kept for error messages (a panic message). Default 8 KiB.
    pub stderr_bytes: u64,
    /// Samples per plugin call. Default 64: large enough to spread a call's fixed cost
    /// (instantiation and the memory reset after it: ~10 µs for a trivial plugin, ~50 µs for
    /// `math`; BENCHMARKS.md), small enough that a failed batch is cheap to re-run sample by
    /// sample. A batch is trusted only if it stayed within *one* sample's fuel and deadline as a
    /// whole, so samples that each take more than `1/batch_size` of those are scored twice; the
    /// host warns once per plugin when a batch goes past, with a batch size that fits.
    pub batch_size: u64,
}

impl Default for WasmLimits {
    fn default() -> Self {
        Self {
            fuel_per_sample: 100_000_000,
            deadline_ms: 1_000,
            max_batch_deadline_ms: 10_000,
            memory_mib: 64,
            max_input_bytes: 1 << 20,
            max_output_bytes: 16 << 10,
            max_components: 64,
            stderr_bytes: 8 << 10,
            batch_size: 64,
        }
    }
}

/// A limit that cannot be enforced as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("limit `{field}` {problem}")]
pub struct LimitError {
    /// The field at fault.
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl WasmLimits {
    /// The largest memory cap a plugin may ask for, in MiB (a 32-bit linear memory).
    pub const MAX_MEMORY_MIB: u64 = 4096;

    /// Checks that every limit is enforceable.
    pub fn validate(&self) -> Result<(), LimitError> {
        let positive = [
            ("fuel_per_sample", self.fuel_per_sample),
            ("deadline_ms", self.deadline_ms),
            ("max_batch_deadline_ms", self.max_batch_deadline_ms),
            ("memory_mib", self.memory_mib),
            ("max_input_bytes", self.max_input_bytes),
            ("max_output_bytes", self.max_output_bytes),
            ("batch_size", self.batch_size),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(LimitError { field, problem: "must be greater than 0".into() });
            }
        }
        if self.memory_mib > Self::MAX_MEMORY_MIB {
            return Err(LimitError {
                field: "memory_mib",
                problem: format!(
                    "is {} but at most {} is supported",
                    self.memory_mib,
                    Self::MAX_MEMORY_MIB
                ),
            });
        }
        if self.max_batch_deadline_ms < self.deadline_ms {
            return Err(LimitError {
                field: "max_batch_deadline_ms",
                problem: format!(
                    "({}) is below deadline_ms ({})",
                    self.max_batch_deadline_ms, self.deadline_ms
                ),
            });
        }
        Ok(())
    }

    /// The per-sample deadline.
    pub fn deadline(&self) -> Duration {
        Duration::from_millis(self.deadline_ms)
    }

    /// The deadline of a call over `samples` samples.
    pub fn batch_deadline(&self, samples: usize) -> Duration {
        let ms = self.deadline_ms.saturating_mul(samples.max(1) as u64);
        Duration::from_millis(ms.min(self.max_batch_deadline_ms))
    }

    /// The fuel of a call over `samples` samples.
    pub fn batch_fuel(&self, samples: usize) -> u64 {
        self.fuel_per_sample.saturating_mul(samples.max(1) as u64)
    }

    /// The memory cap in bytes.
    pub fn memory_bytes(&self) -> usize {
        usize::try_from(self.memory_mib << 20).unwrap_or(usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        WasmLimits::default().validate().unwrap();
    }

    #[test]
    fn errors_name_the_field() {
        let limits = WasmLimits { deadline_ms: 0, ..WasmLimits::default() };
        assert_eq!(limits.validate().unwrap_err().field, "deadline_ms");
        let limits = WasmLimits { memory_mib: 8192, ..WasmLimits::default() };
        assert!(limits.validate().unwrap_err().to_string().contains("memory_mib"));
    }

    #[test]
    fn json_fields_are_checked() {
        let limits: WasmLimits = serde_json::from_str(r#"{"deadline_ms": 50}"#).unwrap();
        assert_eq!(limits.deadline_ms, 50);
        assert_eq!(limits.fuel_per_sample, WasmLimits::default().fuel_per_sample);
        let err = serde_json::from_str::<WasmLimits>(r#"{"deadline": 50}"#).unwrap_err();
        assert!(err.to_string().contains("deadline"), "{err}");
    }

    #[test]
    fn batch_budgets_scale_and_cap() {
        let limits = WasmLimits::default();
        assert_eq!(limits.batch_fuel(64), 64 * limits.fuel_per_sample);
        assert_eq!(limits.batch_deadline(3), Duration::from_millis(3_000));
        assert_eq!(limits.batch_deadline(64), Duration::from_millis(10_000));
    }
}
