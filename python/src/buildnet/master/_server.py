"""The master's connections: accepting, the listener's side of the handshake, framing with the
decoding limits, liveness, and the request services (state, locks, resources, blobs). Builds and
dispatch live in :mod:`buildnet.master._builds`.

One asyncio task reads each connection and serves its requests in order; another writes its
queued frames. Anything that touches the disk or SQLite runs in an executor.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Optional, TypeVar, Union

from buildnet import _digests
from buildnet._connection import now_ms
from buildnet.errors import ProtocolError, UnknownMessageTypeError, _bounded_error_text
from buildnet.master import _store
from buildnet.master._deferred import FetchError
from buildnet.protocol import (
    DEFAULT_MAX_FRAME_BYTES,
    MAJOR,
    MAX_CHUNK_BYTES,
    MINOR,
    Ack,
    AuthChallenge,
    AuthProof,
    BlobChunk,
    BlobGet,
    BlobHas,
    BlobHasResponse,
    BlobPut,
    BlobPutResponse,
    BuildStarted,
    ErrorCode,
    ErrorReply,
    Heartbeat,
    HeartbeatAck,
    Hello,
    HelloAck,
    LockAcquire,
    LockRelease,
    LockRenew,
    LockResponse,
    Message,
    ResourceClaim,
    ResourceRelease,
    ResourceStatus,
    StateDelete,
    StateGet,
    StateIncrement,
    StateKeys,
    StateResponse,
    StateSet,
    check_declared_length,
    client_proof,
    decode_body,
    encode,
    new_nonce,
    proofs_match,
    server_proof,
)

#: The reply types (docs/PROTOCOL.md, "Unsolicited replies"). BLOB_CHUNK is served above.
_REPLIES = (
    Ack, ErrorReply, HeartbeatAck, BuildStarted, StateResponse, LockResponse, ResourceStatus,
    BlobHasResponse, BlobPutResponse,
)  # fmt: skip

if TYPE_CHECKING:
    import ssl

    from buildnet.master._builds import Scheduler
    from buildnet.protocol.payloads import Payload

log = logging.getLogger("buildnet.master")
_T = TypeVar("_T")

#: Frames before the handshake completes may be at most this long (a HELLO is a few hundred bytes).
PRE_AUTH_MAX_FRAME_BYTES = 65536
_READ_BYTES = 65536
#: Frames queued for one connection's socket beyond which the peer counts as not reading.
_MAX_QUEUED_FRAMES = 100_000
#: EVENTs queued per subscription before events are dropped (docs/PROTOCOL.md).
MAX_QUEUED_EVENTS = 10_000
MAX_TRANSFERS = 16
MAX_BLOB_BYTES = 4 << 30
_DOWNLOAD_WINDOW = 8


class RequestError(Exception):
    """Answered by a non-fatal ERROR with ``reply_to`` set."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Subscription:
    sid: str
    build_id: Optional[str]
    logs: bool
    seq: int = 0
    queued: int = 0
    open: bool = True
    #: A re-attach (SUBSCRIBE with ``since``): ``seq`` are the build's own event numbers, and the
    #: build's final message follows its ``build_finished``.
    numbered: bool = False


@dataclass
class _Transfer:
    path: Path
    file: BinaryIO
    hasher: Any
    next_offset: int = 0
    failed: Optional[str] = None


@dataclass(eq=False)
class _Fetch:
    """A BLOB_GET this master sent to a worker (deferred outputs): the chunks go to ``file``
    (None: a probe, which expects one empty final chunk) as they arrive."""

    peer: Peer
    digest: str
    size: int
    done: asyncio.Future[None]
    hasher: Any
    path: Optional[Path] = None
    file: Optional[BinaryIO] = None
    next_offset: int = 0

    def fail(self, why: str) -> None:
        if not self.done.done():
            self.done.set_exception(FetchError(why))


