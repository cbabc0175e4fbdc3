#!/usr/bin/env python3
"""Builds tests/corpus/toolrl/cases.jsonl: tool-call completions scored by ToolRL's own reward code.

Usage: build_corpus.py PATH/TO/rlla.py [--cases N]

`rlla.py` is `verl/utils/reward_score/rlla.py` from the ToolRL repository (qiancheng0/ToolRL);
it is loaded from the given path at build time and is not part of this repository. Each case is
a gold set of calls and a model completion derived from it by a mutation; the expected `format`
and `correctness` values are what the authors' functions return (format range [0, 1],
correctness range [-3, 3], no experiment flags set). gavel's `toolcall` plugin in `toolrl` mode
must reproduce them to 1e-9 (tests/all/toolcall.rs).
"""

import contextlib
import copy
import importlib.util
import io
import json
import os
import random
import sys

NAMES = ["get_weather", "search_flights", "book_hotel", "convert_currency", "get_price"]
KEYS = ["city", "days", "date", "amount", "from", "to", "flexible", "tags", "limit", "unit"]


def load(path):
    spec = importlib.util.spec_from_file_location("rlla", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def value(rng):
    kind = rng.choice(["int", "float", "str", "bool", "list"])
    if kind == "int":
        return rng.randint(0, 20)
    if kind == "float":
        return rng.choice([0.5, 1.25, 3.0, 7.5])
    if kind == "str":
        return rng.choice(["Berlin", "NYC", "nyc", "2024-05-01", "EUR", "celsius"])
    if kind == "bool":
        return rng.choice([True, False])
    return rng.sample(["a", "b", "c", "d"], rng.randint(0, 3))


def gold_calls(rng):
    calls = []
    for _ in range(rng.randint(1, 3)):
        keys = rng.sample(KEYS, rng.randint(0, 3))
        calls.append({"name": rng.choice(NAMES), "parameters": {k: value(rng) for k in keys}})
    return calls


def mutate(rng, gold):
    """A predicted call list (or raw lines) derived from the gold, and the mutation's name."""
    pred = copy.deepcopy(gold)
    kind = rng.choice([
        "exact", "drop_call", "extra_call", "reorder", "wrong_name", "change_value", "int_float",
        "bool_int", "missing_param", "extra_param", "duplicate", "case", "arguments_key",
        "empty_prediction", "two_changes",
    ])
    if kind == "drop_call" and pred:
        pred.pop(rng.randrange(len(pred)))
    elif kind == "extra_call":
        pred.append({"name": rng.choice(NAMES), "parameters": {"limit": 1}})
    elif kind == "reorder":
        rng.shuffle(pred)
    elif kind == "wrong_name":
        pred[0]["name"] = rng.choice([n for n in NAMES if n != pred[0]["name"]])
    elif kind in ("change_value", "two_changes"):
        for call in rng.sample(pred, min(len(pred), 2 if kind == "two_changes" else 1)):
            if call["parameters"]:
                k = rng.choice(list(call["parameters"]))
                call["parameters"][k] = value(rng)
    elif kind == "int_float":
        for call in pred:
            for k, v in call["parameters"].items():
                if isinstance(v, int) and not isinstance(v, bool):
                    call["parameters"][k] = float(v)
    elif kind == "bool_int":
        for call in pred:
            for k, v in call["parameters"].items():
                if isinstance(v, bool):
                    call["parameters"][k] = int(v)
    elif kind == "missing_param":
        for call in pred:
            if call["parameters"]:
                call["parameters"].pop(rng.choice(list(call["parameters"])))
                break
    elif kind == "extra_param":
        pred[0]["parameters"]["unit"] = "celsius"
    elif kind == "duplicate":
        pred.append(copy.deepcopy(pred[0]))
    elif kind == "case":
        for call in pred:
            for k, v in call["parameters"].items():
                if isinstance(v, str):
                    call["parameters"][k] = v.upper()
    elif kind == "arguments_key":
        pred = [{"name": c["name"], "arguments": c["parameters"]} for c in pred]
    elif kind == "empty_prediction":
        pred = []
    return pred, kind


def completion(rng, pred):
    lines = [json.dumps(call) for call in pred]
    shape = rng.choice(["good", "good", "good", "no_think", "trailing_newline", "two_blocks", "broken_json", "no_tags"])
    think = "<think>I will call the tools.</think>\n"
    if shape == "no_think":
        think = ""
    if shape == "broken_json":
        lines.append("{not json")
    body = "\n".join(lines)
    text = f"{think}<tool_call>\n{body}\n</tool_call>"
    if shape == "trailing_newline":
        text += "\n"
    if shape == "two_blocks":
        text += f"\n<tool_call>\n{body}\n</tool_call>"
    if shape == "no_tags":
        text = f"{think}{body}"
    return text, shape


def main():
    rlla = load(sys.argv[1])
    n = int(sys.argv[sys.argv.index("--cases") + 1]) if "--cases" in sys.argv else 600
    for flag in ["REFINEDREWARD", "COARSEREWARD", "INTERMEDIATEREWARD", "MAX1STEP30MAX3", "SCHEDULEREWARD", "WITHLENGTH"]:
        os.environ.pop(flag, None)
    rng = random.Random(20261126)
    out = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases.jsonl"), "w", encoding="utf-8")
    for i in range(n):
        gold = gold_calls(rng)
        pred, mutation = mutate(rng, gold)
        text, shape = completion(rng, pred)
        answer = "<tool_call>\n" + "\n".join(json.dumps(c) for c in gold) + "\n</tool_call>"
        completions = [[{"role": "assistant", "content": text}]]
        with contextlib.redirect_stdout(io.StringIO()):
            fmt = rlla.customize_format_reward_func(completions, [answer], 0, 1.0, 0.0)[0]
            correct = rlla.customize_correctness_reward_tool(completions, [answer], 0, 3.0, -3.0)[0]
        case = {
            "id": f"toolrl-{i}",
            "mutation": mutation,
            "shape": shape,
            "completion": text,
            "reference": {"calls": gold},
            "format": fmt,
            "correctness": correct,
        }
        out.write(json.dumps(case) + "\n")
    out.close()


if __name__ == "__main__":
    main()
