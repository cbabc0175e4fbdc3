#!/usr/bin/env python3
"""Builds tests/corpus/toolcall/cases.jsonl: tool-call checking cases labelled by BFCL's own AST checker.

Usage (with the bfcl-eval venv, see README.md):

    ~/.cache/gavel/bfcl-venv/bin/python tests/corpus/toolcall/build_corpus.py [--out PATH] [--quirks PATH]

Everything comes from the installed `bfcl_eval` wheel: the BFCL_v4 AST test categories (function docs
and possible answers for simple_python, multiple, parallel, parallel_multiple, simple_java,
simple_javascript), and the verdicts, from
`bfcl_eval.eval_checker.ast_eval.ast_checker.ast_checker(func_description, model_output,
possible_answer, language, test_category, model_name)`.

For a fixed-seed sample of entries per category the script builds the canonical call list (first
allowed value of every parameter; a parameter whose first allowed value is "" is omitted) and a set
of mutations of it. Each case's `decoded` value is exactly what BFCL's checker is given, and `valid` / `error_type` / `error` are what it returns. Each case also carries a
completion text in one dialect (BFCL's Python call syntax, Hermes `<tool_call>` blocks, an OpenAI
`tool_calls` object, a bare JSON list, or the decoded list itself), chosen from a hash of the case
id; the script checks that the text decodes back to `decoded` (with BFCL's own decoder for the
Python syntax) before writing it.

Java and JavaScript entries follow BFCL's convention for those languages: every decoded argument is
a string holding the language's literal (`"true"`, `"42L"`, `"new ArrayList<>(Arrays.asList(1, 2))"`),
which BFCL's type converters turn into values before comparing. Their dialect is never `python`.
"""

import argparse
import collections
import copy
import hashlib
import importlib.metadata
import json
import random
import re
from pathlib import Path

import bfcl_eval
from bfcl_eval.constants.enums import Language
from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker
from bfcl_eval.model_handler.utils import default_decode_ast_prompting

SEED = 20250611
# A model whose config has underscore_to_dot=False, so dotted function names are compared as written.
MODEL_NAME = "gorilla-openfunctions-v2"
DATA = Path(bfcl_eval.__file__).resolve().parent / "data"
HERE = Path(__file__).resolve().parent

# test_category -> (corpus category, language, entries sampled)
CATEGORIES = {
    "simple_python": ("simple", "python", 40),
    "multiple": ("multiple", "python", 25),
    "parallel": ("parallel", "python", 25),
    "parallel_multiple": ("parallel_multiple", "python", 25),
    "simple_java": ("simple", "java", 20),
    "simple_javascript": ("simple", "javascript", 20),
}

# Each entry keeps its canonical case, every applicable mutation that is rare in its language, and a
# fixed-seed choice of VALID_PICKS mutations meant to keep the verdict and INVALID_PICKS meant to break it.
ALWAYS = {
    "python": {"canonical", "int_for_float", "list_reordered", "nested_dict_changed", "default_supplied"},
    "java": {"canonical", "natural_literal", "int_for_float", "float_for_int", "wrong_value_number",
             "list_reordered", "nested_dict_changed", "optional_omitted", "alt_value", "default_supplied"},
}
ALWAYS["javascript"] = ALWAYS["java"]
VALID_POOL = ["alt_value", "params_reordered", "calls_reordered", "string_case", "string_whitespace",
              "string_punct", "optional_omitted", "default_supplied"]
VALID_PICKS, INVALID_PICKS = 3, 5
LANGUAGE = {"python": Language.PYTHON, "java": Language.JAVA, "javascript": Language.JAVASCRIPT}

# What a careful but non-BFCL-specific reviewer would say about each mutation (None: no opinion).
# Cases whose BFCL verdict differs are listed as quirks.
NAIVE = {
    "canonical": True,
    "alt_value": True,
    "params_reordered": True,
    "calls_reordered": True,
    "string_case": True,
    "string_whitespace": True,
    "string_punct": True,
    "int_for_float": True,
    "optional_omitted": True,
    "default_supplied": True,
    "natural_literal": True,
    "string_other_punct": False,
    "wrong_func_name": False,
    "missing_required": False,
    "extra_param": False,
    "wrong_value_number": False,
    "wrong_value_string": False,
    "float_for_int": None,
    "wrong_type_string": False,
    "wrong_type_native": False,
    "list_reordered": False,
    "call_missing": False,
    "call_extra": False,
    "nested_dict_changed": False,
    "name_dots_to_underscores": None,
}


