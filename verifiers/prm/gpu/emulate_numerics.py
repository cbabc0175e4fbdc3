"""What bf16 costs by design: the CUDA path's rounding points (bf16 GEMM inputs and outputs,
bf16 attention probabilities, f32 residual) emulated in torch f32 on the CPU, against the exact
f32 forward, on a checkpoint and inputs written by bench.py (Qwen2 two-class PRMs only):

    python3 verifiers/prm/gpu/emulate_numerics.py MODEL_DIR INPUTS.jsonl [N]

If the CUDA path is much further from the CPU path than this, the difference is not bf16's.
"""

import json
import math
import sys

import torch
from safetensors.torch import load_file

d, inputs = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 3
cfg = json.load(open(f"{d}/config.json"))
W = {k: v.to(torch.bfloat16).float() for k, v in load_file(f"{d}/model.safetensors").items()}
seqs = [json.loads(line) for line in open(inputs)][:n]
H, nh, nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
dh = H // nh; L = cfg["num_hidden_layers"]; eps = cfg["rms_norm_eps"]; theta = cfg["rope_parameters"]["rope_theta"]
bf = lambda t: t.to(torch.bfloat16).float()
ident = lambda t: t

step = seqs[0]["step_token_id"]


def forward(ids, r_act, r_p, r_res):
    """r_act: rounding of GEMM inputs/outputs; r_p: rounding of attention probabilities; r_res: residual."""
    T = len(ids)
    x = W["model.embed_tokens.weight"][ids]
    inv = 1.0 / (theta ** (torch.arange(0, dh, 2).float() / dh))
    ang = torch.arange(T).float()[:, None] * inv[None]
    cos, sin = ang.cos(), ang.sin()
    def norm(x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))
    def rope(t):  # [heads, T, dh]
        a, b = t[..., :dh // 2], t[..., dh // 2:]
        return torch.cat([a * cos - b * sin, b * cos + a * sin], -1)
    for l in range(L):
        p = f"model.layers.{l}"
        h = r_act(norm(x, W[f"{p}.input_layernorm.weight"]))
        q = r_act(h @ W[f"{p}.self_attn.q_proj.weight"].T) + W[f"{p}.self_attn.q_proj.bias"]
        k = r_act(h @ W[f"{p}.self_attn.k_proj.weight"].T) + W[f"{p}.self_attn.k_proj.bias"]
        v = r_act(h @ W[f"{p}.self_attn.v_proj.weight"].T) + W[f"{p}.self_attn.v_proj.bias"]
        q = r_act(rope(q.view(T, nh, dh).transpose(0, 1)))
        k = r_act(rope(k.view(T, nkv, dh).transpose(0, 1))).repeat_interleave(nh // nkv, 0)
        v = r_act(v.view(T, nkv, dh).transpose(0, 1)).repeat_interleave(nh // nkv, 0)
        s = (q @ k.transpose(1, 2)) / math.sqrt(dh)
        s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
        pr = r_p(s.softmax(-1))
        o = r_act((pr @ v).transpose(0, 1).reshape(T, H))
        x = r_res(x + o @ W[f"{p}.self_attn.o_proj.weight"].T)
        h = r_act(norm(x, W[f"{p}.post_attention_layernorm.weight"]))
        g = r_act(h @ W[f"{p}.mlp.gate_proj.weight"].T); u = r_act(h @ W[f"{p}.mlp.up_proj.weight"].T)
        a = r_act(torch.nn.functional.silu(g) * u)
        x = r_res(x + a @ W[f"{p}.mlp.down_proj.weight"].T)
    x = norm(x, W["model.norm.weight"])
    z = torch.relu(x @ W["score.0.weight"].T + W["score.0.bias"])
    lg = z @ W["score.2.weight"].T + W["score.2.bias"]
    pgood = lg.softmax(-1)[:, 1]
    return pgood[torch.tensor(ids) == step]

with torch.no_grad():
    for name, args in [("exact", (ident, ident, ident)), ("gavel's CUDA rounding", (bf, bf, ident)),
                       ("and a bf16 residual (as transformers)", (bf, bf, bf)),
                       ("attention probabilities only", (ident, bf, ident)),
                       ("GEMM inputs and outputs only", (bf, ident, ident))]:
        out = [forward(s["input_ids"], *args) for s in seqs]
        if name == "exact": ref = out
        worst = max((a - b).abs().max().item() for a, b in zip(out, ref))
        print(f"{name}: worst |Δp| against exact f32 {worst:.2e}")
