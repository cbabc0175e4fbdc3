//! The one wasmtime `Engine` of a host, and its epoch ticker.
//!
//! Configuration choices, each for a reason:
//! - **Cranelift only** (no Winch, no Pulley): the most scrutinised backend.
//! - **Fuel** on: deterministic instruction budgets, so a reward never depends on machine load.
//! - **Epoch interruption** on, ticked every [`TICK`] by a thread that holds only a weak
//!   reference: wall-clock deadlines that stop a spinning guest, not just abandon it.
//! - **Pooling allocator** when the address space allows it (probed first, as Spin does):
//!   instantiation from pre-reserved slots with copy-on-write memory images is what makes a
//!   fresh instance per batch affordable.
//! - **NaN canonicalisation** and **deterministic relaxed SIMD**: the same input gives
//!   bit-identical rewards on any host (relaxed SIMD otherwise follows the host CPU).
//! - **`GAVEL_PERF_MAP=1`** in the environment writes `/tmp/perf-<pid>.map`, so `perf report`
//!   names the plugin functions it sampled (`perf record -g`: Cranelift keeps frame pointers).

use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::HostError;

/// How often the epoch advances. A deadline is enforced to within about one tick.
pub(crate) const TICK: Duration = Duration::from_millis(1);

/// Largest linear memory any plugin may have; per-plugin caps are enforced below it by the
/// store limiter. 4 GiB: the whole 32-bit space, so slots need no bounds checks.
const MAX_MEMORY_BYTES: usize = 4 << 30;

/// Creates the engine. `instances` bounds the concurrent plugin instances (pool slots).
pub(crate) fn new_engine(instances: u32) -> Result<Engine, HostError> {
    let mut config = base_config();
    if pooling_fits(instances) {
        let mut pool = PoolingAllocationConfig::new();
        // A Rust wasip2 component instantiates 3 core instances and 1 memory.
        pool.total_component_instances(instances)
            .total_core_instances(instances * 4)
            .total_memories(instances * 2)
            .total_tables(instances * 4)
            .total_stacks(instances)
            .max_memory_size(MAX_MEMORY_BYTES)
            .max_component_instance_size(1 << 20)
            .max_core_instances_per_component(16)
            .max_memories_per_component(4)
            .max_tables_per_component(8)
            // Reset a slot's dirty pages with memset instead of madvise. PAGEMAP_SCAN
            // (Linux >= 6.7) finds exactly the pages a call touched, so the next instance
            // starts with no page faults and no madvise TLB shootdown across cores. This is
            // most of the fresh-instance cost: 29 µs -> 11 µs per call (BENCHMARKS.md).
            .pagemap_scan(wasmtime::Enabled::Auto)
            .linear_memory_keep_resident(1 << 20)
            .table_keep_resident(16 << 10)
            .max_unused_warm_slots(instances.min(100));
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    } else {
        tracing::warn!(
            "address space too small for the pooling allocator; instantiating on demand"
        );
    }
    Engine::new(&config).map_err(|e| HostError::Engine(format!("{e:#}")))
}

/// An engine for compiling only (an isolated compilation's child process): the same code
/// generation as [`new_engine`], without the instance pool, which it never uses.
pub(crate) fn compile_engine() -> wasmtime::Result<Engine> {
    Engine::new(&base_config())
}

fn base_config() -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .consume_fuel(true)
        .epoch_interruption(true)
        .cranelift_nan_canonicalization(true)
        .relaxed_simd_deterministic(true)
        .max_wasm_stack(512 << 10)
        .memory_init_cow(true);
    if std::env::var_os("GAVEL_PERF_MAP").is_some_and(|v| v == "1") {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    config
}

/// Whether `instances` pool slots of 4 GiB plus guards fit the address space (42-bit probe,
/// the check Spin and wasmCloud make before enabling pooling).
fn pooling_fits(instances: u32) -> bool {
    let needed = u64::from(instances) * 2 * (8 << 30);
    needed < (1 << 46) && probe_address_space(42)
}

fn probe_address_space(bits: u32) -> bool {
    let mut probe = Config::new();
    probe.wasm_memory64(true).memory_reservation(1 << bits);
    Engine::new(&probe)
        .map(|engine| {
            let mut store = wasmtime::Store::new(&engine, ());
            let ty = wasmtime::MemoryType::new64(0, Some(1 << (bits - 16)));
            wasmtime::Memory::new(&mut store, ty).is_ok()
        })
        .unwrap_or(false)
}

/// Starts the epoch ticker. It holds only a weak reference and ends with the engine.
pub(crate) fn start_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("gavel-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(TICK);
            }
        })
        .expect("cannot spawn the epoch ticker thread");
}

/// Epoch ticks for a deadline: rounded up, plus one for the tick already under way.
pub(crate) fn ticks(deadline: Duration) -> u64 {
    let tick = TICK.as_nanos();
    u64::try_from(deadline.as_nanos().div_ceil(tick)).unwrap_or(u64::MAX).saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A relaxed SIMD instruction whose native result differs by CPU (x86 truncates NaN to
    /// `i32::MIN`) gives its deterministic result, 0, as `i32x4.trunc_sat_f32x4_s` does.
    #[test]
    fn relaxed_simd_is_deterministic() {
        let nan = [0x00, 0x00, 0xc0, 0x7f];
        let mut body = vec![0x00, 0xfd, 0x0c]; // no locals; v128.const
        body.extend(nan.repeat(4));
        body.extend([0xfd, 0x81, 0x02]); // i32x4.relaxed_trunc_f32x4_s
        body.extend([0xfd, 0x1b, 0x00, 0x0b]); // i32x4.extract_lane 0; end
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        module.extend([0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f]); // type: () -> i32
        module.extend([0x03, 0x02, 0x01, 0x00]); // one function of type 0
        module.extend([0x07, 0x05, 0x01, 0x01, b'f', 0x00, 0x00]); // export "f"
        module.extend([0x0a, body.len() as u8 + 2, 0x01, body.len() as u8]);
        module.extend(body);

        let engine = compile_engine().unwrap();
        let module = wasmtime::Module::new(&engine, &module).unwrap();
        let mut store = wasmtime::Store::new(&engine, ());
        store.set_fuel(1000).unwrap();
        store.set_epoch_deadline(1);
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        let f = instance.get_typed_func::<(), i32>(&mut store, "f").unwrap();
        assert_eq!(f.call(&mut store, ()).unwrap(), 0);
    }

    #[test]
    fn ticks_round_up() {
        assert_eq!(ticks(Duration::from_millis(10)), 11);
        assert_eq!(ticks(Duration::from_micros(1500)), 3);
    }
}
