"""The gavel package in process and against a real `gavel serve` ($GAVEL_BIN)."""

import asyncio
import contextlib
import json
import os
import subprocess
import threading
import types
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import gavel

ROOT = Path(__file__).resolve().parents[2]
R1 = ROOT / "examples/policies/r1_sum.toml"
RIGHT = "<think>2 and 2</think>\n<answer>4</answer>"


def sample(i, completion, answer="4", group="g"):
    s = {"id": str(i), "group": group, "completion": completion}
    if answer is not None:
        s["reference"] = {"answer": answer}
    return s


def gavel_bin():
    if os.environ.get("GAVEL_BIN"):
        return os.environ["GAVEL_BIN"]
    target = os.environ.get("CARGO_TARGET_DIR") or str(Path.home() / ".cache/gavel/target")
    return str(Path(target) / "debug" / "gavel")


@pytest.fixture(scope="module")
def policy():
    return gavel.Scorer.from_policy(R1)


@contextlib.contextmanager
def serving(policy_path, cache, *extra):
    """A real `gavel serve` of `policy_path` on a loopback port; yields its URL."""
    proc = subprocess.Popen(
        [gavel_bin(), "serve", "--policy", str(policy_path), "--listen", "127.0.0.1:0", *extra],
        stderr=subprocess.PIPE, text=True, env=dict(os.environ, GAVEL_CACHE_DIR=str(cache)),
    )
    try:
        line = proc.stderr.readline()
        assert line.startswith("gavel serve: listening on "), line
        yield line.strip().rsplit(" ", 1)[1]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serving(R1, tmp_path_factory.mktemp("cache")) as url:
        yield url


def test_policy_scores_with_breakdown_and_advantage(policy):
    out = policy.score([sample(0, RIGHT), sample(1, "<answer>5</answer>"), sample(2, RIGHT, answer=None)])
    assert [r["reward"] for r in out] == [2.0, 0.0, None]
    assert out[0]["components"] == {"accuracy": 1.0, "format": 1.0}
    assert out[0]["advantage"] > 0 > out[1]["advantage"]
    assert out[2]["status"] == "not_applicable" and out[2]["advantage"] is None


def test_plugin_and_errors():
    math = gavel.Scorer.from_plugin("math", config={"float_tolerance": 1e-9})
    assert math.score([{"id": "a", "completion": "<answer>1/2</answer>", "reference": {"answer": "0.5"}}])[0]["reward"] == 1.0
    with pytest.raises(ValueError, match="no bundled plugin"):
        gavel.Scorer.from_plugin("nope")
    with pytest.raises(ValueError, match="invalid config"):
        gavel.Scorer.from_plugin("math", config={"tolerance": 1})
    with pytest.raises(ValueError, match=r"\.toml"):
        gavel.Scorer.from_policy(ROOT / "Cargo.toml")
    # A malformed sample is an outcome in its place, not an exception.
    out = math.score([{"id": "x"}, {"id": "y", "completion": "<answer>2</answer>", "reference": {"answer": "2"}}])
    assert out[0]["status"] == "invalid" and out[1]["reward"] == 1.0


def test_async_and_threads(policy):
    samples = [sample(i, RIGHT if i % 2 else "<answer>5</answer>", group=f"g{i // 4}") for i in range(64)]
    expected = policy.score(samples)
    assert asyncio.run(policy.ascore(samples)) == expected
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: policy.score(samples), range(16)))
    assert all(r == expected for r in results)


def test_a_long_list_scores_as_one_call(policy):
    """A list is scored in pieces that keep each group whole, and references are written as
    JSON without json.dumps: the results equal those of the whole list through the JSON path."""
    completions = [RIGHT, "<answer>5</answer>", "4", "<think>x</think><answer>4</answer>"]
    samples = [sample(i, completions[i * 7 % 4], group=f"g{i // 8}") for i in range(300)]
    for i in (70, 100, 130):  # one group across what would be a cut
        samples[i]["group"] = "wide"
    for i in range(200, 220):  # samples without a group
        del samples[i]["group"]
    samples[5]["reference"] = {"answer": "4", "extra": [1, 2.5, True, None, {"k": 'v\u00e9"\n'}], "big": 2**70}
    samples[6]["reference"] = {"answer": 4.0}
    whole = json.loads(policy._backend.score_json(json.dumps(samples)))
    assert policy.score(samples) == whole
    assert len({r["advantage"] for r in whole if r["advantage"] is not None}) > 2


