"""Property tests: every payload type survives encode -> decode, the encoding is canonical, and
nothing but ProtocolError comes out of the decoder for any bytes."""

from __future__ import annotations

import contextlib

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buildnet import ProtocolError
from buildnet.protocol import PAYLOAD_CLASSES, ErrorCode, Message, decode, decode_body, encode
from buildnet.protocol._record import Kind, schema_of
from tests.strategies import messages, records
from tests.vectors import VECTORS

_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)


@pytest.mark.parametrize("cls", list(PAYLOAD_CLASSES.values()), ids=lambda c: c.TYPE.name)
def test_every_payload_type_round_trips(cls: type) -> None:
    @_SETTINGS
    @given(messages(records(cls)))
    def check(m: Message) -> None:
        frame = encode(m)
        assert decode(frame) == m
        assert encode(decode(frame)) == frame

    check()


@_SETTINGS
@given(messages())
def test_encoding_follows_the_canonical_key_order(m: Message) -> None:
    body = encode(m)[4:]
    # The body is trusted here (we just wrote it), so a generic unpacker may read it.
    tree = msgpack.unpackb(body, raw=False)
    assert list(tree) == ["version", "type", "id", "timestamp", "runtime", "payload"]
    fields = schema_of(type(m.payload)).fields
    present = [f.name for f in fields if getattr(m.payload, f.name) is not None]
    assert list(tree["payload"]) == present  # schema order, absent fields omitted (never nil)
    for f in fields:
        if f.kind is Kind.STR_MAP and f.name in tree["payload"]:
            keys = [k.encode() for k in tree["payload"][f.name]]
            assert keys == sorted(keys)


@_SETTINGS
@given(messages(), st.data())
def test_every_truncation_is_a_bad_frame(m: Message, data: st.DataObject) -> None:
    body = encode(m)[4:]
    cut = data.draw(st.integers(1, len(body) - 1))
    with pytest.raises(ProtocolError) as caught:
        decode_body(body[:cut])
    assert caught.value.code == ErrorCode.BAD_FRAME


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_every_truncation_of_a_golden_frame_is_a_bad_frame(vector: dict[str, str]) -> None:
    body = bytes.fromhex(vector["hex"])[4:]
    for cut in range(len(body)):
        with pytest.raises(ProtocolError) as caught:
            decode_body(body[:cut])
        assert caught.value.code == ErrorCode.BAD_FRAME, cut


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_decode_or_raise_protocol_error(body: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode_body(body)


_GOLDEN = [bytes.fromhex(v["hex"])[4:] for v in VECTORS["vectors"]]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_GOLDEN), st.data())
def test_mutated_golden_frames_decode_or_raise_protocol_error(
    body: bytes, data: st.DataObject
) -> None:
    b = bytearray(body)
    for _ in range(data.draw(st.integers(1, 4))):
        b[data.draw(st.integers(0, len(b) - 1))] = data.draw(st.integers(0, 255))
    try:
        m = decode_body(bytes(b))
    except ProtocolError:
        return
    assert decode(encode(m)) == m  # whatever decodes is a valid message