class Raw:
    """An argument already in decoded form (not passed through the Java/JS literal writer)."""

    def __init__(self, value):
        self.value = value


# ---------------------------------------------------------------- data


def load_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_category(test_category):
    entries = load_jsonl(DATA / f"BFCL_v4_{test_category}.json")
    answers = {a["id"]: a["ground_truth"] for a in load_jsonl(DATA / "possible_answer" / f"BFCL_v4_{test_category}.json")}
    return [(e, answers[e["id"]]) for e in entries]


def find_doc(functions, name):
    for f in functions:
        if f["name"] == name:
            return f
    return None


def ptype(doc, param):
    d = doc["parameters"]["properties"].get(param)
    if d is None:
        return None, None
    items = d.get("items")
    return d.get("type"), (items.get("type") if isinstance(items, dict) else None)


def kind(language, t, item):
    """Coarse kind of a documented parameter type: int float str bool list listdict dict."""
    if t is None:
        return None
    if language == "python":
        table = {"integer": "int", "float": "float", "string": "str", "any": "str", "boolean": "bool",
                 "array": "list", "tuple": "list", "dict": "dict"}
    elif language == "java":
        table = {"byte": "int", "short": "int", "integer": "int", "long": "int", "float": "float",
                 "double": "float", "String": "str", "any": "str", "char": "str", "boolean": "bool",
                 "Array": "list", "ArrayList": "list", "HashMap": "dict"}
    else:
        table = {"integer": "int", "Bigint": "int", "float": "float", "String": "str", "any": "str",
                 "Boolean": "bool", "array": "list", "dict": "dict"}
    k = table.get(t)
    if k == "list" and item == "dict":
        return "listdict"
    return k


def materialize(value, k):
    """First-choice concrete value of a possible-answer alternative (dicts hold lists of alternatives)."""
    if k == "dict" and isinstance(value, dict):
        return {key: vs[0] for key, vs in value.items() if vs and vs[0] != ""}
    if k == "listdict" and isinstance(value, list):
        return [materialize(d, "dict") if isinstance(d, dict) else d for d in value]
    return value


# ---------------------------------------------------------------- Java / JavaScript literals


def num(v):
    r = repr(float(v))
    return r if "e" not in r and "inf" not in r and "nan" not in r else ("%.10f" % float(v)).rstrip("0")


