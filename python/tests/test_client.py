"""The client's build API, blobs and errors against the in-test fake master (the real master's
behaviour is checked by test_integration.py)."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar

import msgpack
import pytest

import buildnet
from buildnet import _digests
from buildnet._connection import now_ms
from buildnet.protocol import (
    AuthChallenge,
    BlobGet,
    BuildCompleted,
    BuildProgress,
    ErrorCode,
    ErrorReply,
    Heartbeat,
    Hello,
    Message,
    StateGet,
    encode,
)
from tests.fakemaster import FakeMaster, event, simple_script

if TYPE_CHECKING:
    from pathlib import Path

    from buildnet.protocol.payloads import Payload

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

T = TypeVar("T")


async def test_submit_streams_events_in_order_and_ends_with_the_result(tmp_path: Path) -> None:
    async with FakeMaster(script=simple_script) as m:
        m.blobs[_digests.of_bytes("xxh64", b"built!\n")] = b"built!\n"
        async with await buildnet.connect("127.0.0.1", m.port, secret=m.secret) as c:
            build = await c.submit(["app"])
            kinds = [(e.kind, e.target, e.status or e.line) async for e in build.events()]
            result = await build.result(5)
            assert kinds == [
                ("build_started", None, None),
                ("target_started", "app", None),
                ("log", "app", "compiling"),
                ("progress", "app", "built"),
                ("target_finished", "app", "built"),
                ("build_finished", None, "succeeded"),
                ("completed", None, None),
            ]
            assert result.check() is result
            assert (result.duration_ms, result.executed, result.cache_hits) == (42, 1, 0)
            out = result.outputs[0]
            assert await c.blobs.get(out.digest, tmp_path / "app.txt") == 7
            assert (tmp_path / "app.txt").read_bytes() == b"built!\n"


async def test_a_result_arrives_even_without_the_subscriptions_last_event() -> None:
    def script(build_id: str, sid: Optional[str]) -> list[Payload]:
        return [BuildCompleted(build_id, 1)]

    async with FakeMaster(script=script) as m:
        async with await buildnet.connect("127.0.0.1", m.port, secret=m.secret) as c:
            build = await c.submit(["app"], logs=False)
            events = [e.kind async for e in build.events()]
            assert events == ["build_started", "completed"]


async def test_cancel_ends_the_build_as_failed() -> None:
    def script(build_id: str, sid: Optional[str]) -> list[Payload]:
        assert sid is not None
        return [
            event(sid, 1, "target_started", build_id, target="app"),
            None,  # type: ignore[list-item]  # the fake master waits for a cancel here
            BuildProgress(build_id, 1, 1, "app", "built"),
        ]

    async with FakeMaster(script=script) as m:
        async with await buildnet.connect("127.0.0.1", m.port, secret=m.secret) as c:
            build = await c.submit(["app"])
            async for e in build.events():
                if e.kind == "target_started":
                    await build.cancel("enough")
            result = await build.result()
            assert not result.ok
            assert result.failed_targets == ("app",)
            with pytest.raises(buildnet.BuildFailedError, match="cancelled") as info:
                result.check()
            assert info.value.result is result


async def test_a_lost_connection_fails_running_builds() -> None:
    def script(build_id: str, sid: Optional[str]) -> list[Payload]:
        return [None]  # type: ignore[list-item]

    async with FakeMaster(script=script) as m:
        c = await buildnet.connect("127.0.0.1", m.port, secret=m.secret)
        build = await c.submit(["app"])
        m.drop_all()
        with pytest.raises(buildnet.ConnectionLostError, match="closed"):
            async for _ in build.events():
                pass
        with pytest.raises(buildnet.ConnectionLostError):
            await build.result()
        with pytest.raises(buildnet.ConnectionLostError):
            await c.state.get("k")
        await c.close()


async def test_a_wrong_secret_is_refused() -> None:
    async with FakeMaster() as m:
        with pytest.raises(buildnet.AuthError, match="AUTH_FAILED") as info:
            await buildnet.connect("127.0.0.1", m.port, secret=b"wrong-secret-of-16+bytes")
        assert info.value.code == 8


async def test_a_version_mismatch_is_refused_clearly() -> None:
    async with FakeMaster(refuse_code=7) as m:
        with pytest.raises(buildnet.VersionMismatchError, match="UNSUPPORTED_VERSION"):
            await buildnet.connect("127.0.0.1", m.port, secret=m.secret)


class _RecordingExecutor(ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(max_workers=2, thread_name_prefix="test-executor")
        self.calls: list[str] = []

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        self.calls.append(getattr(fn, "__qualname__", repr(fn)))
        return super().submit(fn, *args, **kwargs)


async def test_blob_file_reads_and_writes_run_in_the_executor_chunk_by_chunk(
    tmp_path: Path,
) -> None:
    executor = _RecordingExecutor()
    asyncio.get_running_loop().set_default_executor(executor)
    data = bytes(range(256)) * 9000  # 2.3 MB: three chunks
    (tmp_path / "src.bin").write_bytes(data)
    async with FakeMaster() as m:
        async with await buildnet.connect("127.0.0.1", m.port, secret=m.secret) as c:
            digest = await c.blobs.put(tmp_path / "src.bin")
            await c.blobs.get(digest, tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == data
    # Three chunk reads and the read that finds the end; three chunk writes.
    assert [q for q in executor.calls if q.startswith("Blobs.put.")] == [
        "Blobs.put.<locals>.read_hashed"
    ] * 4
    assert [q for q in executor.calls if q.startswith("Blobs.get.")] == [
        "Blobs.get.<locals>.write_hashed"
    ] * 3


async def test_an_oversize_frame_from_the_master_closes_the_connection() -> None:
    async with FakeMaster() as m:
        c = await buildnet.connect("127.0.0.1", m.port, secret=m.secret)
        m.peers[0].writer.write((1 << 30).to_bytes(4, "big"))
        reason = await asyncio.wait_for(c._conn().wait_closed(), 5)
        assert "FRAME_TOO_LARGE" in reason.reason
        await c.close()


async def test_a_message_of_another_major_version_from_the_master_closes_the_connection() -> None:
    # A HEARTBEAT is the message a client answers unasked; of major 2 it must not be served as 1.x
    # (docs/PROTOCOL.md, "Versioning"), so the client answers a fatal UNSUPPORTED_VERSION instead.
    async with FakeMaster() as m:
        c = await buildnet.connect("127.0.0.1", m.port, secret=m.secret)
        peer = m.peers[0]
        peer.writer.write(encode(Message("v2-1", now_ms(), Heartbeat(), version=2)))
        reason = await asyncio.wait_for(c._conn().wait_closed(), 5)
        assert "UNSUPPORTED_VERSION" in reason.reason
        error = await peer.next()
        assert isinstance(error.payload, ErrorReply)
        assert error.payload.code == ErrorCode.UNSUPPORTED_VERSION
        assert error.payload.fatal
        assert error.payload.reply_to == "v2-1"
        await c.close()


async def test_messages_the_client_does_not_serve_are_answered_as_the_spec_says() -> None:
    # docs/PROTOCOL.md, "Unsolicited replies": session messages after the handshake are
    # UNEXPECTED_MESSAGE, a request the receiver does not serve UNSUPPORTED (both not fatal), an
    # unknown type UNKNOWN_TYPE; only replies are dropped. The client once dropped them all.
    async with FakeMaster() as m:
        async with await buildnet.connect("127.0.0.1", m.port, secret=m.secret) as c:
            peer = m.peers[0]
            cases: list[tuple[Payload, ErrorCode]] = [
                (AuthChallenge("x-1", bytes(32)), ErrorCode.UNEXPECTED_MESSAGE),
                (Hello("client", "odd", 3, bytes(32)), ErrorCode.UNEXPECTED_MESSAGE),
                (StateGet("k"), ErrorCode.UNSUPPORTED),
                (BlobGet("xxh64:0000000000000000"), ErrorCode.UNSUPPORTED),
            ]
            for payload, code in cases:
                mid = await peer.send(payload)
                reply = await peer.next()
                assert isinstance(reply.payload, ErrorReply), reply
                assert (reply.payload.reply_to, reply.payload.code) == (mid, code), reply
                assert not reply.payload.fatal
            peer.writer.write(encode_unknown_type(0x99, "odd-1"))
            reply = await peer.next()
            assert isinstance(reply.payload, ErrorReply), reply
            assert reply.payload.code == ErrorCode.UNKNOWN_TYPE
            assert reply.payload.message == "unknown message type 0x99"
            assert c._conn().is_open


def encode_unknown_type(type_code: int, mid: str) -> bytes:
    env = {"version": 1, "type": type_code, "id": mid, "timestamp": 0, "runtime": "python",
           "payload": {}}  # fmt: skip
    data = bytes(msgpack.packb(env, use_bin_type=True))
    return len(data).to_bytes(4, "big") + data


async def test_blob_round_trip_of_a_multi_chunk_file(tmp_path: Path) -> None:
    data = bytes(range(256)) * 9000  # 2.3 MB: three chunks
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    async with FakeMaster() as m:
        async with await buildnet.connect("127.0.0.1", m.port, secret=m.secret) as c:
            digest = _digests.of_bytes("xxh64", data)
            assert await c.blobs.missing([digest]) == [digest]
            assert await c.blobs.put(src) == digest
            assert await c.blobs.missing([digest]) == []
            assert await c.blobs.get(digest, tmp_path / "back.bin") == len(data)
            assert (tmp_path / "back.bin").read_bytes() == data
            with pytest.raises(buildnet.BlobTransferError, match="NOT_FOUND"):
                await c.blobs.get("xxh64:0000000000000000", tmp_path / "none")
            assert sorted(p.name for p in tmp_path.iterdir()) == ["back.bin", "src.bin"]
