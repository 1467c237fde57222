"""``json.dumps(obj, ensure_ascii=False, indent=n)``, byte for byte, without the pure-Python encoder.

With ``indent`` set, CPython 3.11's ``json`` leaves its C encoder for the pure-Python one (one generator frame per
container and per item), which writes the billing sample's Stripe API files and the survey files. Here each
container is one list comprehension and every string goes through the C ``encode_basestring``: 1.4-1.6x faster in
wall time (bench/README.md), the standard library's bytes (tests/unit/test_sample_indented_json.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from json.encoder import encode_basestring  # the C implementation when _json is available (CPython)
from typing import Any, TextIO

_INFINITY = float("inf")


def dumps_indented(obj: Any, indent: int) -> str:
    """``json.dumps(obj, ensure_ascii=False, indent=indent)``; raises TypeError where it would."""
    return _encode(obj, "\n", " " * indent)


def write_list_envelope(
    out: TextIO, head: dict[str, Any], items: Iterable[Any], tail: dict[str, Any], indent: int
) -> None:
    """Write ``dumps_indented({**head, "data": list(items), **tail}, indent)`` to ``out`` one item at a time: the
    list is never built, nor the whole text (a Stripe API export of millions of objects)."""
    newline, step = "\n", " " * indent
    inner, item_newline = newline + step, newline + step + step
    out.write("{")
    for key, value in head.items():
        out.write(inner + _key(key) + ": " + _encode(value, inner, step) + ",")
    out.write(inner + '"data": [')
    first = True
    for item in items:
        out.write(("" if first else ",") + item_newline + _encode(item, item_newline, step))
        first = False
    out.write("]" if first else inner + "]")
    for key, value in tail.items():
        out.write("," + inner + _key(key) + ": " + _encode(value, inner, step))
    out.write(newline + "}")


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == _INFINITY:
        return "Infinity"
    if value == -_INFINITY:
        return "-Infinity"
    return float.__repr__(value)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return encode_basestring(key)
    if isinstance(key, bool) or key is None:  # json's key coercion: true / false / null, then quoted
        return '"' + {True: "true", False: "false", None: "null"}[key] + '"'
    if isinstance(key, int):
        return '"' + int.__repr__(key) + '"'
    if isinstance(key, float):
        return '"' + _float(key) + '"'
    raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")


def _encode(value: Any, newline: str, step: str) -> str:
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    inner = newline + step
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [
            (encode_basestring(k) if type(k) is str else _key(k))
            + ": "
            + (encode_basestring(v) if type(v) is str else _encode(v, inner, step))
            for k, v in value.items()
        ]
        return "{" + inner + ("," + inner).join(items) + newline + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        items = [encode_basestring(v) if type(v) is str else _encode(v, inner, step) for v in value]
        return "[" + inner + ("," + inner).join(items) + newline + "]"
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")
