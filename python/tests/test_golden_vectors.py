"""The golden frames of docs/protocol-vectors.json (written by the Java encoder) against this
independent implementation: decode to the documented meaning, re-encode byte for byte."""

from __future__ import annotations

import re
from typing import Any

import pytest

from buildnet import FrameTooLargeError, ProtocolError, UnknownMessageTypeError
from buildnet._digests import of_bytes
from buildnet.protocol import (
    DEFAULT_MAX_FRAME_BYTES,
    MAJOR,
    MINOR,
    ErrorCode,
    FrameReader,
    client_proof,
    decode,
    encode,
    server_proof,
)
from tests.vectors import VECTORS, message_from_json

GOOD = VECTORS["vectors"]
BAD = VECTORS["errors"]


def _name(v: dict[str, Any]) -> str:
    return str(v["name"])


def test_the_file_describes_this_protocol_version() -> None:
    assert VECTORS["protocol"] == "buildnet"
    assert (VECTORS["major"], VECTORS["minor"]) == (MAJOR, MINOR)
    assert VECTORS["max_frame_bytes"] == DEFAULT_MAX_FRAME_BYTES
    assert len(GOOD) >= 40
    assert len(BAD) >= 15


@pytest.mark.parametrize("vector", GOOD, ids=_name)
def test_vector_decodes_to_its_documented_meaning(vector: dict[str, Any]) -> None:
    assert decode(bytes.fromhex(vector["hex"])) == message_from_json(vector["message"])


@pytest.mark.parametrize("vector", GOOD, ids=_name)
def test_documented_meaning_encodes_to_the_vector_byte_for_byte(vector: dict[str, Any]) -> None:
    assert encode(message_from_json(vector["message"])).hex() == vector["hex"]


def test_every_message_type_has_a_vector() -> None:
    from buildnet.protocol import MessageType

    assert {v["message"]["type"] for v in GOOD} == {t.name for t in MessageType}


@pytest.mark.parametrize("vector", BAD, ids=_name)
def test_error_vector_is_rejected_with_its_code(vector: dict[str, Any]) -> None:
    expected = vector["error"]
    with pytest.raises(ProtocolError) as caught:
        decode(bytes.fromhex(vector["hex"]))
    e = caught.value
    assert e.code == ErrorCode[expected["code"]]
    assert int(e.code) == expected["code_number"]
    assert e.fatal == expected["fatal"]
    assert e.message_id == expected["message_id"]
    assert str(e).startswith(f"{expected['code']} ({expected['code_number']}): ")


@pytest.mark.parametrize("vector", BAD, ids=_name)
def test_error_vector_is_rejected_by_the_frame_reader_too(vector: dict[str, Any]) -> None:
    frame = bytes.fromhex(vector["hex"])
    declared = int.from_bytes(frame[:4], "big")
    reader = FrameReader()
    if declared != len(frame) - 4:
        # Truncated frames wait for more bytes; a frame with bytes beyond its prefix is
        # followed by the start of another frame. The reader cannot see either as an error yet.
        if vector["error"]["code"] == "FRAME_TOO_LARGE":
            with pytest.raises(FrameTooLargeError):
                reader.feed(frame)
        return
    with pytest.raises(ProtocolError) as caught:
        list(reader.feed(frame))
    assert caught.value.code == ErrorCode[vector["error"]["code"]]
    assert reader.buffered == 0


def test_unknown_type_is_its_own_non_fatal_error() -> None:
    (vector,) = (v for v in BAD if v["name"] == "unknown_type")
    with pytest.raises(UnknownMessageTypeError) as caught:
        decode(bytes.fromhex(vector["hex"]))
    assert caught.value.type_code == 0x99
    assert not caught.value.fatal


def _strings_and_maps(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _strings_and_maps(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings_and_maps(v)
    else:
        yield node


def test_every_digest_in_the_file_is_recomputed_from_its_content() -> None:
    sizes: dict[str, int] = {}
    for d in VECTORS["digests"]:
        content = bytes.fromhex(d["content_hex"])
        assert of_bytes("xxh64", content) == d["xxh64"], d["name"]
        assert of_bytes("sha256", content) == d["sha256"], d["name"]
        sizes[d["xxh64"]] = sizes[d["sha256"]] = len(content)
    # The digest text of docs/PROTOCOL.md: XXH64 seed 0, big-endian, 16 lower-case hex digits.
    assert of_bytes("xxh64", bytes(range(1, 7))) == "xxh64:7b03496045e8d09c"
    seen = []
    for node in _strings_and_maps(VECTORS["vectors"]):
        if isinstance(node, str) and re.fullmatch(r"(xxh64|sha256):.*", node):
            seen.append(node)
            assert node in sizes, f"{node} is not the digest of any content in the file"
        if isinstance(node, dict) and "digest" in node and "size" in node:
            assert sizes[node["digest"]] == node["size"], node
    assert len(seen) >= 10


def test_auth_example_proofs() -> None:
    a = VECTORS["auth"]
    secret = bytes.fromhex(a["secret_hex"])
    nc = bytes.fromhex(a["client_nonce_hex"])
    ns = bytes.fromhex(a["server_nonce_hex"])
    assert client_proof(secret, ns, nc, a["role"], a["peer_id"]).hex() == a["client_proof_hex"]
    assert server_proof(secret, nc, ns, a["listener_id"]).hex() == a["server_proof_hex"]
