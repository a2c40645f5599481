"""docs/protocol/schema.json is the one wire schema: the generated files are up to date, and the
types this package reads and writes by agree with it field for field."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

import pytest
from tools import gen_wire_schema as gen

from buildnet.protocol import PAYLOAD_CLASSES, MessageType, payloads
from buildnet.protocol._record import Schema, schema_of
from tests.vectors import VECTORS, message_from_json

if TYPE_CHECKING:
    from pathlib import Path

SCHEMA = gen.load()
RECORDS = {r["name"]: r for r in SCHEMA["records"]}


def test_the_generated_files_are_what_the_schema_generates() -> None:
    stale = [str(p.relative_to(gen.ROOT)) for p in gen.stale(SCHEMA)]
    assert stale == [], f"stale generated files {stale}; regenerate: {gen.COMMAND}"


def test_message_types_and_codes_are_the_schemas() -> None:
    assert {m["type"]: m["code"] for m in SCHEMA["messages"]} == {
        t.name: int(t) for t in MessageType
    }
    assert {m["type"] for m in SCHEMA["messages"]} == {t.name for t in PAYLOAD_CLASSES}


def test_constants_are_the_schemas() -> None:
    for c in SCHEMA["constants"]:
        assert getattr(payloads, c["name"]) == c["value"], c["name"]


def _kind(field: dict[str, Any]) -> str:
    t: str = field["type"]
    return "array of map" if gen.record_of(t) else t


def _agrees(schema: Schema, fields: list[dict[str, Any]], label: str) -> None:
    assert [f.name for f in schema.fields] == [f["name"] for f in fields], label
    for spec, f in zip(schema.fields, fields):
        what = f"{label}.{f['name']}"
        assert spec.kind.value == _kind(f), what
        assert spec.required == f["required"], what
        element = gen.record_of(f["type"])
        if element:
            assert spec.element is not None, what
            assert spec.element.cls.__name__ == element, what
            _agrees(spec.element, RECORDS[element]["fields"], f"{what}[]")


def test_every_dataclass_reads_and_writes_the_schemas_fields_in_wire_order() -> None:
    for m in SCHEMA["messages"]:
        cls = PAYLOAD_CLASSES[MessageType[m["type"]]]
        assert cls.__name__ == m["java_class"]
        _agrees(schema_of(cls), m["fields"], m["type"])


def _violations(field: dict[str, Any]) -> list[Any]:
    """Values that break one of the field's declared limits."""
    out: list[Any] = []
    if field.get("non_empty"):
        out.append("" if field["type"] == "str" else ())
    if "enum" in field:
        out.append("no-such-value")
    if "min" in field:
        out.append(field["min"] - 1)
    if "max" in field:
        out.append(gen.constant(SCHEMA, field["max"]) + 1)
    if "length" in field:
        out.append(b"\0" * (gen.constant(SCHEMA, field["length"]) + 1))
    if "max_length" in field:
        out.append(b"\0" * (gen.constant(SCHEMA, field["max_length"]) + 1))
    return out


CASES = [
    (v["name"], f["name"], bad)
    for v in VECTORS["vectors"]
    for m in SCHEMA["messages"]
    if m["type"] == v["message"]["type"]
    for f in m["fields"]
    for bad in _violations(f)
]


def test_every_declared_limit_is_covered_by_a_vector() -> None:
    limited = {
        (m["type"], f["name"]) for m in SCHEMA["messages"] for f in m["fields"] if _violations(f)
    }
    by_name = {v["name"]: v["message"]["type"] for v in VECTORS["vectors"]}
    assert {(by_name[n], f) for n, f, _ in CASES} == limited


@pytest.mark.parametrize(("vector", "field", "bad"), CASES, ids=lambda x: str(x)[:40])
def test_a_payload_breaking_a_declared_limit_is_refused(vector: str, field: str, bad: Any) -> None:
    v = next(v for v in VECTORS["vectors"] if v["name"] == vector)
    payload: Any = message_from_json(v["message"]).payload  # a dataclass instance
    with pytest.raises(ValueError, match=f"^{field} must "):
        dataclasses.replace(payload, **{field: bad})


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"nonempty": True}, "unknown keys"),
        ({"min": 0}, "min does not apply to str"),
        ({"type": "array of Nothing"}, "unknown type"),
    ],
)
def test_a_schema_with_a_misspelt_or_misplaced_limit_is_refused(
    tmp_path: Path, change: dict[str, Any], error: str
) -> None:
    schema = json.loads(gen.SCHEMA.read_text("utf-8"))
    schema["messages"][0]["fields"][0].update(change)  # HELLO role, a str
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema), "utf-8")
    with pytest.raises(ValueError, match=error):
        gen.load(path)
