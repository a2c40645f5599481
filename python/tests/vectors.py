"""Loads ``docs/protocol-vectors.json`` and turns its documented meanings into messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from buildnet.protocol import PAYLOAD_CLASSES, Message, MessageType, Output
from buildnet.protocol._record import Kind, schema_of

DOCS = Path(__file__).resolve().parents[2] / "docs"
VECTORS: dict[str, Any] = json.loads((DOCS / "protocol-vectors.json").read_text("utf-8"))


def message_from_json(m: dict[str, Any]) -> Message:
    """The message a vector's ``message`` object documents, built without the decoder."""
    cls = PAYLOAD_CLASSES[MessageType[m["type"]]]
    assert int(cls.TYPE) == m["type_code"]
    return Message(
        id=m["id"],
        timestamp=m["timestamp"],
        payload=cls(**_fields(cls, m["payload"])),
        runtime=m["runtime"],
        version=m["version"],
    )


def _fields(cls: type[Any], obj: dict[str, Any]) -> dict[str, Any]:
    schema = schema_of(cls)
    out: dict[str, Any] = {}
    for name, value in obj.items():
        kind = schema.fields[schema.index[name]].kind
        if kind is Kind.BIN:
            out[name] = bytes.fromhex(value["$bin"])
        elif kind is Kind.STR_ARRAY:
            out[name] = tuple(value)
        elif kind is Kind.RECORD_ARRAY:
            out[name] = tuple(Output(**_fields(Output, e)) for e in value)
        else:
            out[name] = value
    return out
