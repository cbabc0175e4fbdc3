"""Trains gavel's demo PRM: a tiny Qwen2-architecture process reward model for arithmetic
chains with injected wrong steps, saved in Qwen2.5-Math-PRM's checkpoint format (two-class
`score` head read at `<extra_0>`), so gavel loads it like the real one. Run by developers
(needs torch and transformers; a GPU makes it a matter of minutes), not by CI; the result is
committed as verifiers/prm/demo/arith-prm/:

    python3 verifiers/prm/demo/train_arith_prm.py [--seconds 150] [--out DIR]

The task (gavel's tests generate held-out chains the same way, see arith_chain in
verifiers/prm/src/demo.rs): 4 to 8 steps, "Start at 07, add 3, subtract 5, ..." with steps
"07 + 3 = 10", "10 - 5 = 05" (two digits, so each part of an equation sits at a fixed distance
from the step token); values stay within 0..19, about a third of the steps state a result off by 1 to
3, and a step is good iff its own equation is right (later steps start from the stated value).
Characters are tokens, so the model sees digits.

A step's label depends on its three numbers jointly, so a classification loss alone gives no
gradient towards reading them and training sits at the base rate. Like real PRMs, which start
from a language model, the body is also trained to predict the next character (an auxiliary
LM head, not saved), which teaches it the arithmetic; the score head then only compares.
Training stops after --seconds and keeps the state with the best held-out AUROC.
"""

import argparse
import json
import os
import random
import sys
import time

import torch
from torch import nn
from safetensors.torch import save_file
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import Qwen2Config

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from make_fixtures import QwenPrm  # noqa: E402  (Qwen2.5-Math-PRM's layout, defined once)

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


class Prm(QwenPrm):
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


def auroc(scores, labels):
    """P(a random good step scores above a random bad one), ties half."""
    pos = [s for s, y in zip(scores, labels) if y == 1]
    neg = [s for s, y in zip(scores, labels) if y == 0]
    ranked = sorted([(s, 1) for s in pos] + [(s, 0) for s in neg])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mid = (i + j + 1) / 2  # 1-based average rank of the tie block
        rank_sum += mid * sum(y for _, y in ranked[i:j])
        i = j
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=150)
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(a.seed)
    rnd = random.Random(a.seed)
    tok = tokenizer(random.Random(0))
    step_id = tok.token_to_id(STEP)
    vocab = tok.get_vocab_size()
    config = Qwen2Config(vocab_size=vocab, hidden_size=a.hidden, intermediate_size=3 * a.hidden,
                         num_hidden_layers=a.layers, num_attention_heads=a.heads,
                         num_key_value_heads=a.heads // 2, max_position_embeddings=512,
                         rope_theta=10000.0, rms_norm_eps=1e-6, tie_word_embeddings=False)
    config.architectures = ["Qwen2ForProcessRewardModel"]
    model = Prm(config).to(device)
    lm_head = nn.Linear(a.hidden, vocab, bias=False).to(device)
    params = list(model.parameters()) + list(lm_head.parameters())
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.01)
    loss_fn = nn.CrossEntropyLoss(ignore_index=-100)
    held_out = batch(tok, random.Random(12345), 256, step_id)
    best, best_state, started, step = -1.0, None, time.time(), 0
    while time.time() - started < a.seconds:
        ids, mask, target = (t.to(device) for t in batch(tok, rnd, a.batch, step_id))
        hidden = model.model(input_ids=ids, attention_mask=mask).last_hidden_state
        prm_loss = loss_fn(model.score(hidden).view(-1, 2), target.view(-1))
        next_ids = ids[:, 1:].masked_fill(mask[:, 1:] == 0, -100)
        lm_loss = loss_fn(lm_head(hidden[:, :-1]).reshape(-1, vocab), next_ids.reshape(-1))
        loss = prm_loss + lm_loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % 250 == 0:
            model.eval()
            with torch.no_grad():
                ids, mask, target = (t.to(device) for t in held_out)
                p = model(ids, mask).float().softmax(-1)[..., 1]
                keep = target != -100
                score = auroc(p[keep].tolist(), target[keep].tolist())
            model.train()
            if score > best:
                best = score
                best_state = {k: v.detach().float().cpu().clone().contiguous()
                              for k, v in model.state_dict().items()}
            print(f"step {step} {time.time() - started:.0f}s prm {prm_loss.item():.4f} "
                  f"lm {lm_loss.item():.4f} held-out AUROC {score:.4f} (best {best:.4f})", flush=True)
        step += 1
    os.makedirs(a.out, exist_ok=True)
    save_file(best_state, os.path.join(a.out, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config.to_dict(), f, indent=1, sort_keys=True)
    tok.save(os.path.join(a.out, "tokenizer.json"))
    print(json.dumps({"saved": a.out, "held_out_auroc": best, "steps": step}))


if __name__ == "__main__":
    main()
