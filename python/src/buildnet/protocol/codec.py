"""Frames: encoding :class:`Message` to bytes and decoding bytes back (``docs/PROTOCOL.md``).

A frame is a 4-byte big-endian body length followed by the body, one MessagePack map
``{version, type, id, timestamp, runtime, payload}``. Pure functions; no I/O.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Optional

import msgpack

from buildnet.errors import FrameTooLargeError, ProtocolError, UnknownMessageTypeError
from buildnet.protocol._record import INT64_MAX, INT64_MIN, FieldSpec, Kind, Schema, schema_of
from buildnet.protocol._unpack import Family, IntegerOverflow, Unpacker
from buildnet.protocol.payloads import PAYLOAD_CLASSES, Payload
from buildnet.protocol.types import MAJOR, RUNTIME, ErrorCode, MessageType

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "DEFAULT_MAX_FRAME_BYTES",
    "PREFIX_BYTES",
    "FrameReader",
    "Message",
    "check_declared_length",
    "decode",
    "decode_body",
    "encode",
]

#: The default largest frame body (the length prefix not counted): 16 MiB.
DEFAULT_MAX_FRAME_BYTES = 16 << 20
#: Length of the big-endian length prefix.
PREFIX_BYTES = 4

MAX_ID_BYTES = 256
MAX_RUNTIME_BYTES = 64
_ENVELOPE = ("version", "type", "id", "timestamp", "runtime", "payload")


@dataclasses.dataclass(frozen=True)
class Message:
    """One protocol message: the envelope around a typed payload.

    ``id`` is unique per sender and connection (replies name it in ``reply_to``); ``timestamp``
    is the sender's wall clock in epoch milliseconds (informational only); ``runtime`` names the
    sender's runtime; ``version`` is the sender's protocol major version.
    """

    id: str
    timestamp: int
    payload: Payload
    runtime: str = RUNTIME
    version: int = MAJOR

    @property
    def type(self) -> MessageType:
        """The message type, given by the payload's class."""
        return self.payload.TYPE


# ---- encoding ----------------------------------------------------------------------------------


def encode(message: Message, *, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> bytes:
    """The whole canonical frame, length prefix included.

    The body is built as nested dicts in the canonical key order (dicts keep insertion order)
    and packed by ``msgpack``, which writes the shortest integer forms, str for ``str`` and bin
    for ``bytes`` (``use_bin_type=True``): exactly the canonical encoding the document specifies.

    Raises ``ValueError``/``TypeError`` for a message that cannot be sent: an envelope field out
    of range, a string with an unpaired surrogate, a body above ``max_frame_bytes``.
    """
    if not isinstance(message.payload, Payload):
        raise TypeError(f"payload must be a protocol payload but was {message.payload!r}")
    _check_envelope(message)
    envelope = {
        "version": message.version,
        "type": int(message.type),
        "id": message.id,
        "timestamp": message.timestamp,
        "runtime": message.runtime,
        "payload": _record_value(schema_of(type(message.payload)), message.payload),
    }
    try:
        body: bytes = msgpack.packb(envelope, use_bin_type=True)
    except UnicodeEncodeError as e:
        raise ValueError(
            f"{message.type.name}: a string is not encodable as UTF-8 ({e.reason})"
        ) from e
    if len(body) > max_frame_bytes:
        raise ValueError(
            f"{message.type.name} frame of {len(body)} bytes exceeds the maximum of "
            f"{max_frame_bytes}"
        )
    return len(body).to_bytes(PREFIX_BYTES, "big") + body


def _check_envelope(m: Message) -> None:
    if isinstance(m.version, bool) or not isinstance(m.version, int):
        raise TypeError(f"version must be int but was {type(m.version).__name__}")
    if not 0 <= m.version <= 2**31 - 1:
        raise ValueError(f"version must be 0..2^31-1 but was {m.version}")
    if isinstance(m.timestamp, bool) or not isinstance(m.timestamp, int):
        raise TypeError(f"timestamp must be int but was {type(m.timestamp).__name__}")
    if not INT64_MIN <= m.timestamp <= INT64_MAX:
        raise ValueError(f"timestamp must fit a signed 64-bit integer but was {m.timestamp}")
    limits = (("id", m.id, MAX_ID_BYTES), ("runtime", m.runtime, MAX_RUNTIME_BYTES))
    for what, value, limit in limits:
        if not isinstance(value, str):
            raise TypeError(f"{what} must be str but was {type(value).__name__}")
        n = len(_utf8(value, what))
        if not 1 <= n <= limit:
            raise ValueError(f"{what} must be 1..{limit} UTF-8 bytes but was {n}")


def _utf8(s: str, what: str) -> bytes:
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"{what} has an unpaired surrogate: not encodable as UTF-8") from e


