"""Content digests ``algorithm:hex`` (``xxh64`` and ``sha256``) of bytes and files, streamed."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Union

from buildnet import xxh64

if TYPE_CHECKING:
    import os

    from buildnet.xxh64 import Hasher

ALGORITHMS = ("xxh64", "sha256")
_HEX_LENGTH = {"xxh64": 16, "sha256": 64}
_HEX = re.compile(r"[0-9a-f]+")
#: Bytes read from a file at once while hashing or uploading.
READ_BYTES = 1 << 20


def check_algorithm(algorithm: str) -> str:
    if algorithm not in _HEX_LENGTH:
        raise ValueError(
            f"unsupported digest algorithm {algorithm!r}: this package knows "
            f"{', '.join(ALGORITHMS)}"
        )
    return algorithm


def new_hasher(algorithm: str) -> Hasher:
    """A fresh hasher of ``algorithm``."""
    if check_algorithm(algorithm) == "xxh64":
        return xxh64.new()
    return hashlib.sha256()


def parse(digest: str) -> tuple[str, str]:
    """``(algorithm, hex)`` of a digest text; ``ValueError`` if it is malformed or unknown."""
    algorithm, sep, hexdigits = digest.partition(":")
    if not sep:
        raise ValueError(f"digest {digest!r} is not 'algorithm:hex'")
    check_algorithm(algorithm)
    if len(hexdigits) != _HEX_LENGTH[algorithm] or not _HEX.fullmatch(hexdigits):
        raise ValueError(
            f"digest {digest!r}: {algorithm} takes {_HEX_LENGTH[algorithm]} lowercase hex digits"
        )
    return algorithm, hexdigits


def of_bytes(algorithm: str, data: bytes) -> str:
    h = new_hasher(algorithm)
    h.update(data)
    return f"{algorithm}:{h.hexdigest()}"


def of_file(algorithm: str, path: Union[str, os.PathLike[str]]) -> tuple[str, int]:
    """``(digest, size)`` of a file, read in 1 MiB pieces."""
    h = new_hasher(algorithm)
    size = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(READ_BYTES)
            if not chunk:
                break
            h.update(chunk)
            size += len(chunk)
    return f"{algorithm}:{h.hexdigest()}", size


def copy_hashed(
    algorithm: str, src: Union[str, os.PathLike[str]], dest: Union[str, os.PathLike[str]]
) -> str:
    """Copies ``src`` to ``dest`` (replaced) in 1 MiB pieces; returns the digest of the bytes
    copied, so that a copy is verified without reading the source twice."""
    h = new_hasher(algorithm)
    with open(src, "rb") as f, open(dest, "wb") as out:
        while True:
            chunk = f.read(READ_BYTES)
            if not chunk:
                break
            h.update(chunk)
            out.write(chunk)
    return f"{algorithm}:{h.hexdigest()}"
