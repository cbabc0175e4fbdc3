//! One plugin call: a fresh `Store` and instance per batch, the budgets of `WasmLimits`, and
//! the translation of everything that can go wrong into typed outcomes.
//!
//! A batch runs in one instance with `n` times the per-sample budgets. If the call as a
//! whole fails (a trap, a spin, a memory bomb, output that breaks the contract), nothing in
//! it can be trusted, so each of its samples is run again alone with the per-sample budgets:
//! the culprit gets its failure, and its neighbours their rewards.
//!
//! A batch that succeeds is trusted only if it stayed within *one* sample's budgets (fuel and
//! deadline) as a whole, so no sample in it can have used more than its own. Otherwise a
//! heavy sample might have finished on its neighbours' fuel where alone it would run out, and
//! its reward would depend on the batch it landed in; so those samples are run again alone
//! too. A sample's outcome is the same in any batch.

use std::time::Instant;

use gavel_core::{ErrorKind, Outcome, Sample, TimeoutKind};
use gavel_sandbox::{Grants, WasmLimits};
use wasmtime::{Engine, Store, Trap};

use crate::Plugin;
use crate::engine::ticks;
use crate::state::{HostState, MemoryLimitHit};
use crate::versions::WireSample;

/// Scores `samples` (one batch) with `plugin`; one outcome per sample, in order.
pub(crate) fn call_batch(
    engine: &Engine,
    plugin: &Plugin,
    config: &str,
    samples: &[Sample],
) -> Vec<Outcome> {
    let mut outcomes: Vec<Option<Outcome>> = vec![None; samples.len()];
    let mut runnable = Vec::with_capacity(samples.len());
    for (i, sample) in samples.iter().enumerate() {
        match wire(sample, plugin.limits.max_input_bytes) {
            Ok(wire) => runnable.push((i, wire)),
            Err(outcome) => outcomes[i] = Some(outcome),
        }
    }
    if runnable.is_empty() {
        return outcomes.into_iter().flatten().collect();
    }
    let indices: Vec<usize> = runnable.iter().map(|(i, _)| *i).collect();
    let batch: Vec<WireSample<'_>> = runnable.into_iter().map(|(_, w)| w).collect();
    let n = batch.len();
    match run(engine, plugin, config, batch) {
        Ok((results, usage)) if n == 1 || usage.within_one_sample(&plugin.limits) => {
            for (i, outcome) in indices.into_iter().zip(results) {
                outcomes[i] = Some(outcome);
            }
        }
        Err(failure) if n == 1 => outcomes[indices[0]] = Some(failure),
        result => {
            match result {
                Ok((_, usage)) => {
                    tracing::debug!(
                        plugin = %plugin.info.name, ?usage,
                        "batch went past one sample's budget; scoring its samples alone"
                    );
                    // Samples that are heavy on average put every batch over the budget, and
                    // every sample is then scored twice: worth saying once, with the fix.
                    if !plugin.warned_heavy.swap(true, std::sync::atomic::Ordering::Relaxed) {
                        let size = usage.batch_size_within_budget(n, &plugin.limits);
                        tracing::warn!(
                            plugin = %plugin.info.name, samples = n, fuel = usage.fuel,
                            elapsed_ms = usage.elapsed.as_millis() as u64,
                            "a batch went past one sample's budget, so its samples were scored \
                             again one by one; if most batches do, their samples are heavy on \
                             average and `batch_size = {size}` avoids scoring them twice"
                        );
                    }
                }
                Err(failure) => tracing::debug!(
                    plugin = %plugin.info.name, ?failure, "batch failed; isolating samples"
                ),
            }
            for i in indices {
                let alone = wire(&samples[i], plugin.limits.max_input_bytes)
                    .expect("the sample passed the input cap above");
                outcomes[i] = Some(match run(engine, plugin, config, vec![alone]) {
                    Ok((mut one, _)) => one.pop().expect("`run` returns one outcome per sample"),
                    Err(outcome) => outcome,
                });
            }
        }
    }
    outcomes.into_iter().map(|o| o.expect("every sample has an outcome")).collect()
}

/// Checks the input cap and lays a sample out for the plugin.
fn wire(sample: &Sample, max_input_bytes: u64) -> Result<WireSample<'_>, Outcome> {
    let reference = sample.reference.json();
    let size = sample.prompt.len()
        + sample.completion.len()
        + reference.len()
        + sample.task.as_ref().map_or(0, String::len)
        + sample.group.as_ref().map_or(0, String::len);
    if size as u64 > max_input_bytes {
        return Err(Outcome::invalid(format!(
            "sample is {size} bytes, over the plugin's input cap of {max_input_bytes} bytes"
        )));
    }
    Ok(WireSample {
        prompt: &sample.prompt,
        completion: &sample.completion,
        reference,
        task: sample.task.as_deref(),
        group: sample.group.as_deref(),
    })
}

