"""The PRM's GPU benchmark: a randomly initialised Qwen2-1.5B-shaped PRM (Qwen2.5-Math-PRM's
layout: Qwen2 body, two-class `score` head read at the step token), made here with
transformers and saved in bf16, scored on the same GPU with the same inputs by transformers
(bf16, SDPA attention, right-padded batches, the way its users batch) and by gavel
(prm_gpu_check bench), in one run. Prints tokens/s for both and the ratio, and how far the two
sets of step probabilities are apart. Run by verifiers/prm/gpu/check.sh.
"""

import argparse
import copy
import json
import os
import random
import subprocess
import sys
import time

import torch
from safetensors.torch import save_file
from transformers import Qwen2Config

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from make_fixtures import QwenPrm  # noqa: E402  (Qwen2.5-Math-PRM's layout, defined once)

STEP_ID = 151651  # <extra_0> in Qwen2.5's vocabulary


DEVICE = "cuda"

# Qwen2-1.5B's shape (Qwen2.5-Math-PRM-1.5B would be this body), and a tiny one to dry-run the
# script on a CPU (--tiny --device cpu, with GAVEL_PRM_DEVICE=cpu for gavel).
SHAPES = {
    "1.5b": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                 num_attention_heads=12, num_key_value_heads=2),
    "wide2": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=2,
                  num_attention_heads=12, num_key_value_heads=2),
    "tiny": dict(hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2),
}


def make_model(directory, shape):
    config = Qwen2Config(vocab_size=151936, max_position_embeddings=4096, rope_theta=10000.0,
                         rms_norm_eps=1e-6, tie_word_embeddings=True, **SHAPES[shape])
    config._attn_implementation = "sdpa"
    config.architectures = ["Qwen2ForProcessRewardModel"]
    torch.manual_seed(0)
    with torch.device(DEVICE):
        model = QwenPrm(config).to(torch.bfloat16 if DEVICE == "cuda" else torch.float32).eval()
    os.makedirs(directory, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file({k: v.cpu() for k, v in state.items()}, os.path.join(directory, "model.safetensors"),
              metadata={"format": "pt"})
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config.to_dict(), f, indent=1, sort_keys=True)
    return model


def make_inputs(groups, group_size, seed=1):
    """GRPO-shaped input: per group one prompt (60-200 tokens), per rollout 3-12 steps of 20-150
    tokens, each followed by the step token, then two closing tokens."""
    rnd = random.Random(seed)
    token = lambda: rnd.randrange(1000, 150000)
    seqs = []
    for _ in range(groups):
        prompt = [token() for _ in range(rnd.randint(60, 200))]
        for _ in range(group_size):
            ids = list(prompt)
            for _ in range(rnd.randint(3, 12)):
                ids += [token() for _ in range(rnd.randint(20, 150))]
                ids.append(STEP_ID)
            ids += [token(), token()]
            seqs.append(ids)
    return seqs


@torch.inference_mode()
def transformers_pass(model, seqs, batch):
    scores = []
    for i in range(0, len(seqs), batch):
        chunk = seqs[i:i + batch]
        width = max(len(s) for s in chunk)
        ids = torch.zeros(len(chunk), width, dtype=torch.long)
        mask = torch.zeros(len(chunk), width, dtype=torch.long)
        for r, s in enumerate(chunk):
            ids[r, :len(s)] = torch.tensor(s)
            mask[r, :len(s)] = 1
        ids, mask = ids.to(DEVICE, non_blocking=True), mask.to(DEVICE, non_blocking=True)
        hidden = model.model(input_ids=ids, attention_mask=mask).last_hidden_state
        probs = model.score(hidden).float().softmax(-1)[..., 1]
        where = ids == STEP_ID
        for r in range(len(chunk)):
            scores.append(probs[r][where[r]].tolist())
    if DEVICE == "cuda":
        torch.cuda.synchronize()
    return scores


# gavel's attention paths: the fused kernel, and cuBLAS GEMMs with 256-row query chunks.
VARIANTS = {
    "fused": {"GAVEL_PRM_ATTENTION": "fused"},
    "gemm": {"GAVEL_PRM_ATTENTION": "gemm", "GAVEL_PRM_ATTENTION_CHUNK": "256"},
}


