"""Hand-built bad frames: each limit and schema rule of the decoder, with its error code."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

from buildnet import FrameTooLargeError, ProtocolError, UnknownMessageTypeError
from buildnet.protocol import (
    BuildRequest,
    ErrorCode,
    Heartbeat,
    MessageType,
    StateGet,
    StateResponse,
    check_declared_length,
    decode,
    decode_body,
)


def envelope(body: Any, type_code: int = MessageType.STATE_GET, **overrides: Any) -> bytes:
    """A frame body packed by msgpack (trusted test input), the envelope keys in order, with
    ``body`` as the payload unless ``overrides`` replace it."""
    env: dict[Any, Any] = {
        "version": 1,
        "type": type_code,
        "id": "x-1",
        "timestamp": 0,
        "runtime": "python",
        "payload": body,
    }
    env.update(overrides)
    return bytes(msgpack.packb(env, use_bin_type=True))


def frame(body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + body


def rejected(body: bytes, code: ErrorCode) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        decode_body(body)
    assert caught.value.code == code, str(caught.value)
    return caught.value


def test_a_well_formed_hand_built_body_decodes() -> None:
    assert decode_body(envelope({"key": "k"})).payload == StateGet(key="k")


# ---- framing -----------------------------------------------------------------------------------


def test_length_prefix_over_a_custom_maximum_is_too_large() -> None:
    body = envelope({"key": "k" * 2000})
    with pytest.raises(FrameTooLargeError) as caught:
        decode(frame(body), max_frame_bytes=1024)
    assert (caught.value.declared, caught.value.maximum) == (len(body), 1024)
    assert caught.value.code == ErrorCode.FRAME_TOO_LARGE
    with pytest.raises(FrameTooLargeError):
        decode_body(body, max_frame_bytes=1024)


def test_the_declared_length_is_checked_without_the_body() -> None:
    check_declared_length(16 << 20)
    with pytest.raises(FrameTooLargeError, match="16777217 bytes exceeds the maximum of 16777216"):
        check_declared_length((16 << 20) + 1)


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x00\x00\x00"])
def test_less_than_a_prefix_is_a_bad_frame(data: bytes) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode(data)
    assert caught.value.code == ErrorCode.BAD_FRAME


def test_bytes_beyond_the_declared_length_are_a_bad_frame() -> None:
    with pytest.raises(ProtocolError, match="1 bytes follow the"):
        decode(frame(envelope({"key": "k"})) + b"\xc0")


def test_an_array_instead_of_the_envelope_is_a_bad_frame() -> None:
    # The golden vector not_a_map declares 3 bytes but carries 4, so it is rejected for its
    # length before anything is read; this is the case it means to test.
    rejected(bytes.fromhex("93010203"), ErrorCode.BAD_FRAME)


# ---- envelope ----------------------------------------------------------------------------------


def test_an_envelope_with_fewer_than_six_keys_is_a_bad_frame() -> None:
    rejected(msgpack.packb({"version": 1, "type": 0x30}), ErrorCode.BAD_FRAME)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("version", "1"),
        ("version", -1),
        ("version", 2**31),
        ("type", 256),
        ("type", -1),
        ("type", True),
        ("id", ""),
        ("id", "i" * 257),
        ("id", b"bin-id"),
        ("timestamp", 2**64 - 1),
        ("timestamp", None),
        ("runtime", ""),
        ("runtime", "r" * 65),
        ("payload", None),
    ],
)
def test_bad_envelope_fields_are_bad_frames(key: str, value: Any) -> None:
    body = envelope({"key": "k"}, **{key: value})
    # A non-map payload breaks the envelope whatever the type (docs/PROTOCOL.md, "Envelope").
    rejected(body, ErrorCode.BAD_FRAME)


def test_envelope_limits_are_inclusive() -> None:
    m = decode_body(envelope({"key": "k"}, id="i" * 256, runtime="r" * 64, version=2**31 - 1))
    assert (len(m.id), len(m.runtime), m.version) == (256, 64, 2**31 - 1)


def test_a_non_str_envelope_key_is_a_bad_frame() -> None:
    body = envelope({"key": "k"})
    assert body[1:9] == b"\xa7version"
    # a bin "version" instead of the str
    rejected(body[:1] + b"\xc4\x07version" + body[9:], ErrorCode.BAD_FRAME)


def test_keys_appended_after_payload_by_a_newer_minor_are_skipped() -> None:
    body = envelope({"key": "k"}, trace={"span": [1, 2.5, None, True, b"\x00"]})
    assert decode_body(body).payload == StateGet(key="k")


def test_a_non_str_appended_envelope_key_is_a_bad_frame() -> None:
    env: dict[Any, Any] = {"version": 1, "type": 0x30, "id": "x", "timestamp": 0, "runtime": "r"}
    body = msgpack.packb({**env, "payload": {"key": "k"}, 7: 1})
    rejected(body, ErrorCode.BAD_FRAME)


def test_unknown_type_reads_the_whole_frame_first() -> None:
    with pytest.raises(UnknownMessageTypeError) as caught:
        decode_body(envelope({"anything": [1, {"deep": "x"}]}, type_code=0x7F))
    assert (caught.value.type_code, caught.value.message_id) == (0x7F, "x-1")
    # ... so a broken frame of an unknown type is still a (fatal) bad frame
    rejected(envelope({"a": 1}, type_code=0x7F) + b"\xc0", ErrorCode.BAD_FRAME)
    rejected(envelope([1], type_code=0x7F), ErrorCode.BAD_FRAME)
    bad_utf8 = envelope({"a": "b"}, type_code=0x7F)
    assert bad_utf8.endswith(b"\xa1b")
    rejected(bad_utf8[:-1] + b"\xff", ErrorCode.INVALID_UTF8)


# ---- limits ------------------------------------------------------------------------------------


def nested(levels: int) -> Any:
    value: Any = 0
    for _ in range(levels):
        value = [value]
    return value


def test_nesting_to_depth_16_is_accepted_and_17_is_too_deep() -> None:
    # envelope 1, payload 2, the unknown field's outermost array 3: 14 arrays reach depth 16
    assert decode_body(envelope({"key": "k", "future": nested(14)})).payload == StateGet("k")
    e = rejected(envelope({"key": "k", "future": nested(15)}), ErrorCode.TOO_DEEP)
    assert e.message_id == "x-1"


def test_deep_maps_are_too_deep_as_well() -> None:
    value: Any = 0
    for _ in range(15):
        value = {"m": value}
    rejected(envelope({"key": "k", "future": value}), ErrorCode.TOO_DEEP)


@pytest.mark.parametrize(
    ("header", "what"),
    [
        ("dbffffffff", "str32"),
        ("c6ffffffff", "bin32"),
        ("dd7fffffff", "array32"),
        ("df7fffffff", "map32"),
        ("c9ffffffff01", "ext32"),
        ("da0100", "str16 of 256 bytes"),
    ],
)
def test_declared_lengths_beyond_the_frame_are_bad_frames(header: str, what: str) -> None:
    body = envelope({"key": "k", "f": 0})
    assert body.endswith(b"\xa1f\x00")
    rejected(body[:-1] + bytes.fromhex(header) + b"\x00" * 8, ErrorCode.BAD_FRAME)


def test_a_map_may_not_declare_more_entries_than_half_the_bytes_left() -> None:
    body = envelope({"key": "k", "f": 0})
    # fixmap of 15 entries with 10 bytes left
    rejected(body[:-1] + b"\x8f" + b"\x00" * 10, ErrorCode.BAD_FRAME)


def test_byte_c1_is_a_bad_frame() -> None:
    body = envelope({"key": "k", "f": 0})
    rejected(body[:-1] + b"\xc1", ErrorCode.BAD_FRAME)


def test_floats_and_ext_in_unknown_fields_are_skipped() -> None:
    body = envelope({"key": "k", "f": 0})[:-1]
    for tail in ("cb" + "00" * 8, "ca" + "00" * 4, "d401ff", "d8" + "01" + "00" * 16, "c70201aaaa"):
        assert decode_body(body + bytes.fromhex(tail)).payload == StateGet("k")


# ---- UTF-8 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b"\xff", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc3"],
    ids=["ff", "overlong-2", "overlong-3", "surrogate", "above-10ffff", "cut"],
)
def test_invalid_utf8_is_rejected_wherever_it_is(raw: bytes) -> None:
    s = bytes([0xA0 | len(raw)]) + raw
    base = envelope({"key": "k", "f": 0})
    assert base.endswith(b"\xa3key\xa1k\xa1f\x00")
    head = base[: -len(b"\xa3key\xa1k\xa1f\x00")]
    rejected(head + b"\xa3key" + s + b"\xa1f\x00", ErrorCode.INVALID_UTF8)  # a field value
    rejected(head + b"\xa3key\xa1k" + s + b"\x00", ErrorCode.INVALID_UTF8)  # an unknown key
    rejected(head + b"\xa3key\xa1k\xa1f" + s, ErrorCode.INVALID_UTF8)  # an unknown field's value
    env = BuildRequest.TYPE
    body = envelope({"build_id": "b", "targets": ["t"], "env": {"K": "v"}}, type_code=env)
    assert body.endswith(b"\x81\xa1K\xa1v")
    rejected(body[:-4] + s + b"\xa1v", ErrorCode.INVALID_UTF8)  # an env key
    rejected(body[:-2] + s, ErrorCode.INVALID_UTF8)  # an env value


def test_four_byte_utf8_is_fine() -> None:
    assert decode_body(envelope({"key": "🦀 ü ✓"})).payload == StateGet("🦀 ü ✓")


# ---- schema ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_code", "payload"),
    [
        (MessageType.STATE_GET, {"key": 1}),
        (MessageType.STATE_GET, {"key": b"k"}),  # bin is never str
        (MessageType.STATE_GET, {"key": None}),  # nil for a required field
        (MessageType.STATE_GET, {1: "k"}),
        (MessageType.STATE_SET, {"key": "k", "value": "v"}),  # str is never bin
        (MessageType.STATE_RESPONSE, {"reply_to": "r", "found": 1}),
        (MessageType.HEARTBEAT, {"running": True}),
        (MessageType.HEARTBEAT, {"running": -1}),
        (MessageType.HEARTBEAT, {"running": 1.0}),
        (MessageType.BUILD_REQUEST, {"build_id": "b", "targets": ["a", 1]}),
        (MessageType.BUILD_REQUEST, {"build_id": "b", "targets": []}),
        (MessageType.BUILD_REQUEST, {"build_id": "b", "targets": ["a"], "env": {"K": 1}}),
        (MessageType.BUILD_REQUEST, {"build_id": "b", "targets": ["a"], "env": {1: "v"}}),
        (MessageType.BUILD_REQUEST, {"build_id": "b", "targets": ["a"], "env": ["K"]}),
        (MessageType.BUILD_COMPLETED, {"build_id": "b", "duration_ms": 1, "outputs": [1]}),
        (MessageType.BUILD_COMPLETED, {"build_id": "b", "duration_ms": 1, "outputs": [{}]}),
        (MessageType.BLOB_PUT, {"transfer_id": "t", "offset": 0, "data": b"", "last": True}),
        (MessageType.BLOB_PUT,
         {"transfer_id": "t", "offset": 0, "data": b"ab", "last": True, "digest": "d", "size": 3}),
        (MessageType.BLOB_GET, {"digest": "d", "max_chunk": (1 << 20) + 1}),
        (MessageType.EVENT,
         {"subscription_id": "s", "seq": 1, "kind": "log", "build_id": "b", "at": 0}),
        (MessageType.HELLO_ACK, {"reply_to": "r", "accepted": True, "minor": 0, "peer_id": "m"}),
        (MessageType.STATE_SET, {"key": "k", "value": b"v", "if_absent": True, "expected": b""}),
        (MessageType.STATE_SET, {"key": "k", "value": b"v", "ttl_ms": 1, "expected": b""}),
        (MessageType.STATE_SET, {"key": "k", "value": b"v", "expected": "v"}),
        (MessageType.STATE_RESPONSE, {"reply_to": "r", "found": True, "keys": ["a", 1]}),
        (MessageType.STATE_RESPONSE, {"reply_to": "r", "found": True, "applied": 1}),
        (MessageType.STATE_KEYS, {}),
        (MessageType.STATE_INCREMENT, {"key": "k"}),
        (MessageType.STATE_INCREMENT, {"key": "", "delta": 1}),
        (MessageType.LOCK_RELEASE, {"name": "n", "token": "t", "holder": ""}),
        (MessageType.LOCK_RENEW, {"name": "n", "holder": "h", "token": "t", "lease_ms": 0}),
        (MessageType.LOCK_RESPONSE, {"reply_to": "r", "granted": True, "expires_at": "x"}),
    ],
)  # fmt: skip
def test_schema_violations_are_invalid_payloads(type_code: int, payload: Any) -> None:
    rejected(envelope(payload, type_code=type_code), ErrorCode.INVALID_PAYLOAD)


def test_a_duplicate_env_key_is_an_invalid_payload() -> None:
    body = envelope({"build_id": "b", "targets": ["t"], "env": {"K": "v"}}, type_code=0x20)
    assert body.endswith(b"\x81\xa1K\xa1v")
    rejected(body[:-5] + b"\x82\xa1K\xa1v\xa1K\xa1w", ErrorCode.INVALID_PAYLOAD)


def test_a_nil_then_a_value_for_one_field_is_a_duplicate() -> None:
    body = msgpack.packb(
        {"version": 1, "type": 0x10, "id": "x", "timestamp": 0, "runtime": "r", "payload": {}}
    )
    assert body.endswith(b"\x80")
    e = rejected(body[:-1] + b"\x82\xa7running\xc0\xa7running\x01", ErrorCode.INVALID_PAYLOAD)
    assert "duplicate field 'running'" in str(e)


def test_lenient_payload_decoding() -> None:
    # any field order, nil for optional fields, unknown fields skipped
    body = envelope(
        {"value": None, "new": {"x": [1]}, "found": True, "reply_to": "r"},
        type_code=MessageType.STATE_RESPONSE,
    )
    assert decode_body(body).payload == StateResponse(reply_to="r", found=True)
    assert decode_body(envelope({}, type_code=0x10)).payload == Heartbeat()


@pytest.mark.parametrize(
    ("value", "expected"),
    [(-(2**63), -(2**63)), (2**63 - 1, 2**63 - 1), (-33, -33), (-32, -32), (255, 255)],
)
def test_integers_across_the_int64_range(value: int, expected: int) -> None:
    assert decode_body(envelope({"key": "k"}, timestamp=value)).timestamp == expected
