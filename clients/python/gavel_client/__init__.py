"""Client for `gavel serve`, the gavel verifier daemon. Standard library only.

Two adapters for the trainers people run:

* TRL: ``reward(prompts, completions, **columns) -> list[float | None]`` (``None`` for a sample
  gavel masked: not applicable, invalid, timeout or error; TRL turns it into NaN and leaves the
  sample out). Build one bound to a server with ``make_reward(url, token)``.
* verl: ``compute_score(data_source, solution_str, ground_truth, extra_info=None)`` returns a
  dict whose ``"score"`` is the reward (0.0 for a masked sample, with ``"masked": 1.0`` so it can
  be filtered) plus every component of the breakdown.

The server is ``$GAVEL_URL`` (default ``http://127.0.0.1:8080``), the token ``$GAVEL_TOKEN``.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from typing import Any, Iterable, Sequence

__all__ = ["Client", "GavelError", "make_reward", "reward", "compute_score"]


class GavelError(RuntimeError):
    """The server refused a request or could not be reached; the message says why."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class Client:
    """A connection to one `gavel serve`."""

    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 180.0):
        self.url = (url or os.environ.get("GAVEL_URL") or "http://127.0.0.1:8080").rstrip("/")
        self.token = token if token is not None else os.environ.get("GAVEL_TOKEN")
        self.timeout = timeout

    def _post(self, path: str, payload: Any) -> Any:
        """POSTs JSON; an overloaded server's 503 is retried after its ``Retry-After`` for up to
        ``timeout`` seconds in all."""
        data = json.dumps(payload).encode("utf-8")
        deadline = time.monotonic() + self.timeout
        while True:
            request = urllib.request.Request(self.url + path, data=data, method="POST")
            request.add_header("Content-Type", "application/json")
            if self.token:
                request.add_header("Authorization", f"Bearer {self.token}")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as e:
                body = e.read().decode("utf-8", "replace")
                wait = _retry_after(e)
                if wait is not None and time.monotonic() + wait < deadline:
                    time.sleep(wait)
                    continue
                try:
                    message = json.loads(body).get("error", body)
                except ValueError:
                    message = body
                raise GavelError(f"gavel {path}: HTTP {e.code}: {message}", e.code) from None
            except urllib.error.URLError as e:
                raise GavelError(f"gavel {path}: cannot reach {self.url}: {e.reason}") from None

    def score(self, samples: Sequence[dict], step: float = 0.0) -> list[dict]:
        """Scores samples (``{"id", "completion", "prompt"?, "reference"?, "task"?, "group"?}``);
        one result per sample, in order: ``{"id", "status", "reward", "components", ...}``.
        ``step`` is the training step, for policies that schedule their weights (``sched``)."""
        return self._post("/v1/score" + (f"?step={float(step)!r}" if step else ""), list(samples))


def _retry_after(e: urllib.error.HTTPError) -> float | None:
    """How long an overloaded server (503) asks to wait before trying again; None otherwise."""
    if e.code != 503:
        return None
    try:
        return min(max(float(e.headers.get("Retry-After", "")), 0.0), 60.0)
    except ValueError:
        return None


def _text(message: Any) -> str:
    """A completion or prompt as text: a string, or the content of a chat's messages."""
    if isinstance(message, str):
        return message
    if isinstance(message, dict):
        return str(message.get("content", ""))
    if isinstance(message, (list, tuple)):
        return "".join(_text(m) for m in message) if not message or not isinstance(message[-1], dict) \
            else str(message[-1].get("content", ""))
    return str(message)


_ANSWER_COLUMNS = ("answer", "solution", "ground_truth", "label")


def _reference(columns: dict, i: int) -> Any:
    if "reference" in columns:
        return columns["reference"][i]
    for name in _ANSWER_COLUMNS:
        if name in columns:
            value = columns[name][i]
            if value is None:
                return None
            return value if isinstance(value, dict) else {"answer": str(value)}
    return None


def _prompt_groups(prompts: Sequence[Any] | None) -> list[str] | None:
    """One group per distinct prompt, in order of first appearance: TRL repeats each prompt
    once per completion of its group."""
    if not prompts:
        return None
    first: dict[str, str] = {}
    return [first.setdefault(_text(p), str(len(first))) for p in prompts]


def make_reward(url: str | None = None, token: str | None = None, timeout: float = 180.0, name: str = "gavel"):
    """A TRL reward function bound to one server.

    Dataset columns arrive as keyword lists: ``reference`` is used as is; otherwise the first of
    ``answer``, ``solution``, ``ground_truth``, ``label`` becomes ``{"answer": ...}``. ``task``
    (or ``data_source``) and ``group`` pass through; without a ``group`` column, the completions of
    one prompt form a group (TRL's GRPO groups). Chat-format completions use the content of
    their last message. TRL's ``trainer_state`` gives the step (``global_step``) that a
    policy's ``sched`` reads.
    """
    client = Client(url, token, timeout)

    def gavel_reward(prompts: Sequence[Any], completions: Sequence[Any], trainer_state: Any = None,
                     **columns: Iterable[Any]) -> list[float | None]:
        columns = {k: list(v) for k, v in columns.items() if isinstance(v, (list, tuple))}
        groups = columns.get("group") or _prompt_groups(prompts)
        samples = []
        for i, completion in enumerate(completions):
            sample = {"id": str(i), "completion": _text(completion), "prompt": _text(prompts[i]) if prompts else ""}
            reference = _reference(columns, i)
            if reference is not None:
                sample["reference"] = reference
            task = columns.get("task", columns.get("data_source"))
            if task is not None and task[i] is not None:
                sample["task"] = str(task[i])
            if groups is not None and groups[i] is not None:
                sample["group"] = str(groups[i])
            samples.append(sample)
        step = float(getattr(trainer_state, "global_step", 0) or 0)
        return [r["reward"] if r["status"] == "ok" else None for r in client.score(samples, step)]

    gavel_reward.__name__ = name
    return gavel_reward


def reward(prompts: Sequence[Any], completions: Sequence[Any], **columns: Iterable[Any]) -> list[float | None]:
    """TRL-style reward against ``$GAVEL_URL``; see :func:`make_reward`."""
    return make_reward()(prompts, completions, **columns)


def compute_score(data_source: str, solution_str: str, ground_truth: Any, extra_info: dict | None = None, **_: Any) -> dict:
    """verl-style ``compute_score`` against ``$GAVEL_URL``.

    Returns ``{"score": reward, "masked": 0.0 | 1.0, <component>: value, ...}``; a masked sample
    scores 0.0 with ``masked`` 1.0, so a trainer can leave it out.
    """
    reference = ground_truth if isinstance(ground_truth, dict) else {"answer": str(ground_truth)}
    sample = {"id": "0", "completion": solution_str, "reference": reference, "task": str(data_source)}
    if extra_info and extra_info.get("group") is not None:
        sample["group"] = str(extra_info["group"])
    (result,) = Client().score([sample])
    scored = result["status"] == "ok"
    out = {"score": float(result["reward"]) if scored else 0.0, "masked": 0.0 if scored else 1.0}
    out.update({k: float(v) for k, v in result.get("components", {}).items() if k not in out})
    return out
