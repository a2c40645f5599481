"""The encoder: canonical details and what it refuses to send."""

from __future__ import annotations

from typing import Any

import pytest

from buildnet.protocol import (
    BlobHas,
    BuildRequest,
    ErrorReply,
    Heartbeat,
    LockRelease,
    LockRenew,
    Message,
    MessageType,
    StateGet,
    StateIncrement,
    StateKeys,
    StateSet,
    decode,
    encode,
)


def m(payload: Any, **kw: Any) -> Message:
    return Message(kw.pop("id", "x-1"), kw.pop("timestamp", 0), payload, **kw)


def test_message_defaults_and_type() -> None:
    msg = m(Heartbeat())
    assert (msg.runtime, msg.version, msg.type) == ("python", 1, MessageType.HEARTBEAT)


def test_env_keys_are_written_in_byte_wise_utf8_order() -> None:
    env = {"é": "1", "z": "2", "Z": "3", "a": "4", "\U0001f980": "5", "\uffff": "6"}
    frame = encode(m(BuildRequest(build_id="b", targets=("t",), env=env)))
    decoded = decode(frame).payload
    assert isinstance(decoded, BuildRequest)
    assert decoded.env is not None
    # UTF-16 order would put U+FFFF after the crab; UTF-8 byte order puts it before
    assert list(decoded.env) == ["Z", "a", "z", "é", "\uffff", "\U0001f980"]


def test_absent_optional_fields_are_omitted_not_nil() -> None:
    frame = encode(m(ErrorReply(code=16, message="boom", fatal=True)))
    assert b"reply_to" not in frame
    assert b"\xc0" not in frame


def test_conditional_state_set_rules_follow_java() -> None:
    # if_absent=false says nothing, so it may accompany expected (as in the Java record)
    cas = StateSet(key="k", value=b"v", if_absent=False, expected=b"")
    assert decode(encode(m(cas))).payload == cas
    assert StateSet(key="k", value=b"v", ttl_ms=5, if_absent=True).if_absent is True
    assert StateKeys(prefix="").prefix == ""  # empty prefix: every key
    assert StateIncrement(key="k", delta=-(2**63)).delta == -(2**63)


def test_lists_become_tuples_and_bytearrays_bytes() -> None:
    p = BlobHas(digests=["a", "b"])  # type: ignore[arg-type]
    assert p.digests == ("a", "b")
    s = StateSet(key="k", value=bytearray(b"v"))  # type: ignore[arg-type]
    assert type(s.value) is bytes
    assert decode(encode(m(p))).payload == p


@pytest.mark.parametrize(
    ("cls", "kwargs", "error"),
    [
        (StateGet, {"key": 1}, TypeError),
        (Heartbeat, {"running": True}, TypeError),
        (Heartbeat, {"running": 2**63}, ValueError),
        (StateSet, {"key": "k", "value": "v"}, TypeError),
        (BlobHas, {"digests": "abc"}, TypeError),
        (BlobHas, {"digests": ("a", 1)}, TypeError),
        (BuildRequest, {"build_id": "b", "targets": ("t",), "env": {"K": 1}}, TypeError),
        (StateGet, {"key": None}, TypeError),
        (StateGet, {"key": ""}, ValueError),
        (StateSet, {"key": "k", "value": b"v", "if_absent": True, "expected": b"o"}, ValueError),
        (StateSet, {"key": "k", "value": b"v", "ttl_ms": 5, "expected": b"o"}, ValueError),
        (StateSet, {"key": "k", "value": b"v", "if_absent": 1}, TypeError),
        (StateKeys, {"prefix": None}, TypeError),
        (StateIncrement, {"key": "", "delta": 1}, ValueError),
        (StateIncrement, {"key": "k", "delta": 2**63}, ValueError),
        (LockRelease, {"name": "n", "token": "t", "holder": ""}, ValueError),
        (LockRenew, {"name": "n", "holder": "h", "token": "t", "lease_ms": 0}, ValueError),
        (LockRenew, {"name": "n", "holder": "", "token": "t", "lease_ms": 1}, ValueError),
        (LockRenew, {"name": "n", "holder": "h", "token": "", "lease_ms": 1}, ValueError),
    ],
)  # fmt: skip
def test_payloads_refuse_wrong_values(
    cls: type[Any], kwargs: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error, match=r"\w"):
        cls(**kwargs)


@pytest.mark.parametrize(
    "msg",
    [
        m(StateGet("k"), id=""),
        m(StateGet("k"), id="i" * 257),
        m(StateGet("k"), id="é" * 129),  # 258 UTF-8 bytes
        m(StateGet("k"), runtime="r" * 65),
        m(StateGet("k"), version=-1),
        m(StateGet("k"), timestamp=2**63),
        m(StateGet("k\udc80")),  # an unpaired surrogate has no UTF-8 form
        m(StateGet("k"), id="\ud800"),
    ],
)
def test_unsendable_messages_are_refused(msg: Message) -> None:
    with pytest.raises(ValueError, match=r"must|surrogate"):
        encode(msg)


def test_a_frame_over_the_maximum_is_refused() -> None:
    msg = m(StateSet(key="k", value=b"\x00" * 2000))
    with pytest.raises(ValueError, match="exceeds the maximum of 1024"):
        encode(msg, max_frame_bytes=1024)
    assert len(encode(msg)) > 2000


def test_a_non_payload_is_refused() -> None:
    with pytest.raises(TypeError):
        encode(Message("x", 0, object()))  # type: ignore[arg-type]
