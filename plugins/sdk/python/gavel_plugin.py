"""gavel's plugin SDK for Python, for components built with componentize-py.

A plugin is one function, ``reward(sample, config)``, returning a number, a ``score(...)``,
``not_applicable(...)`` or ``invalid(...)``. ``plugin(...)`` wraps it in the class
componentize-py exports for the ``gavel:reward@0.2.0`` contract: it reads the config and
each sample's reference as JSON, scores the batch, and declares the plugin's name, version
and the capabilities it requests::

    import gavel_plugin

    def reward(sample, config):
        return 1.0 if sample.reference["answer"] in sample.completion else 0.0

    Plugin = gavel_plugin.plugin(reward, name="contains", version="0.1.0",
                                 description="Rewards completions containing the answer.")

An exception raised by ``reward`` is a bug in the plugin, not a verdict on the sample: it
reaches the host as a trap, which scores the sample ``error`` (never a silent 0).
"""

import json
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Union

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import types as wit

CONTRACT = "0.2.0"

#: What a componentize-py component imports beyond Rust's std: its interpreter links the
#: clocks, randomness, the filesystem and sockets whether or not the code uses them. The host
#: gives each a virtual, deterministic view (a stopped clock, seeded randomness, only the
#: files the plugin ships, refused sockets) once the operator grants it.
COMPONENTIZE_PY_CAPABILITIES = ("clock", "random", "files", "sockets")


@dataclass(frozen=True)
class Sample:
    """One rollout: the reference is parsed JSON (``None`` when the sample has none)."""

    prompt: str
    completion: str
    reference: Any
    task: Optional[str]
    group: Optional[str]


Outcome = Union[wit.Outcome_Scored, wit.Outcome_NotApplicable, wit.Outcome_InvalidInput]


def score(value: float, components: Optional[Dict[str, float]] = None,
          explanation: Optional[str] = None) -> Outcome:
    """A reward with named parts (kept in insertion order) and a short reason."""
    parts = [wit.Component(name, float(v)) for name, v in (components or {}).items()]
    return wit.Outcome_Scored(wit.Score(float(value), parts, explanation))


def not_applicable(reason: str) -> Outcome:
    """The plugin does not apply to this sample; a trainer masks it."""
    return wit.Outcome_NotApplicable(reason)


def invalid(message: str) -> Outcome:
    """The sample is malformed for this plugin; the message names what was wrong."""
    return wit.Outcome_InvalidInput(message)


def _outcome(result: Any) -> Outcome:
    if isinstance(result, (wit.Outcome_Scored, wit.Outcome_NotApplicable,
                           wit.Outcome_InvalidInput)):
        return result
    if isinstance(result, bool) or not isinstance(result, (int, float)):
        raise TypeError(f"reward returned {type(result).__name__}, not a number or an outcome")
    return score(result)


def plugin(reward: Callable[[Sample, Dict[str, Any]], Any], *, name: str, version: str,
           description: str, config_schema: Optional[dict] = None,
           reference_schema: Optional[dict] = None,
           capabilities=COMPONENTIZE_PY_CAPABILITIES,
           check_config: Optional[Callable[[Dict[str, Any]], Optional[str]]] = None):
    """The class to export as ``Plugin`` from the app module.

    ``check_config(config)`` returns a message when the config is wrong; every sample of
    the batch is then invalid, with that message.
    """
    info = wit.PluginInfo(
        name, version, description,
        json.dumps(config_schema or {"type": "object"}),
        json.dumps(reference_schema or {}),
        list(capabilities),
    )

    class Plugin(exports.Plugin):
        def describe(self) -> wit.PluginInfo:
            return info

        def score(self, config: str, samples: List[wit.Sample]) -> List[Outcome]:
            try:
                parsed = json.loads(config)
            except ValueError as e:
                raise Err(f"the config is not JSON: {e}")
            if not isinstance(parsed, dict):
                raise Err("the config must be a JSON object")
            if check_config is not None:
                problem = check_config(parsed)
                if problem:
                    raise Err(problem)
            outcomes = []
            for s in samples:
                try:
                    reference = json.loads(s.reference)
                except ValueError as e:
                    outcomes.append(invalid(f"the reference is not JSON: {e}"))
                    continue
                sample = Sample(s.prompt, s.completion, reference, s.task, s.group)
                outcomes.append(_outcome(reward(sample, parsed)))
            return outcomes

    return Plugin
