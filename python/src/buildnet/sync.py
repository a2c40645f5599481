"""A thin blocking facade over the asyncio client, for scripts::

    with buildnet.sync.connect("127.0.0.1", 7890, secret=secret) as c:
        c.state.set("greeting", b"hi")
        build = c.submit(["app"])
        for ev in build.events():
            print(ev.kind, ev.line or "")
        print(build.result().check().outputs)

The client runs on a private event loop in a daemon thread (``buildnet-sync``); every method
blocks the caller until the coroutine it wraps is done and raises what it raised. Safe to call
from several threads.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any, Optional, TypeVar, Union

from buildnet import client as _client

if TYPE_CHECKING:
    import os
    from collections.abc import Coroutine, Iterator, Mapping, Sequence
    from types import TracebackType

    from buildnet._connection import TlsOption
    from buildnet.client import BuildEvent, BuildResult

__all__ = ["SyncBlobs", "SyncBuild", "SyncClient", "SyncLock", "SyncState", "connect"]

_T = TypeVar("_T")


class _Loop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="buildnet-sync", daemon=True
        )
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        if not self.thread.is_alive():
            self.loop.close()


def connect(
    host: str,
    port: int,
    *,
    secret: Union[bytes, str],
    tls: TlsOption = None,
    client_id: Optional[str] = None,
    timeout: float = 10.0,
    request_timeout: float = 30.0,
) -> SyncClient:
    """Blocking :func:`buildnet.connect`; same arguments and errors."""
    loop = _Loop()
    try:
        c = loop.call(
            _client.connect(
                host,
                port,
                secret=secret,
                tls=tls,
                client_id=client_id,
                timeout=timeout,
                request_timeout=request_timeout,
            )
        )
    except BaseException:
        loop.stop()
        raise
    return SyncClient(loop, c)


class SyncState:
    """Blocking :class:`buildnet.client.State`."""

    def __init__(self, loop: _Loop, state: _client.State) -> None:
        self._loop, self._state = loop, state

    def get(self, key: str) -> Optional[bytes]:
        return self._loop.call(self._state.get(key))

    def set(self, key: str, value: bytes, *, ttl: Optional[float] = None) -> bool:
        return self._loop.call(self._state.set(key, value, ttl=ttl))

    def set_if_absent(self, key: str, value: bytes, *, ttl: Optional[float] = None) -> bool:
        return self._loop.call(self._state.set_if_absent(key, value, ttl=ttl))

    def compare_and_set(self, key: str, expected: bytes, value: bytes) -> bool:
        return self._loop.call(self._state.compare_and_set(key, expected, value))

    def delete(self, key: str) -> bool:
        return self._loop.call(self._state.delete(key))

    def keys(self, prefix: str = "") -> list[str]:
        return self._loop.call(self._state.keys(prefix))

    def increment(self, key: str, delta: int = 1) -> int:
        return self._loop.call(self._state.increment(key, delta))


class SyncLock:
    """Blocking :class:`buildnet.client.Lock`; a context manager."""

    def __init__(self, loop: _Loop, lock: _client.Lock) -> None:
        self._loop, self._lock = loop, lock

    @property
    def token(self) -> Optional[str]:
        return self._lock.token

    @property
    def fencing_token(self) -> int:
        return self._lock.fencing_token

    def acquire(self) -> SyncLock:
        self._loop.call(self._lock.acquire())
        return self

    def try_acquire(self) -> bool:
        return self._loop.call(self._lock.try_acquire())

    def renew(self, lease: Optional[float] = None) -> None:
        self._loop.call(self._lock.renew(lease))

    def release(self) -> None:
        self._loop.call(self._lock.release())

    def __enter__(self) -> SyncLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if self._lock.token is not None:
            self.release()


class SyncBlobs:
    """Blocking :class:`buildnet._blobs.Blobs`."""

    def __init__(self, loop: _Loop, c: _client.Client) -> None:
        self._loop, self._c = loop, c

    def missing(self, digests: Sequence[str]) -> list[str]:
        return self._loop.call(self._c.blobs.missing(digests))

    def put(self, path: Union[str, os.PathLike[str]]) -> str:
        return self._loop.call(self._c.blobs.put(path))

    def get(self, digest: str, path: Union[str, os.PathLike[str]]) -> int:
        return self._loop.call(self._c.blobs.get(digest, path))


class SyncBuild:
    """Blocking :class:`buildnet.client.Build`."""

    def __init__(self, loop: _Loop, build: _client.Build) -> None:
        self._loop, self._build = loop, build
        self.build_id = build.build_id
        self.logs = build.logs

    @property
    def last_event_seq(self) -> int:
        """See :attr:`buildnet.client.Build.last_event_seq`."""
        return self._build.last_event_seq

    def events(self) -> Iterator[BuildEvent]:
        agen = self._build.events()

        async def step() -> BuildEvent:
            return await agen.__anext__()

        while True:
            try:
                yield self._loop.call(step())
            except StopAsyncIteration:
                return

    def result(self, timeout: Optional[float] = None) -> BuildResult:
        return self._loop.call(self._build.result(timeout))

    def cancel(self, reason: Optional[str] = None) -> None:
        self._loop.call(self._build.cancel(reason))


class SyncClient:
    """Blocking :class:`buildnet.client.Client`; a context manager (closes on exit)."""

    def __init__(self, loop: _Loop, c: _client.Client) -> None:
        self._loop, self._c = loop, c
        self.client_id = c.client_id
        self.state = SyncState(loop, c.state)
        self.blobs = SyncBlobs(loop, c)
        self._closed = False

    def submit(
        self,
        targets: Sequence[str],
        *,
        keep_going: bool = False,
        force: bool = False,
        env: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
        logs: bool = True,
        build_id: Optional[str] = None,
    ) -> SyncBuild:
        b = self._loop.call(
            self._c.submit(
                targets,
                keep_going=keep_going,
                force=force,
                env=env,
                timeout=timeout,
                logs=logs,
                build_id=build_id,
            )
        )
        return SyncBuild(self._loop, b)

    def attach(self, build_id: str, *, since: int = 0, logs: bool = False) -> SyncBuild:
        """See :meth:`buildnet.client.Client.attach`."""
        return SyncBuild(
            self._loop, self._loop.call(self._c.attach(build_id, since=since, logs=logs))
        )

    def lock(
        self, name: str, *, lease: float = 30.0, wait: float = 0.0, holder: Optional[str] = None
    ) -> SyncLock:
        return SyncLock(self._loop, self._c.lock(name, lease=lease, wait=wait, holder=holder))

    def close(self) -> None:
        """Closes the connection and stops the private loop. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self._loop.call(self._c.close())
        finally:
            self._loop.stop()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
