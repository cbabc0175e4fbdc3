"""The client against a real `gavel serve` on loopback ($GAVEL_BIN is the gavel binary)."""

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import gavel_client  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]


def gavel_bin() -> str:
    explicit = os.environ.get("GAVEL_BIN")
    if explicit:
        return explicit
    target = os.environ.get("CARGO_TARGET_DIR") or str(Path.home() / ".cache/gavel/target")
    return str(Path(target) / "debug" / "gavel")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    env = dict(os.environ, GAVEL_CACHE_DIR=str(cache), GAVEL_TOKEN="t0ken")
    proc = subprocess.Popen(
        [gavel_bin(), "serve", "--policy", str(ROOT / "examples/policies/r1_sum.toml"), "--listen", "127.0.0.1:0"],
        stderr=subprocess.PIPE, text=True, env=env,
    )
    line = proc.stderr.readline()
    assert line.startswith("gavel serve: listening on "), line
    url = line.strip().rsplit(" ", 1)[1]
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def test_trl_reward(server):
    reward = gavel_client.make_reward(server, token="t0ken")
    rewards = reward(
        prompts=["2+2?", "1+1?", "hi"],
        completions=[
            [{"role": "assistant", "content": "<think>easy</think>\n<answer>4</answer>"}],
            [{"role": "assistant", "content": "<answer>3</answer>"}],
            [{"role": "assistant", "content": "<think>x</think>\n<answer>hello</answer>"}],
        ],
        answer=["4", "2", None],
        trainer_state=types.SimpleNamespace(global_step=12),  # as TRL passes it, not a column
    )
    # Correct and well formed: 2; wrong and not R1-shaped: 0; no answer to check: masked.
    assert rewards[0] == 2.0
    assert rewards[1] == 0.0
    assert rewards[2] is None


def test_verl_compute_score(server, monkeypatch):
    monkeypatch.setenv("GAVEL_URL", server)
    monkeypatch.setenv("GAVEL_TOKEN", "t0ken")
    right = gavel_client.compute_score("gsm8k", "<think>24+48</think>\n<answer>72</answer>", "72")
    assert right["score"] == 2.0 and right["masked"] == 0.0 and right["accuracy"] == 1.0
    wrong = gavel_client.compute_score("gsm8k", "<answer>70</answer>", "72")
    assert wrong["score"] == 0.0 and wrong["masked"] == 0.0


def test_errors_name_the_problem(server):
    with pytest.raises(gavel_client.GavelError) as refused:
        gavel_client.Client(server, token="wrong").score([{"id": "a", "completion": "x"}])
    assert refused.value.status == 401
    with pytest.raises(gavel_client.GavelError, match="cannot reach"):
        gavel_client.Client("http://127.0.0.1:9", token="t0ken", timeout=5).score([])
    with pytest.raises(gavel_client.GavelError, match="`step` must be a finite number") as refused:
        gavel_client.Client(server, token="t0ken").score([], step=float("nan"))
    assert refused.value.status == 400



def test_trl_groups_are_the_prompts():
    chat = lambda text: [{"role": "user", "content": text}]  # noqa: E731
    assert gavel_client._prompt_groups([chat("a"), chat("a"), "b", chat("b"), "c"]) == ["0", "0", "1", "1", "2"]
    assert gavel_client._prompt_groups([]) is None