def java_scalar(v):
    """A Java literal for a value of unknown declared type (HashMap values, ArrayList<Object>)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return num(v)
    return json.dumps(v, ensure_ascii=False)


JAVA_ELEM = {"integer": "int", "long": "long", "short": "short", "byte": "byte", "float": "float",
             "double": "double", "boolean": "boolean", "char": "char", "String": "String", "any": "Object"}


def java_typed(v, t):
    if t in ("byte", "short", "integer"):
        return str(v)
    if t == "long":
        return f"{v}L"
    if t == "float":
        return f"{num(v)}f"
    if t == "double":
        return num(v)
    if t == "boolean":
        return "true" if v else "false"
    if t == "char":
        return f"'{v}'"
    return java_scalar(v)


def java_literal(v, t, item, natural=True):
    if isinstance(v, Raw):
        return v.value
    if isinstance(v, str) and t not in ("String", "any", "char"):
        return v  # a variable name stands for the value
    if t in ("String", "any", "char"):
        return v if isinstance(v, str) else java_scalar(v)
    if t in ("byte", "short", "integer", "long", "float", "double", "boolean"):
        return java_typed(v, t)
    if t == "Array":
        if natural or item != "String":
            elems = [java_typed(x, item) if item in JAVA_ELEM and item != "any" else java_scalar(x) for x in v]
        else:
            elems = [str(x) for x in v]  # what BFCL's Array<String> converter compares equal
        return f"new {JAVA_ELEM.get(item, 'Object')}[]{{{', '.join(elems)}}}"
    if t == "ArrayList":
        if not v:
            return "new ArrayList<>()"
        elems = [java_typed(x, item) if item in JAVA_ELEM and item != "any" else java_scalar(x) for x in v]
        return f"new ArrayList<>(Arrays.asList({', '.join(elems)}))"
    if t == "HashMap":
        puts = " ".join(f'put("{k}", {java_scalar(x)});' for k, x in v.items())
        return f"new HashMap<String, Object>() {{{{ {puts} }}}}" if puts else "new HashMap<>()"
    return v if isinstance(v, str) else java_scalar(v)


def js_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return num(v)
    if isinstance(v, list):
        return "[" + ", ".join(js_scalar(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {js_scalar(x)}" for k, x in v.items()) + "}"
    return "'" + str(v) + "'"


def js_literal(v, t, item, natural=True):
    if isinstance(v, Raw):
        return v.value
    if isinstance(v, str) and t not in ("String", "any"):
        return v
    if t in ("String", "any"):
        return v if isinstance(v, str) else js_scalar(v)
    if t == "Boolean":
        return "true" if v else "false"
    if t == "integer":
        return str(v)
    if t == "Bigint":
        return f"{v}n"
    if t == "float":
        return num(v)
    if t in ("array", "dict"):
        return js_scalar(v)
    return v if isinstance(v, str) else js_scalar(v)


# ---------------------------------------------------------------- calls


def canonical_calls(functions, answer, language):
    calls = []
    for item in answer:
        (name, params), = item.items()
        doc = find_doc(functions, name)
        args = {}
        for p, allowed in params.items():
            if not allowed or allowed[0] == "":
                continue
            t, it = ptype(doc, p)
            args[p] = copy.deepcopy(materialize(allowed[0], kind(language, t, it)))
        calls.append({"name": name, "doc": doc, "allowed": params, "args": args})
    return calls


def decode(calls, language, natural=True):
    out = []
    for c in calls:
        args = {}
        for p, v in c["args"].items():
            if language == "python":
                args[p] = v.value if isinstance(v, Raw) else v
                continue
            t, it = ptype(c["doc"], p)
            if t is None:  # undocumented parameter: write the value by its own type
                t = {bool: "boolean" if language == "java" else "Boolean", int: "integer",
                     float: "float"}.get(type(v), "String")
            writer = java_literal if language == "java" else js_literal
            args[p] = writer(v, t, it, natural)
        out.append({c["name"]: args})
    return out


def check(functions, decoded, answer, language, test_category):
    try:
        r = ast_checker(copy.deepcopy(functions), copy.deepcopy(decoded), copy.deepcopy(answer),
                        LANGUAGE[language], test_category, MODEL_NAME)
    except Exception as e:  # noqa: BLE001 -- the checker's own crash is a verdict worth recording
        return {"valid": False, "error_type": f"checker_exception:{type(e).__name__}", "error": [str(e)]}
    return {"valid": bool(r["valid"]), "error_type": None if r["valid"] else r.get("error_type"),
            "error": r.get("error", [])}


# ---------------------------------------------------------------- mutations


def standardize(s):
    """BFCL's standardize_string, for choosing wrong values that really are wrong."""
    return re.sub(r"[ \,\.\/\-\_\*\^]", "", s).lower().replace("'", '"')


def params_of(calls, language, want, present=True):
    """(call index, param) pairs whose documented kind is in `want` and whose value has that kind."""
    out = []
    for ci, c in enumerate(calls):
        for p, v in c["args"].items():
            t, it = ptype(c["doc"], p)
            k = kind(language, t, it)
            if k not in want:
                continue
            if k == "int" and not (isinstance(v, int) and not isinstance(v, bool)):
                continue
            if k == "float" and not (isinstance(v, (int, float)) and not isinstance(v, bool)):
                continue
            if k == "str" and not (isinstance(v, str) and any(ch.isalpha() for ch in v)):
                continue
            if k == "bool" and not isinstance(v, bool):
                continue
            if k in ("list", "listdict") and not isinstance(v, list):
                continue
            if k == "dict" and not isinstance(v, dict):
                continue
            out.append((ci, p))
    return out


