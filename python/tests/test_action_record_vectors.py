"""The action records of docs/action-record-vectors.json, which the Java master's tests read too
(ActionRecordVectorsTest): the Python master takes every valid one and refuses every invalid one
with a one-line reason (a miss), as the Java master does, so a state.db shared by both masters
hits and misses alike."""

from __future__ import annotations

import json
from typing import Any

import pytest

from buildnet.master._store import ManifestError, decode_manifest
from tests.record_vectors import ids, load, raw

DOC = load("action-record-vectors.json")


@pytest.mark.parametrize("v", DOC["valid"], ids=ids(DOC["valid"]))
def test_the_python_master_takes_the_record(v: dict[str, Any]) -> None:
    m = decode_manifest(raw(v))
    assert m["outputs"] == json.loads(raw(v))["outputs"]


@pytest.mark.parametrize("v", DOC["invalid"], ids=ids(DOC["invalid"]))
def test_the_python_master_refuses_what_the_java_master_refuses(v: dict[str, Any]) -> None:
    with pytest.raises(ManifestError) as e:
        decode_manifest(raw(v))
    assert len(str(e.value).splitlines()) == 1  # one line for the log
