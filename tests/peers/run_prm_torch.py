"""PyTorch (transformers) on the CPU, the peer of gavel's PRM benchmark: loads a
Qwen2.5-Math-PRM-format checkpoint (Qwen2 body + two-class `score` head) and scores the same
token sequences gavel scored, one sequence per forward as gavel does, in f32.

    python run_prm_torch.py <checkpoint dir> <ids.jsonl>   (lines: {"input_ids": [...], "step_token_id": N})

Prints {"tokens_per_s", "threads", "scores"} as JSON.
"""

import json
import os
import sys
import time

import torch
from safetensors.torch import load_file
from transformers import Qwen2Config

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "verifiers", "prm", "fixtures"))
from make_fixtures import QwenPrm as Prm  # noqa: E402  (Qwen2.5-Math-PRM's layout, defined once)


def main():
    directory, ids_path = sys.argv[1], sys.argv[2]
    with open(f"{directory}/config.json") as f:
        config = Qwen2Config.from_dict(json.load(f))
    model = Prm(config).eval()
    model.load_state_dict(load_file(f"{directory}/model.safetensors"))
    cases = [json.loads(line) for line in open(ids_path)]
    tokens = sum(len(c["input_ids"]) for c in cases)
    scores = []
    with torch.inference_mode():
        for c in cases[:4]:  # warm-up
            model.model(input_ids=torch.tensor([c["input_ids"]]))
        started = time.perf_counter()
        for c in cases:
            ids = torch.tensor([c["input_ids"]])
            hidden = model.model(input_ids=ids).last_hidden_state[0]
            rows = hidden[ids[0] == c["step_token_id"]]
            scores.append(model.score(rows).float().softmax(-1)[:, 1].tolist())
        elapsed = time.perf_counter() - started
    print(json.dumps({"tokens_per_s": tokens / elapsed, "threads": torch.get_num_threads(), "scores": scores}))


if __name__ == "__main__":
    main()
