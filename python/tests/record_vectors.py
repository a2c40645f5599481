"""Reading the record vector files of docs/ (action records, kept-outputs records), which the Java
master's tests read too: one place for where they live and how a vector spells its bytes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[2] / "docs"


def load(name: str) -> dict[str, Any]:
    """The vector file ``docs/<name>``, parsed."""
    doc: dict[str, Any] = json.loads((DOCS / name).read_text(encoding="utf-8"))
    return doc


def raw(v: dict[str, Any]) -> bytes:
    """A vector's record bytes: ``record_hex`` when it holds bytes that are not text, else
    ``record`` as UTF-8."""
    return bytes.fromhex(v["record_hex"]) if "record_hex" in v else v["record"].encode("utf-8")


def ids(group: list[dict[str, Any]]) -> list[str]:
    """Test ids for a group of vectors: their names."""
    return [v["name"] for v in group]
