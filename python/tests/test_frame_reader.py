"""FrameReader: stream chunks of any size in, whole messages out."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from buildnet import FrameTooLargeError, ProtocolError, UnknownMessageTypeError
from buildnet.protocol import (
    DEFAULT_MAX_FRAME_BYTES,
    ErrorCode,
    FrameReader,
    Heartbeat,
    Message,
    decode,
    encode,
)
from tests.vectors import VECTORS

FRAMES = [bytes.fromhex(v["hex"]) for v in VECTORS["vectors"]]
STREAM = b"".join(FRAMES)
EXPECTED = [decode(f) for f in FRAMES]
UNKNOWN = bytes.fromhex(next(v["hex"] for v in VECTORS["errors"] if v["name"] == "unknown_type"))


def test_every_golden_frame_fed_one_byte_at_a_time() -> None:
    reader = FrameReader()
    got: list[Message] = []
    for i in range(len(STREAM)):
        got.extend(reader.feed(STREAM[i : i + 1]))
    assert got == EXPECTED
    assert reader.buffered == 0
    reader.eof()


def test_all_frames_in_one_chunk() -> None:
    assert list(FrameReader().feed(STREAM)) == EXPECTED


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 300), min_size=1, max_size=40))
def test_any_chunking_yields_the_same_messages(sizes: list[int]) -> None:
    reader = FrameReader()
    got: list[Message] = []
    pos, i = 0, 0
    while pos < len(STREAM):
        n = sizes[i % len(sizes)]
        got.extend(reader.feed(STREAM[pos : pos + n]))
        pos, i = pos + n, i + 1
    assert got == EXPECTED


def test_an_oversized_prefix_raises_as_soon_as_its_four_bytes_are_in() -> None:
    reader = FrameReader(max_frame_bytes=1024)
    assert list(reader.feed(b"\x00\x00")) == []
    with pytest.raises(FrameTooLargeError) as caught:
        reader.feed(b"\x04\x01")  # 1025: nothing of the body has arrived
    assert caught.value.declared == 1025
    assert reader.buffered == 0
    with pytest.raises(FrameTooLargeError):  # the stream cannot be resynchronised
        reader.feed(b"\x00")


def test_an_oversized_prefix_behind_good_frames_comes_out_in_order() -> None:
    reader = FrameReader()
    it = reader.feed(FRAMES[0] + b"\xff\xff\xff\xff")
    assert next(it) == EXPECTED[0]
    with pytest.raises(FrameTooLargeError):
        next(it)


def test_reading_continues_after_an_unknown_type() -> None:
    reader = FrameReader()
    it = reader.feed(FRAMES[0] + UNKNOWN + FRAMES[1])
    assert next(it) == EXPECTED[0]
    with pytest.raises(UnknownMessageTypeError) as caught:
        next(it)
    assert caught.value.message_id == "w-1"
    assert list(reader.feed(b"")) == [EXPECTED[1]]  # the frame behind it was kept


def test_a_bad_frame_consumes_exactly_that_frame() -> None:
    bad = b"\x00\x00\x00\x02\xc1\xc1"
    reader = FrameReader()
    with pytest.raises(ProtocolError) as caught:
        list(reader.feed(bad + FRAMES[2]))
    assert caught.value.code == ErrorCode.BAD_FRAME
    assert reader.buffered == len(FRAMES[2])
    assert list(reader.feed(b"")) == [EXPECTED[2]]


def test_an_empty_frame_is_a_bad_frame() -> None:
    reader = FrameReader()
    with pytest.raises(ProtocolError, match="empty frame"):
        list(reader.feed(b"\x00\x00\x00\x00"))
    assert reader.buffered == 0


def test_the_stream_ending_inside_a_frame_is_a_bad_frame() -> None:
    reader = FrameReader()
    assert list(reader.feed(FRAMES[0][:-1])) == []
    with pytest.raises(ProtocolError) as caught:
        reader.eof()
    assert caught.value.code == ErrorCode.BAD_FRAME


def test_next_message_pulls_one_at_a_time() -> None:
    reader = FrameReader()
    frame = encode(Message("w-1", 0, Heartbeat(running=1)))
    reader.feed(frame + frame[:3])
    assert reader.next_message() == Message("w-1", 0, Heartbeat(running=1))
    assert reader.next_message() is None
    assert reader.buffered == 3


def test_a_maximum_below_one_byte_is_misuse() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        FrameReader(max_frame_bytes=0)


# ---- pre-authentication bounds (docs/PROTOCOL.md, "Decoding limits") ---------------------------


def test_a_declared_gibibyte_with_five_bytes_costs_five_bytes() -> None:
    import tracemalloc

    reader = FrameReader(max_frame_bytes=2**31 - 1)
    tracemalloc.start()
    try:
        messages = list(reader.feed((1 << 30).to_bytes(4, "big") + b"12345"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert messages == []
    assert reader.buffered == 9
    assert peak < 1 << 20, f"the reader allocated {peak} bytes for 9 received"


def test_before_the_handshake_frames_are_capped_at_64_kib() -> None:
    from buildnet.protocol import HANDSHAKE_MAX_FRAME_BYTES

    assert HANDSHAKE_MAX_FRAME_BYTES == 65536
    reader = FrameReader(pre_auth_max_frame_bytes=HANDSHAKE_MAX_FRAME_BYTES)
    assert list(reader.feed((65536).to_bytes(4, "big") + b"\x80")) == []  # at the cap: waits
    for declared in (65537, 1 << 30):
        r = FrameReader(pre_auth_max_frame_bytes=HANDSHAKE_MAX_FRAME_BYTES)
        with pytest.raises(FrameTooLargeError) as caught:
            r.feed(declared.to_bytes(4, "big") + b"12345")
        assert caught.value.maximum == 65536
        assert r.buffered == 0


def test_after_the_handshake_the_full_maximum_applies_even_to_frames_already_buffered() -> None:
    from buildnet.protocol import HANDSHAKE_MAX_FRAME_BYTES

    reader = FrameReader(pre_auth_max_frame_bytes=HANDSHAKE_MAX_FRAME_BYTES)
    ack = encode(Message("m-1", 0, Heartbeat()))
    big = (100_000).to_bytes(4, "big") + b"\x86"  # the start of a frame sent right behind it
    reader.feed(ack + big)
    assert reader.next_message() == decode(ack)
    reader.end_handshake()
    assert reader.limit == DEFAULT_MAX_FRAME_BYTES
    assert reader.next_message() is None  # waits for the rest instead of refusing it
    assert reader.buffered == len(big)


@pytest.mark.asyncio
async def test_a_listener_that_declares_a_huge_frame_during_the_handshake_is_refused() -> None:
    import asyncio

    from buildnet._connection import open_connection

    async def serve(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await r.read(4096)  # the HELLO
        w.write((1 << 30).to_bytes(4, "big") + b"12345")
        await w.drain()
        await r.read(1)  # until the client hangs up
        w.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(FrameTooLargeError) as caught:
            await open_connection(
                "127.0.0.1",
                port,
                secret=b"s" * 32,
                role="client",
                peer_id="p",
                max_frame_bytes=2**31 - 1,
            )
        assert caught.value.maximum == 65536
    finally:
        server.close()
        await server.wait_closed()
