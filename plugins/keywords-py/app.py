"""keywords: rewards covering the reference's keywords, minus a penalty for running long.

A gavel plugin in Python, built into a WebAssembly component with componentize-py
(`gavel plugin build plugins/keywords-py`). Reference: ``{"keywords": ["...", ...]}``.
Reward = the fraction of keywords the completion contains, minus ``penalty_per_word`` for
each word beyond ``target_words`` (the penalty capped at ``max_penalty``). Words are counted
without the stop words in ``files/stopwords.txt``, which the plugin ships inside its component
and reads at ``/stopwords.txt`` (the ``files`` capability shows it nothing else).
"""

import re

import gavel_plugin

DEFAULTS = {"target_words": 100, "penalty_per_word": 0.01, "max_penalty": 1.0,
            "case_sensitive": False}

WORD = re.compile(r"\w+")


def stopwords():
    """The shipped stop words. Read when scoring, not at import: componentize-py runs the
    import at build time, on the build machine's files."""
    with open("/stopwords.txt", encoding="utf-8") as f:
        return frozenset(line.strip() for line in f if line.strip())


def check_config(config):
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        return f"unknown config field {unknown[0]!r} (fields: {', '.join(DEFAULTS)})"
    for key in ("target_words", "penalty_per_word", "max_penalty"):
        value = config.get(key, DEFAULTS[key])
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            return f"{key} must be a non-negative number, got {value!r}"
    if not isinstance(config.get("case_sensitive", False), bool):
        return "case_sensitive must be true or false"
    return None


def reward(sample, config):
    config = {**DEFAULTS, **config}
    reference = sample.reference
    if reference is None:
        return gavel_plugin.not_applicable("no reference: nothing to look for")
    keywords = reference.get("keywords") if isinstance(reference, dict) else None
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        return gavel_plugin.invalid('the reference needs "keywords": a list of strings')
    if not keywords:
        return gavel_plugin.not_applicable("the reference lists no keywords")

    fold = (lambda s: s) if config["case_sensitive"] else str.casefold
    text = fold(sample.completion)
    missing = [k for k in keywords if fold(k) not in text]
    coverage = 1.0 - len(missing) / len(keywords)
    skip = stopwords()
    words = sum(1 for w in WORD.findall(sample.completion) if w.casefold() not in skip)
    over = max(0, words - config["target_words"])
    penalty = min(config["max_penalty"], over * config["penalty_per_word"])

    why = f"{len(keywords) - len(missing)}/{len(keywords)} keywords"
    if missing:
        why += " (missing: " + ", ".join(missing) + ")"
    why += f"; {words} words"
    if over:
        why += f", {over} over {config['target_words']}"
    return gavel_plugin.score(coverage - penalty, {"coverage": coverage, "length_penalty": penalty},
                              why)


Plugin = gavel_plugin.plugin(
    reward,
    name="keywords",
    version="0.1.0",
    description="Rewards the fraction of the reference's keywords a completion contains, "
                "minus a per-word penalty beyond a target length.",
    config_schema={
        "type": "object",
        "properties": {
            "target_words": {"type": "number", "minimum": 0, "default": 100},
            "penalty_per_word": {"type": "number", "minimum": 0, "default": 0.01},
            "max_penalty": {"type": "number", "minimum": 0, "default": 1.0},
            "case_sensitive": {"type": "boolean", "default": False},
        },
        "additionalProperties": False,
    },
    reference_schema={
        "type": "object",
        "properties": {"keywords": {"type": "array", "items": {"type": "string"}}},
        "required": ["keywords"],
    },
    check_config=check_config,
)