/// A fresh store for one call, with the memory limiter, fuel and deadline of `samples`, and
/// the virtual WASI of `grants` (its random stream restarts from the seed in every call).
pub(crate) fn new_store(
    engine: &Engine,
    limits: &WasmLimits,
    grants: &Grants,
    files: Option<&std::path::Path>,
    samples: usize,
) -> Store<HostState> {
    let state =
        HostState::new(limits.memory_bytes(), limits.stderr_bytes as usize, grants.seed, files);
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limiter);
    store.set_fuel(limits.batch_fuel(samples)).expect("fuel is enabled on the engine");
    store.set_epoch_deadline(ticks(limits.batch_deadline(samples)));
    store.epoch_deadline_trap();
    store
}

/// What a successful call used.
#[derive(Debug, Clone, Copy)]
struct Usage {
    fuel: u64,
    elapsed: std::time::Duration,
}

impl Usage {
    /// Whether the whole call stayed within one sample's fuel and deadline, so that none of
    /// its samples can have used more than its own budget.
    fn within_one_sample(&self, limits: &WasmLimits) -> bool {
        self.fuel <= limits.fuel_per_sample
            && self.elapsed <= std::time::Duration::from_millis(limits.deadline_ms)
    }

    /// For a call over `n` samples that went past one sample's budget: the batch size at which
    /// samples of this call's average cost use at most half of it (below `n`, at least 1).
    fn batch_size_within_budget(&self, n: usize, limits: &WasmLimits) -> usize {
        let n = n as u128;
        let fits = |budget: u128, used: u128| (budget * n / (2 * used.max(1))).max(1);
        let size = fits(limits.fuel_per_sample.into(), self.fuel.into())
            .min(fits(u128::from(limits.deadline_ms) * 1000, self.elapsed.as_micros()));
        size as usize
    }
}

/// One instantiation and call. `Err` is the outcome of a call that failed as a whole.
fn run(
    engine: &Engine,
    plugin: &Plugin,
    config: &str,
    batch: Vec<WireSample<'_>>,
) -> Result<(Vec<Outcome>, Usage), Outcome> {
    let n = batch.len();
    let span = tracing::debug_span!(
        "plugin_call",
        plugin = %plugin.info.name,
        version = %plugin.info.version,
        samples = n,
        fuel_used = tracing::field::Empty,
        duration_us = tracing::field::Empty,
    );
    let _enter = span.enter();
    let started = Instant::now();
    let mut store = new_store(engine, &plugin.limits, &plugin.grants, plugin.files(), n);
    let result = plugin.pre.score(&mut store, config, batch);
    let fuel_left = store.get_fuel().unwrap_or(0);
    let usage = Usage { fuel: plugin.limits.batch_fuel(n) - fuel_left, elapsed: started.elapsed() };
    span.record("fuel_used", usage.fuel);
    span.record("duration_us", usage.elapsed.as_micros() as u64);
    match result {
        Ok(Ok(outcomes)) if outcomes.len() == n => {
            Ok((outcomes.into_iter().map(|o| validate(o, &plugin.limits)).collect(), usage))
        }
        Ok(Ok(outcomes)) => Err(Outcome::error(
            ErrorKind::MalformedOutput,
            format!("plugin returned {} outcomes for {n} samples", outcomes.len()),
        )),
        Ok(Err(message)) => Ok((vec![Outcome::invalid(format!("config: {message}")); n], usage)),
        Err(error) => Err(classify(&error, &store, plugin, n)),
    }
}

/// Checks a plugin's outcome against the contract and the output caps.
pub(crate) fn validate(outcome: Outcome, limits: &WasmLimits) -> Outcome {
    let text_bytes = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    let size = match &outcome {
        Outcome::Scored(score) => {
            score.components.iter().map(|(name, _)| name.len() + 8).sum::<usize>()
                + text_bytes(&score.explanation)
        }
        Outcome::NotApplicable { reason } => text_bytes(reason),
        Outcome::Invalid { message } => message.len(),
        Outcome::Timeout { .. } | Outcome::Error { .. } => 0,
    };
    if size as u64 > limits.max_output_bytes {
        return Outcome::error(
            ErrorKind::OutputLimit,
            format!(
                "plugin output is {size} bytes, over the cap of {} bytes",
                limits.max_output_bytes
            ),
        );
    }
    let Outcome::Scored(score) = &outcome else { return outcome };
    if score.components.len() as u64 > limits.max_components {
        return Outcome::error(
            ErrorKind::OutputLimit,
            format!(
                "plugin returned {} components, over the cap of {}",
                score.components.len(),
                limits.max_components
            ),
        );
    }
    if !score.value.is_finite() {
        return Outcome::error(
            ErrorKind::NonFinite,
            format!("plugin returned reward {}", score.value),
        );
    }
    if let Some((name, value)) = score.components.iter().find(|(_, v)| !v.is_finite()) {
        return Outcome::error(
            ErrorKind::NonFinite,
            format!("plugin returned component {name:?} = {value}"),
        );
    }
    let mut names: Vec<&str> = score.components.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    if let Some(pair) = names.windows(2).find(|w| w[0] == w[1]) {
        return Outcome::error(
            ErrorKind::MalformedOutput,
            format!("plugin returned component {:?} twice", pair[0]),
        );
    }
    outcome
}