@dataclass(eq=False)
class Peer:
    """One authenticated connection (a worker or a client)."""

    master: Master
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    address: str
    number: int
    role: str = ""
    peer_id: str = ""
    runtime: str = ""
    capabilities: frozenset[str] = frozenset()
    cpu_total: int = 0
    memory_total: int = 0
    #: claim id -> (cpu, memory): RESOURCE_CLAIMs and the master's claims for attempts in flight.
    claims: dict[str, tuple[int, int]] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    transfers: dict[str, _Transfer] = field(default_factory=dict)
    last_rx: float = field(default_factory=time.monotonic)
    busy: int = 0
    closed: bool = False
    close_reason: str = ""
    buf: bytearray = field(default_factory=bytearray)
    out: asyncio.Queue[Optional[tuple[bytes, Optional[Subscription]]]] = field(
        default_factory=asyncio.Queue
    )
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    @property
    def is_worker(self) -> bool:
        return self.role == Hello.WORKER

    @property
    def cpu_free(self) -> int:
        return self.cpu_total - sum(c for c, _ in self.claims.values())

    @property
    def memory_free(self) -> int:
        return self.memory_total - sum(m for _, m in self.claims.values())

    def send(self, payload: Payload, sub: Optional[Subscription] = None) -> str:
        """Queues one message for the socket; returns its id. Never blocks."""
        mid = f"m-{next(self._ids)}"
        if self.closed:
            return mid
        self.out.put_nowait((encode(Message(mid, now_ms(), payload)), sub))
        if self.out.qsize() > _MAX_QUEUED_FRAMES:
            self.close(f"it did not read its {_MAX_QUEUED_FRAMES} queued frames")
        return mid

    def error(self, code: ErrorCode, message: str, reply_to: Optional[str], fatal: bool) -> None:
        self.send(ErrorReply(int(code), _bounded_error_text(message), fatal, reply_to))

    def close(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        self.out.put_nowait(None)  # the writer closes the socket after what is queued

    def __str__(self) -> str:
        return f"{self.role or 'peer'} '{self.peer_id or '?'}' ({self.address})"


class Master:
    """A BuildNet master in asyncio: coordinates Java and Python workers and serves clients over
    the protocol of docs/PROTOCOL.md, with the workspace's ``.buildnet/`` state shared with the
    Java engine (docs/CACHE-KEY.md).

    ::

        async with buildnet.Master(workspace, secret=secret, listen=("127.0.0.1", 7890)) as m:
            print(m.address)
            await m.serve_forever()

    ``close()`` is idempotent: it stops accepting, closes every connection, cancels running
    builds and closes the state database.

    ``defer_outputs=True`` turns on deferred outputs (docs/PROTOCOL.md, "Deferred outputs"; the
    Java master's ``deferOutputs``): outputs no client asks for and no target reads as declared
    inputs stay on the worker that made them until a consumer elsewhere needs them.
    """

    def __init__(
        self,
        workspace: Union[str, os.PathLike[str]],
        *,
        secret: bytes,
        listen: tuple[str, int] = ("127.0.0.1", 0),
        heartbeat_timeout: float = 15.0,
        heartbeat_interval: Optional[float] = None,
        placement_timeout: float = 300.0,
        handshake_timeout: float = 10.0,
        tls: Optional[ssl.SSLContext] = None,
        master_id: Optional[str] = None,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        max_unauthenticated: int = 256,
        max_unauthenticated_per_address: int = 16,
        max_connections_per_address: int = 4096,
        host_env: Optional[dict[str, str]] = None,
        defer_outputs: bool = False,
    ) -> None:
        from buildnet.protocol import check_secret

        check_secret(secret)
        for name, value in (
            ("heartbeat_timeout", heartbeat_timeout),
            ("placement_timeout", placement_timeout),
            ("handshake_timeout", handshake_timeout),
        ):
            if not value > 0:
                raise ValueError(f"{name} must be positive but was {value}")
        if min(max_unauthenticated, max_unauthenticated_per_address,
               max_connections_per_address) < 1:
            raise ValueError("connection limits must be at least 1")
        self.workspace = Path(workspace).absolute()
        self._secret = bytes(secret)
        self._listen = listen
        self.heartbeat_timeout = heartbeat_timeout
        self.heartbeat_interval = heartbeat_interval or min(5.0, heartbeat_timeout / 3)
        self.placement_timeout = placement_timeout
        self.handshake_timeout = handshake_timeout
        self._tls = tls
        self.master_id = master_id or f"py-master-{secrets.token_hex(4)}"
        self.max_frame_bytes = max_frame_bytes
        self.max_unauthenticated = max_unauthenticated
        self.max_unauthenticated_per_address = max_unauthenticated_per_address
        self.max_per_address = max_connections_per_address
        self.host_env = dict(os.environ if host_env is None else host_env)
        self.algorithm = "xxh64"
        self._numbers = itertools.count(1)
        # Connections still in their handshake, oldest first (dicts keep insertion order): at the
        # global cap the oldest is closed to make room, as the Java listener does, so sockets
        # held open without authenticating cannot keep out a peer that authenticates promptly.
        self._pending: dict[Peer, asyncio.Task[Any]] = {}
        self._pending_per_address: dict[str, int] = {}
        self._per_address: dict[str, int] = {}
        self.peers: set[Peer] = set()
        self.workers: dict[str, Peer] = {}
        self._lock_grants: dict[str, tuple[str, int]] = {}
        self._server: Optional[asyncio.base_events.Server] = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        #: Turns on deferred outputs (docs/PROTOCOL.md, "Deferred outputs"; Java:
        #: ``BuildNet.Builder.deferOutputs``): outputs nothing needs here stay on their worker.
        self.defer_outputs = defer_outputs
        #: ``blob_bytes_in``: blob bytes received (uploads and fetches from workers);
        #: ``blob_bytes_out``: blob bytes served; ``dropped_chunks``: unsolicited BLOB_CHUNKs;
        #: ``fetches``: BLOB_GETs sent to workers for kept outputs (probes included).
        self.stats = {
            "ignored_results": 0, "blob_bytes_in": 0, "blob_bytes_out": 0, "dropped_chunks": 0,
            "fetches": 0,
        }  # fmt: skip
        #: (connection number, BLOB_GET id) -> the fetch waiting for its chunks.
        self._fetches: dict[tuple[int, str], _Fetch] = {}
        self.state: Optional[_store.StateDb] = None
        self.blobs: Optional[_store.BlobStore] = None
        self.scheduler: Optional[Scheduler] = None
        # SQLite from one thread (its own executor); disk and hashing from a small pool.
        self._db_exec = ThreadPoolExecutor(1, thread_name_prefix="buildnet-master-state")
        self._io_exec = ThreadPoolExecutor(4, thread_name_prefix="buildnet-master-io")

    # ---- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Master:
        try:
            await self.start()
        except BaseException:
            await self.close()  # what did start (threads, the database) stops again
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        from buildnet.master._builds import Scheduler
        from buildnet.master._workspace import load

        meta = self.workspace / ".buildnet"
        targets = await self.io(load, self.workspace)
        self.state = await self.db(_store.StateDb, meta / "state.db")
        self.blobs = await self.io(_store.BlobStore, meta / "cas", self.algorithm)
        self.scheduler = Scheduler(self, targets)
        host, port = self._listen
        # asyncio runs the TLS handshake before _accept sees the connection, with a timeout of
        # its own (60 s by default): bound it by ours, which counts from the TCP accept.
        tls_timeout = {"ssl_handshake_timeout": self.handshake_timeout} if self._tls else {}
        self._server = await asyncio.start_server(
            self._accept, host, port, ssl=self._tls, limit=_READ_BYTES, **tls_timeout
        )
        self._spawn(self._liveness())
        log.info("listening on %s:%d", *self.address)

    @property
    def address(self) -> tuple[str, int]:
        assert self._server is not None, "start() the master first"
        sockname = self._server.sockets[0].getsockname()
        return sockname[0], sockname[1]

    async def serve_forever(self) -> None:
        assert self._server is not None, "start() the master first"
        await self._server.serve_forever()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._server is not None:
            self._server.close()
        if self.scheduler is not None:
            self.scheduler.shutdown()
        for p in list(self.peers):
            p.close("the master is shutting down")
        for t in list(self._tasks):
            t.cancel()
        for t in list(self._tasks):
            with contextlib.suppress(BaseException):
                await t
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
        if self.state is not None:
            await self.db(self.state.close)
        self._db_exec.shutdown(wait=True)
        self._io_exec.shutdown(wait=True)

    @property
    def closing(self) -> bool:
        return self._closed

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        t: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)
        return t

    async def db(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._db_exec, fn, *args)

    async def io(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._io_exec, fn, *args)

    # ---- connections ----------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        peername = writer.get_extra_info("peername")
        address = str(peername[0]) if peername else "?"
        peer = Peer(self, reader, writer, address, next(self._numbers))
        self._per_address[address] = self._per_address.get(address, 0) + 1
        pending = self._pending_per_address
        pending[address] = pending.get(address, 0) + 1
        authenticated = False
        writer_task = asyncio.ensure_future(self._write_loop(peer))
        try:
            if self._closed:
                peer.error(ErrorCode.BUSY, "the master is shutting down", None, True)
                return
            if self._per_address[address] > self.max_per_address:
                peer.error(
                    ErrorCode.BUSY,
                    f"too many connections from {address} (limit {self.max_per_address})",
                    None,
                    True,
                )
                return
            if pending[address] > self.max_unauthenticated_per_address:
                peer.error(
                    ErrorCode.BUSY,
                    f"too many connections from {address} are still in their handshake (limit "
                    f"{self.max_unauthenticated_per_address})",
                    None,
                    True,
                )
                return
            if len(self._pending) >= self.max_unauthenticated:
                self._evict_oldest_pending()
            if task is not None:
                self._pending[peer] = task
            try:
                ok = await asyncio.wait_for(self._handshake(peer), self.handshake_timeout)
            except asyncio.TimeoutError:
                peer.error(
                    ErrorCode.TIMEOUT,
                    f"the handshake did not finish within {self.handshake_timeout:g} s",
                    None,
                    True,
                )
                return
            if not ok:
                return
            self._pending.pop(peer, None)
            _uncount(pending, address)
            authenticated = True
            self._register(peer)
            await self._serve(peer)
        except ProtocolError as e:
            peer.error(e.code, e.detail, e.message_id, True)
            log.info("closing %s: %s", peer, e)
        except (ConnectionError, OSError, asyncio.IncompleteReadError) as e:
            peer.close_reason = peer.close_reason or f"connection lost: {e}"
        except asyncio.CancelledError:
            # close(): the connection ends below; nothing to report to the stream server.
            peer.close_reason = peer.close_reason or "the master is shutting down"
        finally:
            if not authenticated:
                self._pending.pop(peer, None)
                _uncount(pending, address)
            _uncount(self._per_address, address)
            peer.close(peer.close_reason or "connection ended")
            self._unregister(peer)
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(writer_task, 5)
            writer_task.cancel()
            writer.close()

    def _evict_oldest_pending(self) -> None:
        """Closes the connection that has been in its handshake longest, with ERROR ``BUSY``."""
        oldest, task = next(iter(self._pending.items()))
        del self._pending[oldest]
        oldest.error(
            ErrorCode.BUSY,
            f"too many connections are still in their handshake (limit "
            f"{self.max_unauthenticated}): closing the oldest",
            None,
            True,
        )
        oldest.close_reason = "closed to make room: too many connections in their handshake"
        task.cancel()  # its _accept ends the connection after the ERROR is written

    async def _write_loop(self, peer: Peer) -> None:
        w = peer.writer
        try:
            done = False
            while not done:
                # Everything queued goes out in one write (one system call), not one per frame.
                batch: list[bytes] = []
                item = await peer.out.get()
                while True:
                    if item is None:
                        done = True
                        break
                    frame, sub = item
                    if sub is not None:
                        sub.queued -= 1
                    batch.append(frame)
                    if peer.out.empty() or len(batch) >= 256:
                        break
                    item = peer.out.get_nowait()
                w.write(b"".join(batch))
                if w.transport.get_write_buffer_size() > (1 << 20):
                    await w.drain()
            await w.drain()
        except (ConnectionError, OSError):
            peer.close("cannot write")
        finally:
            w.close()

    async def _read_body(self, peer: Peer, limit: int) -> Optional[bytes]:
        """The next frame's body, or None at a clean end of stream. The buffer grows only as bytes
        arrive: a length prefix never allocates anything by itself."""
        buf = peer.buf
        while len(buf) < 4:
            if not await self._fill(peer, buf):
                return None
        n = int.from_bytes(buf[:4], "big")
        if n == 0:
            raise ProtocolError(ErrorCode.BAD_FRAME, "empty frame: a length prefix of 0")
        check_declared_length(n, limit)
        while len(buf) < 4 + n:
            if not await self._fill(peer, buf):
                raise ProtocolError(
                    ErrorCode.BAD_FRAME,
                    f"truncated frame: the stream ended {4 + n - len(buf)} bytes short",
                )
        body = bytes(buf[4 : 4 + n])
        del buf[: 4 + n]
        return body

    async def _fill(self, peer: Peer, buf: bytearray) -> bool:
        data = await peer.reader.read(_READ_BYTES)
        if not data:
            if buf:
                raise ProtocolError(
                    ErrorCode.BAD_FRAME,
                    f"truncated frame: the stream ended inside a frame ({len(buf)} bytes)",
                )
            return False
        peer.last_rx = time.monotonic()
        buf += data
        return True

    async def _handshake(self, peer: Peer) -> bool:
        body = await self._read_body(peer, PRE_AUTH_MAX_FRAME_BYTES)
        if body is None:
            return False
        try:
            m = decode_body(body, max_frame_bytes=PRE_AUTH_MAX_FRAME_BYTES)
        except UnknownMessageTypeError as e:
            # Fatal here, unlike after the handshake (docs/PROTOCOL.md, "Handshake"), but still
            # UNKNOWN_TYPE: what the peer sent is unknown, not merely early.
            raise ProtocolError(ErrorCode.UNKNOWN_TYPE, e.detail, e.message_id) from None
        if not isinstance(m.payload, Hello):
            raise ProtocolError(
                ErrorCode.UNEXPECTED_MESSAGE,
                f"the handshake starts with HELLO, not {m.type.name}",
                m.id,
            )
        hello = m.payload
        if m.version != MAJOR:
            peer.send(
                HelloAck(
                    m.id,
                    False,
                    MINOR,
                    self.master_id,
                    error_code=int(ErrorCode.UNSUPPORTED_VERSION),
                    reason=f"protocol major version {m.version} is not supported; this master "
                    f"speaks {MAJOR}.{MINOR}",
                )
            )
            return False
        if hello.role not in (Hello.WORKER, Hello.CLIENT):
            raise ProtocolError(
                ErrorCode.INVALID_PAYLOAD,
                f"HELLO role must be worker or client: {hello.role!r}",
                m.id,
            )
        nonce = new_nonce()
        challenge_id = peer.send(AuthChallenge(m.id, nonce))
        body = await self._read_body(peer, PRE_AUTH_MAX_FRAME_BYTES)
        if body is None:
            return False
        proof: Optional[bytes] = None
        try:
            pm = decode_body(body, max_frame_bytes=PRE_AUTH_MAX_FRAME_BYTES)
            if isinstance(pm.payload, AuthProof) and pm.payload.reply_to == challenge_id:
                proof = pm.payload.proof
        except UnknownMessageTypeError:
            pass
        expected = client_proof(self._secret, nonce, hello.nonce, hello.role, hello.peer_id)
        if not proofs_match(expected, proof):
            why = (
                "authentication failed: wrong proof (the secrets differ)"
                if proof is not None
                else "authentication proof missing: expected AUTH_PROOF after the challenge"
            )
            log.warning("refused %s from %s: %s", hello.peer_id, peer.address, why)
            peer.send(
                HelloAck(
                    m.id,
                    False,
                    MINOR,
                    self.master_id,
                    error_code=int(ErrorCode.AUTH_FAILED),
                    reason=why,
                )
            )
            return False
        peer.role = hello.role
        peer.peer_id = hello.peer_id
        peer.runtime = m.runtime
        if peer.is_worker:
            peer.capabilities = frozenset(hello.capabilities or ())
            peer.cpu_total = hello.cpu_slots or 1
            peer.memory_total = hello.memory_mb or 0
        peer.send(
            HelloAck(
                m.id,
                True,
                MINOR,
                self.master_id,
                proof=server_proof(self._secret, hello.nonce, nonce, self.master_id),
                heartbeat_ms=max(1, int(self.heartbeat_interval * 1000)),
                blob_algorithm=self.algorithm,
            )
        )
        return True

    def _register(self, peer: Peer) -> None:
        self.peers.add(peer)
        if peer.is_worker:
            old = self.workers.get(peer.peer_id)
            self.workers[peer.peer_id] = peer
            if old is not None:
                old.close(f"replaced by a new connection of worker '{peer.peer_id}'")
                self._worker_gone(old, "it was replaced by a new connection")
            log.info(
                "worker %s joined (%s, %d slots, %d MB, capabilities %s)",
                peer.peer_id, peer.runtime, peer.cpu_total, peer.memory_total,
                sorted(peer.capabilities),
            )  # fmt: skip
            if self.scheduler is not None:
                self.scheduler.kick()

    def _unregister(self, peer: Peer) -> None:
        self.peers.discard(peer)
        for t in peer.transfers.values():
            with contextlib.suppress(OSError):
                t.file.close()
                t.path.unlink(missing_ok=True)
        peer.transfers.clear()
        for f in [f for f in self._fetches.values() if f.peer is peer]:
            f.fail(f"worker '{peer.peer_id}' disconnected ({peer.close_reason or 'closed'})")
        for s in peer.subscriptions.values():
            s.open = False
        if peer.is_worker and self.workers.get(peer.peer_id) is peer:
            del self.workers[peer.peer_id]
            log.info("worker %s left: %s", peer.peer_id, peer.close_reason)
            self._worker_gone(peer, peer.close_reason or "it disconnected")

    def _worker_gone(self, peer: Peer, why: str) -> None:
        if self.scheduler is not None:
            self.scheduler.worker_lost(peer, why)

    async def _liveness(self) -> None:
        """Declares peers dead that sent nothing for the heartbeat timeout (monotonic clock)."""
        while True:
            await asyncio.sleep(min(self.heartbeat_interval, self.heartbeat_timeout) / 2)
            now = time.monotonic()
            for p in list(self.peers):
                if p.busy:
                    p.last_rx = now  # serving its download: it is not silent, we are busy
                    continue
                silent = now - p.last_rx
                if silent > self.heartbeat_timeout:
                    why = (
                        f"no frame for {silent:.1f} s (heartbeat timeout "
                        f"{self.heartbeat_timeout:g} s)"
                    )
                    log.warning("%s declared dead: %s", p, why)
                    p.error(ErrorCode.TIMEOUT, why, None, True)
                    # The writer sends the ERROR and closes the socket, which ends the reader.
                    p.close(f"declared dead: {why}")
                    self._unregister(p)

    # ---- requests -------------------------------------------------------------------------

    async def _serve(self, peer: Peer) -> None:
        while not peer.closed:
            body = await self._read_body(peer, self.max_frame_bytes)
            if body is None:
                peer.close_reason = "the peer closed the connection"
                return
            if peer.closed:
                return
            try:
                m = decode_body(body, max_frame_bytes=self.max_frame_bytes)
            except UnknownMessageTypeError as e:
                peer.error(ErrorCode.UNKNOWN_TYPE, e.detail, e.message_id, False)
                continue
            if m.version != MAJOR:
                # Majors are incompatible: a frame of another one is not served as 1.x, after
                # the handshake as in it (docs/PROTOCOL.md, "Versioning").
                raise ProtocolError(
                    ErrorCode.UNSUPPORTED_VERSION,
                    f"message of protocol major version {m.version} on a {MAJOR}.x connection",
                    m.id,
                )
            peer.busy += 1
            try:
                await self._handle(peer, m)
            except RequestError as e:
                peer.error(e.code, e.message, m.id, False)
            except Exception as e:  # one request's bug must not end the connection
                log.exception("%s from %s failed", m.type.name, peer)
                peer.error(
                    ErrorCode.INTERNAL, f"{m.type.name} failed inside the master: {e}", m.id, False
                )
            finally:
                peer.busy -= 1
                peer.last_rx = time.monotonic()

    async def _handle(self, peer: Peer, m: Message) -> None:
        p = m.payload
        if isinstance(p, Heartbeat):
            peer.send(HeartbeatAck(m.id))
        elif isinstance(p, (StateGet, StateSet, StateDelete, StateKeys, StateIncrement)):
            peer.send(await self._state(m.id, p))
        elif isinstance(p, (LockAcquire, LockRenew, LockRelease)):
            peer.send(await self._lock(m.id, p))
        elif isinstance(p, (ResourceClaim, ResourceRelease)):
            peer.send(self._resource(peer, m.id, p))
        elif isinstance(p, BlobHas):
            peer.send(BlobHasResponse(m.id, tuple(await self.io(self._missing, p.digests))))
        elif isinstance(p, BlobPut):
            await self._blob_put(peer, m.id, p)
        elif isinstance(p, BlobGet):
            await self._blob_get(peer, m.id, p)
        elif isinstance(p, BlobChunk):
            await self._chunk(peer, p)
        elif isinstance(p, ErrorReply) and (peer.number, p.reply_to or "") in self._fetches:
            self._fetches[(peer.number, p.reply_to or "")].fail(
                f"{ErrorCode.from_wire(p.code).name}: {p.message}"
            )
        elif isinstance(p, (Ack, ErrorReply, HeartbeatAck)) and not peer.is_worker:
            return  # replies are never answered (an ERROR for an ERROR could ping-pong)
        elif isinstance(p, (Hello, HelloAck, AuthChallenge, AuthProof)):
            raise RequestError(ErrorCode.UNEXPECTED_MESSAGE, f"{m.type.name} after the handshake")
        else:
            assert self.scheduler is not None
            if not self.scheduler.handle(peer, m):
                if isinstance(p, _REPLIES):
                    # An answer to nothing asked is dropped, never answered (docs/PROTOCOL.md,
                    # "Unsolicited replies"), whatever its type, as the Java master does.
                    log.debug("%s: dropping unsolicited %s", peer, m.type.name)
                    return
                raise RequestError(
                    ErrorCode.UNSUPPORTED, f"this master does not serve {m.type.name} from a "
                    f"{peer.role}"
                )  # fmt: skip

    # ---- state and locks ------------------------------------------------------------------

    async def _state(self, mid: str, p: Payload) -> StateResponse:
        st = self.state
        assert st is not None
        try:
            if isinstance(p, StateGet):
                v = await self.db(st.get, p.key)
                return StateResponse(mid, v is not None, v)
            if isinstance(p, StateSet):
                if p.expected is not None:
                    swapped = await self.db(st.compare_and_set, p.key, p.expected, p.value)
                    return StateResponse(mid, swapped, applied=swapped)
                if p.if_absent:
                    stored = await self.db(st.set_if_absent, p.key, p.value, p.ttl_ms)
                    return StateResponse(mid, not stored, applied=stored)
                existed = await self.db(st.set, p.key, p.value, p.ttl_ms)
                return StateResponse(mid, existed)
            if isinstance(p, StateDelete):
                return StateResponse(mid, await self.db(st.delete, p.key))
            if isinstance(p, StateKeys):
                keys = await self.db(st.keys, p.prefix)
                return StateResponse(mid, bool(keys), keys=tuple(keys))
            assert isinstance(p, StateIncrement)
            return StateResponse(mid, True, number=await self.db(st.increment, p.key, p.delta))
        except _store.StateError as e:
            raise RequestError(ErrorCode.STATE_ERROR, str(e)) from None
        except Exception as e:
            raise RequestError(
                ErrorCode.INTERNAL, f"the master's state database {st.path} failed: {e}"
            ) from None

    async def _lock(self, mid: str, p: Payload) -> LockResponse:
        st = self.state
        assert st is not None
        try:
            if isinstance(p, LockAcquire):
                # wait_ms is a permission, not a duty: this master answers at once.
                got = await self.db(st.acquire, p.name, p.holder, p.lease_ms)
                if got is None:
                    return LockResponse(mid, False)
                self._lock_grants[p.name] = (p.holder, got[0])
                return LockResponse(mid, True, str(got[0]), p.holder, p.lease_ms, got[1])
            if isinstance(p, LockRenew):
                token = _token(p.name, p.holder, p.token)
                expires = await self.db(st.renew, p.name, p.holder, token, p.lease_ms)
                self._lock_grants[p.name] = (p.holder, token)
                return LockResponse(mid, True, str(token), p.holder, p.lease_ms, expires)
            assert isinstance(p, LockRelease)
            holder = p.holder
            if holder is None:
                known = self._lock_grants.get(p.name)
                if known is None or str(known[1]) != p.token:
                    raise RequestError(
                        ErrorCode.LOCK_NOT_HELD,
                        f"lock on '{p.name}' with fencing token {p.token} is not held through "
                        "this master (LOCK_RELEASE without holder names only leases this master "
                        "granted)",
                    )
                holder = known[0]
            token = _token(p.name, holder, p.token)
            await self.db(st.release, p.name, holder, token)
            if self._lock_grants.get(p.name) == (holder, token):
                del self._lock_grants[p.name]
            return LockResponse(mid, True, p.token, holder)
        except _store.LockNotHeld as e:
            raise RequestError(ErrorCode.LOCK_NOT_HELD, str(e)) from None
        except RequestError:
            raise
        except Exception as e:
            raise RequestError(
                ErrorCode.INTERNAL, f"the master's state database {st.path} failed: {e}"
            ) from None

    # ---- resources ------------------------------------------------------------------------

    def _resource(self, peer: Peer, mid: str, p: Payload) -> ResourceStatus:
        if not peer.is_worker:
            raise RequestError(ErrorCode.UNSUPPORTED, "RESOURCE_* is for workers, not clients")
        if isinstance(p, ResourceClaim):
            key = "claim:" + p.claim_id
            if key in peer.claims:
                if peer.claims[key] != (p.cpu_slots, p.memory_mb):
                    raise RequestError(
                        ErrorCode.INVALID_PAYLOAD,
                        f"claim '{p.claim_id}' is open with other amounts {peer.claims[key]}",
                    )
            else:
                if p.cpu_slots > peer.cpu_total or p.memory_mb > peer.memory_total:
                    raise RequestError(
                        ErrorCode.INVALID_PAYLOAD,
                        f"claim of {p.cpu_slots} slots and {p.memory_mb} MB exceeds what the "
                        f"worker advertised ({peer.cpu_total} slots, {peer.memory_total} MB)",
                    )
                if p.cpu_slots > peer.cpu_free or p.memory_mb > peer.memory_free:
                    raise RequestError(
                        ErrorCode.BUSY,
                        f"claim of {p.cpu_slots} slots and {p.memory_mb} MB exceeds what is free "
                        f"({peer.cpu_free} slots, {peer.memory_free} MB)",
                    )
                peer.claims[key] = (p.cpu_slots, p.memory_mb)
            claim_id = p.claim_id
        else:
            assert isinstance(p, ResourceRelease)
            if peer.claims.pop("claim:" + p.claim_id, None) is None:
                raise RequestError(ErrorCode.NOT_FOUND, f"no open claim '{p.claim_id}'")
            claim_id = p.claim_id
            if self.scheduler is not None:
                self.scheduler.kick()
        return ResourceStatus(
            True, peer.cpu_free, peer.memory_free, peer.cpu_total, peer.memory_total, mid,
            claim_id,
        )  # fmt: skip

    # ---- blobs ----------------------------------------------------------------------------

    def _check_digest(self, digest: str) -> None:
        try:
            algorithm, _ = _digests.parse(digest)
        except ValueError as e:
            raise RequestError(ErrorCode.INVALID_PAYLOAD, str(e)) from None
        if algorithm != self.algorithm:
            raise RequestError(
                ErrorCode.INVALID_PAYLOAD,
                f"this master's store holds {self.algorithm} blobs, not {digest}",
            )

    def _missing(self, digests: tuple[str, ...]) -> list[str]:
        for d in digests:
            self._check_digest(d)
        assert self.blobs is not None
        return [d for d in digests if not self.blobs.contains(d)]

    async def _blob_put(self, peer: Peer, mid: str, p: BlobPut) -> None:
        blobs = self.blobs
        assert blobs is not None
        t = peer.transfers.get(p.transfer_id)
        if t is None:
            if len(peer.transfers) >= MAX_TRANSFERS:
                raise RequestError(
                    ErrorCode.BUSY, f"a connection may have at most {MAX_TRANSFERS} uploads open"
                )
            path, f = await self.io(blobs.new_temp)
            t = _Transfer(path, f, _digests.new_hasher(self.algorithm))
            peer.transfers[p.transfer_id] = t
            if p.offset != 0:
                t.failed = f"transfer '{p.transfer_id}' must start at offset 0, not {p.offset}"
        if t.failed is None and p.offset != t.next_offset:
            t.failed = (
                f"chunk at offset {p.offset} of transfer '{p.transfer_id}' does not follow the "
                f"{t.next_offset} bytes received"
            )
        if t.failed is None and p.offset + len(p.data) > MAX_BLOB_BYTES:
            self._end_transfer(peer, p.transfer_id)
            raise RequestError(
                ErrorCode.INVALID_PAYLOAD, f"a blob may be at most {MAX_BLOB_BYTES} bytes"
            )
        if t.failed is not None:
            await self.io(_close_quietly, t)
            if p.last:
                peer.transfers.pop(p.transfer_id, None)
            raise RequestError(ErrorCode.DIGEST_MISMATCH, t.failed)

        def write() -> None:
            t.file.write(p.data)
            t.hasher.update(p.data)

        await self.io(write)
        self.stats["blob_bytes_in"] += len(p.data)
        t.next_offset += len(p.data)
        if not p.last:
            return
        peer.transfers.pop(p.transfer_id, None)
        assert p.digest is not None
        try:
            self._check_digest(p.digest)
        except RequestError:
            await self.io(_close_quietly, t)
            raise
        actual = f"{self.algorithm}:{t.hasher.hexdigest()}"
        if actual != p.digest:
            await self.io(_close_quietly, t)
            raise RequestError(
                ErrorCode.DIGEST_MISMATCH,
                f"transfer '{p.transfer_id}': the bytes hash to {actual}, not {p.digest}; "
                "nothing was stored",
            )

        def publish() -> bool:
            t.file.close()
            return blobs.publish(t.path, actual)

        stored = await self.io(publish)
        peer.send(BlobPutResponse(mid, actual, stored))

    def _end_transfer(self, peer: Peer, transfer_id: str) -> None:
        t = peer.transfers.pop(transfer_id, None)
        if t is not None:
            _close_quietly(t)

    async def _blob_get(self, peer: Peer, mid: str, p: BlobGet) -> None:
        blobs = self.blobs
        assert blobs is not None
        self._check_digest(p.digest)
        path = blobs.path_of(p.digest)
        chunk = p.max_chunk or MAX_CHUNK_BYTES
        if not 1 <= chunk <= MAX_CHUNK_BYTES:
            raise RequestError(ErrorCode.INVALID_PAYLOAD, f"max_chunk must be 1..{MAX_CHUNK_BYTES}")
        start = p.offset or 0
        try:
            f = await self.io(_open_rb, path)
        except FileNotFoundError:
            raise RequestError(ErrorCode.NOT_FOUND, f"no blob {p.digest}") from None
        hasher = _digests.new_hasher(self.algorithm)
        try:
            size = os.fstat(f.fileno()).st_size
            if start > size:
                raise RequestError(
                    ErrorCode.INVALID_PAYLOAD,
                    f"offset {start} is beyond the {size} bytes of {p.digest}",
                )

            def read(n: int) -> bytes:
                data = f.read(n)
                hasher.update(data)
                return data

            if start:
                # Hashed from offset 0 even when the download starts later.
                left = start
                while left:
                    left -= len(await self.io(read, min(left, 1 << 20)))
            offset = start
            while True:
                data = await self.io(read, chunk)
                last = offset + len(data) >= size
                if last:
                    actual = f"{self.algorithm}:{hasher.hexdigest()}"
                    if actual != p.digest or offset + len(data) != size:
                        await self.io(blobs.discard, p.digest)
                        raise RequestError(
                            ErrorCode.DIGEST_MISMATCH,
                            f"blob {p.digest} is corrupt in the master's store (it hashes to "
                            f"{actual}); it was deleted",
                        )
                    peer.send(BlobChunk(mid, offset, data, True, p.digest, size))
                    self.stats["blob_bytes_out"] += len(data)
                    return
                peer.send(BlobChunk(mid, offset, data, False))
                self.stats["blob_bytes_out"] += len(data)
                offset += len(data)
                # A bounded window: at most this many chunks wait for the socket.
                while peer.out.qsize() > _DOWNLOAD_WINDOW and not peer.closed:
                    await asyncio.sleep(0.001)
        finally:
            await self.io(f.close)


    # ---- fetching kept outputs from workers ------------------------------------------------

    async def fetch_blob(self, peer: Peer, digest: str, size: int, *, probe: bool = False) -> None:
        """Fetches blob ``digest`` of ``size`` bytes that ``peer`` kept into the store, verified
        (``probe``: only asks the worker to confirm it holds it, by a BLOB_GET at offset = size);
        FetchError if it cannot. Cancelling it abandons the download: the chunks still coming
        answer nothing any more and are dropped."""
        blobs = self.blobs
        assert blobs is not None
        path: Optional[Path] = None
        file: Optional[BinaryIO] = None
        if not probe:
            path, file = await self.io(blobs.new_temp)
        f = _Fetch(
            peer, digest, size, asyncio.get_running_loop().create_future(),
            _digests.new_hasher(self.algorithm), path, file,
        )  # fmt: skip
        # Registered before anything can answer: the reply is read on this loop, after this.
        mid = peer.send(BlobGet(digest, offset=size if probe else None))
        self.stats["fetches"] += 1
        key = (peer.number, mid)
        self._fetches[key] = f
        if peer.closed:
            f.fail(f"worker '{peer.peer_id}' disconnected")
        try:
            await f.done
            if path is not None:
                await self.io(_publish, blobs, f, path, digest)
        finally:
            del self._fetches[key]
            if file is not None:
                await self.io(_discard_temp, file, path)

    async def _chunk(self, peer: Peer, p: BlobChunk) -> None:
        """A BLOB_CHUNK: part of a fetch, or (answering nothing this master waits for, e.g. a
        fetch cancelled meanwhile) dropped unread, never buffered or answered."""
        f = self._fetches.get((peer.number, p.reply_to))
        if f is None or f.done.done():
            self.stats["dropped_chunks"] += 1
            log.debug("dropped an unsolicited BLOB_CHUNK from %s (reply_to %s)", peer, p.reply_to)
            return
        if p.offset != (f.size if f.file is None else f.next_offset):
            f.fail(f"a chunk at offset {p.offset} where {f.next_offset} was due")
            return
        if f.file is None:
            if p.last and not p.data and p.digest == f.digest and p.size == f.size:
                f.done.set_result(None)
            else:
                f.fail("the worker did not confirm the blob with one empty final chunk")
            return
        file = f.file

        def write() -> None:
            file.write(p.data)
            f.hasher.update(p.data)

        try:
            await self.io(write)
        except (OSError, ValueError) as e:  # ValueError: abandoned (closed) meanwhile
            f.fail(f"cannot write it: {e}")
            return
        self.stats["blob_bytes_in"] += len(p.data)
        f.next_offset += len(p.data)
        if not p.last or f.done.done():
            return
        actual = f"{self.algorithm}:{f.hasher.hexdigest()}"
        if actual != f.digest or f.next_offset != f.size or p.digest != f.digest:
            f.fail(f"its {f.next_offset} bytes hash to {actual}, not {f.digest} ({f.size} bytes)")
        else:
            f.done.set_result(None)


