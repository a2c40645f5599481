"""The master's content-addressed blob store over a connection: BLOB_HAS, BLOB_PUT, BLOB_GET.

Files stream in chunks of at most 1 MiB (never a whole file in memory) and every digest is
verified: uploads are hashed while read, downloads while written to a temp file beside the
destination, which is renamed only once the digest matches. Chunk reads, writes and hashing run
in the loop's default executor, one chunk at a time, so that the event loop never waits on the
disk (nor on the pure-Python XXH64).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Callable, Union

from buildnet import _digests
from buildnet.errors import BlobTransferError, ConnectionLostError, RemoteError
from buildnet.protocol import (
    MAX_CHUNK_BYTES,
    BlobChunk,
    BlobGet,
    BlobHas,
    BlobHasResponse,
    BlobPut,
    BlobPutResponse,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from buildnet._connection import Connection

PathLike = Union[str, "os.PathLike[str]"]
_HAS_BATCH = 10_000


class Blobs:
    """Blob transfers with the master. Every method is a coroutine; transfers may run
    concurrently over one connection. Errors are :class:`BlobTransferError`."""

    def __init__(self, connection: Callable[[], Connection], *, timeout: float = 30.0) -> None:
        self._connection = connection
        self._timeout = timeout

    @property
    def algorithm(self) -> str:
        """The master store's digest algorithm (from its HELLO_ACK), e.g. ``xxh64``."""
        return self._connection().blob_algorithm

    async def missing(self, digests: Iterable[str]) -> list[str]:
        """Those of ``digests`` the master lacks, in the given order."""
        all_digests = list(digests)
        missing: list[str] = []
        for i in range(0, len(all_digests), _HAS_BATCH):
            batch = all_digests[i : i + _HAS_BATCH]
            try:
                m = await self._connection().request(BlobHas(tuple(batch)), timeout=self._timeout)
            except (RemoteError, ConnectionLostError) as e:
                raise BlobTransferError(f"asking which of {len(batch)} blobs it lacks: {e}") from e
            assert isinstance(m.payload, BlobHasResponse)
            missing.extend(m.payload.missing)
        return missing

    async def put(self, path: PathLike) -> str:
        """Uploads a file (whether or not the master has it); returns its digest."""
        c = self._connection()
        algorithm = c.blob_algorithm
        hasher = _digests.new_hasher(algorithm)
        transfer = uuid.uuid4().hex
        what = f"upload of {os.fspath(path)}"
        loop = asyncio.get_running_loop()

        def read_hashed(f: BinaryIO) -> bytes:
            data = f.read(MAX_CHUNK_BYTES)
            hasher.update(data)
            return data

        try:
            with open(path, "rb") as f:
                # One chunk is held back so that the last one, which carries the digest, is known.
                # Reads and hashing run in the executor: neither may hold the event loop.
                held = await loop.run_in_executor(None, read_hashed, f)
                pos = 0
                while True:
                    nxt = await loop.run_in_executor(None, read_hashed, f)
                    if not nxt:
                        break
                    await c.send(BlobPut(transfer, pos, held, False))
                    pos += len(held)
                    held = nxt
            digest = f"{algorithm}:{hasher.hexdigest()}"
            m = await c.request(
                BlobPut(transfer, pos, held, True, digest, pos + len(held)), timeout=self._timeout
            )
        except OSError as e:
            raise BlobTransferError(f"{what}: cannot read the file: {e}") from e
        except (RemoteError, ConnectionLostError) as e:
            raise BlobTransferError(f"{what} failed: {e}") from e
        assert isinstance(m.payload, BlobPutResponse)
        if m.payload.digest != digest:
            raise BlobTransferError(
                f"the master acknowledged the {what} as {m.payload.digest} but it is {digest}"
            )
        return digest

    async def put_bytes(self, data: bytes) -> str:
        """Uploads ``data`` (at most one chunk's worth per message); returns its digest."""
        c = self._connection()
        digest = await asyncio.get_running_loop().run_in_executor(
            None, _digests.of_bytes, c.blob_algorithm, data
        )
        transfer = uuid.uuid4().hex
        try:
            pos = 0
            while len(data) - pos > MAX_CHUNK_BYTES:
                await c.send(BlobPut(transfer, pos, data[pos : pos + MAX_CHUNK_BYTES], False))
                pos += MAX_CHUNK_BYTES
            await c.request(
                BlobPut(transfer, pos, data[pos:], True, digest, len(data)), timeout=self._timeout
            )
        except (RemoteError, ConnectionLostError) as e:
            raise BlobTransferError(f"upload of {len(data)} bytes failed: {e}") from e
        return digest

    async def get(self, digest: str, path: PathLike) -> int:
        """Downloads blob ``digest`` to ``path`` (replaced if present); returns its size.

        Streams into a temp file beside ``path`` and renames it only after the digest matched;
        on failure ``path`` is unchanged and no temp file is left.
        """
        try:
            algorithm, _ = _digests.parse(digest)
        except ValueError as e:
            raise BlobTransferError(str(e)) from e
        target = Path(path)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        what = f"download of {digest} to {target}"
        hasher = _digests.new_hasher(algorithm)
        size = 0
        done = False
        loop = asyncio.get_running_loop()

        def write_hashed(out: BinaryIO, data: bytes) -> None:
            out.write(data)
            hasher.update(data)

        try:
            with open(tmp, "xb") as out:
                stream = self._connection().stream(BlobGet(digest), timeout=self._timeout)
                try:
                    async for m in stream:
                        chunk = m.payload
                        if not isinstance(chunk, BlobChunk):
                            raise BlobTransferError(
                                f"{what}: expected BLOB_CHUNK but got {m.type.name}"
                            )
                        if chunk.offset != size:
                            raise BlobTransferError(
                                f"{what}: chunk at offset {chunk.offset} after {size} bytes"
                            )
                        # In the executor, as uploads: chunks are at most 1 MiB (MAX_CHUNK_BYTES).
                        await loop.run_in_executor(None, write_hashed, out, chunk.data)
                        size += len(chunk.data)
                        if chunk.last:
                            break
                finally:
                    await stream.aclose()
            actual = f"{algorithm}:{hasher.hexdigest()}"
            if actual != digest:
                raise BlobTransferError(f"{what}: the {size} bytes received hash to {actual}")
            os.replace(tmp, target)
            done = True
            return size
        except (RemoteError, ConnectionLostError, OSError) as e:
            raise BlobTransferError(f"{what} failed: {e}") from e
        finally:
            if not done:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