def different_string(v, allowed):
    taken = {standardize(a) for a in allowed if isinstance(a, str)}
    words = v.split()
    options = []
    if len(words) > 1:
        options.append(" ".join(words[:-1]))
    if len(v) >= 4:
        options.append(v[:-1])
    options += [v + "x", "unknown"]
    for o in options:
        if standardize(o) not in taken and standardize(o) != "":
            return o
    return "zzz-not-an-answer"


def different_number(v, allowed):
    cands = [v + 1, v + 2, v * 3 + 7] if isinstance(v, int) else [v + 0.5, v * 2 + 1.25, v + 100.5]
    for c in cands:
        if c not in allowed:
            return c
    return cands[-1]


def mutations(entry, answer, language, category, rng):
    """Yields (mutation name, calls, natural) for the entry."""
    functions = entry["function"]
    base = canonical_calls(functions, answer, language)

    def fresh():
        return copy.deepcopy(base)

    def pick(items):
        return items[rng.randrange(len(items))] if items else None

    yield "canonical", fresh()

    # alt_value: another allowed value (or supplying a parameter whose first choice is omission)
    alts = []
    for ci, c in enumerate(base):
        for p, allowed in c["allowed"].items():
            t, it = ptype(c["doc"], p)
            k = kind(language, t, it)
            if k in ("dict", "listdict"):
                continue
            others = [a for a in allowed[1:] if a != "" and a != allowed[0]]
            if others:
                alts.append((ci, p, others[0]))
    if alts:
        ci, p, v = pick(alts)
        calls = fresh()
        calls[ci]["args"][p] = copy.deepcopy(v)
        yield "alt_value", calls

    multi_arg = [ci for ci, c in enumerate(base) if len(c["args"]) >= 2]
    if multi_arg:
        ci = pick(multi_arg)
        calls = fresh()
        calls[ci]["args"] = dict(reversed(list(calls[ci]["args"].items())))
        yield "params_reordered", calls

    if len(base) >= 2:
        yield "calls_reordered", list(reversed(fresh()))

    strs = params_of(base, language, {"str"})
    if strs:
        ci, p = pick(strs)
        v = base[ci]["args"][p]
        calls = fresh()
        calls[ci]["args"][p] = v.upper() if v != v.upper() else v.lower()
        yield "string_case", calls
        ci, p = pick(strs)
        v = base[ci]["args"][p]
        calls = fresh()
        calls[ci]["args"][p] = " " + v.replace(" ", "  ") + " "
        yield "string_whitespace", calls
        ci, p = pick(strs)
        v = base[ci]["args"][p]
        calls = fresh()
        calls[ci]["args"][p] = v.replace(" ", "_", 1) if " " in v else v + "."
        yield "string_punct", calls
        ci, p = pick(strs)
        calls = fresh()
        calls[ci]["args"][p] = base[ci]["args"][p] + "!"
        yield "string_other_punct", calls
        ci, p = pick(strs)
        calls = fresh()
        calls[ci]["args"][p] = different_string(base[ci]["args"][p], base[ci]["allowed"][p])
        yield "wrong_value_string", calls

    floats = [(ci, p) for ci, p in params_of(base, language, {"float"})
              if float(base[ci]["args"][p]).is_integer() and abs(base[ci]["args"][p]) < 1e15]
    if floats:
        ci, p = pick(floats)
        calls = fresh()
        calls[ci]["args"][p] = int(base[ci]["args"][p])
        if language != "python":
            calls[ci]["args"][p] = Raw(str(int(base[ci]["args"][p])))
        yield "int_for_float", calls

    ints = params_of(base, language, {"int"})
    if ints:
        ci, p = pick(ints)
        calls = fresh()
        v = base[ci]["args"][p]
        calls[ci]["args"][p] = float(v) if language == "python" else Raw(num(v))
        yield "float_for_int", calls

    nums = params_of(base, language, {"int", "float"})
    if nums:
        ci, p = pick(nums)
        calls = fresh()
        calls[ci]["args"][p] = different_number(base[ci]["args"][p], base[ci]["allowed"][p])
        yield "wrong_value_number", calls

    typed = params_of(base, language, {"int", "float", "bool"})
    if typed:
        ci, p = pick(typed)
        calls = fresh()
        v = base[ci]["args"][p]
        if language == "python":
            calls[ci]["args"][p] = ("true" if v else "false") if isinstance(v, bool) else str(v)
        else:  # the literal quoted as a string literal, e.g. "\"5\"" for an int
            lit = decode([{**base[ci], "args": {p: v}}], language)[0][base[ci]["name"]][p]
            calls[ci]["args"][p] = Raw(json.dumps(lit))
        yield "wrong_type_string", calls
    if language != "python":
        natives = params_of(base, language, {"int", "float", "bool", "list", "dict"})
        if natives:
            ci, p = pick(natives)
            calls = fresh()
            calls[ci]["args"][p] = Raw(copy.deepcopy(base[ci]["args"][p]))
            yield "wrong_type_native", calls

    lists = [(ci, p) for ci, p in params_of(base, language, {"list"})
             if list(reversed(base[ci]["args"][p])) != base[ci]["args"][p]]
    if lists:
        ci, p = pick(lists)
        calls = fresh()
        calls[ci]["args"][p] = list(reversed(base[ci]["args"][p]))
        yield "list_reordered", calls

    dicts = []
    for ci, p in params_of(base, language, {"dict", "listdict"}):
        v = base[ci]["args"][p]
        for di, d in enumerate([v] if isinstance(v, dict) else v):
            if isinstance(d, dict):
                for key, x in d.items():
                    if isinstance(x, (str, int, float)):
                        dicts.append((ci, p, None if isinstance(v, dict) else di, key))
    if dicts:
        ci, p, di, key = pick(dicts)
        calls = fresh()
        d = calls[ci]["args"][p] if di is None else calls[ci]["args"][p][di]
        x = d[key]
        if isinstance(x, bool):
            d[key] = not x
        elif isinstance(x, (int, float)):
            d[key] = x + 1
        else:
            d[key] = different_string(x, [x])
        yield "nested_dict_changed", calls

    required = [(ci, p) for ci, c in enumerate(base) for p in c["doc"]["parameters"].get("required", []) if p in c["args"]]
    if required:
        ci, p = pick(required)
        calls = fresh()
        del calls[ci]["args"][p]
        yield "missing_required", calls

    optional = [(ci, p) for ci, c in enumerate(base) for p in c["args"]
                if p not in c["doc"]["parameters"].get("required", [])]
    if optional:
        ci, p = pick(optional)
        calls = fresh()
        del calls[ci]["args"][p]
        yield "optional_omitted", calls

    ci = rng.randrange(len(base))
    calls = fresh()
    props = calls[ci]["doc"]["parameters"]["properties"]
    extra = next(n for n in ("verbose", "debug", "extra_param", "extra_param_2") if n not in props)
    calls[ci]["args"][extra] = True
    yield "extra_param", calls

    # default_supplied: a parameter the canonical call omits (first allowed value "") given its documented default
    defaults = []
    for ci, c in enumerate(base):
        for p, allowed in c["allowed"].items():
            d = c["doc"]["parameters"]["properties"].get(p, {})
            if p not in c["args"] and allowed and allowed[0] == "" and d.get("default") not in (None, ""):
                defaults.append((ci, p, d["default"]))
    if defaults:
        ci, p, default = pick(defaults)
        calls = fresh()
        calls[ci]["args"][p] = copy.deepcopy(default)
        yield "default_supplied", calls

    # wrong function name: another documented function, else the name without its namespace
    ci = rng.randrange(len(base))
    name = base[ci]["name"]
    others = [f["name"] for f in functions if f["name"] != name]
    if others:
        wrong = pick(others)
    elif "." in name:
        wrong = name.rsplit(".", 1)[1]
    else:
        wrong = name + "_v2"
    calls = fresh()
    calls[ci]["name"] = wrong
    yield "wrong_func_name", calls

    dotted = [ci for ci, c in enumerate(base) if "." in c["name"]]
    if dotted:
        ci = pick(dotted)
        calls = fresh()
        calls[ci]["name"] = calls[ci]["name"].replace(".", "_")
        yield "name_dots_to_underscores", calls

    if category != "simple" and (len(base) >= 2 or category == "multiple"):
        calls = fresh()
        del calls[rng.randrange(len(calls))]
        yield "call_missing", calls

    calls = fresh()
    calls.append(copy.deepcopy(calls[rng.randrange(len(calls))]))
    yield "call_extra", calls