def test_trl_and_verl_call_shapes(policy):
    reward = policy.trl_reward_function(reference_column="solution", name="r1")
    assert reward.__name__ == "r1"
    # TRL calls reward_func(prompts=..., completions=..., completion_ids=..., **dataset columns).
    got = reward(
        prompts=[[{"role": "user", "content": "2+2?"}], [{"role": "user", "content": "hi"}]],
        completions=[[{"role": "assistant", "content": RIGHT}], [{"role": "assistant", "content": RIGHT}]],
        completion_ids=[[1, 2], [3]],
        solution=["4", None],
        trainer_state=None,
    )
    assert got == [2.0, None]
    # verl: compute_score(data_source, solution_str, ground_truth, extra_info)
    one = policy.verl_compute_score("gsm8k", RIGHT, "4", extra_info={"index": 0})
    assert one == {"score": 2.0, "masked": 0.0, "accuracy": 1.0, "format": 1.0}
    batch = policy.verl_compute_score_batch(["gsm8k", "chat"], [RIGHT, RIGHT], ["4", None], [None, None])
    assert batch[0]["score"] == 2.0 and batch[1] == {"score": 0.0, "masked": 1.0}


def test_remote_matches_in_process(server, policy):
    remote = gavel.Scorer.remote(server)
    samples = [sample(0, RIGHT), sample(1, "<answer>5</answer>"), {"id": "bad"}]
    assert remote.score(samples) == policy.score(samples)
    with pytest.raises(gavel.GavelError, match="cannot reach"):
        gavel.Scorer.remote("http://127.0.0.1:9", timeout=5).score(samples)


def test_samples_are_read_as_the_daemon_reads_them(server, policy):
    """Plain dicts are read directly, the rest through JSON: either way each sample gets the
    daemon's verdict and message, and one that is wrong never fails its neighbours."""
    good = sample(0, RIGHT)
    odd = [
        dict(good, id=7),  # an integer id
        dict(good, id="t", task=None, group=None, prompt="p", meta={"k": [1, 2]}),
        dict(good, id="r", reference=None),
        dict(good, id="n", reference={"answer": 4}),
        {"id": "typo", "completion": RIGHT, "refrence": {"answer": "4"}},
        {"id": "no-completion"},
        {"id": True, "completion": RIGHT},
        dict(good, id=1.5),
        {"id": "p", "completion": RIGHT, "prompt": None},
        {"id": "l", "completion": [RIGHT]},
        3,
        good,
    ]
    remote = gavel.Scorer.remote(server).score(odd)
    local = policy.score(odd)
    assert local == remote
    # Keys in the daemon's order, whichever shapes of result come next to each other.
    assert [list(r) for r in local] == [list(r) for r in remote]
    assert [r["status"] for r in remote] == ["ok", "ok", "not_applicable", "ok"] + ["invalid"] * 3 + ["ok"] + ["invalid"] * 3 + ["ok"]
    assert [r["id"] for r in remote[:1] + remote[7:8] + remote[10:11]] == ["7", "1.5", "#10"]
    assert "refrence" in remote[4]["error"], remote[4]
    # What JSON cannot carry: only that sample is invalid, and `meta` is never read.
    out = policy.score([dict(good, reference={"answer": {4}}), dict(good, reference={"answer": float("nan")}),
                        dict(good, meta={1, 2}), good])
    assert [r["status"] for r in out] == ["invalid", "invalid", "ok", "ok"]
    assert "not JSON" in out[0]["error"], out[0]


