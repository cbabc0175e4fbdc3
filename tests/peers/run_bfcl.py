#!/usr/bin/env python3
"""Runs BFCL's own AST checker (pip package bfcl-eval) on gavel's labelled tool-call corpus.

Usage: run_bfcl.py [CORPUS.jsonl] [--repeat N] [--verdicts]

CORPUS defaults to tests/corpus/toolcall/cases.jsonl. Run it with the venv that has bfcl-eval
installed (see tests/corpus/toolcall/README.md), e.g.

    ~/.cache/gavel/bfcl-venv/bin/python tests/peers/run_bfcl.py

Prints one JSON object. The headline numbers (`checks_per_cpu_second`, `p50_us`, `p99_us`, from
time.process_time()) time, per case, BFCL's
`ast_checker(functions, decoded, possible_answer, language, test_category, model_name)` on the
case's decoded calls; for `python`-dialect cases the timed region also includes BFCL's own decoder
of the completion text (`bfcl_eval.model_handler.utils.default_decode_ast_prompting`, an `ast.parse`
walker), whose output is what the checker is given. `with_decoding` times every case as
decode-then-check, decoding each dialect the way BFCL's handlers do where one exists (Hermes:
`QwenFCHandler.decode_ast`; OpenAI: `OpenAICompletionsHandler.decode_ast` in FC mode on the
`tool_calls` arguments; bare JSON list and `decoded`: json.loads), and `check_only` times the
checker alone. `agreement_with_labels` is the fraction of cases whose verdict equals the corpus's
`valid` label (the labels came from this checker, so anything below 1.0 means the package changed or
a decoder disagrees with the corpus's `decoded`).
"""

import argparse
import importlib.metadata
import json
import time
import types
from pathlib import Path

from bfcl_eval.constants.enums import Language, ReturnFormat
from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker
from bfcl_eval.model_handler.api_inference.openai_completion import OpenAICompletionsHandler
from bfcl_eval.model_handler.local_inference.qwen_fc import QwenFCHandler
from bfcl_eval.model_handler.utils import default_decode_ast_prompting

MODEL_NAME = "gorilla-openfunctions-v2"  # underscore_to_dot=False: dotted names compared as written
LANGUAGE = {"python": Language.PYTHON, "java": Language.JAVA, "javascript": Language.JAVASCRIPT}
_OPENAI_FC = types.SimpleNamespace(is_fc_model=True)


def test_category(case):
    if "test_category" in case:
        return case["test_category"]
    if case["language"] != "python":
        return f"simple_{case['language']}"
    return "simple_python" if case["category"] == "simple" else case["category"]


def decode(case):
    text, dialect = case["completion"], case["dialect"]
    if dialect == "python":
        return default_decode_ast_prompting(text, ReturnFormat.PYTHON)
    if dialect == "hermes":
        return QwenFCHandler.decode_ast(QwenFCHandler, text, ReturnFormat.JSON, False)
    if dialect == "openai":
        calls = [{c["function"]["name"]: c["function"]["arguments"]} for c in json.loads(text)["tool_calls"]]
        return OpenAICompletionsHandler.decode_ast(_OPENAI_FC, calls, ReturnFormat.JSON, False)
    if dialect == "json":
        return [{c["name"]: c["arguments"]} for c in json.loads(text)]
    return json.loads(text)


def check(case, decoded):
    try:
        r = ast_checker(case["functions"], decoded, case["possible_answer"], LANGUAGE[case["language"]],
                        test_category(case), MODEL_NAME)
    except Exception as e:  # noqa: BLE001
        return False, f"checker_exception:{type(e).__name__}"
    return bool(r["valid"]), (None if r["valid"] else r.get("error_type"))


def stats(latencies, cpu):
    latencies = sorted(latencies)
    n = len(latencies)
    return {
        "checks_per_cpu_second": n / cpu if cpu > 0 else None,
        "p50_us": latencies[n // 2] * 1e6,
        "p99_us": latencies[min(n - 1, int(n * 0.99))] * 1e6,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", nargs="?",
                    default=str(Path(__file__).resolve().parents[1] / "corpus" / "toolcall" / "cases.jsonl"))
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--verdicts", action="store_true")
    ap.add_argument("--language", help="only the cases of this language (python, java, javascript)")
    opts = ap.parse_args()
    repeat = opts.repeat
    cases = [json.loads(line) for line in open(opts.corpus, encoding="utf-8") if line.strip()]
    if opts.language:
        cases = [c for c in cases if c["language"] == opts.language]

    # Headline: checker on `decoded`; python-dialect cases decode their text with BFCL first.
    verdicts, latencies, decode_mismatch = [], [], []
    cpu_start = time.process_time()
    for _ in range(repeat):
        verdicts = []
        for case in cases:
            started = time.process_time()
            decoded = default_decode_ast_prompting(case["completion"]) if case["dialect"] == "python" else case["decoded"]
            verdict = check(case, decoded)
            latencies.append(time.process_time() - started)
            verdicts.append(verdict)
    cpu = time.process_time() - cpu_start
    headline = stats(latencies, cpu)

    # Every dialect decoded the way BFCL's handlers do, then checked.
    lat_all, with_decoding_verdicts, all_decoded = [], [], []
    cpu_start = time.process_time()
    for _ in range(repeat):
        with_decoding_verdicts, all_decoded = [], []
        for case in cases:
            started = time.process_time()
            try:
                decoded = decode(case)
                verdict = check(case, decoded)
            except Exception as e:  # noqa: BLE001
                decoded, verdict = None, (False, f"ast_decoder:{type(e).__name__}")
            lat_all.append(time.process_time() - started)
            with_decoding_verdicts.append(verdict)
            all_decoded.append(decoded)
    with_decoding = stats(lat_all, time.process_time() - cpu_start)
    # Bookkeeping outside the timed loop: where BFCL's decoders disagree with the corpus.
    for case, decoded in zip(cases, all_decoded):
        if json.dumps(decoded, sort_keys=True) != json.dumps(case["decoded"], sort_keys=True):
            decode_mismatch.append(case["id"])

    lat_check = []
    cpu_start = time.process_time()
    for _ in range(repeat):
        for case in cases:
            started = time.process_time()
            check(case, case["decoded"])
            lat_check.append(time.process_time() - started)
    check_only = stats(lat_check, time.process_time() - cpu_start)

    agree = sum(v == c["valid"] for (v, _), c in zip(verdicts, cases))
    agree_type = sum(v == c["valid"] and et == c["error_type"] for (v, et), c in zip(verdicts, cases))
    agree_decoding = sum(v == c["valid"] for (v, _), c in zip(with_decoding_verdicts, cases))
    out = {
        "peer": "bfcl-eval",
        "version": importlib.metadata.version("bfcl-eval"),
        "cases": len(cases),
        "agreement_with_labels": agree / len(cases),
        **headline,
        "error_type_agreement": agree_type / len(cases),
        "python_dialect_cases_decoded_by_bfcl": sum(c["dialect"] == "python" for c in cases),
        "repeat": repeat,
        "with_decoding": {**with_decoding, "agreement_with_labels": agree_decoding / len(cases),
                          "decode_mismatches": decode_mismatch[:20], "decode_mismatch_count": len(decode_mismatch)},
        "check_only": check_only,
    }
    if opts.verdicts:
        out["verdicts"] = [v for v, _ in verdicts]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