# ---------------------------------------------------------------- dialects


DIALECTS = {"python": ["python", "hermes", "openai", "json"], "java": ["decoded", "hermes", "openai", "json"],
            "javascript": ["decoded", "hermes", "openai", "json"]}


def dialect_for(case_id, language):
    h = int(hashlib.sha256(case_id.encode()).hexdigest(), 16)
    options = DIALECTS[language]
    return options[h % len(options)]


def render(decoded, dialect):
    pairs = [next(iter(c.items())) for c in decoded]
    if dialect == "python":
        return "[" + ", ".join(f"{n}({', '.join(f'{k}={v!r}' for k, v in a.items())})" for n, a in pairs) + "]"
    if dialect == "hermes":
        return "\n".join("<tool_call>\n" + json.dumps({"name": n, "arguments": a}, ensure_ascii=False) + "\n</tool_call>"
                         for n, a in pairs)
    if dialect == "openai":
        return json.dumps({"tool_calls": [{"type": "function", "function": {
            "name": n, "arguments": json.dumps(a, ensure_ascii=False)}} for n, a in pairs]}, ensure_ascii=False)
    if dialect == "json":
        return json.dumps([{"name": n, "arguments": a} for n, a in pairs], ensure_ascii=False)
    return json.dumps(decoded, ensure_ascii=False)


