"""The generator's indented JSON writer gives the standard library's bytes (the reference sample must not change)."""

from __future__ import annotations

import io
import json

import pytest

from sample_generator.indented_json import dumps_indented, write_list_envelope

STRIPE_LIKE = {
    "object": "list",
    "url": "/v1/customers",
    "has_more": False,
    "data": [
        {
            "id": "cus_0aZ9",
            "name": 'Zoë Müller — "quoted" \\ back\tslash\n',
            "balance": -1250,
            "livemode": False,
            "discount": None,
            "metadata": {},
            "items": {"object": "list", "data": [], "total_count": 0},
            "tax_ids": (),
            "rate": 0.1,
            "tiny": 1e-07,
            "big": 12345678901234567890,
            "nested": [[1, [2, []]], {"a": {"b": [None, True, 2.5]}}],
            "emoji": "東京 🚀 \u2028 \x00",
        }
    ],
}


@pytest.mark.parametrize("indent", [0, 1, 2, 4])
@pytest.mark.parametrize(
    "obj",
    [
        STRIPE_LIKE,
        [],
        {},
        "plain",
        None,
        [True, False, 0, -0.0, float("nan"), float("inf"), float("-inf")],
        {1: "int key", 2.5: "float key", False: "bool key", None: "null key"},
    ],
)
def test_the_bytes_are_json_dumps_bytes(obj, indent) -> None:
    assert dumps_indented(obj, indent) == json.dumps(obj, ensure_ascii=False, indent=indent)


def test_what_json_cannot_write_is_refused_as_json_refuses_it() -> None:
    for obj in ({"when": object()}, [{1, 2}], {("a", "b"): 1}):
        with pytest.raises(TypeError):
            json.dumps(obj, ensure_ascii=False, indent=2)
        with pytest.raises(TypeError):
            dumps_indented(obj, 2)


@pytest.mark.parametrize("indent", [0, 1, 2])
@pytest.mark.parametrize("data", [STRIPE_LIKE["data"] * 3, [], [[], {}, "x", None, {"k": [1, {"é": 2.5}]}]])
def test_a_list_envelope_written_item_by_item_is_json_dumps_of_the_whole(data, indent) -> None:
    out = io.StringIO()
    head, tail = {"object": "list", "meta": {"a": [1]}}, {"has_more": False, "url": "/v1/invoices"}
    write_list_envelope(out, head, iter(data), tail, indent)
    assert out.getvalue() == json.dumps({**head, "data": data, **tail}, ensure_ascii=False, indent=indent)
