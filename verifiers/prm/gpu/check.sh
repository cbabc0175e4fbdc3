#!/usr/bin/env bash
# The PRM's GPU check, one command on a machine with an NVIDIA GPU, PyTorch and transformers:
#
#   verifiers/prm/gpu/check.sh [all|parity|bench] [PRM_GPU_CHECK_BINARY] [OUT_DIR]
#
# 1. parity: every fixture family on CUDA against the CPU path and transformers' f32 outputs
#    (bf16 tolerance 2e-2 on probabilities), a packed batch against each sequence alone, with
#    the fused attention kernel; then with attention through cuBLAS, whole and forced through
#    query chunks and one wave per chunk;
# 2. benchmark: a random Qwen2-1.5B-shaped PRM scored by transformers and by gavel on the same
#    GPU and inputs, tokens/s and the ratio (bench.py);
# 3. where gavel's time goes on that model, phase by phase (GAVEL_PRM_PROFILE, profile.txt).
# Without a binary it builds one (needs cargo); a machine without Rust gets one built elsewhere:
#   cargo build -p gavel-prm --example prm_gpu_check
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
what=${1:-all}
bin=${2:-}
out=${3:-$root/target/prm-gpu-check}
if [ -z "$bin" ]; then
    (cd "$root" && cargo build -p gavel-prm --example prm_gpu_check)
    bin="${CARGO_TARGET_DIR:-$root/target}/debug/examples/prm_gpu_check"
fi
mkdir -p "$out"

# cudarc opens libcuda, libnvrtc and libcublas at run time: put the toolkit's or PyTorch's
# CUDA libraries on the search path.
libs=$(find /usr/local/cuda*/ /usr/local/nvidia /usr/lib /usr/lib64 /opt "$(python3 -c 'import site; print(site.getsitepackages()[0])')" \
    \( -name 'libcuda.so*' -o -name 'libcublas.so*' -o -name 'libnvrtc.so*' \) -printf '%h\n' 2>/dev/null | sort -u | paste -sd: || true)
export LD_LIBRARY_PATH="${libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "CUDA libraries from: $libs"

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/device.txt"
status=0
if [ "$what" != bench ]; then
    echo "== parity (fixtures: CUDA vs CPU vs transformers f32), fused attention"
    GAVEL_PRM_ATTENTION=fused "$bin" parity "$root/verifiers/prm/fixtures" \
        | tee "$out/parity.jsonl" || status=1
    echo "== parity again with attention through cuBLAS"
    GAVEL_PRM_ATTENTION=gemm "$bin" parity "$root/verifiers/prm/fixtures" \
        | tee "$out/parity-gemm.jsonl" || status=1
    echo "== parity again through cuBLAS, cut into 3-row chunks, each in a wave of its own"
    GAVEL_PRM_ATTENTION=gemm GAVEL_PRM_ATTENTION_CHUNK=3 GAVEL_PRM_SCORE_ELEMENTS=1 \
        "$bin" parity "$root/verifiers/prm/fixtures" | tee "$out/parity-tiled.jsonl" || status=1
fi
if [ "$what" != parity ]; then
    echo "== benchmark (random Qwen2-1.5B-shaped PRM: transformers vs gavel, same GPU and inputs)"
    work=/tmp/gavel-prm-gpu
    PYTHONUNBUFFERED=1 python3 "$here/bench.py" --bin "$bin" --out "$out" --work "$work" || status=1
    echo "== where the time goes (fused attention, batches of 16, the stream synchronised per phase)"
    GAVEL_PRM_PROFILE=1 GAVEL_PRM_ATTENTION=fused "$bin" bench "$work/model" "$work/inputs.jsonl" \
        "$work/profile" 1 16 2>&1 | grep -a "PRM forward" | tail -4 | tee "$out/profile.txt" || status=1
fi
exit $status
