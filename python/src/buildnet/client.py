"""The asyncio client: builds, state, locks and blobs of a master.

::

    async with await buildnet.connect("127.0.0.1", 7890, secret=secret) as c:
        build = await c.submit(["app"])
        async for ev in build.events():
            print(ev.kind, ev.target or "", ev.line or ev.status or "")
        result = (await build.result()).check()
        await c.blobs.get(result.outputs[0].digest, "app.jar")

A :class:`Client` belongs to the event loop that connected it; its coroutines may run
concurrently (requests share the connection and are matched to replies by id).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import uuid
from typing import TYPE_CHECKING, Optional, Union

from buildnet._blobs import Blobs
from buildnet._connection import Connection, TlsOption, open_connection
from buildnet.errors import (
    BuildFailedError,
    LockNotHeldError,
    LockUnavailableError,
    RemoteError,
)
from buildnet.protocol import (
    Ack,
    BlobChunk,
    BlobHasResponse,
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
    HeartbeatAck,
    LockAcquire,
    LockRelease,
    LockRenew,
    LockResponse,
    Message,
    Output,
    ResourceStatus,
    StateDelete,
    StateGet,
    StateIncrement,
    StateKeys,
    StateResponse,
    StateSet,
    Subscribe,
    Unsubscribe,
)

if TYPE_CHECKING:
    import os
    from collections.abc import AsyncIterator, Mapping, Sequence
    from types import TracebackType

    from buildnet.protocol.payloads import Payload

__all__ = [
    "BUILD_STATUSES",
    "TARGET_STATUSES",
    "Build",
    "BuildEvent",
    "BuildResult",
    "Client",
    "Lock",
    "State",
    "connect",
    "read_secret",
]

log = logging.getLogger("buildnet")

#: The reply types (docs/PROTOCOL.md, "Unsolicited replies"): one that answers nothing is dropped.
_REPLIES = (
    Ack, ErrorReply, HeartbeatAck, BuildStarted, StateResponse, LockResponse, ResourceStatus,
    BlobHasResponse, BlobPutResponse, BlobChunk,
)  # fmt: skip

#: A target's final status, in BUILD_PROGRESS ``phase``, EVENT ``status`` of ``target_finished``
#: and the HTTP API alike (docs/PROTOCOL.md): one spelling everywhere.
TARGET_STATUSES = ("built", "cached", "failed", "skipped", "cancelled")
#: A build's final status, in EVENT ``status`` of ``build_finished``.
BUILD_STATUSES = ("succeeded", "failed", "cancelled")

Secret = Union[bytes, str]
#: How long a finished build's stream waits for the subscription's ``build_finished`` event.
_FINISH_GRACE_S = 2.0


def read_secret(path: Union[str, os.PathLike[str]]) -> bytes:
    """The shared secret in a file, without trailing newlines (as the Java CLI reads it)."""
    with open(path, "rb") as f:
        return f.read().rstrip(b"\r\n")


def _secret_bytes(secret: Secret) -> bytes:
    return secret.encode() if isinstance(secret, str) else bytes(secret)


async def connect(
    host: str,
    port: int,
    *,
    secret: Secret,
    tls: TlsOption = None,
    client_id: Optional[str] = None,
    timeout: float = 10.0,
    request_timeout: float = 30.0,
) -> Client:
    """Connects to the master at ``host:port`` and authenticates with ``secret``.

    ``tls``: None/False for plain TCP, True for TLS with the system's trust store, or an
    :class:`ssl.SSLContext`. ``timeout`` bounds connecting and the handshake;
    ``request_timeout`` bounds each request's wait for its reply.

    Raises :class:`~buildnet.errors.AuthError` for a wrong secret,
    :class:`~buildnet.errors.VersionMismatchError`, :class:`~buildnet.errors.HandshakeError`,
    or ``OSError`` when the master cannot be reached.
    """
    client = Client(client_id or f"py-client-{uuid.uuid4().hex[:8]}", request_timeout)
    client._connection = await open_connection(
        host,
        port,
        secret=_secret_bytes(secret),
        role="client",
        peer_id=client.client_id,
        tls=tls,
        handler=client._on_message,
        timeout=timeout,
    )
    client._watch = asyncio.ensure_future(client._watch_connection())
    return client


@dataclasses.dataclass(frozen=True)
class BuildResult:
    """How a build ended. ``ok``: it succeeded; then ``outputs`` are the requested targets' output
    files (fetch them with :meth:`Blobs.get`); else ``error`` and ``failed_targets`` say why."""

    build_id: str
    ok: bool
    duration_ms: Optional[int] = None
    cache_hits: Optional[int] = None
    executed: Optional[int] = None
    outputs: tuple[Output, ...] = ()
    error: Optional[str] = None
    failed_targets: tuple[str, ...] = ()

    def check(self) -> BuildResult:
        """Returns self if the build succeeded, else raises :class:`BuildFailedError`."""
        if not self.ok:
            failed = f" (failed: {', '.join(self.failed_targets)})" if self.failed_targets else ""
            raise BuildFailedError(self, f"build {self.build_id} failed: {self.error}{failed}")
        return self


@dataclasses.dataclass(frozen=True)
class BuildEvent:
    """One event of a build, in arrival order.

    ``kind`` is first ``build_started``; then the subscription's EVENT kinds, spelled as on the
    wire and in the HTTP API (docs/PROTOCOL.md): ``target_started``, ``target_finished``
    (``status``, one of :data:`TARGET_STATUSES`), ``log`` (``stream`` and ``line``) and
    ``build_finished`` (``status``, one of :data:`BUILD_STATUSES`); ``progress`` (``target``,
    ``status`` = its phase, ``completed`` of ``total``); and last ``completed`` or ``failed``,
    carrying ``result``.
    """

    kind: str
    build_id: str
    target: Optional[str] = None
    status: Optional[str] = None
    stream: Optional[str] = None
    line: Optional[str] = None
    completed: Optional[int] = None
    total: Optional[int] = None
    at: Optional[int] = None
    result: Optional[BuildResult] = None


class Build:
    """A submitted (or re-attached) build: iterate :meth:`events`, await :meth:`result`, or
    :meth:`cancel`. After a lost connection, :meth:`Client.attach` with :attr:`build_id`,
    :attr:`last_event_seq` and :attr:`logs` gets the events missed and the result."""

    def __init__(
        self,
        client: Client,
        build_id: str,
        subscription_id: Optional[str],
        *,
        logs: bool = False,
        numbered: bool = False,
        since: int = 0,
    ) -> None:
        self._client = client
        self.build_id = build_id
        #: Whether the events include log lines (a re-attach must ask the same).
        self.logs = logs
        # Whether EVENT seq are the build's own event numbers (a 1.3 master, SUBSCRIBE since).
        self._numbered = numbered
        self._last_seq = since
        self._subscription_id = subscription_id
        self._queue: asyncio.Queue[Union[BuildEvent, BaseException]] = asyncio.Queue()
        self._result: asyncio.Future[BuildResult] = asyncio.get_running_loop().create_future()
        self._finished_seen = subscription_id is None
        self._terminal: Optional[BuildEvent] = None
        self._grace: Optional[asyncio.TimerHandle] = None
        self._ended = False

    async def events(self) -> AsyncIterator[BuildEvent]:
        """The build's events until (and including) the terminal ``completed``/``failed`` one.
        One consumer only. Raises :class:`ConnectionLostError` if the connection is lost first."""
        while True:
            item = await self._queue.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if item.kind in ("completed", "failed"):
                return

    async def result(self, timeout: Optional[float] = None) -> BuildResult:
        """Waits for the build to end (at most ``timeout`` s if given) and returns its result."""
        return await asyncio.wait_for(asyncio.shield(self._result), timeout)

    @property
    def done(self) -> bool:
        return self._result.done()

    @property
    def last_event_seq(self) -> int:
        """The number, in the build, of the last event received (0: none, or a master older
        than protocol 1.3, which does not number them): pass it to :meth:`Client.attach`."""
        return self._last_seq if self._numbered else 0

    async def cancel(self, reason: Optional[str] = None) -> None:
        """Asks the master to cancel the build; it then ends as failed. Raises
        :class:`RemoteError` (``NOT_FOUND``) if the master does not know it (any more)."""
        await self._client._request(BuildCancel(self.build_id, reason))

    # ---- fed by the client's connection ------------------------------------------------------

    def _put(self, event: BuildEvent) -> None:
        if not self._ended:
            self._queue.put_nowait(event)

    def _on_event(self, e: Event) -> None:
        self._last_seq = max(self._last_seq, e.seq)
        kind = e.kind
        if kind == "build_started":
            return  # submit queued its own first; an attach streams what follows it
        self._put(BuildEvent(kind, e.build_id, e.target, e.status, e.stream, e.line, at=e.at))
        if kind == "build_finished":
            self._finished_seen = True
            if self._terminal is not None:
                self._end()

    def _on_progress(self, p: BuildProgress) -> None:
        self._put(
            BuildEvent(
                "progress",
                p.build_id,
                p.target,
                p.phase,
                p.stream,
                p.message,
                completed=p.completed,
                total=p.total,
            )
        )

    def _on_terminal(self, p: Union[BuildCompleted, BuildFailed]) -> None:
        if self._terminal is not None:
            return
        if isinstance(p, BuildCompleted):
            r = BuildResult(
                p.build_id, True, p.duration_ms, p.cache_hits, p.executed, p.outputs or ()
            )
        else:
            r = BuildResult(p.build_id, False, error=p.error, failed_targets=p.failed_targets or ())
        self._terminal = BuildEvent("completed" if r.ok else "failed", p.build_id, result=r)
        if not self._result.done():
            self._result.set_result(r)
        if self._finished_seen:
            self._end()
        else:
            # The subscription's last events may still be on their way.
            self._grace = asyncio.get_running_loop().call_later(_FINISH_GRACE_S, self._end)

    def _end(self) -> None:
        if self._ended or self._terminal is None:
            return
        if self._grace is not None:
            self._grace.cancel()
        self._put(self._terminal)
        self._ended = True
        self._client._forget(self)

    def _fail(self, e: BaseException) -> None:
        if self._ended:
            return
        self._ended = True
        if self._grace is not None:
            self._grace.cancel()
        if not self._result.done():
            self._result.set_exception(e)
            self._result.exception()  # retrieved: nobody need await result()
        self._queue.put_nowait(e)


class State:
    """The master's key-value state. Values are bytes; ``ttl`` is in seconds."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def get(self, key: str) -> Optional[bytes]:
        """The value under ``key``, or None if absent (or expired)."""
        r = await self._state(StateGet(key))
        return r.value if r.found else None

    async def set(self, key: str, value: bytes, *, ttl: Optional[float] = None) -> bool:
        """Stores ``value``; returns whether a live value existed before."""
        return (await self._state(StateSet(key, bytes(value), _ms(ttl)))).found

    async def set_if_absent(self, key: str, value: bytes, *, ttl: Optional[float] = None) -> bool:
        """Stores ``value`` only if ``key`` holds no live value; returns whether it was stored."""
        r = await self._state(StateSet(key, bytes(value), _ms(ttl), if_absent=True))
        return bool(r.applied)

    async def compare_and_set(self, key: str, expected: bytes, value: bytes) -> bool:
        """Stores ``value`` only if the current value is ``expected``; returns whether it was."""
        r = await self._state(StateSet(key, bytes(value), expected=bytes(expected)))
        return bool(r.applied)

    async def delete(self, key: str) -> bool:
        """Deletes ``key``; returns whether a live value was removed."""
        return (await self._state(StateDelete(key))).found

    async def keys(self, prefix: str = "") -> list[str]:
        """The live keys starting with ``prefix``, ascending."""
        return list((await self._state(StateKeys(prefix))).keys or ())

    async def increment(self, key: str, delta: int = 1) -> int:
        """Adds ``delta`` to the decimal integer under ``key`` (absent: 0); returns the result."""
        r = await self._state(StateIncrement(key, delta))
        assert r.number is not None
        return r.number

    async def _state(
        self, payload: Union[StateGet, StateSet, StateDelete, StateKeys, StateIncrement]
    ) -> StateResponse:
        m = await self._client._request(payload)
        assert isinstance(m.payload, StateResponse)
        return m.payload


