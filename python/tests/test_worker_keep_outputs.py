"""Deferred outputs on the Python worker (docs/PROTOCOL.md, "Deferred outputs"), against the
in-test fake master: TARGET_RUN ``keep_outputs`` keeps the output blobs in the worker's store
instead of uploading them, and the worker answers the master's BLOB_GET from that store with the
master's own rules (verified chunks, NOT_FOUND, INVALID_PAYLOAD, DIGEST_MISMATCH)."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from buildnet import Worker, _digests
from buildnet.protocol import BlobChunk, BlobGet, BuildCompleted, ErrorCode, ErrorReply, TargetRun
from tests.fakemaster import FakeMaster, Peer, run_target

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from buildnet.protocol import Message

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
CONTENT = b"kept on the worker\n" * 100


@pytest_asyncio.fixture
async def master() -> AsyncIterator[FakeMaster]:
    async with FakeMaster() as m:
        yield m


@pytest_asyncio.fixture
async def worker(master: FakeMaster, tmp_path: Path) -> AsyncIterator[Worker]:
    w = Worker(capabilities=["python"], slots=2, work_dir=tmp_path / "work", worker_id="w1",
               initial_backoff=0.05, max_backoff=0.2)  # fmt: skip
    w.start("127.0.0.1", master.port, secret=master.secret)
    assert await w.wait_connected(10)
    yield w
    await w.close()


async def peer(master: FakeMaster) -> Peer:
    return await asyncio.wait_for(master.workers.get(), 10)


def producing(keep: bool) -> TargetRun:
    script = (
        "mkdir -p out && i=0; while [ $i -lt 100 ]; do echo kept on the worker; i=$((i+1)); "
        "done > out/k.txt"
    )
    return TargetRun(
        "b1", "t", 1, ("sh", "-c", script), "", ENV, (), ("out/k.txt",),
        keep_outputs=True if keep else None,
    )  # fmt: skip


async def kept_digest(w: Peer) -> str:
    _, _, end = await run_target(w, producing(keep=True))
    assert isinstance(end.payload, BuildCompleted), end
    outputs = end.payload.outputs
    assert outputs is not None
    assert [(o.path, o.size) for o in outputs] == [("out/k.txt", len(CONTENT))]
    return outputs[0].digest


async def blob_get(w: Peer, get: BlobGet) -> tuple[list[BlobChunk], Message]:
    """Sends BLOB_GET to the worker; returns its BLOB_CHUNKs and the final reply (the last chunk or
    an ERROR)."""
    mid = await w.send(get)
    chunks: list[BlobChunk] = []
    while True:
        m = await w.next(30)
        p = m.payload
        if isinstance(p, BlobChunk) and p.reply_to == mid:
            chunks.append(p)
            if p.last:
                return chunks, m
        elif isinstance(p, ErrorReply) and p.reply_to == mid:
            return chunks, m
        else:
            raise AssertionError(f"unexpected {m}")


async def test_the_worker_advertises_keep_outputs(master: FakeMaster, worker: Worker) -> None:
    w = await peer(master)
    assert w.hello.capabilities == ("python", "keep-outputs")


async def test_kept_outputs_are_not_uploaded_and_are_served_to_the_master_verified(
    master: FakeMaster, worker: Worker
) -> None:
    w = await peer(master)
    digest = await kept_digest(w)
    assert digest == _digests.of_bytes("xxh64", CONTENT)
    assert master.blobs == {}  # nothing uploaded
    assert worker._cas_path(digest).read_bytes() == CONTENT

    chunks, last = await blob_get(w, BlobGet(digest, max_chunk=700))
    assert b"".join(c.data for c in chunks) == CONTENT
    assert [c.offset for c in chunks] == list(range(0, len(CONTENT), 700))
    assert all(len(c.data) <= 700 for c in chunks)
    assert isinstance(last.payload, BlobChunk)
    assert (last.payload.digest, last.payload.size) == (digest, len(CONTENT))
    assert not any(c.last for c in chunks[:-1])

    # From an offset: the rest of the blob, still verified as a whole.
    chunks, last = await blob_get(w, BlobGet(digest, offset=1000))
    assert b"".join(c.data for c in chunks) == CONTENT[1000:]
    assert chunks[0].offset == 1000
    assert isinstance(last.payload, BlobChunk)
    assert last.payload.digest == digest


async def test_a_get_from_the_end_confirms_an_intact_blob_without_sending_its_bytes(
    master: FakeMaster, worker: Worker
) -> None:
    # What a restarted master asks before trusting a record of outputs kept here.
    w = await peer(master)
    digest = await kept_digest(w)
    chunks, last = await blob_get(w, BlobGet(digest, offset=len(CONTENT), max_chunk=1))
    assert [(c.offset, c.data, c.last) for c in chunks] == [(len(CONTENT), b"", True)]
    assert isinstance(last.payload, BlobChunk)
    assert (last.payload.digest, last.payload.size) == (digest, len(CONTENT))


async def test_without_keep_outputs_the_outputs_are_uploaded_as_before(
    master: FakeMaster, worker: Worker
) -> None:
    w = await peer(master)
    _, _, end = await run_target(w, producing(keep=False))
    assert isinstance(end.payload, BuildCompleted), end
    assert end.payload.outputs is not None
    assert master.blobs[end.payload.outputs[0].digest] == CONTENT


async def test_a_blob_the_worker_does_not_hold_is_not_found(
    master: FakeMaster, worker: Worker
) -> None:
    w = await peer(master)
    chunks, end = await blob_get(w, BlobGet(_digests.of_bytes("xxh64", b"never made")))
    assert chunks == []
    assert isinstance(end.payload, ErrorReply)
    assert end.payload.code == ErrorCode.NOT_FOUND
    assert "w1" in end.payload.message


async def test_an_offset_beyond_the_blob_and_another_algorithm_are_invalid(
    master: FakeMaster, worker: Worker
) -> None:
    w = await peer(master)
    digest = await kept_digest(w)
    _, end = await blob_get(w, BlobGet(digest, offset=len(CONTENT) + 1))
    assert isinstance(end.payload, ErrorReply)
    assert end.payload.code == ErrorCode.INVALID_PAYLOAD
    assert "beyond" in end.payload.message
    _, end = await blob_get(w, BlobGet(_digests.of_bytes("sha256", CONTENT)))
    assert isinstance(end.payload, ErrorReply)
    assert end.payload.code == ErrorCode.INVALID_PAYLOAD
    assert "xxh64" in end.payload.message


async def test_a_corrupt_kept_blob_is_refused_and_deleted_without_a_final_chunk(
    master: FakeMaster, worker: Worker
) -> None:
    w = await peer(master)
    digest = await kept_digest(w)
    stored = worker._cas_path(digest)
    stored.write_bytes(CONTENT.replace(b"kept", b"KEPT"))  # same size, other bytes
    chunks, end = await blob_get(w, BlobGet(digest, max_chunk=500))
    assert isinstance(end.payload, ErrorReply), end
    assert end.payload.code == ErrorCode.DIGEST_MISMATCH
    assert not any(c.last for c in chunks)
    assert not stored.exists()


async def test_kept_outputs_outlive_a_dropped_connection(
    master: FakeMaster, worker: Worker
) -> None:
    w = await peer(master)
    digest = await kept_digest(w)
    master.drop_all()
    again = await peer(master)  # the worker reconnected
    assert again.hello.peer_id == "w1"
    chunks, last = await blob_get(again, BlobGet(digest))
    assert b"".join(c.data for c in chunks) == CONTENT
    assert isinstance(last.payload, BlobChunk)
    assert last.payload.last
