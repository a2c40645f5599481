"""The kept-outputs records of docs/deferred-record-vectors.json, which the Java master's tests read
too (DeferredRecordVectorsTest): the Python master writes exactly the canonical bytes, reads every
readable form back to the same worker and manifest, and drops every invalid one (as the Java
master does)."""

from __future__ import annotations

from typing import Any

import pytest

from buildnet.master._deferred import RecordError, decode_record, encode_record
from tests.record_vectors import ids, load, raw

DOC = load("deferred-record-vectors.json")


@pytest.mark.parametrize("v", DOC["valid"], ids=ids(DOC["valid"]))
def test_the_python_master_writes_exactly_the_canonical_record(v: dict[str, Any]) -> None:
    assert encode_record(v["worker"], v["manifest"]) == raw(v)


READABLE = DOC["valid"] + DOC["readable"]


@pytest.mark.parametrize("v", READABLE, ids=ids(READABLE))
def test_the_python_master_reads_the_worker_and_manifest_back(v: dict[str, Any]) -> None:
    k = decode_record(raw(v))
    assert (k.worker_id, k.manifest, k.earlier) == (v["worker"], v["manifest"], True)
    # Field order too: a record read back and written again is the canonical one.
    assert list(k.manifest) == list(v["manifest"])


@pytest.mark.parametrize("v", DOC["invalid"], ids=ids(DOC["invalid"]))
def test_the_python_master_drops_what_the_java_master_drops(v: dict[str, Any]) -> None:
    with pytest.raises(RecordError) as e:
        decode_record(raw(v))
    assert len(str(e.value).splitlines()) == 1  # one line for the log
