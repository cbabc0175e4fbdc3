"""10,000 math answers three ways, in one run: the gavel package in process, the same policy
through `gavel serve` over loopback, and math-verify called the way TRL users call it (one
`parse` of the gold, one `parse` of the completion, `verify`, per sample). Prints samples per
second (wall clock, one caller thread), agreement with the corpus labels, and the ratios.

The two gavel paths take turns over several rounds (in process, then loopback, and again) and
the medians are compared: one pass of 10 000 takes a tenth of a second in process, short
enough for a busy moment of the machine to decide a single pass, and the daemon speeds up over
its first rounds. math-verify makes one pass (it takes minutes).

    python python/bench/bench_math.py --gavel <path to the gavel binary> [--rounds 5]
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import gavel

ROOT = Path(__file__).resolve().parents[2]
N = 10_000
POLICY = 'version = 1\nreward = "accuracy"\n[sources.accuracy]\nkind = "wasm"\nplugin = "math"\n'


def corpus():
    pairs = [json.loads(l) for l in open(ROOT / "tests/corpus/math/pairs.jsonl") if l.strip()]
    rows = [pairs[i % len(pairs)] for i in range(N)]
    return rows


def timed(f, *args):
    started = time.perf_counter()
    out = f(*args)
    return out, time.perf_counter() - started


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gavel", required=True, help="the gavel binary, for the daemon")
    ap.add_argument("--rounds", type=int, default=5, help="turns of each gavel path (medians compared)")
    opts = ap.parse_args()
    rows = corpus()
    samples = [{"id": str(i), "completion": r["completion"], "reference": {"answer": r["gold"]}} for i, r in enumerate(rows)]
    with tempfile.TemporaryDirectory() as tmp:
        policy = Path(tmp) / "math.toml"
        policy.write_text(POLICY)
        scorer = gavel.Scorer.from_policy(policy)
        scorer.score(samples[:64])  # warm: compile cache, pool
        proc = subprocess.Popen([opts.gavel, "serve", "--policy", str(policy), "--listen", "127.0.0.1:0"],
                                stderr=subprocess.PIPE, text=True, env=dict(os.environ, GAVEL_CACHE_DIR=tmp))
        try:
            url = proc.stderr.readline().strip().rsplit(" ", 1)[1]
            remote = gavel.Scorer.remote(url)
            remote.score(samples[:64])
            in_rates, http_rates = [], []
            for _ in range(opts.rounds):
                in_process, t_in = timed(lambda: [r for i in range(0, N, 256) for r in scorer.score(samples[i:i + 256])])
                over_http, t_http = timed(lambda: [r for i in range(0, N, 256) for r in remote.score(samples[i:i + 256])])
                in_rates.append(N / t_in)
                http_rates.append(N / t_http)
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    from math_verify import parse, verify

    def math_verify_all():
        out = []
        for r in rows:
            try:
                out.append(bool(verify(parse(r["gold"]), parse(r["completion"]))))
            except Exception:  # noqa: BLE001 -- TRL users' reward functions catch and score 0
                out.append(False)
        return out

    mv, t_mv = timed(math_verify_all)
    labels = [r["equal"] for r in rows]
    agree = lambda verdicts: sum(v == l for v, l in zip(verdicts, labels)) / N  # noqa: E731
    in_rate, http_rate, mv_rate = statistics.median(in_rates), statistics.median(http_rates), N / t_mv
    rounds = lambda rates: " ".join(f"{r:.0f}" for r in rates)  # noqa: E731
    print(f"{N} math answers, one caller thread, wall clock; gavel: median of {opts.rounds} alternating rounds")
    print(f"{'path':<34} {'samples/s':>12} {'agreement':>10}  rounds")
    print(f"{'gavel in process (batches of 256)':<34} {in_rate:>12.0f} {agree([r['reward'] == 1.0 for r in in_process]):>10.4f}  {rounds(in_rates)}")
    print(f"{'gavel serve, loopback HTTP':<34} {http_rate:>12.0f} {agree([r['reward'] == 1.0 for r in over_http]):>10.4f}  {rounds(http_rates)}")
    print(f"{'math-verify parse+verify':<34} {mv_rate:>12.0f} {agree(mv):>10.4f}")
    ratios = " ".join(f"{a / b:.2f}" for a, b in zip(in_rates, http_rates))
    print(f"in process / math-verify = {in_rate / mv_rate:.1f}x; in process / loopback = {in_rate / http_rate:.2f}x (rounds: {ratios})")


if __name__ == "__main__":
    main()