def _uncount(counts: dict[str, int], address: str) -> None:
    """One connection of ``address`` less; an address with none is forgotten at once (a count
    left at 0 would be deleted by another connection's cleanup, under this one's feet)."""
    counts[address] -= 1
    if counts[address] == 0:
        del counts[address]


def _publish(blobs: _store.BlobStore, f: _Fetch, path: Path, digest: str) -> None:
    assert f.file is not None
    f.file.close()
    blobs.publish(path, digest)


def _discard_temp(file: BinaryIO, path: Optional[Path]) -> None:
    with contextlib.suppress(OSError):
        file.close()
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def _open_rb(path: Path) -> BinaryIO:
    return open(path, "rb")


def _close_quietly(t: _Transfer) -> None:
    with contextlib.suppress(OSError):
        t.file.close()
    with contextlib.suppress(OSError):
        t.path.unlink(missing_ok=True)


def _token(name: str, holder: str, token: str) -> int:
    # ASCII digits only, at most int64 (as the Java master's Long.parseLong): str.isdigit also
    # takes '²', which int() refuses, and int() refuses more than 4,300 digits; either would be
    # INTERNAL instead of LOCK_NOT_HELD.
    if token.isascii() and token.isdigit() and len(token) <= 19 and 1 <= int(token) < 2**63:
        return int(token)
    raise RequestError(
        ErrorCode.LOCK_NOT_HELD,
        f"lock on '{name}' held by '{holder}' with fencing token {token} is not held: this "
        "master issues decimal tokens from 1",
    )
