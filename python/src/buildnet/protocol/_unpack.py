"""A small, bounded MessagePack reader for decoding frames by schema.

Why not ``msgpack.unpackb``: it builds a generic value tree from untrusted bytes, and even with
``msgpack.Unpacker``'s ``max_*_len`` limits it would still accept a map header promising 2^31
entries until it runs out of bytes, has no nesting limit we control, and cannot tell us *which*
rule broke (the protocol answers BAD_FRAME, TOO_DEEP, INVALID_UTF8 or INVALID_PAYLOAD). The
protocol needs only nil, bool, int, str, bin, array and map (plus skipping float and ext in
fields of newer minor versions), so reading them by hand is short, and each declared length is
checked against the bytes left *before* anything is sliced or allocated, exactly like the Java
decoder (``dev.buildnet.internal.protocol.FrameCodec``).
"""

from __future__ import annotations

import contextlib
import enum
from typing import NoReturn, Optional

from buildnet.errors import ProtocolError
from buildnet.protocol.types import ErrorCode

MAX_DEPTH = 16
"""The deepest container nesting accepted; the envelope map is depth 1."""


class Family(enum.Enum):
    """What a MessagePack format byte announces."""

    NIL = "nil"
    BOOL = "bool"
    INT = "int"
    FLOAT = "float"
    STR = "str"
    BIN = "bin"
    ARRAY = "array"
    MAP = "map"
    EXT = "ext"
    INVALID = "the invalid byte 0xC1"


def _families() -> tuple[Family, ...]:
    table = []
    for b in range(256):
        if b <= 0x7F or b >= 0xE0 or 0xCC <= b <= 0xD3:
            f = Family.INT
        elif b <= 0x8F or b in (0xDE, 0xDF):
            f = Family.MAP
        elif b <= 0x9F or b in (0xDC, 0xDD):
            f = Family.ARRAY
        elif b <= 0xBF or 0xD9 <= b <= 0xDB:
            f = Family.STR
        elif b == 0xC0:
            f = Family.NIL
        elif b == 0xC1:
            f = Family.INVALID
        elif b in (0xC2, 0xC3):
            f = Family.BOOL
        elif 0xC4 <= b <= 0xC6:
            f = Family.BIN
        elif b in (0xCA, 0xCB):
            f = Family.FLOAT
        else:  # 0xC7..0xC9 ext8/16/32, 0xD4..0xD8 fixext
            f = Family.EXT
        table.append(f)
    return tuple(table)


FAMILY = _families()
_INT64_MAX = 2**63 - 1


class IntegerOverflow(Exception):
    """A uint64 above the signed 64-bit range; the caller decides the error code."""


