"""Trains gavel's demo PRM: a tiny Qwen2-architecture process reward model for arithmetic
chains with injected wrong steps, saved in Qwen2.5-Math-PRM's checkpoint format (two-class
`score` head read at `<extra_0>`), so gavel loads it like the real one. Run by developers
(needs torch and transformers), not by CI; the result is committed as
verifiers/prm/demo/arith-prm/:

    venv/bin/python verifiers/prm/demo/train_arith_prm.py

The task (gavel's tests generate held-out chains the same way, see arith_chain in
verifiers/prm/src/demo.rs): 4 to 8 steps, "Start at 07, add 3, subtract 5, ..." with steps
"07 + 3 = 10", "10 - 5 = 05" (two digits, so each part of an equation sits at a fixed distance
from the step token); values stay within 0..19, about a third of the steps state a result off by 1 to
3, and a step is good iff its own equation is right (later steps start from the stated value).
Characters are tokens, so the model sees digits.
"""

import json
import os
import random
import sys

import torch
from torch import nn
from safetensors.torch import save_file
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import Qwen2Config, Qwen2Model

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "arith-prm")
STEP = "<extra_0>"
SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."


def chat(prompt, steps):
    """Qwen2.5-Math-PRM's input; the same text as gavel_prm::qwen_prm_chat."""
    answer = "".join(s + STEP for s in steps)
    return (f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{prompt}<|im_end|>\n"
            f"<|im_start|>assistant\n{answer}<|im_end|>\n")


def chain(rnd):
    """(prompt, steps, labels)."""
    value = rnd.randint(1, 19)
    start = value
    words, steps, labels = [], [], []
    for _ in range(rnd.randint(4, 8)):
        b = rnd.randint(1, 9)
        add = value + b <= 19 and (value - b < 0 or rnd.random() < 0.5)
        result = value + b if add else value - b
        stated = result
        if rnd.random() < 0.35:
            stated = result + rnd.choice([d for d in (-3, -2, -1, 1, 2, 3) if 0 <= result + d <= 19])
        words.append(f"{'add' if add else 'subtract'} {b}")
        steps.append(f"{value:02} {'+' if add else '-'} {b} = {stated:02}")
        labels.append(int(stated == result))
        value = stated
    return f"Start at {start:02}, " + ", ".join(words) + ".", steps, labels


def tokenizer(rnd):
    """One token per character (digits must stay digits for the model to do arithmetic), and
    the ChatML markers and the step token as special tokens."""
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", STEP]
    chars = sorted(set("".join(chat(*chain(rnd)[:2]) for _ in range(2000)).replace(STEP, "")
                       .replace("<|im_start|>", "").replace("<|im_end|>", "")) | set("0123456789+-=., \n"))
    vocab = {t: i for i, t in enumerate(specials + ["[UNK]"] + chars)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split(pattern="", behavior="isolated")
    tok.add_special_tokens(specials)
    return tok


class Prm(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.model = Qwen2Model(config)
        h = config.hidden_size
        self.score = nn.Sequential(nn.Linear(h, h), nn.ReLU(), nn.Linear(h, 2))

    def forward(self, ids, mask):
        return self.score(self.model(input_ids=ids, attention_mask=mask).last_hidden_state)


def batch(tok, rnd, n, step_id):
    encoded, labels = [], []
    for _ in range(n):
        prompt, steps, lab = chain(rnd)
        encoded.append(tok.encode(chat(prompt, steps)).ids)
        labels.append(lab)
    t = max(map(len, encoded))
    ids = torch.zeros((n, t), dtype=torch.long)
    mask = torch.zeros((n, t), dtype=torch.long)
    target = torch.full((n, t), -100, dtype=torch.long)
    for i, (e, lab) in enumerate(zip(encoded, labels)):
        ids[i, : len(e)] = torch.tensor(e)
        mask[i, : len(e)] = 1
        positions = [p for p, x in enumerate(e) if x == step_id]
        assert len(positions) == len(lab)
        for p, y in zip(positions, lab):
            target[i, p] = y
    return ids, mask, target


def main():
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 2)
    rnd = random.Random(0)
    tok = tokenizer(rnd)
    step_id = tok.token_to_id(STEP)
    config = Qwen2Config(vocab_size=tok.get_vocab_size(), hidden_size=64, intermediate_size=192,
                         num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=512, rope_theta=10000.0, rms_norm_eps=1e-6,
                         tie_word_embeddings=False)
    config.architectures = ["Qwen2ForProcessRewardModel"]
    model = Prm(config)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 1500
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.05)
    loss_fn = nn.CrossEntropyLoss(ignore_index=-100)
    for step in range(steps):
        ids, mask, target = batch(tok, rnd, 32, step_id)
        logits = model(ids, mask)
        loss = loss_fn(logits.view(-1, 2), target.view(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps - 1:
            with torch.no_grad():
                pred = logits.argmax(-1)
                ok = (pred == target)[target != -100].float().mean().item()
            print(f"step {step} loss {loss.item():.4f} acc {ok:.3f}", flush=True)
    os.makedirs(OUT, exist_ok=True)
    state = {k: v.detach().float().clone().contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(OUT, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(config.to_dict(), f, indent=1, sort_keys=True)
    tok.save(os.path.join(OUT, "tokenizer.json"))
    print("saved", OUT)


if __name__ == "__main__":
    main()
