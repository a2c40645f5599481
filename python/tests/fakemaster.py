"""A small asyncio master for unit tests: the listener's handshake, an in-memory blob store,
TARGET_RUN towards workers, and a scripted build dispatch towards clients. The integration
tests use the real Java master instead."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional

from buildnet import _digests
from buildnet._connection import now_ms
from buildnet.protocol import (
    Ack,
    AuthChallenge,
    AuthProof,
    BlobChunk,
    BlobGet,
    BlobHas,
    BlobHasResponse,
    BlobPut,
    BlobPutResponse,
    BuildCancel,
    BuildCompleted,
    BuildFailed,
    BuildProgress,
    BuildRequest,
    BuildStarted,
    ErrorCode,
    ErrorReply,
    Event,
    FrameReader,
    Heartbeat,
    HeartbeatAck,
    Hello,
    HelloAck,
    Message,
    Output,
    Subscribe,
    TargetCancel,
    TargetRun,
    Unsubscribe,
    client_proof,
    encode,
    new_nonce,
    proofs_match,
    server_proof,
)

if TYPE_CHECKING:
    import ssl

    from buildnet.protocol.payloads import Payload

SECRET = b"0123456789abcdef-test-secret"


@dataclass
class Peer:
    hello: Hello
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    frames: FrameReader = field(default_factory=FrameReader)
    inbox: asyncio.Queue[Message] = field(default_factory=asyncio.Queue)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send(self, payload: Payload, mid: Optional[str] = None) -> str:
        mid = mid or f"m-{next(self.ids)}"
        self.writer.write(encode(Message(mid, now_ms(), payload)))
        await self.writer.drain()
        return mid

    async def next(self, timeout: float = 10.0) -> Message:
        return await asyncio.wait_for(self.inbox.get(), timeout)

    def close(self) -> None:
        self.writer.close()


#: What a scripted build does: (events, terminal) given the build id and subscription id.
Script = Callable[[str, Optional[str]], "list[Payload]"]


class FakeMaster:
    def __init__(
        self,
        *,
        secret: bytes = SECRET,
        heartbeat_ms: int = 1000,
        refuse_code: Optional[int] = None,
        script: Optional[Script] = None,
        tls: Optional[ssl.SSLContext] = None,
    ) -> None:
        self.secret = secret
        self.tls = tls
        self.heartbeat_ms = heartbeat_ms
        self.refuse_code = refuse_code
        self.script = script
        self.blobs: dict[str, bytes] = {}
        self.blob_gets: list[str] = []
        self.workers: asyncio.Queue[Peer] = asyncio.Queue()
        self.peers: list[Peer] = []
        self.cancelled: set[str] = set()
        self._server: Optional[asyncio.base_events.Server] = None
        self._tasks: list[asyncio.Task[None]] = []
        self._uploads: dict[str, bytearray] = {}
        self.port = 0

    async def __aenter__(self) -> FakeMaster:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for p in self.peers:
            p.close()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(BaseException):
                await t
        await self._server.wait_closed()

    def drop_all(self) -> None:
        for p in self.peers:
            p.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._tasks.append(asyncio.current_task())  # type: ignore[arg-type]
        frames = FrameReader()
        try:
            hello_msg = await self._read(reader, frames)
            hello = hello_msg.payload
            assert isinstance(hello, Hello)
            peer = Peer(hello, reader, writer, frames)
            if self.refuse_code is not None:
                await peer.send(
                    HelloAck(
                        hello_msg.id,
                        False,
                        2,
                        "fake",
                        error_code=self.refuse_code,
                        reason="refused by the fake master",
                    )
                )
                writer.close()
                return
            nonce = new_nonce()
            cid = await peer.send(AuthChallenge(hello_msg.id, nonce))
            proof_msg = await self._read(reader, frames)
            proof = proof_msg.payload
            assert isinstance(proof, AuthProof)
            assert proof.reply_to == cid
            expected = client_proof(self.secret, nonce, hello.nonce, hello.role, hello.peer_id)
            if not proofs_match(expected, proof.proof):
                await peer.send(
                    HelloAck(
                        hello_msg.id,
                        False,
                        2,
                        "fake",
                        error_code=int(ErrorCode.AUTH_FAILED),
                        reason="authentication failed: wrong proof",
                    )
                )
                writer.close()
                return
            await peer.send(
                HelloAck(
                    hello_msg.id,
                    True,
                    2,
                    "fake",
                    proof=server_proof(self.secret, hello.nonce, nonce, "fake"),
                    heartbeat_ms=self.heartbeat_ms,
                    blob_algorithm="xxh64",
                )
            )
            self.peers.append(peer)
            if hello.role == "worker":
                self.workers.put_nowait(peer)
            while True:
                m = await self._read(reader, frames)
                await self._handle(peer, m)
        except (ConnectionError, EOFError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            for p in self.peers:
                if p.writer is writer:
                    p.closed.set()

    async def _read(self, reader: asyncio.StreamReader, frames: FrameReader) -> Message:
        while True:
            m = frames.next_message()
            if m is not None:
                return m
            data = await reader.read(65536)
            if not data:
                raise EOFError
            frames.feed(data)

    async def _handle(self, peer: Peer, m: Message) -> None:
        p = m.payload
        if isinstance(p, Heartbeat):
            await peer.send(HeartbeatAck(m.id))
        elif isinstance(p, BlobHas):
            await peer.send(
                BlobHasResponse(m.id, tuple(d for d in p.digests if d not in self.blobs))
            )
        elif isinstance(p, BlobPut):
            buf = self._uploads.setdefault(p.transfer_id, bytearray())
            assert p.offset == len(buf)
            buf += p.data
            if p.last:
                del self._uploads[p.transfer_id]
                actual = _digests.of_bytes("xxh64", bytes(buf))
                if actual != p.digest:
                    await peer.send(ErrorReply(14, f"{p.digest} but got {actual}", False, m.id))
                    return
                stored = actual not in self.blobs
                self.blobs[actual] = bytes(buf)
                await peer.send(BlobPutResponse(m.id, actual, stored))
        elif isinstance(p, BlobGet):
            self.blob_gets.append(p.digest)
            data = self.blobs.get(p.digest)
            if data is None:
                await peer.send(ErrorReply(11, f"no blob {p.digest}", False, m.id))
                return
            step = p.max_chunk or (1 << 20)
            pos = 0
            while True:
                chunk = data[pos : pos + step]
                last = pos + len(chunk) >= len(data)
                await peer.send(BlobChunk(m.id, pos, chunk, last, p.digest if last else None,
                                          len(data) if last else None))  # fmt: skip
                pos += len(chunk)
                if last:
                    break
        elif isinstance(p, (Subscribe, Unsubscribe)):
            await peer.send(Ack(m.id))
        elif isinstance(p, BuildRequest):
            await peer.send(BuildStarted(m.id, p.build_id))
            if self.script is not None:
                sid = f"sub-{p.build_id}"
                self._tasks.append(asyncio.ensure_future(self._play(peer, p.build_id, sid)))
        elif isinstance(p, BuildCancel):
            self.cancelled.add(p.build_id)
            await peer.send(Ack(m.id))
        else:
            peer.inbox.put_nowait(m)

    async def _play(self, peer: Peer, build_id: str, sid: str) -> None:
        assert self.script is not None
        for payload in self.script(build_id, sid):
            if build_id in self.cancelled:
                await peer.send(BuildFailed(build_id, "cancelled", failed_targets=("app",)))
                return
            if payload is None:  # a pause: wait for a cancel
                for _ in range(200):
                    if build_id in self.cancelled:
                        break
                    await asyncio.sleep(0.01)
                continue
            await peer.send(payload)


def event(sid: str, seq: int, kind: str, build_id: str, **kw: Optional[str]) -> Event:
    return Event(sid, seq, kind, build_id, now_ms(), **kw)


def simple_script(build_id: str, sid: Optional[str]) -> list[Payload]:
    assert sid is not None
    digest = _digests.of_bytes("xxh64", b"built!\n")
    return [
        event(sid, 1, "build_started", build_id),
        event(sid, 2, "target_started", build_id, target="app"),
        event(sid, 3, "log", build_id, target="app", stream="stdout", line="compiling"),
        BuildProgress(build_id, 1, 1, "app", "built"),
        event(sid, 4, "target_finished", build_id, target="app", status="built"),
        BuildCompleted(
            build_id, 42, outputs=(Output("out/app.txt", digest, 7),), cache_hits=0, executed=1
        ),
        event(sid, 5, "build_finished", build_id, status="succeeded"),
    ]


async def run_target(
    worker: Peer, run: TargetRun, *, on_log: Optional[Callable[[BuildProgress], object]] = None
) -> tuple[Message, list[BuildProgress], Message]:
    """Sends TARGET_RUN and returns (BUILD_STARTED, log lines, terminal reply)."""
    mid = await worker.send(run)
    started = await worker.next()
    logs: list[BuildProgress] = []
    while True:
        m = await worker.next(30)
        if isinstance(m.payload, BuildProgress):
            logs.append(m.payload)
            if on_log is not None:
                r = on_log(m.payload)
                if asyncio.iscoroutine(r):
                    await r
            continue
        if isinstance(m.payload, (BuildCompleted, BuildFailed)):
            assert started.payload.reply_to == mid  # type: ignore[attr-defined]
            return started, logs, m
        if isinstance(m.payload, ErrorReply) and m.payload.reply_to == mid:
            return started, logs, m
        if isinstance(m.payload, Ack):
            continue  # of a TARGET_CANCEL
        raise AssertionError(f"unexpected {m}")


async def cancel_target(worker: Peer, run: TargetRun) -> None:
    await worker.send(TargetCancel(run.build_id, run.target, run.attempt, "test cancel"))
