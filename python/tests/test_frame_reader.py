"""FrameReader: stream chunks of any size in, whole messages out."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from buildnet import FrameTooLargeError, ProtocolError, UnknownMessageTypeError
from buildnet.protocol import ErrorCode, FrameReader, Heartbeat, Message, decode, encode
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
