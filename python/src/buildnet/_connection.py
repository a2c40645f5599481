"""One authenticated connection to a master, over asyncio streams (``docs/PROTOCOL.md``).

The handshake runs in :func:`open_connection`; then a reader task routes every incoming message:
replies go to the request that waits for them (by ``reply_to``), HEARTBEATs are answered here,
and everything else goes to the owner's ``handler``. A heartbeat task sends HEARTBEAT at the
master's ``heartbeat_ms`` and closes the connection when nothing arrived for three intervals.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl
import time
from typing import TYPE_CHECKING, Callable, Optional, Union

from buildnet.errors import (
    ConnectionLostError,
    HandshakeError,
    LockNotHeldError,
    ProtocolError,
    RemoteError,
    RequestTimeoutError,
    UnknownMessageTypeError,
)
from buildnet.protocol import (
    DEFAULT_MAX_FRAME_BYTES,
    HANDSHAKE_MAX_FRAME_BYTES,
    MAJOR,
    AuthChallenge,
    AuthProof,
    ConnectingHandshake,
    ErrorCode,
    ErrorReply,
    FrameReader,
    Heartbeat,
    HeartbeatAck,
    Hello,
    HelloAck,
    Message,
    encode,
)

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Sequence

    from buildnet.protocol.payloads import Payload

log = logging.getLogger("buildnet")

#: What ``tls=`` accepts: off (None/False), on with the system's trust store (True), or a context.
TlsOption = Union[None, bool, ssl.SSLContext]
Handler = Callable[[Message], None]

DEFAULT_HEARTBEAT_S = 10.0
_READ_BYTES = 1 << 16
#: Messages of one streamed reply (BLOB_CHUNKs) buffered before the reader waits for the consumer.
_STREAM_WINDOW = 8


def now_ms() -> int:
    return int(time.time() * 1000)


def ssl_context(tls: TlsOption) -> Optional[ssl.SSLContext]:
    if tls is None or tls is False:
        return None
    if tls is True:
        return ssl.create_default_context()
    if isinstance(tls, ssl.SSLContext):
        return tls
    raise TypeError(f"tls must be None, a bool or an ssl.SSLContext but was {tls!r}")


class _Waiter:
    __slots__ = ("queue", "request")

    def __init__(self, request: str, window: int) -> None:
        self.request = request
        self.queue: asyncio.Queue[Union[Message, BaseException]] = asyncio.Queue(window)


class Connection:
    """An open, authenticated connection. Use from the event loop that opened it.

    ``master_id``, ``heartbeat_s`` and ``blob_algorithm`` come from the master's HELLO_ACK.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        frames: FrameReader,
        ack: HelloAck,
        handler: Optional[Handler],
        running: Optional[Callable[[], int]],
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._frames = frames
        self.master_id = ack.peer_id
        self.minor = ack.minor
        self.heartbeat_s = (
            ack.heartbeat_ms / 1000.0 if ack.heartbeat_ms is not None else DEFAULT_HEARTBEAT_S
        )
        self.blob_algorithm = ack.blob_algorithm or "xxh64"
        self._handler = handler
        self._running = running
        self._ids = itertools.count(1)
        self._waiters: dict[str, _Waiter] = {}
        self._drain_lock = asyncio.Lock()
        self._last_rx = time.monotonic()
        self._lost: Optional[ConnectionLostError] = None
        self._closed = asyncio.get_running_loop().create_future()
        self._tasks = [
            asyncio.ensure_future(self._read_loop()),
            asyncio.ensure_future(self._heartbeat_loop()),
        ]

    # ---- sending ---------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._lost is None

    def next_id(self) -> str:
        return f"py-{next(self._ids)}"

    async def send(self, payload: Payload, message_id: Optional[str] = None) -> str:
        """Sends one message (waiting while the socket's buffer is full); returns its id."""
        if self._lost is not None:
            raise self._lost
        mid = message_id or self.next_id()
        self._writer.write(encode(Message(mid, now_ms(), payload)))
        try:
            async with self._drain_lock:
                await self._writer.drain()
        except (ConnectionError, OSError) as e:
            self._lose(f"cannot write: {e}")
        if self._lost is not None:
            raise self._lost
        return mid

    async def request(self, payload: Payload, *, timeout: float) -> Message:
        """Sends ``payload`` and returns its reply; an ERROR reply raises :class:`RemoteError`."""
        mid = self.next_id()
        waiter = self._register(mid, payload, 1)
        try:
            await self.send(payload, mid)
            return await self._next(waiter, timeout)
        finally:
            self._waiters.pop(mid, None)

    async def stream(self, payload: Payload, *, timeout: float) -> AsyncGenerator[Message, None]:
        """Sends ``payload`` and yields its replies (until the caller stops iterating).
        ``timeout`` bounds the wait for each reply."""
        mid = self.next_id()
        waiter = self._register(mid, payload, _STREAM_WINDOW)
        try:
            await self.send(payload, mid)
            while True:
                yield await self._next(waiter, timeout)
        finally:
            self._waiters.pop(mid, None)
            # Unblocks the reader if it waits to put a reply we no longer want.
            while not waiter.queue.empty():
                waiter.queue.get_nowait()

    def _register(self, mid: str, payload: Payload, window: int) -> _Waiter:
        if self._lost is not None:
            raise self._lost
        waiter = _Waiter(payload.TYPE.name, window)
        self._waiters[mid] = waiter
        return waiter

    async def _next(self, waiter: _Waiter, timeout: float) -> Message:
        try:
            item = await asyncio.wait_for(waiter.queue.get(), timeout)
        except asyncio.TimeoutError:
            raise RequestTimeoutError(
                f"{waiter.request}: no reply from the master {self.master_id!r} within "
                f"{timeout:g} s"
            ) from None
        if isinstance(item, BaseException):
            raise item
        if isinstance(item.payload, ErrorReply):
            e = item.payload
            cls = LockNotHeldError if e.code == ErrorCode.LOCK_NOT_HELD else RemoteError
            raise cls(waiter.request, e.code, e.message)
        return item

    # ---- closing ---------------------------------------------------------------------------

    async def wait_closed(self) -> ConnectionLostError:
        """Waits until the connection has ended; returns why."""
        reason: ConnectionLostError = await asyncio.shield(self._closed)
        return reason

    async def close(self) -> None:
        """Closes the connection (idempotent) and waits for its tasks."""
        self._lose("closed by this side")
        current = asyncio.current_task()
        for t in self._tasks:
            if t is not current:
                with contextlib.suppress(BaseException):
                    await t
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._writer.wait_closed(), 2)

    def _lose(self, reason: str) -> None:
        if self._lost is not None:
            return
        self._lost = ConnectionLostError(reason)
        for w in self._waiters.values():
            while w.queue.full():
                w.queue.get_nowait()
            w.queue.put_nowait(self._lost)
        self._waiters.clear()
        current = asyncio.current_task()
        for t in self._tasks:
            if t is not current:
                t.cancel()
        self._writer.close()
        if not self._closed.done():
            self._closed.set_result(self._lost)

    # ---- receiving -------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        reason = "the master closed the connection"
        try:
            while True:
                try:
                    m = self._frames.next_message()
                except UnknownMessageTypeError as e:
                    await self.send(ErrorReply(int(e.code), e.detail, False, e.message_id))
                    continue
                if m is None:
                    data = await self._reader.read(_READ_BYTES)
                    if not data:
                        return
                    self._last_rx = time.monotonic()
                    # Buffers and checks the length prefix; messages come from next_message().
                    self._frames.feed(data)
                    continue
                if m.version != MAJOR:
                    # Majors are incompatible: not served as 1.x, after the handshake either
                    # (docs/PROTOCOL.md, "Versioning"); answered below, fatally.
                    raise ProtocolError(
                        ErrorCode.UNSUPPORTED_VERSION,
                        f"message of protocol major version {m.version} on a {MAJOR}.x connection",
                        m.id,
                    )
                fatal = await self._dispatch(m)
                if fatal is not None:
                    reason = fatal
                    return
        except asyncio.CancelledError:
            raise
        except ProtocolError as e:  # a bad frame, or an oversize prefix seen while feeding
            reason = f"bad frame from the master: {e}"
            with contextlib.suppress(Exception):
                await self.send(ErrorReply(int(e.code), e.detail, True, e.message_id))
        except ConnectionLostError as e:
            reason = e.reason
        except (ConnectionError, OSError) as e:
            reason = f"read failed: {e}"
        finally:
            self._lose(reason)

    async def _dispatch(self, m: Message) -> Optional[str]:
        p = m.payload
        if isinstance(p, (Hello, HelloAck, AuthChallenge, AuthProof)):
            # Never a reply once the handshake is done (docs/PROTOCOL.md, "Unsolicited replies").
            await self.send(
                ErrorReply(
                    int(ErrorCode.UNEXPECTED_MESSAGE), f"{m.type.name} after the handshake", False,
                    m.id,
                )
            )  # fmt: skip
            return None
        reply_to = getattr(p, "reply_to", None)
        if reply_to is not None:
            waiter = self._waiters.get(reply_to)
            if waiter is not None:
                await waiter.queue.put(m)
                return None
        if isinstance(p, Heartbeat):
            await self.send(HeartbeatAck(m.id))
            return None
        if isinstance(p, ErrorReply) and p.fatal:
            return (
                f"the master closed the connection: {ErrorCode.from_wire(p.code).name}: {p.message}"
            )
        if isinstance(p, (HeartbeatAck, ErrorReply)) or self._handler is None:
            return None
        try:
            self._handler(m)
        except Exception:
            log.exception("handling %s failed", m.type.name)
        return None

    async def _heartbeat_loop(self) -> None:
        interval = self.heartbeat_s
        idle_limit = max(3 * interval, 5.0)
        while True:
            await asyncio.sleep(interval)
            silent = time.monotonic() - self._last_rx
            if silent > idle_limit:
                self._lose(f"no frame from the master for {silent:.1f} s")
                return
            running = self._running() if self._running is not None else None
            try:
                await self.send(Heartbeat(running))
            except ConnectionLostError:
                return