def _ms(seconds: Optional[float]) -> Optional[int]:
    return None if seconds is None else max(1, round(seconds * 1000))


class Lock:
    """A named lock with a lease; an async context manager (acquire on enter, release on exit).

    ``token`` is the fencing token (decimal text, strictly increasing per lock name): pass it to
    whatever the lock protects so that a holder whose lease lapsed is refused there.
    """

    def __init__(
        self, client: Client, name: str, lease: float, wait: float, holder: Optional[str]
    ) -> None:
        if lease <= 0:
            raise ValueError(f"lease must be positive but was {lease}")
        if wait < 0:
            raise ValueError(f"wait must not be negative but was {wait}")
        self._client = client
        self.name = name
        self.lease = lease
        self.wait = wait
        self.holder = holder or client.client_id
        self.token: Optional[str] = None
        self.expires_at: Optional[int] = None

    @property
    def fencing_token(self) -> int:
        """The fencing token as a number (raises ``RuntimeError`` if not held)."""
        return int(self._held())

    async def try_acquire(self) -> bool:
        """One attempt: True if granted (then ``token`` is set)."""
        if self.token is not None:
            raise RuntimeError(f"lock {self.name!r} is already held by this object")
        r = await self._lock(LockAcquire(self.name, self.holder, _ms(self.lease) or 1))
        if r.granted:
            self.token, self.expires_at = r.token, r.expires_at
        return r.granted

    async def acquire(self) -> Lock:
        """Acquires the lock, retrying for up to ``wait`` seconds (the master does not queue
        waiters); raises :class:`LockUnavailableError` if it stays held by another."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        pause = 0.02
        while not await self.try_acquire():
            left = deadline - loop.time()
            if left <= 0:
                raise LockUnavailableError(self.name, self.wait)
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, 0.5)
        return self

    async def renew(self, lease: Optional[float] = None) -> None:
        """Extends the lease to ``lease`` (default: the original) from now; raises
        :class:`LockNotHeldError` if it lapsed or was released."""
        token = self._held()
        r = await self._lock(
            LockRenew(self.name, self.holder, token, _ms(lease or self.lease) or 1)
        )
        if not r.granted:
            raise LockNotHeldError(
                "LOCK_RENEW", int(ErrorCode.LOCK_NOT_HELD), f"lock {self.name!r} is no longer held"
            )
        self.expires_at = r.expires_at

    async def release(self) -> None:
        """Releases the lock; raises :class:`LockNotHeldError` if the lease had lapsed."""
        token = self._held()
        self.token = None
        await self._lock(LockRelease(self.name, token, self.holder))

    def _held(self) -> str:
        if self.token is None:
            raise RuntimeError(f"lock {self.name!r} is not held")
        return self.token

    async def _lock(self, payload: Union[LockAcquire, LockRenew, LockRelease]) -> LockResponse:
        m = await self._client._request(payload)
        assert isinstance(m.payload, LockResponse)
        return m.payload

    async def __aenter__(self) -> Lock:
        return await self.acquire()

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if self.token is not None:
            await self.release()


class Client:
    """A connection to a master as a client; create with :func:`connect`. Async context manager
    (closes on exit)."""

    def __init__(self, client_id: str, request_timeout: float) -> None:
        self.client_id = client_id
        self._request_timeout = request_timeout
        self._connection: Optional[Connection] = None
        self._watch: Optional[asyncio.Future[None]] = None
        self._builds: dict[str, Build] = {}
        self._subscriptions: dict[str, Build] = {}
        self.state = State(self)
        self.blobs = Blobs(self._conn, timeout=request_timeout)

    @property
    def master_id(self) -> str:
        return self._conn().master_id

    @property
    def is_connected(self) -> bool:
        return self._connection is not None and self._connection.is_open

    async def submit(
        self,
        targets: Sequence[str],
        *,
        keep_going: bool = False,
        force: bool = False,
        env: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
        logs: bool = True,
        build_id: Optional[str] = None,
    ) -> Build:
        """Submits a build of ``targets`` and returns once the master has started it.

        ``force``: the requested targets ignore cache hits. ``env``: values for variables the
        targets pass through from the master's environment, for this build only (part of those
        targets' cache keys). ``timeout``: a cap in seconds on each target's run time.

        Subscribes to the build's events first (with log lines if ``logs``), so no event is
        missed. Raises :class:`RemoteError` if the master refuses the build.
        """
        if isinstance(targets, str):
            raise TypeError("targets must be a sequence of target names, not one str")
        timeout_ms = None if timeout is None else max(1, round(timeout * 1000))
        bid = build_id or f"py-{uuid.uuid4().hex[:16]}"
        sid = f"sub-{bid}"
        # From protocol 1.3 the events carry the build's own numbers (SUBSCRIBE since=0), so a
        # client that loses its connection can re-attach from the last one it saw.
        numbered = self._conn().minor >= 3
        build = Build(self, bid, sid, logs=logs, numbered=numbered)
        # Queued first: the build's own events may arrive before BUILD_STARTED's reply is seen.
        build._put(BuildEvent("build_started", bid))
        self._builds[bid] = build
        self._subscriptions[sid] = build
        try:
            try:
                await self._request(Subscribe(sid, bid, logs or None, 0 if numbered else None))
            except RemoteError as e:
                log.info("the master refused to stream events of %s: %s", bid, e)
                self._subscriptions.pop(sid, None)
                build._subscription_id = None
                build._finished_seen = True
            await self._request(
                BuildRequest(
                    bid,
                    tuple(targets),
                    keep_going=keep_going or None,
                    force=force or None,
                    env=dict(env) if env else None,
                    timeout_ms=timeout_ms,
                )
            )
        except BaseException:
            self._forget(build)
            raise
        return build

    async def attach(self, build_id: str, *, since: int = 0, logs: bool = False) -> Build:
        """Re-attaches to a build on the master (protocol 1.3), e.g. one this client followed
        before its connection dropped: ``await client.attach(b.build_id,
        since=b.last_event_seq, logs=b.logs)``. The returned build's events are those numbered
        above ``since`` (replayed from the master's buffer, then live), and its result arrives
        whether the build ended while the client was away or ends later.

        Raises :class:`RemoteError` (``NOT_FOUND``) if ``since > 0`` and the master does not
        keep the build (any more).
        """
        if since < 0:
            raise ValueError(f"since must be >= 0 but was {since}")
        if self._conn().minor < 3:
            raise RemoteError(
                "SUBSCRIBE",
                int(ErrorCode.UNSUPPORTED),
                f"the master speaks protocol 1.{self._conn().minor}; re-attaching needs 1.3",
            )
        if build_id in self._builds:
            raise ValueError(f"this client already follows build {build_id!r}")
        sid = f"att-{build_id}-{uuid.uuid4().hex[:8]}"
        build = Build(self, build_id, sid, logs=logs, numbered=True, since=since)
        self._builds[build_id] = build
        self._subscriptions[sid] = build
        try:
            await self._request(Subscribe(sid, build_id, logs or None, since))
        except BaseException:
            self._forget(build)
            raise
        return build

    def lock(
        self, name: str, *, lease: float = 30.0, wait: float = 0.0, holder: Optional[str] = None
    ) -> Lock:
        """A lock object (not yet acquired): ``async with c.lock("deploy", lease=10) as lock``.
        ``lease`` in seconds; ``wait``: how long acquiring retries while another holds it."""
        return Lock(self, name, lease, wait, holder)

    async def close(self) -> None:
        """Closes the connection (idempotent); unfinished builds fail with
        :class:`ConnectionLostError` (the master keeps running them)."""
        if self._connection is not None:
            await self._connection.close()
        if self._watch is not None:
            with contextlib.suppress(BaseException):
                await self._watch

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.close()

    # ---- internals ---------------------------------------------------------------------------

    def _conn(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("the client is not connected")
        return self._connection

    async def _request(self, payload: Payload) -> Message:
        return await self._conn().request(payload, timeout=self._request_timeout)

    def _on_message(self, m: Message) -> None:
        p = m.payload
        if isinstance(p, Event):
            build = self._subscriptions.get(p.subscription_id)
            if build is not None:
                build._on_event(p)
        elif isinstance(p, BuildProgress):
            build = self._builds.get(p.build_id)
            if build is not None:
                build._on_progress(p)
        elif isinstance(p, (BuildCompleted, BuildFailed)) and p.target is None:
            build = self._builds.get(p.build_id)
            if build is not None:
                build._on_terminal(p)
        elif not isinstance(p, _REPLIES) and self._connection is not None:
            # A request a client does not serve is answered, so its sender need not wait for a
            # timeout; only replies are dropped (docs/PROTOCOL.md, "Unsolicited replies").
            reply = ErrorReply(
                int(ErrorCode.UNSUPPORTED), f"a client does not serve {m.type.name}", False, m.id
            )
            task = asyncio.ensure_future(self._connection.send(reply))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
        else:
            log.debug("client %s ignores %s", self.client_id, m.type.name)

    def _forget(self, build: Build) -> None:
        self._builds.pop(build.build_id, None)
        sid = build._subscription_id
        if sid is not None and self._subscriptions.pop(sid, None) is not None:
            c = self._connection
            if c is not None and c.is_open:
                task = asyncio.ensure_future(c.send(Unsubscribe(sid)))
                task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def _watch_connection(self) -> None:
        reason = await self._conn().wait_closed()
        for b in list(self._builds.values()):
            b._fail(reason)
        self._builds.clear()
        self._subscriptions.clear()