def worst(a, b):
    return max(abs(x - y) for p, q in zip(a, b) for x, y in zip(p, q))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", default="/tmp/gavel-prm-gpu", help="the checkpoint, inputs, scores")
    ap.add_argument("--groups", type=int, default=4)
    ap.add_argument("--group-size", type=int, default=16)
    ap.add_argument("--batches", default="16,64")
    ap.add_argument("--variants", default="fused,gemm",
                    help="gavel's attention paths to try: " + ", ".join(VARIANTS))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cpu-check", type=int, default=3,
                    help="sequences also scored by gavel's f32 CPU path, against the f32 truth")
    ap.add_argument("--tiny", action="store_true", help="a tiny model, to dry-run the script")
    ap.add_argument("--shape", default=None, help="one of SHAPES (default 1.5b)")
    ap.add_argument("--device", default="cuda")
    a = ap.parse_args()
    global DEVICE
    DEVICE = a.device
    os.makedirs(a.out, exist_ok=True)
    started = time.time()
    model_dir = os.path.join(a.work, "model")
    model = make_model(model_dir, a.shape or ("tiny" if a.tiny else "1.5b"))
    print(f"model made and saved in {time.time() - started:.1f} s", flush=True)
    seqs = make_inputs(a.groups, a.group_size)
    tokens = sum(len(s) for s in seqs)
    inputs = os.path.join(a.work, "inputs.jsonl")
    with open(inputs, "w") as f:
        for s in seqs:
            f.write(json.dumps({"input_ids": s, "step_token_id": STEP_ID}) + "\n")
    # The truth both bf16 paths are measured against: the same weights in f32.
    exact = copy.deepcopy(model).float()
    truth = transformers_pass(exact, seqs, 16)
    del exact
    batches = [int(b) for b in a.batches.split(",")]
    device = torch.cuda.get_device_name() if DEVICE == "cuda" else "cpu"
    results = {"device": device, "torch": torch.__version__,
               "transformers": __import__("transformers").__version__, "sequences": len(seqs),
               "tokens": tokens, "lengths": [min(map(len, seqs)), max(map(len, seqs))], "runs": []}
    hf = {}
    for batch in batches:
        reference = transformers_pass(model, seqs, batch)  # warm-up
        t0 = time.perf_counter()
        for _ in range(a.reps):
            reference = transformers_pass(model, seqs, batch)
        hf[batch] = (tokens / ((time.perf_counter() - t0) / a.reps), reference)
    variants = a.variants.split(",")
    for variant in variants:
        env = dict(os.environ, **VARIANTS[variant])
        prefix = os.path.join(a.work, f"gavel-{variant}")
        run = subprocess.run([a.bin, "bench", model_dir, inputs, prefix, str(a.reps), a.batches],
                             capture_output=True, text=True, env=env)
        sys.stderr.write(run.stderr[-4000:])
        if run.returncode != 0:
            results["runs"].append({"attention": variant, "gavel_failed": run.returncode,
                                    "stderr": run.stderr[-4000:]})
            print(json.dumps(results["runs"][-1]), flush=True)
            continue
        for line in run.stdout.strip().splitlines():
            gavel = json.loads(line)
            batch = gavel["batch"]
            with open(gavel["scores"]) as f:
                ours = [json.loads(l)["step_scores"] for l in f]
            hf_rate, reference = hf[batch]
            row = {"batch": batch, "gavel_attention": variant,
                   "transformers_tokens_per_s": hf_rate,
                   "gavel_tokens_per_s": gavel["tokens_per_s"],
                   "ratio": gavel["tokens_per_s"] / hf_rate,
                   "gavel_vs_f32": worst(ours, truth),
                   "transformers_bf16_vs_f32": worst(reference, truth),
                   "gavel_vs_transformers_bf16": worst(ours, reference),
                   "same_step_counts": all(len(o) == len(r) for o, r in zip(ours, reference)),
                   "gavel_backend": gavel["backend"], "gavel_load_s": gavel["load_s"]}
            results["runs"].append(row)
            print(json.dumps(row), flush=True)
    if a.cpu_check:
        out = os.path.join(a.work, "cpu-scores.jsonl")
        run = subprocess.run([a.bin, "cpu-scores", model_dir, inputs, out, str(a.cpu_check)],
                             capture_output=True, text=True)
        if run.returncode == 0:
            with open(out) as f:
                cpu = [json.loads(l)["step_scores"] for l in f]
            n = len(cpu)
            row = {"cpu_check_sequences": n, "gavel_cpu_f32_vs_f32": worst(cpu, truth[:n]),
                   "transformers_bf16_vs_f32": worst(hf[batches[0]][1][:n], truth[:n])}
            # The acceptance check on the large model: CUDA against gavel's own exact CPU path
            # (the GPU "f32" reference above is not exact: see BENCHMARKS.md).
            for variant in variants:
                scores = os.path.join(a.work, f"gavel-{variant}-b{batches[0]}.jsonl")
                if os.path.exists(scores):
                    with open(scores) as f:
                        ours = [json.loads(l)["step_scores"] for l in f][:n]
                    row[f"gavel_cuda_{variant}_vs_gavel_cpu"] = worst(ours, cpu)
            results["cpu_check"] = row
        else:
            results["cpu_check"] = {"failed": run.returncode, "stderr": run.stderr[-2000:]}
        print(json.dumps(results["cpu_check"]), flush=True)
    with open(os.path.join(a.out, "bench.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(json.dumps({k: v for k, v in results.items() if k != "runs"}))


if __name__ == "__main__":
    main()
