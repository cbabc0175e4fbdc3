//! Adversarial plugins: each failure is the exact outcome class, the call ends within twice its
//! deadline, and the next normal call on the same host succeeds.

use std::time::{Duration, Instant};

use gavel_core::{ErrorKind, Outcome, Status, TimeoutKind};
use gavel_host::Host;
use gavel_sandbox::WasmLimits;
use gavel_tests::{host, load, score};

const DEADLINE_MS: u64 = 300;

fn limits() -> WasmLimits {
    WasmLimits { deadline_ms: DEADLINE_MS, ..WasmLimits::default() }
}

/// Runs `completion` through `guest`, checks the time bound, and returns the outcome after
/// checking that the host still scores a normal sample with the same plugin and another one.
fn attack(host: &Host, guest: &str, limits: WasmLimits, completion: &str) -> Outcome {
    attack_timed(host, guest, limits, completion).0
}

/// [`attack`], also returning how long the adversarial call itself took.
fn attack_timed(
    host: &Host,
    guest: &str,
    limits: WasmLimits,
    completion: &str,
) -> (Outcome, Duration) {
    let deadline = Duration::from_millis(limits.deadline_ms);
    let plugin = load(host, guest, limits);
    let started = Instant::now();
    let outcome = score(host, &plugin, &[completion]).remove(0);
    let elapsed = started.elapsed();
    assert!(elapsed < 2 * deadline, "{guest}: call took {elapsed:?}, deadline {deadline:?}");

    let after = score(host, &plugin, &["fine"]);
    assert_eq!(after[0].reward(), Some(1.0), "{guest}: next call on the same plugin: {after:?}");
    let trivial = load(host, "trivial", WasmLimits::default());
    assert_eq!(score(host, &trivial, &["abc"])[0].reward(), Some(3.0));
    (outcome, elapsed)
}

#[test]
fn infinite_loop_hits_the_deadline() {
    let (host, _cache) = host();
    let limits = WasmLimits { fuel_per_sample: u64::MAX, ..limits() };
    let outcome = attack(&host, "spin", limits, "spin");
    assert!(matches!(outcome, Outcome::Timeout { kind: TimeoutKind::Deadline, .. }), "{outcome:?}");
}

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let (host, _cache) = host();
    let limits = WasmLimits { fuel_per_sample: 5_000_000, deadline_ms: 10_000, ..limits() };
    let (outcome, elapsed) = attack_timed(&host, "spin", limits, "spin");
    assert!(matches!(outcome, Outcome::Timeout { kind: TimeoutKind::Fuel, .. }), "{outcome:?}");
    assert!(
        elapsed < Duration::from_secs(2),
        "fuel stops the guest long before the deadline: {elapsed:?}"
    );
}

#[test]
fn memory_bomb_hits_the_memory_cap() {
    let (host, _cache) = host();
    let limits = WasmLimits { memory_mib: 32, ..limits() };
    let outcome = attack(&host, "memory-bomb", limits, "bomb");
    assert!(matches!(outcome, Outcome::Error { kind: ErrorKind::MemoryLimit, .. }), "{outcome:?}");
    assert!(outcome.message().unwrap().contains("cap 33554432"), "{outcome:?}");
}

#[test]
fn stack_overflow_is_caught() {
    let (host, _cache) = host();
    let outcome = attack(&host, "stack-overflow", limits(), "deep");
    assert!(
        matches!(outcome, Outcome::Error { kind: ErrorKind::StackOverflow, .. }),
        "{outcome:?}"
    );
}

#[test]
fn panic_is_an_error_with_its_message() {
    let (host, _cache) = host();
    let outcome = attack(&host, "panic", limits(), "panic");
    assert!(matches!(outcome, Outcome::Error { kind: ErrorKind::Panic, .. }), "{outcome:?}");
    assert!(outcome.message().unwrap().contains("the plugin gave up"), "{outcome:?}");
}

#[test]
fn exit_is_an_error() {
    let (host, _cache) = host();
    let outcome = attack(&host, "exit", limits(), "exit");
    assert!(matches!(outcome, Outcome::Error { kind: ErrorKind::Trap, .. }), "{outcome:?}");
    assert!(outcome.message().unwrap().contains("plugin called exit("), "{outcome:?}");
}

#[test]
fn huge_outputs_hit_the_output_cap() {
    let (host, _cache) = host();
    for completion in ["long", "many"] {
        let outcome = attack(&host, "huge-output", limits(), completion);
        assert!(
            matches!(outcome, Outcome::Error { kind: ErrorKind::OutputLimit, .. }),
            "{outcome:?}"
        );
    }
}

#[test]
fn non_finite_rewards_are_errors() {
    let (host, _cache) = host();
    for completion in ["nan", "inf", "component"] {
        let outcome = attack(&host, "non-finite", limits(), completion);
        assert!(
            matches!(outcome, Outcome::Error { kind: ErrorKind::NonFinite, .. }),
            "{outcome:?}"
        );
        assert_eq!(outcome.reward(), None);
    }
}

#[test]
fn contract_violations_are_errors() {
    let (host, _cache) = host();
    let plugin = load(&host, "wrong-count", limits());
    let outcomes = score(&host, &plugin, &["a", "b"]);
    assert_eq!(outcomes.len(), 2);
    for outcome in outcomes {
        assert!(
            matches!(outcome, Outcome::Error { kind: ErrorKind::MalformedOutput, .. }),
            "{outcome:?}"
        );
    }
}

#[test]
fn one_bad_sample_does_not_take_its_batch_down() {
    let (host, _cache) = host();
    for (guest, bad, status) in [
        ("panic", "panic", Status::Error),
        ("spin", "spin", Status::Timeout),
        ("memory-bomb", "bomb", Status::Error),
        ("stack-overflow", "deep", Status::Error),
    ] {
        let plugin = load(&host, guest, limits());
        let outcomes = score(&host, &plugin, &["ok", bad, "ok", "ok"]);
        let statuses: Vec<Status> = outcomes.iter().map(Outcome::status).collect();
        assert_eq!(statuses, [Status::Ok, status, Status::Ok, Status::Ok], "{guest}: {outcomes:?}");
    }
}

/// A sample that needs more fuel than its own budget runs out of fuel whatever batch it is in:
/// it does not finish on its neighbours' share of the batch's fuel. Its reward does not depend
/// on the batch, and neither do its neighbours'.
#[test]
fn a_heavy_sample_gets_its_own_budget_in_any_batch() {
    let (host, _cache) = host();
    let limits = WasmLimits { fuel_per_sample: 10_000_000, ..WasmLimits::default() };
    let plugin = load(&host, "spin", limits);
    let (heavy, light) = ("burn 1000000", "burn 1000");
    let alone = score(&host, &plugin, &[heavy]).remove(0);
    assert!(
        matches!(alone, Outcome::Timeout { kind: TimeoutKind::Fuel, .. }),
        "the heavy sample fits its budget alone, so the test proves nothing: {alone:?}"
    );
    let batch = score(&host, &plugin, &[light, heavy, light, light, light, light, light, light]);
    assert_eq!(batch[1], alone, "in a batch of 8, the heavy sample finished on shared fuel");
    assert!(batch.iter().enumerate().all(|(i, o)| i == 1 || o.reward() == Some(1.0)), "{batch:?}");
}
