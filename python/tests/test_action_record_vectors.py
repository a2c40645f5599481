"""The action records of docs/action-record-vectors.json, which the Java master's tests read too
(ActionRecordVectorsTest): the Python master takes every valid one and refuses every invalid one
with a one-line reason (a miss), as the Java master does, so a state.db shared by both masters
hits and misses alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from buildnet.master._store import ManifestError, decode_manifest

VECTORS = Path(__file__).resolve().parents[2] / "docs" / "action-record-vectors.json"
DOC = json.loads(VECTORS.read_text(encoding="utf-8"))


def _raw(v: dict[str, Any]) -> bytes:
    return bytes.fromhex(v["record_hex"]) if "record_hex" in v else v["record"].encode("utf-8")


def _ids(group: list[dict[str, Any]]) -> list[str]:
    return [v["name"] for v in group]


@pytest.mark.parametrize("v", DOC["valid"], ids=_ids(DOC["valid"]))
def test_the_python_master_takes_the_record(v: dict[str, Any]) -> None:
    m = decode_manifest(_raw(v))
    assert m["outputs"] == json.loads(_raw(v))["outputs"]


@pytest.mark.parametrize("v", DOC["invalid"], ids=_ids(DOC["invalid"]))
def test_the_python_master_refuses_what_the_java_master_refuses(v: dict[str, Any]) -> None:
    with pytest.raises(ManifestError) as e:
        decode_manifest(_raw(v))
    assert len(str(e.value).splitlines()) == 1  # one line for the log