/// Turns a failed call into the outcome of each of its samples.
fn classify(
    error: &wasmtime::Error,
    store: &Store<HostState>,
    plugin: &Plugin,
    n: usize,
) -> Outcome {
    let output = store.data().output.text();
    let with_output = |message: String| {
        if output.is_empty() { message } else { format!("{message}; plugin output: {output}") }
    };
    if let Some(hit) = error.downcast_ref::<MemoryLimitHit>() {
        return Outcome::error(ErrorKind::MemoryLimit, hit.to_string());
    }
    if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return Outcome::error(
            ErrorKind::Trap,
            with_output(format!("plugin called exit({})", exit.0)),
        );
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Outcome::timeout(
            TimeoutKind::Fuel,
            format!("ran out of fuel ({} instructions)", plugin.limits.batch_fuel(n)),
        ),
        Some(Trap::Interrupt) => Outcome::timeout(
            TimeoutKind::Deadline,
            format!("deadline of {} ms passed", plugin.limits.batch_deadline(n).as_millis()),
        ),
        Some(Trap::StackOverflow) => {
            Outcome::error(ErrorKind::StackOverflow, "plugin overflowed its stack")
        }
        Some(Trap::UnreachableCodeReached) if output.contains("panicked") => {
            Outcome::error(ErrorKind::Panic, format!("plugin panicked: {}", panic_message(&output)))
        }
        Some(trap) => {
            Outcome::error(ErrorKind::Trap, with_output(format!("plugin trapped: {trap}")))
        }
        None => {
            let message = format!("{error:#}");
            if message.contains("maximum concurrent") {
                Outcome::error(ErrorKind::Capacity, message)
            } else {
                Outcome::error(ErrorKind::Host, with_output(message))
            }
        }
    }
}

/// The panic message from Rust's panic output, without the backtrace hint.
fn panic_message(output: &str) -> String {
    output
        .lines()
        .filter(|line| !line.starts_with("note: run with `RUST_BACKTRACE"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use gavel_core::Score;

    fn scored(value: f64, components: &[(&str, f64)]) -> Outcome {
        Outcome::Scored(Score {
            value,
            components: components.iter().map(|(n, v)| (n.to_string(), *v)).collect(),
            explanation: None,
        })
    }

    #[test]
    fn heavy_batches_get_a_batch_size_that_fits_the_budget() {
        let limits = WasmLimits::default(); // 100 M fuel, 1 000 ms a sample
        let ms = std::time::Duration::from_millis;
        let usage = |fuel, elapsed| Usage { fuel, elapsed };
        // 64 samples of 2 M fuel each: 25 of them use half of one sample's fuel.
        assert_eq!(usage(128_000_000, ms(50)).batch_size_within_budget(64, &limits), 25);
        // 64 samples of 30 ms each: the deadline is what binds.
        assert_eq!(usage(1_000_000, ms(1_920)).batch_size_within_budget(64, &limits), 16);
        // Two samples over the budget together: one at a time.
        assert_eq!(usage(199_000_000, ms(10)).batch_size_within_budget(2, &limits), 1);
    }

    #[test]
    fn non_finite_values_are_errors() {
        let limits = WasmLimits::default();
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(validate(scored(bad, &[]), &limits).status(), gavel_core::Status::Error);
            let outcome = validate(scored(1.0, &[("x", bad)]), &limits);
            assert!(matches!(outcome, Outcome::Error { kind: ErrorKind::NonFinite, .. }));
        }
        assert_eq!(validate(scored(0.5, &[("x", 1.0)]), &limits), scored(0.5, &[("x", 1.0)]));
    }

    #[test]
    fn duplicate_components_and_oversized_outputs_are_errors() {
        let limits = WasmLimits { max_components: 2, max_output_bytes: 64, ..Default::default() };
        let dup = validate(scored(1.0, &[("a", 1.0), ("a", 0.0)]), &limits);
        assert!(matches!(dup, Outcome::Error { kind: ErrorKind::MalformedOutput, .. }));
        let many = validate(scored(1.0, &[("a", 1.0), ("b", 1.0), ("c", 1.0)]), &limits);
        assert!(matches!(many, Outcome::Error { kind: ErrorKind::OutputLimit, .. }));
        let long = validate(Outcome::invalid("x".repeat(65)), &limits);
        assert!(matches!(long, Outcome::Error { kind: ErrorKind::OutputLimit, .. }));
    }

    #[test]
    fn panic_messages_drop_the_backtrace_hint() {
        let output = "thread '<unnamed>' panicked at src/lib.rs:3:5:\nboom\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace";
        assert_eq!(panic_message(output), "thread '<unnamed>' panicked at src/lib.rs:3:5: boom");
    }
}