async def _read_one(reader: asyncio.StreamReader, frames: FrameReader, what: str) -> Message:
    while True:
        m = frames.next_message()
        if m is not None:
            return m
        data = await reader.read(_READ_BYTES)
        if not data:
            raise ConnectionLostError(f"the master closed the connection {what}")
        frames.feed(data)  # buffers and checks the length prefix; next_message() decodes


async def open_connection(
    host: str,
    port: int,
    *,
    secret: bytes,
    role: str,
    peer_id: str,
    tls: TlsOption = None,
    capabilities: Optional[Sequence[str]] = None,
    cpu_slots: Optional[int] = None,
    memory_mb: Optional[int] = None,
    handler: Optional[Handler] = None,
    running: Optional[Callable[[], int]] = None,
    timeout: float = 10.0,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
) -> Connection:
    """Connects, runs the handshake (bounded by ``timeout``) and returns the open connection.

    Raises :class:`AuthError` (wrong secret), :class:`VersionMismatchError`,
    :class:`HandshakeError` (other refusals), :class:`ConnectionLostError` (the master closed
    the connection) or ``OSError`` (cannot connect).
    """
    handshake = ConnectingHandshake(
        secret,
        role,
        peer_id,
        capabilities=capabilities,
        cpu_slots=cpu_slots,
        memory_mb=memory_mb,
    )
    context = ssl_context(tls)
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                host, port, ssl=context, server_hostname=host if context else None
            ),
            timeout,
        )
    except asyncio.TimeoutError:
        raise OSError(f"cannot connect to {host}:{port} within {timeout:g} s") from None
    # Until the master has proven it knows the secret, it may not make us buffer more than 64 KiB.
    frames = FrameReader(max_frame_bytes, pre_auth_max_frame_bytes=HANDSHAKE_MAX_FRAME_BYTES)
    try:
        ack = await asyncio.wait_for(_handshake(reader, writer, frames, handshake), timeout)
    except asyncio.TimeoutError:
        writer.close()
        raise HandshakeError(
            f"the handshake with {host}:{port} did not finish within {timeout:g} s"
        ) from None
    except BaseException:
        writer.close()
        raise
    return Connection(reader, writer, frames, ack, handler, running)


async def _handshake(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    frames: FrameReader,
    hs: ConnectingHandshake,
) -> HelloAck:
    hello_id = "py-hello"
    writer.write(encode(Message(hello_id, now_ms(), hs.hello())))
    await writer.drain()
    while True:
        m = await _read_one(reader, frames, "during the handshake")
        p = m.payload
        if isinstance(p, AuthChallenge):
            proof = hs.on_challenge(p, m.id)
            writer.write(encode(Message("py-proof", now_ms(), proof)))
            await writer.drain()
        elif isinstance(p, HelloAck):
            ack = hs.on_hello_ack(p)  # raises unless accepted with the right proof
            frames.end_handshake()
            return ack
        elif isinstance(p, ErrorReply):
            raise HandshakeError(
                f"the master refused the handshake: {ErrorCode.from_wire(p.code).name}: "
                f"{p.message}",
                p.code,
            )
        else:
            raise HandshakeError(f"unexpected {m.type.name} during the handshake")
