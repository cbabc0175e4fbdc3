"""gavel in the trainer's process: sandboxed WASM reward plugins and policies.

    import gavel
    scorer = gavel.Scorer.from_policy("examples/policies/r1_sum.toml")
    scorer.score([{"id": "a", "completion": "<think>…</think>\\n<answer>4</answer>",
                   "reference": {"answer": "4"}}])
    # [{"id": "a", "status": "ok", "reward": 2.0, "components": {...}, "advantage": None, ...}]

Three constructors with the same methods: ``Scorer.from_policy(path)``,
``Scorer.from_plugin(name_or_path, config=None)`` (in process, the GIL released while
scoring, safe from many threads) and ``Scorer.remote(url)`` (a ``gavel serve`` daemon over
HTTP, standard library only). Samples and results are the CLI's JSON objects. A sample that
fails is an outcome (``status`` ``not_applicable``, ``invalid``, ``timeout`` or ``error``, with
``reward`` None), never an exception in the middle of a batch; a bad policy, plugin or config
raises ``ValueError`` with gavel's message.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Iterable, Sequence

from ._gavel import NativeScorer

__all__ = ["Scorer", "GavelError"]


class GavelError(RuntimeError):
    """A remote scorer's request was refused or the server could not be reached."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class _Remote:
    def __init__(self, url: str, token: str | None, timeout: float):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def score(self, samples: list, step: float = 0.0) -> list:
        return json.loads(self.score_json(json.dumps(samples), step))

    def score_json(self, samples_json: str, step: float = 0.0) -> str:
        path = "/v1/score" + (f"?step={float(step)!r}" if step else "")
        deadline = time.monotonic() + self.timeout
        while True:
            request = urllib.request.Request(self.url + path, data=samples_json.encode("utf-8"), method="POST")
            request.add_header("Content-Type", "application/json")
            if self.token:
                request.add_header("Authorization", f"Bearer {self.token}")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return response.read().decode("utf-8")
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
                raise GavelError(f"gavel /v1/score: HTTP {e.code}: {message}", e.code) from None
            except urllib.error.URLError as e:
                raise GavelError(f"gavel /v1/score: cannot reach {self.url}: {e.reason}") from None


def _retry_after(e: urllib.error.HTTPError) -> float | None:
    """How long an overloaded server (503) asks to wait before trying again; None otherwise."""
    if e.code != 503:
        return None
    try:
        return min(max(float(e.headers.get("Retry-After", "")), 0.0), 60.0)
    except ValueError:
        return None


def _text(message: Any) -> str:
    """A prompt or completion as text: a string, or the content of a chat's last message."""
    if isinstance(message, str):
        return message
    if isinstance(message, dict):
        return str(message.get("content", ""))
    if isinstance(message, (list, tuple)) and message and isinstance(message[-1], dict):
        return str(message[-1].get("content", ""))
    return "" if message is None else str(message)


def _prompt_groups(prompts: Sequence[Any] | None) -> list[str] | None:
    """One group per distinct prompt, in order of first appearance: TRL repeats each prompt
    once per completion of its group."""
    if not prompts:
        return None
    first: dict[str, str] = {}
    return [first.setdefault(_text(p), str(len(first))) for p in prompts]


