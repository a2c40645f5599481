"""XXH64 with seed 0 in pure Python (the master's default blob digest, ``xxh64:<16 hex>``).

Python's :mod:`hashlib` has no XXH64. This one processes 32-byte stripes with a batched
``struct.unpack``, so it hashes some MB/s: fine for build outputs of ordinary size. When the
optional ``xxhash`` package is installed, :func:`new` uses it instead (same digests, much faster).
"""

from __future__ import annotations

import struct
from typing import Optional, Protocol

__all__ = ["XXH64", "Hasher", "new", "xxh64_hex"]

_M = 0xFFFFFFFFFFFFFFFF
_P1 = 0x9E3779B185EBCA87
_P2 = 0xC2B2AE3D27D4EB4F
_P3 = 0x165667B19E3779F9
_P4 = 0x85EBCA77C2B2AE63
_P5 = 0x27D4EB2F165667C5


class Hasher(Protocol):
    """What :func:`new` returns: ``update`` then ``hexdigest``, like :mod:`hashlib` objects."""

    def update(self, data: bytes, /) -> object: ...

    def hexdigest(self) -> str: ...


def _round(acc: int, lane: int) -> int:
    acc = (acc + lane * _P2) & _M
    acc = ((acc << 31) | (acc >> 33)) & _M
    return (acc * _P1) & _M


def _merge(acc: int, v: int) -> int:
    acc ^= _round(0, v)
    return (acc * _P1 + _P4) & _M


class XXH64:
    """Incremental XXH64, seed 0. ``update`` any number of times, then ``hexdigest``."""

    __slots__ = ("_buf", "_total", "_v")

    def __init__(self, data: bytes = b"") -> None:
        self._v = [(_P1 + _P2) & _M, _P2, 0, (-_P1) & _M]
        self._buf = b""
        self._total = 0
        if data:
            self.update(data)

    def update(self, data: bytes) -> XXH64:
        """Feeds ``data``; returns self."""
        self._total += len(data)
        buf = self._buf + bytes(data) if self._buf else bytes(data)
        whole = len(buf) - len(buf) % 32
        if whole:
            v1, v2, v3, v4 = self._v
            lanes = struct.unpack_from(f"<{whole // 8}Q", buf)
            m, p1, p2 = _M, _P1, _P2
            for i in range(0, len(lanes), 4):
                # _round inlined: this loop is where all the time goes.
                a = (v1 + lanes[i] * p2) & m
                v1 = (((a << 31) | (a >> 33)) & m) * p1 & m
                a = (v2 + lanes[i + 1] * p2) & m
                v2 = (((a << 31) | (a >> 33)) & m) * p1 & m
                a = (v3 + lanes[i + 2] * p2) & m
                v3 = (((a << 31) | (a >> 33)) & m) * p1 & m
                a = (v4 + lanes[i + 3] * p2) & m
                v4 = (((a << 31) | (a >> 33)) & m) * p1 & m
            self._v = [v1, v2, v3, v4]
        self._buf = buf[whole:]
        return self

    def intdigest(self) -> int:
        """The 64-bit hash of everything fed so far."""
        v1, v2, v3, v4 = self._v
        if self._total >= 32:
            h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _M
            for v in (v1, v2, v3, v4):
                h = _merge(h, v)
        else:
            h = _P5
        h = (h + self._total) & _M
        tail = self._buf
        i = 0
        n = len(tail)
        while i + 8 <= n:
            (k,) = struct.unpack_from("<Q", tail, i)
            h ^= _round(0, k)
            h = (_rotl(h, 27) * _P1 + _P4) & _M
            i += 8
        if i + 4 <= n:
            (k,) = struct.unpack_from("<I", tail, i)
            h ^= (k * _P1) & _M
            h = (_rotl(h, 23) * _P2 + _P3) & _M
            i += 4
        while i < n:
            h ^= (tail[i] * _P5) & _M
            h = (_rotl(h, 11) * _P1) & _M
            i += 1
        h ^= h >> 33
        h = (h * _P2) & _M
        h ^= h >> 29
        h = (h * _P3) & _M
        h ^= h >> 32
        return h

    def hexdigest(self) -> str:
        """The hash as 16 lowercase hex digits (big-endian), as in ``xxh64:<hex>``."""
        return f"{self.intdigest():016x}"


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M


def _accelerated() -> Optional[type]:
    try:
        import xxhash  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    cls: type = xxhash.xxh64
    return cls


_FAST = _accelerated()


def new() -> Hasher:
    """A fresh XXH64 hasher: the ``xxhash`` package's when installed, else :class:`XXH64`."""
    if _FAST is not None:
        h: Hasher = _FAST()
        return h
    return XXH64()


def xxh64_hex(data: bytes) -> str:
    """XXH64 (seed 0) of ``data`` as 16 hex digits."""
    h = new()
    h.update(data)
    return h.hexdigest()
