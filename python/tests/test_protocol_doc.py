"""docs/PROTOCOL.md is the reference: its tables must match this implementation."""

from __future__ import annotations

import re

from buildnet.protocol import PAYLOAD_CLASSES, ErrorCode, MessageType, Output
from buildnet.protocol._record import Schema, schema_of
from tests.vectors import DOCS

DOC = (DOCS / "PROTOCOL.md").read_text("utf-8")


def test_message_type_codes_match_the_document() -> None:
    rows = re.findall(r"^\| 0x([0-9A-F]{2}) \| ([A-Z_]+) \|", DOC, re.M)
    assert {name: int(code, 16) for code, name in rows} == {t.name: int(t) for t in MessageType}


def test_error_codes_match_the_document() -> None:
    rows = re.findall(r"^\| (\d+) \| ([A-Z_0-9]+) \|", DOC, re.M)
    assert {name: int(code) for code, name in rows} == {c.name: int(c) for c in ErrorCode}


def _table(section: str) -> list[tuple[str, str, str]]:
    return re.findall(r"^\| \d+ \| `([a-z_]+)` \| ([a-z ]+) \| (yes|no) \|", section, re.M)


def _rows(schema: Schema) -> list[tuple[str, str, str]]:
    return [(f.name, f.kind.value, "yes" if f.required else "no") for f in schema.fields]


def test_every_payload_table_lists_the_fields_in_wire_order() -> None:
    for t, cls in PAYLOAD_CLASSES.items():
        header = f"#### {t.name} (0x{int(t):02X})"
        assert header in DOC, header
        section = DOC.split(header, 1)[1].split("\n#### ", 1)[0]
        tables = section.split("Elements of `")
        assert _table(tables[0]) == _rows(schema_of(cls)), t.name
        if t is MessageType.BUILD_COMPLETED:
            assert _table(tables[1]) == _rows(schema_of(Output))


def test_final_statuses_are_spelled_as_the_document_and_the_vectors_spell_them() -> None:
    from buildnet.client import BUILD_STATUSES, TARGET_STATUSES
    from tests.vectors import VECTORS

    row = next(line for line in DOC.splitlines() if line.startswith("| 7 | `status` |"))
    targets, builds = row.split("`build_finished`:")
    assert re.findall(r"`([a-z]+)`", targets)[1:] == list(TARGET_STATUSES)  # after `status`
    assert re.findall(r"`([a-z]+)`", builds) == list(BUILD_STATUSES)
    finished = {
        v["message"]["payload"]["kind"]: v["message"]["payload"]["status"]
        for v in VECTORS["vectors"]
        if v["message"]["type"] == "EVENT" and "status" in v["message"]["payload"]
    }
    assert finished["target_finished"] in TARGET_STATUSES
    assert finished["build_finished"] in BUILD_STATUSES