class Scorer:
    """Scores samples with a policy or a plugin, in process or through a daemon."""

    def __init__(self, backend: Any):
        self._backend = backend

    @classmethod
    def from_policy(cls, path: str | os.PathLike) -> "Scorer":
        """A policy file (TOML); raises ValueError naming file, line and column when it is wrong."""
        return cls(NativeScorer.from_policy(os.fspath(path)))

    @classmethod
    def from_plugin(cls, plugin: str, config: dict | None = None, limits: dict | None = None,
                    grant: Sequence[str] = (), seed: int = 0) -> "Scorer":
        """A bundled plugin by name (``math``, ``format``, ``exact``, ``toolcall``) or a ``.wasm`` path.

        ``grant`` lists the capabilities the plugin may use (``clock``, ``random``, ``files``,
        ``sockets``; a componentize-py plugin needs all four), each virtual and deterministic;
        ``seed`` seeds ``random``.
        """
        grants = json.dumps({"capabilities": list(grant), "seed": seed})
        return cls(NativeScorer.from_plugin(plugin, json.dumps(config or {}), json.dumps(limits or {}), grants))

    @classmethod
    def remote(cls, url: str | None = None, token: str | None = None, timeout: float = 180.0) -> "Scorer":
        """A ``gavel serve`` daemon (``$GAVEL_URL``, token ``$GAVEL_TOKEN`` by default).

        A request the daemon refuses as overloaded (503) is sent again after its ``Retry-After``
        for up to ``timeout`` seconds in all; ``step`` travels as ``?step=``.
        """
        url = url or os.environ.get("GAVEL_URL") or "http://127.0.0.1:8080"
        return cls(_Remote(url, token if token is not None else os.environ.get("GAVEL_TOKEN"), timeout))

    def score(self, samples: Sequence[dict], step: float = 0.0) -> list[dict]:
        """One result per sample, in order (``step`` feeds policies' ``sched``)."""
        return self._backend.score(list(samples), step)

    async def ascore(self, samples: Sequence[dict], step: float = 0.0) -> list[dict]:
        """``score`` without blocking the event loop (it runs on a worker thread)."""
        return await asyncio.get_running_loop().run_in_executor(None, self.score, samples, step)

    def trl_reward_function(self, reference_column: str = "answer", name: str = "gavel") -> Callable[..., list]:
        """A TRL reward function: ``(prompts, completions, **columns) -> list[float | None]``.

        ``columns[reference_column]`` gives each reference (a dict as is, anything else as
        ``{"answer": str(value)}``; a ``reference`` column wins when present); ``task`` (or
        ``data_source``) and ``group`` pass through. Without a ``group`` column, the completions
        of one prompt form a group (TRL's GRPO groups), for policies' group-stage terms. Masked samples give None, which TRL
        turns into NaN and leaves out. Conversational prompts and completions are handled.
        TRL's ``trainer_state`` gives the step (``global_step``) that a policy's ``sched`` reads.
        """

        def reward(prompts: Sequence[Any], completions: Sequence[Any], trainer_state: Any = None,
                   **columns: Iterable[Any]) -> list:
            columns = {k: list(v) for k, v in columns.items() if isinstance(v, (list, tuple))}
            refs = columns.get("reference", columns.get(reference_column))
            tasks = columns.get("task", columns.get("data_source"))
            groups = columns.get("group") or _prompt_groups(prompts)
            samples = []
            for i, completion in enumerate(completions):
                sample = {"id": str(i), "completion": _text(completion), "prompt": _text(prompts[i]) if prompts else ""}
                if refs is not None and refs[i] is not None:
                    sample["reference"] = refs[i] if isinstance(refs[i], dict) else {"answer": str(refs[i])}
                if tasks is not None and tasks[i] is not None:
                    sample["task"] = str(tasks[i])
                if groups is not None and groups[i] is not None:
                    sample["group"] = str(groups[i])
                samples.append(sample)
            step = float(getattr(trainer_state, "global_step", 0) or 0)
            return [r["reward"] if r["status"] == "ok" else None for r in self.score(samples, step)]

        reward.__name__ = name
        reward.__qualname__ = name
        return reward

    def verl_compute_score(self, data_source: str, solution_str: str, ground_truth: Any, extra_info: dict | None = None, **_: Any) -> dict:
        """verl's pointwise ``compute_score``: ``{"score": reward, "masked": 0.0 | 1.0, <component>: value}``.

        A masked sample scores 0.0 with ``masked`` 1.0 (verl has no "not scored")."""
        return self.verl_compute_score_batch([data_source], [solution_str], [ground_truth], [extra_info])[0]

    def verl_compute_score_batch(self, data_sources: Sequence[str], solution_strs: Sequence[str], ground_truths: Sequence[Any], extra_infos: Sequence[dict | None] | None = None, **_: Any) -> list[dict]:
        """verl's batch form: one dict per sample, as :meth:`verl_compute_score`."""
        samples = []
        for i, (source, solution, truth) in enumerate(zip(data_sources, solution_strs, ground_truths)):
            sample = {"id": str(i), "completion": solution, "task": str(source)}
            if truth is not None:
                sample["reference"] = truth if isinstance(truth, dict) else {"answer": str(truth)}
            info = (extra_infos or [None] * len(samples))[i] if extra_infos else None
            if info and info.get("group") is not None:
                sample["group"] = str(info["group"])
            samples.append(sample)
        out = []
        for result in self.score(samples):
            scored = result["status"] == "ok"
            row = {"score": float(result["reward"]) if scored else 0.0, "masked": 0.0 if scored else 1.0}
            row.update({k: float(v) for k, v in result.get("components", {}).items() if k not in row})
            out.append(row)
        return out