def test_a_python_plugin_in_process_with_its_grants(tmp_path):
    """The componentize-py keywords plugin, built by `gavel plugin build`, scored in process
    with the four capabilities its interpreter imports: deterministic, refused without them."""
    plugin_dir = tmp_path / "keywords-py"
    plugin_dir.mkdir()
    (plugin_dir / "app.py").write_text((ROOT / "plugins/keywords-py/app.py").read_text())
    (plugin_dir / "files").mkdir()
    (plugin_dir / "files/stopwords.txt").write_text((ROOT / "plugins/keywords-py/files/stopwords.txt").read_text())
    built = subprocess.run([gavel_bin(), "plugin", "build", str(plugin_dir)],
                           capture_output=True, text=True, env=dict(os.environ, GAVEL_CACHE_DIR=str(tmp_path / "c")))
    assert built.returncode == 0, built.stderr
    wasm = built.stdout.strip()
    grant = ["clock", "random", "files", "sockets"]
    samples = [{"id": "a", "completion": "Chlorophyll captures light.",
                "reference": {"keywords": ["chlorophyll", "light", "water"]}}]
    first = gavel.Scorer.from_plugin(wasm, grant=grant, seed=3).score(samples)
    assert first[0]["components"]["coverage"] == pytest.approx(2 / 3)
    assert gavel.Scorer.from_plugin(wasm, grant=grant, seed=3).score(samples) == first
    # A list of many pieces: the waiting caller runs some of the plugin calls itself, and
    # the plugin's file reads work there as on the worker threads.
    many = gavel.Scorer.from_plugin(wasm, grant=grant, seed=3).score([dict(samples[0], id=str(i)) for i in range(300)])
    assert [r["id"] for r in many] == [str(i) for i in range(300)]
    assert all(r["status"] == "ok" and r["components"] == first[0]["components"] for r in many), many
    with pytest.raises(ValueError, match="which it was not granted"):
        gavel.Scorer.from_plugin(wasm)
    with pytest.raises(ValueError, match="network"):
        gavel.Scorer.from_plugin("math", grant=["network"])


SCHEDULED = """version = 1
reward = "format + sched(step, 0, 10, 100)"
[sources.format]
kind = "wasm"
plugin = "format"
"""


def test_remote_scores_at_the_step_and_waits_out_an_overload(tmp_path):
    path = tmp_path / "scheduled.toml"
    path.write_text(SCHEDULED)
    local = gavel.Scorer.from_policy(path)
    samples = [sample(i, RIGHT) for i in range(1500)]
    with serving(path, tmp_path, "--max-in-flight", "1", "--max-queued", "0") as url:
        remote = gavel.Scorer.remote(url, timeout=120)
        assert remote.score(samples[:2], step=50) == local.score(samples[:2], step=50)
        assert [r["reward"] for r in remote.score(samples[:1], step=50)] == [6.0]
        assert [r["reward"] for r in remote.score(samples[:1])] == [1.0]
        # TRL passes its TrainerState; its global_step is the step.
        for scorer in (local, remote):
            reward = scorer.trl_reward_function()
            state = types.SimpleNamespace(global_step=50)
            assert reward(prompts=["q"], completions=[RIGHT], trainer_state=state) == [6.0]
            assert reward(prompts=["q"], completions=[RIGHT]) == [1.0]

        # Six callers at once on one slot and no queue: those refused (503, Retry-After: 1)
        # send again, and every call is answered.
        start = threading.Barrier(6)

        def call(_):
            start.wait()
            return remote.score(samples, step=500)

        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(call, range(6)))
        assert all(r["reward"] == 11.0 for answer in answers for r in answer)
        with urllib.request.urlopen(url + "/metrics") as response:
            metrics = response.read().decode()
        rejected = [line for line in metrics.splitlines() if line.startswith("gavel_rejected_total ")]
        assert rejected and int(rejected[0].split()[1]) > 0, metrics


def test_trl_completions_of_one_prompt_form_a_group(tmp_path):
    path = tmp_path / "centered.toml"
    path.write_text('version = 1\nreward = "group_center(format)"\n'
                    '[sources.format]\nkind = "wasm"\nplugin = "format"\n')
    reward = gavel.Scorer.from_policy(path).trl_reward_function()
    prompts = [[{"role": "user", "content": "a"}]] * 2 + [[{"role": "user", "content": "b"}]] * 2
    completions = [RIGHT, "no tags", RIGHT, RIGHT]
    assert reward(prompts=prompts, completions=completions) == [0.5, -0.5, 0.0, 0.0]
    # A group column wins.
    assert reward(prompts=prompts, completions=completions, group=["x", "y", "x", "y"]) == [0.0, -0.5, 0.0, 0.5]