class Unpacker:
    """Reads one frame body. ``message_id`` is attached to errors once the envelope's id is read.

    Not thread-safe; one per decode.
    """

    __slots__ = ("_buf", "_end", "message_id", "pos")

    def __init__(self, buf: bytes, start: int, end: int) -> None:
        self._buf = buf
        self.pos = start
        self._end = end
        self.message_id: Optional[str] = None

    # ---- errors ----------------------------------------------------------------------------

    def fail(self, code: ErrorCode, detail: str) -> NoReturn:
        raise ProtocolError(code, detail, self.message_id)

    @property
    def left(self) -> int:
        return self._end - self.pos

    # ---- headers ---------------------------------------------------------------------------

    def peek(self) -> Family:
        """The family of the next value, without consuming it; truncation and 0xC1 fail."""
        if self.pos >= self._end:
            self.fail(ErrorCode.BAD_FRAME, "truncated frame: a value is missing at its end")
        f = FAMILY[self._buf[self.pos]]
        if f is Family.INVALID:
            self.fail(
                ErrorCode.BAD_FRAME, f"byte 0xC1 at offset {self.pos} is not valid MessagePack"
            )
        return f

    def _take(self, n: int) -> int:
        """Consumes ``n`` header bytes and returns them as a big-endian unsigned int."""
        if n > self.left:
            self.fail(ErrorCode.BAD_FRAME, "truncated frame: a value runs past its end")
        v = int.from_bytes(self._buf[self.pos : self.pos + n], "big")
        self.pos += n
        return v

    def _byte(self) -> int:
        b = self._buf[self.pos]
        self.pos += 1
        return b

    def read_int(self) -> int:
        """A signed 64-bit integer (after :meth:`peek` said INT)."""
        b = self._byte()
        if b <= 0x7F:
            return b
        if b >= 0xE0:
            return b - 0x100
        if b <= 0xCF:  # uint8..uint64
            v = self._take(1 << (b - 0xCC))
            if v > _INT64_MAX:
                raise IntegerOverflow
            return v
        n = 1 << (b - 0xD0)  # int8..int64
        v = self._take(n)
        bits = 8 * n
        return v - (1 << bits) if v >= 1 << (bits - 1) else v

    def read_bool(self) -> bool:
        return self._byte() == 0xC3

    def read_nil(self) -> None:
        self.pos += 1

    def _length(self, b: int, fixmask: int, base: int) -> int:
        if b < 0xC0:
            return b & fixmask
        return self._take(1 << (b - base))

    def str_header(self) -> int:
        b = self._byte()
        return self._length(b, 0x1F, 0xD9)

    def bin_header(self) -> int:
        return self._take(1 << (self._byte() - 0xC4))

    def array_header(self, depth: int) -> int:
        self.check_depth(depth)
        b = self._byte()
        n = b & 0x0F if b < 0xC0 else self._take(2 if b == 0xDC else 4)
        if n > self.left:
            self.fail(
                ErrorCode.BAD_FRAME,
                f"an array declares {n} elements but only {self.left} bytes are left in the frame",
            )
        return n

    def map_header(self, depth: int) -> int:
        self.check_depth(depth)
        b = self._byte()
        n = b & 0x0F if b < 0xC0 else self._take(2 if b == 0xDE else 4)
        if 2 * n > self.left:
            self.fail(
                ErrorCode.BAD_FRAME,
                f"a map declares {n} entries but only {self.left} bytes are left in the frame",
            )
        return n

    def check_depth(self, depth: int) -> None:
        if depth > MAX_DEPTH:
            self.fail(ErrorCode.TOO_DEEP, f"containers nested deeper than {MAX_DEPTH} levels")

    # ---- payloads --------------------------------------------------------------------------

    def raw(self, n: int, what: str) -> bytes:
        if n > self.left:
            self.fail(
                ErrorCode.BAD_FRAME,
                f"{what} declares {n} bytes but only {self.left} are left in the frame",
            )
        b = self._buf[self.pos : self.pos + n]
        self.pos += n
        return bytes(b)

    def utf8(self, raw: bytes, what: str) -> str:
        try:
            # Python's strict UTF-8 codec rejects overlong forms, encoded surrogates and code
            # points above U+10FFFF, like Java's CharsetDecoder with REPORT.
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.fail(ErrorCode.INVALID_UTF8, f"{what} is not valid UTF-8")

    def read_str(self, what: str) -> str:
        """A str (after :meth:`peek` said STR)."""
        return self.utf8(self.raw(self.str_header(), what), what)

    def read_bin(self, what: str) -> bytes:
        """A bin (after :meth:`peek` said BIN)."""
        return self.raw(self.bin_header(), what)

    # ---- skipping --------------------------------------------------------------------------

    def skip(self, depth: int) -> None:
        """Skips one value of any type with the same limits as a typed read (a field of a newer
        minor version): lengths, nesting and UTF-8 are checked all the same."""
        f = self.peek()
        if f is Family.ARRAY:
            for _ in range(self.array_header(depth)):
                self.skip(depth + 1)
        elif f is Family.MAP:
            for _ in range(2 * self.map_header(depth)):
                self.skip(depth + 1)
        elif f is Family.STR:
            self.read_str("a string")
        elif f is Family.BIN:
            self.raw(self.bin_header(), "a bin")
        elif f is Family.EXT:
            b = self._byte()
            n = 1 << (b - 0xD4) if b >= 0xD4 else self._take(1 << (b - 0xC7))
            self._take(1)  # the ext type
            self.raw(n, "an ext")
        elif f is Family.INT:
            with contextlib.suppress(IntegerOverflow):  # skipped, so any uint64 will do
                self.read_int()
        elif f is Family.FLOAT:
            b = self._byte()
            self._take(4 if b == 0xCA else 8)
        else:  # NIL, BOOL
            self.pos += 1
