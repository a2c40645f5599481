"""The action record (docs/CACHE-KEY.md, "The action record") as the Python master reads it:
the documented form is accepted, and what Java's ActionCache refuses (a missing or null
``outputs`` or ``directories`` among them) is refused with a one-line reason, so it is a miss."""

from __future__ import annotations

import json
from typing import Any

import pytest

from buildnet.master._store import ManifestError, decode_manifest, encode_manifest


def _documented() -> dict[str, Any]:
    # The example of docs/CACHE-KEY.md, with real digests.
    return {
        "version": 1,
        "target": "gen",
        "outputs": [
            {"path": "out/gen.txt", "digest": "xxh64:8329dca4accca011", "size": 6,
             "executable": False},
        ],
        "directories": [],
        "stdout": "xxh64:617716c3d02ce787",
        "stderr": None,
        "exitCode": 0,
        "durationMillis": 70,
        "createdAtMillis": 1796306510349,
    }  # fmt: skip


def _raw(doc: Any) -> bytes:
    return json.dumps(doc).encode("utf-8")


def test_the_documented_record_is_read() -> None:
    assert decode_manifest(_raw(_documented())) == _documented()


def test_what_the_python_master_writes_is_read_back() -> None:
    d = _documented()
    raw = encode_manifest("gen", d["outputs"], ["out/dir"], None, None, 70)
    m = decode_manifest(raw)
    assert (m["outputs"], m["directories"]) == (d["outputs"], ["out/dir"])


def _without(name: str) -> dict[str, Any]:
    d = _documented()
    del d[name]
    return d


def _with(name: str, value: Any) -> dict[str, Any]:
    d = _documented()
    d[name] = value
    return d


def _output_with(name: str, value: Any) -> dict[str, Any]:
    d = _documented()
    d["outputs"][0][name] = value
    return d


REFUSED: dict[str, tuple[Any, str]] = {
    "no outputs": (_without("outputs"), "its outputs is missing or not an array"),
    "null outputs": (_with("outputs", None), "its outputs is missing or not an array"),
    "outputs an object": (_with("outputs", {}), "its outputs is missing or not an array"),
    "no directories": (_without("directories"), "its directories is missing or not an array"),
    "null directories": (_with("directories", None), "its directories is missing or not an array"),
    "a null directory": (_with("directories", [None]), "its directories are not all strings"),
    "a null output": (_with("outputs", [None]), "an output is not an object of"),
    "no target": (_without("target"), "its target is missing or not a string"),
    "version 2": (_with("version", 2), "of version 2, not 1"),
    "version true": (_with("version", True), "of version true, not 1"),
    "another field": (_with("mode", 1), "unknown fields ['mode']"),
    "a size that is true": (_output_with("size", True), "an output's size is missing"),
    "a bad digest": (_output_with("digest", "8329dca4accca011"), "an output's digest"),
    "an array": ([_documented()], "it is not a JSON object"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_record_java_refuses_is_refused_with_a_one_line_reason(name: str) -> None:
    doc, reason = REFUSED[name]
    with pytest.raises(ManifestError) as e:
        decode_manifest(_raw(doc))
    assert str(e.value).startswith(reason), str(e.value)
    assert "\n" not in str(e.value)


def test_bytes_that_are_not_utf8_json_are_refused() -> None:
    with pytest.raises(ManifestError, match=r"^it is not UTF-8$"):
        decode_manifest(b'{"target":"\xe9"}')
    with pytest.raises(ManifestError, match=r"^unreadable: "):
        decode_manifest(b'{"version":1')
