#!/usr/bin/env python3
"""Runs Hugging Face math-verify on gavel's labelled math corpus, for side-by-side comparison.

Usage: run_math_verify.py CORPUS.jsonl [--repeat N]

Prints one JSON object: accuracy against the corpus labels, verifications per CPU-second, and
per-verification latency percentiles. Each verification is parse(gold) + parse(completion) +
verify(gold, answer), the way reward functions built on math-verify (open-r1, TRL) call it,
with the configuration those recommend.
"""

import json
import sys
import time

from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify
from math_verify.parser import NormalizationConfig


def main() -> None:
    path = sys.argv[1]
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 1
    pairs = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    gold_config = [LatexExtractionConfig(), ExprExtractionConfig()]
    answer_config = [
        LatexExtractionConfig(
            normalization_config=NormalizationConfig(
                nits=False, malformed_operators=False, basic_latex=True, boxed="all", units=True
            ),
            boxed_match_priority=0,
            try_extract_without_anchor=False,
        ),
        ExprExtractionConfig(),
    ]
    verdicts = []
    latencies = []
    cpu_start = time.process_time()
    for _ in range(repeat):
        verdicts = []
        for pair in pairs:
            started = time.process_time()
            try:
                gold = parse(_dollars(pair["gold"]), extraction_config=gold_config)
                answer = parse(pair["completion"], extraction_config=answer_config)
                equal = bool(verify(gold, answer))
            except BaseException:  # math-verify's timeout is a BaseException
                equal = False
            latencies.append(time.process_time() - started)
            verdicts.append(equal)
    cpu = time.process_time() - cpu_start
    latencies.sort()
    correct = sum(v == p["equal"] for v, p in zip(verdicts, pairs))
    print(
        json.dumps(
            {
                "peer": "math-verify",
                "pairs": len(pairs),
                "accuracy": correct / len(pairs),
                "verifications_per_cpu_second": len(latencies) / cpu,
                "p50_ms": latencies[len(latencies) // 2] * 1e3,
                "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e3,
                "verdicts": verdicts,
            }
        )
    )


def _dollars(gold: str) -> str:
    """Golds are bare LaTeX; math-verify extracts LaTeX only inside math delimiters."""
    return gold if "$" in gold or "\\boxed" in gold else f"${gold}$"


if __name__ == "__main__":
    main()