def _record_value(schema: Schema, rec: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in schema.fields:
        v = getattr(rec, f.name)
        if v is None:
            continue  # an absent optional field is omitted, never nil
        if f.kind is Kind.STR_MAP:
            # Keys in byte-wise UTF-8 order, so every implementation writes the same bytes.
            v = dict(sorted(v.items(), key=lambda kv: _utf8(kv[0], f.name)))
        elif f.kind is Kind.RECORD_ARRAY:
            assert f.element is not None
            v = [_record_value(f.element, e) for e in v]
        out[f.name] = v
    return out


# ---- decoding ----------------------------------------------------------------------------------


#: Largest frame body a connecting peer accepts before HELLO_ACK (docs/PROTOCOL.md), as the Java
#: master caps frames before the handshake completes.
HANDSHAKE_MAX_FRAME_BYTES = 65536


def check_declared_length(declared: int, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
    """Checks a length prefix against the maximum; call before reading or allocating the body.

    Raises :class:`FrameTooLargeError` if it is above ``max_frame_bytes``.
    """
    if declared > max_frame_bytes:
        raise FrameTooLargeError(declared, max_frame_bytes)


def decode(frame: bytes, *, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> Message:
    """Decodes one whole frame, length prefix included (as in the golden vectors).

    Safe on untrusted bytes; every rejection is a :class:`ProtocolError` whose ``code`` says
    what is wrong (an unknown type is the non-fatal :class:`UnknownMessageTypeError`).
    """
    if len(frame) < PREFIX_BYTES:
        raise ProtocolError(
            ErrorCode.BAD_FRAME,
            f"truncated frame: {len(frame)} bytes, not even the 4-byte length prefix",
        )
    declared = int.from_bytes(frame[:PREFIX_BYTES], "big")
    check_declared_length(declared, max_frame_bytes)
    actual = len(frame) - PREFIX_BYTES
    if actual < declared:
        raise ProtocolError(
            ErrorCode.BAD_FRAME,
            f"truncated frame: the prefix declares {declared} bytes but only {actual} follow",
        )
    if actual > declared:
        raise ProtocolError(
            ErrorCode.BAD_FRAME,
            f"{actual - declared} bytes follow the {declared}-byte frame the prefix declares",
        )
    return _decode(bytes(frame), PREFIX_BYTES, len(frame), max_frame_bytes)


def decode_body(body: bytes, *, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> Message:
    """Decodes a frame body (the bytes after the length prefix)."""
    return _decode(bytes(body), 0, len(body), max_frame_bytes)


def _decode(buf: bytes, start: int, end: int, max_frame_bytes: int) -> Message:
    check_declared_length(end - start, max_frame_bytes)
    if end == start:
        raise ProtocolError(ErrorCode.BAD_FRAME, "empty frame: a frame needs an envelope")
    return _Decoder(Unpacker(buf, start, end)).envelope()


class _Decoder:
    """Reads one envelope and its payload by schema (no generic value tree)."""

    __slots__ = ("u",)

    def __init__(self, u: Unpacker) -> None:
        self.u = u

    def envelope(self) -> Message:
        u = self.u
        f = u.peek()
        if f is not Family.MAP:
            u.fail(
                ErrorCode.BAD_FRAME, f"a frame must hold a map (the envelope) but held {f.value}"
            )
        n = u.map_header(1)
        if n < len(_ENVELOPE):
            u.fail(
                ErrorCode.BAD_FRAME,
                f"the envelope has {n} keys; it needs {', '.join(_ENVELOPE)} in that order",
            )
        self._expect_key(0)
        version = self._envelope_int("version")
        if not 0 <= version <= 2**31 - 1:
            u.fail(ErrorCode.BAD_FRAME, f"envelope version {version} is out of range")
        self._expect_key(1)
        code = self._envelope_int("type")
        if not 0 <= code <= 255:
            u.fail(ErrorCode.BAD_FRAME, f"envelope type {code} is not a one-byte code")
        self._expect_key(2)
        message_id = self._envelope_str("id", MAX_ID_BYTES)
        u.message_id = message_id
        self._expect_key(3)
        timestamp = self._envelope_int("timestamp")
        self._expect_key(4)
        runtime = self._envelope_str("runtime", MAX_RUNTIME_BYTES)
        self._expect_key(5)
        known = code in MessageType._value2member_map_
        cls = PAYLOAD_CLASSES[MessageType(code)] if known else None
        payload: Optional[Payload] = None
        # A payload that is not a map breaks the envelope, whatever the type: BAD_FRAME.
        f = u.peek()
        if f is not Family.MAP:
            u.fail(ErrorCode.BAD_FRAME, f"the payload must be a map but was {f.value}")
        if cls is not None:
            payload = self._record(schema_of(cls), f"{cls.TYPE.name} payload", 2)
        else:
            u.skip(2)
        for _ in range(len(_ENVELOPE), n):  # keys of a newer minor version
            if u.peek() is not Family.STR:
                u.fail(ErrorCode.BAD_FRAME, "envelope keys must be str")
            u.read_str("envelope key")
            u.skip(2)
        if u.left:
            u.fail(ErrorCode.BAD_FRAME, f"{u.left} bytes follow the envelope inside the frame")
        if payload is None:
            raise UnknownMessageTypeError(code, message_id)
        return Message(message_id, timestamp, payload, runtime, version)

    def _expect_key(self, i: int) -> None:
        u = self.u
        f = u.peek()
        if f is not Family.STR:
            u.fail(
                ErrorCode.BAD_FRAME,
                f"envelope key {i + 1} must be the str {_ENVELOPE[i]!r} but was {f.value}",
            )
        k = u.read_str("envelope key")
        if k != _ENVELOPE[i]:
            u.fail(
                ErrorCode.BAD_FRAME,
                f"envelope key {i + 1} must be {_ENVELOPE[i]!r} but was {k!r} "
                f"(keys are {', '.join(_ENVELOPE)}, in that order)",
            )

    def _envelope_int(self, field: str) -> int:
        u = self.u
        f = u.peek()
        if f is not Family.INT:
            u.fail(ErrorCode.BAD_FRAME, f"envelope field {field!r} must be int but was {f.value}")
        try:
            return u.read_int()
        except IntegerOverflow:
            u.fail(
                ErrorCode.BAD_FRAME,
                f"envelope field {field!r} does not fit a signed 64-bit integer",
            )

    def _envelope_str(self, field: str, max_bytes: int) -> str:
        u = self.u
        f = u.peek()
        what = f"envelope field {field!r}"
        if f is not Family.STR:
            u.fail(ErrorCode.BAD_FRAME, f"{what} must be str but was {f.value}")
        n = u.str_header()
        if not 1 <= n <= max_bytes:
            u.fail(ErrorCode.BAD_FRAME, f"{what} must be 1..{max_bytes} bytes but was {n}")
        return u.utf8(u.raw(n, what), what)

    def _record(self, schema: Schema, label: str, depth: int) -> Any:
        u = self.u
        u.check_depth(depth)
        f = u.peek()
        if f is not Family.MAP:
            u.fail(ErrorCode.INVALID_PAYLOAD, f"{label} must be a map but was {f.value}")
        n = u.map_header(depth)
        values: dict[str, Any] = {}
        seen: set[str] = set()
        for _ in range(n):
            k = self._key(label)
            i = schema.index.get(k)
            if i is None:
                u.skip(depth + 1)  # a field of a newer minor version
                continue
            if k in seen:
                u.fail(ErrorCode.INVALID_PAYLOAD, f"{label}: duplicate field {k!r}")
            seen.add(k)
            field = schema.fields[i]
            if not field.required and u.peek() is Family.NIL:
                u.read_nil()
                continue
            values[k] = self._value(field, label, depth + 1)
        for field in schema.fields:
            if field.required and field.name not in values:
                u.fail(
                    ErrorCode.INVALID_PAYLOAD, f"{label}: required field {field.name!r} is missing"
                )
        try:
            return schema.cls(**values)
        except (ValueError, TypeError) as e:
            u.fail(ErrorCode.INVALID_PAYLOAD, f"{label}: {e}")

    def _value(self, field: FieldSpec, label: str, depth: int) -> Any:
        u = self.u
        what = f"{label} field {field.name!r}"
        f = u.peek()
        k = field.kind
        if k is Kind.STR:
            self._expect(f, Family.STR, what)
            return u.read_str(what)
        if k is Kind.INT:
            self._expect(f, Family.INT, what)
            try:
                return u.read_int()
            except IntegerOverflow:
                u.fail(ErrorCode.INVALID_PAYLOAD, f"{what} does not fit a signed 64-bit integer")
        if k is Kind.BOOL:
            self._expect(f, Family.BOOL, what)
            return u.read_bool()
        if k is Kind.BIN:
            self._expect(f, Family.BIN, what)
            return u.read_bin(what)
        if k is Kind.STR_ARRAY:
            self._expect(f, Family.ARRAY, what)
            items = []
            for i in range(u.array_header(depth)):
                self._expect(u.peek(), Family.STR, f"{what} element {i}")
                items.append(u.read_str(what))
            return tuple(items)
        if k is Kind.STR_MAP:
            self._expect(f, Family.MAP, what)
            env: dict[str, str] = {}
            for _ in range(u.map_header(depth)):
                key = self._key(what)
                self._expect(u.peek(), Family.STR, f"{what} value of {key!r}")
                value = u.read_str(what)
                if key in env:
                    u.fail(ErrorCode.INVALID_PAYLOAD, f"{what}: duplicate key {key!r}")
                env[key] = value
            return env
        # RECORD_ARRAY
        assert field.element is not None
        self._expect(f, Family.ARRAY, what)
        return tuple(
            self._record(field.element, f"{what} element {i}", depth + 1)
            for i in range(u.array_header(depth))
        )

    def _key(self, label: str) -> str:
        f = self.u.peek()
        if f is not Family.STR:
            self.u.fail(
                ErrorCode.INVALID_PAYLOAD, f"{label}: map keys must be str but one was {f.value}"
            )
        return self.u.read_str(f"{label} key")

    def _expect(self, actual: Family, expected: Family, what: str) -> None:
        if actual is not expected:
            self.u.fail(
                ErrorCode.INVALID_PAYLOAD, f"{what} must be {expected.value} but was {actual.value}"
            )


# ---- incremental reading -----------------------------------------------------------------------


class FrameReader:
    """Turns a byte stream, in chunks of any size, into whole messages. No I/O of its own.

    :meth:`feed` buffers bytes and returns an iterator over the messages that are now complete.
    A bad frame makes the iterator raise its :class:`ProtocolError` after consuming exactly that
    frame; complete frames behind it stay buffered and come out of the next :meth:`feed`
    (``feed(b"")`` is fine). So after a non-fatal :class:`UnknownMessageTypeError` the caller
    answers ERROR and carries on; after a fatal error it closes the connection.

    A length prefix above the maximum raises :class:`FrameTooLargeError` as soon as its 4 bytes
    are in, before any of the body is buffered; the reader is then broken (the stream cannot be
    resynchronised) and raises the same error on every later call.

    Memory follows the bytes that arrived, never the prefix: a body is buffered as it comes (the
    caller feeds chunks of its choosing), so a peer that declares 1 GiB and sends 5 bytes costs 5
    bytes. With ``pre_auth_max_frame_bytes`` (a connecting peer passes
    :data:`HANDSHAKE_MAX_FRAME_BYTES`), frames are capped at that size until
    :meth:`end_handshake`, so a listener that has not yet proven it knows the secret cannot make
    the reader hold more than 64 KiB.

    Not thread-safe: one reader per connection.
    """

    __slots__ = ("_broken", "_buf", "_limit", "_max")

    def __init__(
        self,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        *,
        pre_auth_max_frame_bytes: Optional[int] = None,
    ) -> None:
        if max_frame_bytes < 1:
            raise ValueError(f"max_frame_bytes must be at least 1 but was {max_frame_bytes}")
        if pre_auth_max_frame_bytes is not None and pre_auth_max_frame_bytes < 1:
            raise ValueError(
                f"pre_auth_max_frame_bytes must be at least 1 but was {pre_auth_max_frame_bytes}"
            )
        self._max = max_frame_bytes
        # The limit in force: the pre-authentication cap until end_handshake(), then the maximum.
        self._limit = (
            max_frame_bytes
            if pre_auth_max_frame_bytes is None
            else min(max_frame_bytes, pre_auth_max_frame_bytes)
        )
        self._buf = bytearray()
        self._broken: Optional[FrameTooLargeError] = None

    @property
    def limit(self) -> int:
        """The largest frame body accepted now."""
        return self._limit

    def end_handshake(self) -> None:
        """The peer is authenticated: from the next frame on, ``max_frame_bytes`` applies.

        Only the frame at the head of the buffer has had its prefix checked, so frames the peer
        sent right behind its HELLO_ACK are judged by the new limit."""
        self._limit = self._max

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a returned message."""
        return len(self._buf)

    def feed(self, data: bytes) -> Iterator[Message]:
        """Buffers ``data`` and returns an iterator over the messages complete so far."""
        if self._broken is not None:
            raise self._broken
        self._buf += data
        self._check_prefix()
        return self._messages()

    def next_message(self) -> Optional[Message]:
        """The next buffered message, or None if no whole frame is buffered."""
        if self._broken is not None:
            raise self._broken
        buf = self._buf
        if len(buf) < PREFIX_BYTES:
            return None
        declared = self._check_prefix()
        end = PREFIX_BYTES + declared
        if len(buf) < end:
            return None
        body = bytes(buf[PREFIX_BYTES:end])
        del buf[:end]
        return decode_body(body, max_frame_bytes=self._limit)

    def eof(self) -> None:
        """Call at the end of the stream: raises ``BAD_FRAME`` if it ended inside a frame."""
        if self._buf:
            raise ProtocolError(
                ErrorCode.BAD_FRAME,
                f"truncated frame: the stream ended with {len(self._buf)} bytes of an "
                "incomplete frame",
            )

    def _messages(self) -> Iterator[Message]:
        while True:
            m = self.next_message()
            if m is None:
                return
            yield m

    def _check_prefix(self) -> int:
        if len(self._buf) < PREFIX_BYTES:
            return -1
        declared = int.from_bytes(self._buf[:PREFIX_BYTES], "big")
        try:
            check_declared_length(declared, self._limit)
        except FrameTooLargeError as e:
            self._broken = e
            self._buf = bytearray()
            raise
        return declared