def parse_back(text, dialect):
    """Decodes a rendered completion (BFCL's decoder for the Python syntax) to BFCL's decoded form."""
    if dialect == "python":
        return default_decode_ast_prompting(text)
    if dialect == "hermes":
        blocks = re.findall(r"<tool_call>\n(.*?)\n</tool_call>", text, re.DOTALL)
        return [{c["name"]: c["arguments"]} for c in map(json.loads, blocks)]
    if dialect == "openai":
        return [{c["function"]["name"]: json.loads(c["function"]["arguments"])} for c in json.loads(text)["tool_calls"]]
    if dialect == "json":
        return [{c["name"]: c["arguments"]} for c in json.loads(text)]
    return json.loads(text)


def same(a, b):
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) and _types(a) == _types(b)


def _types(x):
    if isinstance(x, dict):
        return {k: _types(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_types(v) for v in x]
    return type(x).__name__


# ---------------------------------------------------------------- main


# Entries with a parameter of one of these kinds are always sampled, so the checker's collection paths are covered.
COVER = {"python": {"dict", "listdict"}, "java": {"dict", "list"}, "javascript": {"dict"}}


def sample_entries(items, n, language, seed):
    """Fixed-seed sample of n entries, plus every entry with a parameter of a COVER kind."""
    rng = random.Random(f"{seed}:{items[0][0]['id']}")
    picked = set(rng.sample(range(len(items)), min(n, len(items))))
    for i, (e, _) in enumerate(items):
        if any(kind(language, *ptype(f, p)) in COVER[language]
               for f in e["function"] for p in f["parameters"]["properties"]):
            picked.add(i)
    return [items[i] for i in sorted(picked)]


def select(muts, language, rng):
    always = [m for m in muts if m[0] in ALWAYS[language]]
    valid = [m for m in muts if m[0] not in ALWAYS[language] and m[0] in VALID_POOL]
    invalid = [m for m in muts if m[0] not in ALWAYS[language] and m[0] not in VALID_POOL]
    chosen = {m[0] for m in always}
    chosen |= {m[0] for m in rng.sample(valid, min(VALID_PICKS, len(valid)))}
    chosen |= {m[0] for m in rng.sample(invalid, min(INVALID_PICKS, len(invalid)))}
    return [m for m in muts if m[0] in chosen]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(HERE / "cases.jsonl"))
    ap.add_argument("--quirks", default=None, help="also write the quirk report (JSON) here")
    args = ap.parse_args()

    version = importlib.metadata.version("bfcl-eval")
    cases = []
    quirks = collections.defaultdict(list)
    fallbacks = collections.Counter()
    for test_category, (category, language, n) in CATEGORIES.items():
        for entry, answer in sample_entries(load_category(test_category), n, language, SEED):
            rng = random.Random(f"{SEED}:{entry['id']}")
            functions = entry["function"]
            muts = list(mutations(entry, answer, language, category, rng))
            # Java `String[]` literals: BFCL compares the elements with their quotes, so when the
            # natural form (`new String[]{"a"}`) fails and the unquoted one passes, every case uses
            # the unquoted form and the natural one becomes its own `natural_literal` case.
            use_natural = True
            if language == "java" and not check(functions, decode(muts[0][1], language, natural=True),
                                                answer, language, test_category)["valid"]:
                if check(functions, decode(muts[0][1], language, natural=False), answer, language,
                         test_category)["valid"]:
                    use_natural = False
                    muts.insert(1, ("natural_literal", muts[0][1]))
            muts = select(muts, language, random.Random(f"{SEED}:select:{entry['id']}"))
            for mutation, calls in muts:
                natural = use_natural or mutation == "natural_literal"
                decoded = decode(calls, language, natural=natural)
                verdict = check(functions, decoded, answer, language, test_category)
                case_id = f"{entry['id']}#{mutation}"
                dialect = dialect_for(case_id, language)
                try:
                    text = render(decoded, dialect)
                    ok = same(parse_back(text, dialect), decoded)
                except Exception:  # noqa: BLE001
                    ok = False
                if not ok:
                    fallbacks[(dialect, mutation)] += 1
                    dialect = "json"
                    text = render(decoded, dialect)
                    assert same(parse_back(text, dialect), decoded), case_id
                case = {
                    "id": case_id,
                    "category": category,
                    "language": language,
                    "test_category": test_category,
                    "dialect": dialect,
                    "completion": text,
                    "decoded": decoded,
                    "functions": functions,
                    "possible_answer": answer,
                    "valid": verdict["valid"],
                    "error_type": verdict["error_type"],
                    "error": verdict["error"],
                    "mutation": mutation,
                }
                cases.append(case)
                expect = NAIVE.get(mutation)
                if expect is not None and expect != verdict["valid"]:
                    quirks[(language, mutation, verdict["error_type"])].append(case)

    with open(args.out, "w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")

    summary = {
        "bfcl_eval": version,
        "cases": len(cases),
        "valid": sum(c["valid"] for c in cases),
        "by_category": dict(collections.Counter(f"{c['test_category']}" for c in cases)),
        "by_dialect": dict(collections.Counter(c["dialect"] for c in cases)),
        "by_mutation": {m: [sum(1 for c in cases if c["mutation"] == m and c["valid"]),
                            sum(1 for c in cases if c["mutation"] == m)]
                        for m in dict.fromkeys(c["mutation"] for c in cases)},
        "dialect_fallbacks_to_json": {f"{d}/{m}": n for (d, m), n in fallbacks.items()},
        "surprises": {f"{lang}/{m}/{et}": len(v) for (lang, m, et), v in sorted(quirks.items(), key=str)},
    }
    print(json.dumps(summary, indent=1))
    if args.quirks:
        with open(args.quirks, "w", encoding="utf-8") as f:
            json.dump({f"{lang}/{m}/{et}": [{"id": c["id"], "decoded": c["decoded"], "possible_answer": c["possible_answer"],
                                            "error": c["error"]} for c in v]
                       for (lang, m, et), v in sorted(quirks.items(), key=str)}, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
