"""A build worker: runs the target attempts a master sends (TARGET_RUN, ``docs/PROTOCOL.md``).

::

    worker = buildnet.Worker(capabilities=["python", "pytest"], slots=2)
    await worker.run("master.example", 7890, secret=secret)   # until worker.close()

Each attempt runs in a private sandbox directory (deleted afterwards) with exactly the
environment the master sends, in its own process group so that a cancel or timeout kills the
whole process tree. Input blobs come from a local content-addressed store, fetched from the
master only when missing and re-verified on every copy into a sandbox (a corrupt entry is
deleted and fetched once more); outputs are uploaded in chunks streamed from the files, or, for
a TARGET_RUN with ``keep_outputs`` (deferred outputs; the worker advertises ``keep-outputs``),
kept in the local store and served to the master by BLOB_GET when it needs them. When the
connection drops, the attempts received over it are killed and the worker reconnects with
exponential backoff and jitter; kept outputs stay in the store for a master that reconnects.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import os
import random
import shutil
import signal
import stat
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Optional, Union

from buildnet import _digests
from buildnet._blobs import Blobs
from buildnet._connection import Connection, TlsOption, open_connection
from buildnet.client import _secret_bytes, read_secret
from buildnet.errors import (
    AuthError,
    BlobTransferError,
    ConnectionLostError,
    HandshakeError,
    VersionMismatchError,
)
from buildnet.protocol import (
    MAX_CHUNK_BYTES,
    Ack,
    BlobChunk,
    BlobGet,
    BuildCompleted,
    BuildFailed,
    BuildProgress,
    BuildStarted,
    ErrorCode,
    ErrorReply,
    Message,
    Output,
    TargetCancel,
    TargetRun,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from buildnet.protocol.payloads import Payload

__all__ = ["Worker", "main"]

log = logging.getLogger("buildnet.worker")

_Key = tuple[str, str, int]
_PIPE_READ = 1 << 16
#: A log line longer than this is sent in pieces.
_MAX_LINE = 1 << 16
#: The capability of a worker that honours TARGET_RUN ``keep_outputs`` (as every Java worker does).
KEEP_OUTPUTS = "keep-outputs"


class _Failure(Exception):
    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class Worker:
    """A worker process's connection to its master and the attempts it runs.

    ``capabilities`` are matched against targets' ``requires`` (``keep-outputs`` is always
    added: deferred outputs); at most ``slots`` attempts run at once (one more is refused with
    ERROR ``BUSY``). ``work_dir`` holds the sandboxes and the local blob store, which also holds
    the outputs kept for the master (default: a temp directory, deleted by :meth:`close`; a given
    one keeps its store across runs; nothing is evicted while the worker runs, as on a Java
    worker). Use from one event loop.
    """

    def __init__(
        self,
        *,
        capabilities: Sequence[str] = (),
        slots: int = 1,
        memory_mb: int = 1024,
        worker_id: Optional[str] = None,
        work_dir: Optional[Union[str, os.PathLike[str]]] = None,
        initial_backoff: float = 0.2,
        max_backoff: float = 30.0,
        request_timeout: float = 60.0,
    ) -> None:
        if isinstance(capabilities, str):
            raise TypeError("capabilities must be a sequence of names, not one str")
        if slots < 1:
            raise ValueError(f"slots must be at least 1 but was {slots}")
        if memory_mb < 1:
            raise ValueError(f"memory_mb must be at least 1 but was {memory_mb}")
        if not 0 < initial_backoff <= max_backoff:
            raise ValueError(
                f"backoff must satisfy 0 < initial ({initial_backoff}) <= max ({max_backoff})"
            )
        caps = tuple(capabilities)
        self.capabilities = caps if KEEP_OUTPUTS in caps else (*caps, KEEP_OUTPUTS)
        self.slots = slots
        self.memory_mb = memory_mb
        self.worker_id = worker_id or f"py-worker-{uuid.uuid4().hex[:8]}"
        self._owns_work_dir = work_dir is None
        self.work_dir = Path(
            tempfile.mkdtemp(prefix="buildnet-worker-") if work_dir is None else work_dir
        ).absolute()
        self._sandboxes = self.work_dir / "sandboxes"
        self._cas = self.work_dir / "cas"
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._request_timeout = request_timeout
        self._attempts: dict[_Key, _Attempt] = {}
        self._fetching: dict[str, asyncio.Future[None]] = {}
        # BLOB_GETs from the master are served one at a time, in order (as on a Java worker).
        self._serving: Optional[asyncio.Lock] = None
        self._connection: Optional[Connection] = None
        self._connected: Optional[asyncio.Event] = None
        self._closing: Optional[asyncio.Event] = None
        self._task: Optional[asyncio.Task[None]] = None
        self.connection_count = 0

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        return self._connection is not None and self._connection.is_open

    @property
    def running_attempts(self) -> int:
        return len(self._attempts)

    def start(
        self, host: str, port: int, *, secret: Union[bytes, str], tls: TlsOption = None
    ) -> asyncio.Task[None]:
        """Runs :meth:`run` in a task of the running loop and returns it."""
        if self._task is not None:
            raise RuntimeError(f"worker {self.worker_id} was already started")
        self._task = asyncio.ensure_future(self.run(host, port, secret=secret, tls=tls))
        return self._task

    async def wait_connected(self, timeout: float) -> bool:
        """Waits up to ``timeout`` s until the worker is connected; returns whether it is."""
        self._events()
        assert self._connected is not None
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def run(
        self, host: str, port: int, *, secret: Union[bytes, str], tls: TlsOption = None
    ) -> None:
        """Connects and serves the master until :meth:`close`, reconnecting with backoff.

        Returns after :meth:`close`; raises :class:`AuthError` or
        :class:`VersionMismatchError` at once (retrying cannot help), and re-raises
        cancellation.
        """
        connected, closing = self._events()
        key = _secret_bytes(secret)
        self._sandboxes.mkdir(parents=True, exist_ok=True)
        failures = 0
        while not closing.is_set():
            conn: Optional[Connection] = None
            # Named once open_connection returned, before the connection's reader task first
            # runs and calls the handler.
            box: list[Connection] = []
            try:
                conn = await open_connection(
                    host,
                    port,
                    secret=key,
                    role="worker",
                    peer_id=self.worker_id,
                    tls=tls,
                    capabilities=self.capabilities,
                    cpu_slots=self.slots,
                    memory_mb=self.memory_mb,
                    handler=self._handler(box),
                    running=lambda: len(self._attempts),
                )
                box.append(conn)
            except (AuthError, VersionMismatchError):
                raise
            except (OSError, ConnectionLostError, HandshakeError) as e:
                log.info(
                    "worker %s: cannot reach the master %s:%s: %s", self.worker_id, host, port, e
                )
            if conn is not None:
                failures = 0
                self._connection = conn
                self.connection_count += 1
                connected.set()
                log.info(
                    "worker %s connected to %s (%s:%s)", self.worker_id, conn.master_id, host, port
                )
                await _first(conn.wait_closed(), closing.wait())
                await conn.close()
                connected.clear()
                self._connection = None
                # Wait for them to end before advertising the slots again, or the master's
                # re-queued work would find the worker busy.
                await self._cancel_all(conn, "the connection to the master dropped")
                if closing.is_set():
                    break
                log.info("worker %s lost the master; reconnecting", self.worker_id)
            delay = self._backoff(failures)
            failures += 1
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(closing.wait(), delay)

    async def close(self) -> None:
        """Kills running attempts, closes the connection, waits for :meth:`run` to return, and
        deletes the sandboxes (and the work directory if the worker created it). Idempotent."""
        _, closing = self._events()
        closing.set()
        await self._cancel_all(None, "the worker is closing")
        if self._connection is not None:
            await self._connection.close()
        if self._task is not None and self._task is not asyncio.current_task():
            with contextlib.suppress(BaseException):
                await self._task
        shutil.rmtree(self.work_dir if self._owns_work_dir else self._sandboxes, ignore_errors=True)

    async def __aenter__(self) -> Worker:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _events(self) -> tuple[asyncio.Event, asyncio.Event]:
        # Created lazily so that they belong to the loop that uses the worker (Python 3.9).
        if self._connected is None or self._closing is None:
            self._connected = asyncio.Event()
            self._closing = asyncio.Event()
        return self._connected, self._closing

    def _backoff(self, failures: int) -> float:
        """Exponential up to the maximum, with "equal jitter" (50-100% of the delay)."""
        delay = min(self._max_backoff, self._initial_backoff * (2 ** min(failures, 30)))
        return float(delay / 2 + random.uniform(0, delay / 2))

    async def _cancel_all(self, conn: Optional[Connection], reason: str) -> None:
        victims = [a for a in self._attempts.values() if conn is None or a.conn is conn]
        for a in victims:
            a.cancel(reason)
        tasks = [a.task for a in victims if a.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=30)

    # ---- messages --------------------------------------------------------------------------

    def _handler(self, box: list[Connection]) -> Callable[[Message], None]:
        return lambda m: self._on_message(box[0], m)

    def _on_message(self, conn: Connection, m: Message) -> None:
        p = m.payload
        if isinstance(p, TargetRun):
            self._on_run(conn, m, p)
        elif isinstance(p, TargetCancel):
            a = self._attempts.get((p.build_id, p.target, p.attempt))
            if a is None or a.conn is not conn:
                self._reply(
                    conn,
                    ErrorReply(
                        int(ErrorCode.NOT_FOUND),
                        f"attempt {p.attempt} of {p.target} is not running here",
                        False,
                        m.id,
                    ),
                )
                return
            a.cancel(p.reason or "cancelled by the master")
            self._reply(conn, Ack(m.id))
        elif isinstance(p, BlobGet):
            task = asyncio.ensure_future(self._serve_blob(conn, m.id, p))
            task.add_done_callback(_ignore_result)
        elif getattr(p, "reply_to", None) is None:
            self._reply(
                conn,
                ErrorReply(
                    int(ErrorCode.UNSUPPORTED),
                    f"a worker does not serve {m.type.name}",
                    False,
                    m.id,
                ),
            )

    def _reply(self, conn: Connection, payload: Payload) -> None:
        task = asyncio.ensure_future(conn.send(payload))
        task.add_done_callback(_ignore_result)

    def _on_run(self, conn: Connection, m: Message, run: TargetRun) -> None:
        key = (run.build_id, run.target, run.attempt)
        # A rerun of an attempt it runs is the master's mistake whatever the load: INVALID_PAYLOAD
        # before BUSY, which the master would re-queue (as the Java worker answers).
        if key in self._attempts:
            self._reply(
                conn,
                ErrorReply(
                    int(ErrorCode.INVALID_PAYLOAD),
                    f"attempt {run.attempt} of {run.target} is already running here",
                    False,
                    m.id,
                ),
            )
            return
        closing = self._closing is not None and self._closing.is_set()
        if closing or len(self._attempts) >= self.slots:
            why = (
                "is closing"
                if closing
                else (f"runs {len(self._attempts)} of {self.slots} attempts already")
            )
            self._reply(
                conn, ErrorReply(int(ErrorCode.BUSY), f"worker {self.worker_id} {why}", False, m.id)
            )
            return
        a = _Attempt(self, conn, m.id, run, self._sandboxes / uuid.uuid4().hex)
        self._attempts[key] = a
        a.task = asyncio.ensure_future(a.run())

    def _release(self, a: _Attempt) -> None:
        if self._attempts.get(a.key) is a:
            del self._attempts[a.key]

    # ---- local blob store ------------------------------------------------------------------

    def _cas_path(self, digest: str) -> Path:
        algorithm, hexdigits = _digests.parse(digest)
        return self._cas / algorithm / hexdigits[:2] / hexdigits

    def _keep(self, algorithm: str, src: Path) -> tuple[str, int]:
        """Copies an output into the local store, hashing it as it goes (off the event loop);
        returns its ``(digest, size)``."""
        tmp_dir = self._cas / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = tmp_dir / f"keep-{uuid.uuid4().hex}"
        try:
            digest = _digests.copy_hashed(algorithm, src, tmp)
            size = tmp.stat().st_size
            dest = self._cas_path(digest)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, dest)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return digest, size

    async def _serve_blob(self, conn: Connection, mid: str, p: BlobGet) -> None:
        """BLOB_GET from the master: a blob of the local store (kept outputs), with the master's
        rules (docs/PROTOCOL.md, "Master services"): chunks read and hashed as they go, from
        offset 0 even when ``offset`` is larger, the final one sent only once the whole blob
        hashed to its name; a corrupt blob is deleted and refused."""
        if self._serving is None:
            self._serving = asyncio.Lock()
        async with self._serving:
            try:
                await self._send_blob(conn, mid, p)
            except _BlobRefused as e:
                with contextlib.suppress(ConnectionLostError):
                    await conn.send(ErrorReply(int(e.code), str(e), False, mid))
            except ConnectionLostError:
                pass
            except OSError as e:
                log.warning("worker %s: serving %s failed: %s", self.worker_id, p.digest, e)
                with contextlib.suppress(ConnectionLostError):
                    await conn.send(
                        ErrorReply(
                            int(ErrorCode.INTERNAL),
                            f"worker {self.worker_id} failed to serve the blob: {e}",
                            False,
                            mid,
                        )
                    )

    async def _send_blob(self, conn: Connection, mid: str, p: BlobGet) -> None:
        algorithm = conn.blob_algorithm
        try:
            got, _ = _digests.parse(p.digest)
        except ValueError as e:
            raise _BlobRefused(
                ErrorCode.INVALID_PAYLOAD, f"{p.digest!r} is not a digest: {e}"
            ) from None
        if got != algorithm:
            raise _BlobRefused(
                ErrorCode.INVALID_PAYLOAD,
                f"worker {self.worker_id}'s blob store holds {algorithm} blobs, not {p.digest}",
            )
        step = p.max_chunk or MAX_CHUNK_BYTES
        if not 1 <= step <= MAX_CHUNK_BYTES:
            raise _BlobRefused(ErrorCode.INVALID_PAYLOAD, f"max_chunk must be 1..{MAX_CHUNK_BYTES}")
        start = p.offset or 0
        path = self._cas_path(p.digest)
        loop = asyncio.get_running_loop()
        try:
            f = await loop.run_in_executor(None, _open_rb, path)
        except FileNotFoundError:
            raise _BlobRefused(
                ErrorCode.NOT_FOUND, f"worker {self.worker_id} has no blob {p.digest}"
            ) from None
        hasher = _digests.new_hasher(algorithm)

        def read(n: int) -> bytes:
            data: bytes = f.read(n)
            hasher.update(data)
            return data

        try:
            size = os.fstat(f.fileno()).st_size
            if start > size:
                raise _BlobRefused(
                    ErrorCode.INVALID_PAYLOAD,
                    f"BLOB_GET offset {start} is beyond the end of blob {p.digest} ({size} bytes)",
                )
            pos = 0
            while pos < start:  # hashed from offset 0, so every download is verified
                pos += len(await loop.run_in_executor(None, read, min(start - pos, _PIPE_READ)))
            # One chunk is held back: the last goes out only once the whole blob is verified.
            held = await loop.run_in_executor(None, read, step)
            held_at = pos
            pos += len(held)
            while True:
                data = await loop.run_in_executor(None, read, step)
                if not data:
                    break
                # Waits while the socket's buffer is full: a bounded window, as on the master.
                await conn.send(BlobChunk(mid, held_at, held, False))
                held, held_at = data, pos
                pos += len(data)
        finally:
            await loop.run_in_executor(None, f.close)
        actual = f"{algorithm}:{hasher.hexdigest()}"
        if actual != p.digest:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            log.warning(
                "worker %s: blob %s is corrupt in the local store (its %d bytes hash to %s); "
                "deleted it", self.worker_id, p.digest, pos, actual,
            )  # fmt: skip
            raise _BlobRefused(
                ErrorCode.DIGEST_MISMATCH,
                f"blob {p.digest} is corrupt on worker {self.worker_id} (its {pos} bytes hash to "
                f"{actual}); the worker deleted it: discard what was received",
            )
        await conn.send(BlobChunk(mid, held_at, held, True, p.digest, pos))

    async def _fetch(self, conn: Connection, digest: str) -> Path:
        """The local store's file of ``digest``, downloaded (once, even when asked
        concurrently) if missing."""
        path = self._cas_path(digest)
        while not path.exists():
            pending = self._fetching.get(digest)
            if pending is not None:
                await asyncio.shield(pending)
                continue
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._fetching[digest] = fut
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                await Blobs(lambda: conn, timeout=self._request_timeout).get(digest, path)
                fut.set_result(None)
            except BaseException as e:
                fut.set_exception(e)
                fut.exception()
                raise
            finally:
                del self._fetching[digest]
        return path


def _open_rb(path: Path) -> BinaryIO:
    return open(path, "rb")


class _BlobRefused(Exception):
    """A BLOB_GET answered by ERROR ``code``."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def _ignore_result(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


async def _first(*aws: object) -> None:
    tasks = [asyncio.ensure_future(a) for a in aws]  # type: ignore[call-overload]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()


class _Attempt:
    """One TARGET_RUN: sandbox, inputs, command, outputs, and exactly one terminal reply."""

    def __init__(
        self, worker: Worker, conn: Connection, request_id: str, run: TargetRun, sandbox: Path
    ) -> None:
        self.worker = worker
        self.conn = conn
        self.request_id = request_id
        self.run_msg = run
        self.key: _Key = (run.build_id, run.target, run.attempt)
        self.sandbox = sandbox
        self.task: Optional[asyncio.Future[None]] = None
        self._cancel_reason: Optional[str] = None
        self._proc: Optional[asyncio.subprocess.Process] = None
        self._log_bytes = 0

    def cancel(self, reason: str) -> None:
        if self._cancel_reason is None:
            self._cancel_reason = reason
        self._kill()

    def _kill(self) -> None:
        p = self._proc
        if p is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p.pid, signal.SIGKILL)

    async def run(self) -> None:
        r = self.run_msg
        start = time.monotonic()
        try:
            await self._send(
                BuildStarted(
                    self.request_id, r.build_id, r.target, r.attempt, self.worker.worker_id
                )
            )
            terminal: Payload = await self._execute(start)
        except _Failure as f:
            terminal = BuildFailed(r.build_id, str(f), r.target, r.attempt, retryable=f.retryable)
        except asyncio.CancelledError:
            self._kill()
            self._finish()
            raise
        except Exception as e:
            log.warning("attempt %s failed unexpectedly", self.key, exc_info=True)
            terminal = BuildFailed(
                r.build_id, f"the worker failed: {e!r}", r.target, r.attempt, retryable=True
            )
        self._kill()
        try:
            # A sandbox may hold many files: delete it off the event loop.
            await asyncio.get_running_loop().run_in_executor(
                None, functools.partial(shutil.rmtree, self.sandbox, ignore_errors=True)
            )
        finally:
            self._finish()
        with contextlib.suppress(ConnectionLostError):
            await self._send(terminal)

    def _finish(self) -> None:
        self._kill()
        shutil.rmtree(self.sandbox, ignore_errors=True)
        self.worker._release(self)

    async def _send(self, payload: Payload) -> None:
        if self.conn.is_open:
            await self.conn.send(payload)

    async def _execute(self, start: float) -> Payload:
        r = self.run_msg
        if r.bundler is not None:
            # The master sends bundler runs only to workers advertising bundler:<name>, which a
            # Python worker never does; refuse clearly rather than run argv.
            raise _Failure(f"this Python worker has no bundler {r.bundler!r}", False)
        cwd = self._inside("cwd", r.cwd, empty_is_root=True)
        inputs = [(self._inside("input", i.path), i) for i in r.inputs]
        outputs = [(self._inside("output", o), o) for o in r.outputs]
        self.sandbox.mkdir(parents=True)
        await self._materialize(inputs)
        try:
            cwd.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise _Failure(f"cannot create the working directory {r.cwd!r}: {e}", True) from e
        try:
            for path, _ in outputs:  # a command writes out/lib/A.class without making out/lib
                path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise _Failure(f"cannot create the parent directories of the outputs: {e}", True) from e
        exit_code, timed_out = await self._command(cwd)
        duration_ms = int((time.monotonic() - start) * 1000)
        if self._cancel_reason is not None:
            return BuildFailed(
                r.build_id, f"cancelled: {self._cancel_reason}", r.target, r.attempt, retryable=True
            )
        if timed_out:
            return BuildFailed(
                r.build_id,
                f"timed out after {r.timeout_ms} ms",
                r.target,
                r.attempt,
                retryable=False,
            )
        if exit_code != 0:
            return BuildFailed(
                r.build_id,
                f"command {r.argv[0]} exited with code {exit_code}",
                r.target,
                r.attempt,
                exit_code,
                False,
            )
        # Walking output directories is disk I/O: off the event loop.
        files = await asyncio.get_running_loop().run_in_executor(None, self._collect, outputs)
        uploaded = await self._upload(files)
        return BuildCompleted(r.build_id, duration_ms, r.target, r.attempt, tuple(uploaded), 0, 1)

    def _inside(self, what: str, path: str, *, empty_is_root: bool = False) -> Path:
        """Resolves a wire path in the sandbox; refuses absolute paths and escapes with ``..``."""
        root = str(self.sandbox)
        if not path and empty_is_root:
            return self.sandbox
        if not path or path.startswith("/") or os.path.isabs(path) or "\\" in path:
            raise _Failure(
                f"{what} path {path!r} must be relative to the sandbox (absolute "
                "or empty paths are refused)",
                False,
            )
        resolved = os.path.normpath(os.path.join(root, path))
        if os.path.commonpath([root, resolved]) != root or (resolved == root and not empty_is_root):
            raise _Failure(
                f"{what} path {path!r} escapes the sandbox (path traversal with '..' is refused)",
                False,
            )
        return Path(resolved)

    async def _materialize(self, inputs: list[tuple[Path, Output]]) -> None:
        loop = asyncio.get_running_loop()
        for dest, i in inputs:
            try:
                algorithm, _ = _digests.parse(i.digest)
            except ValueError as e:
                raise _Failure(f"input digest of {i.path}: {e}", False) from e
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise _Failure(f"cannot materialize input {i.path}: {e}", True) from e
            # The local store is re-verified on every copy (a disk or a hand may have changed
            # it): a corrupt entry is deleted and fetched once more.
            for fetches_left in (1, 0):
                try:
                    src = await self.worker._fetch(self.conn, i.digest)
                except (BlobTransferError, ConnectionLostError) as e:
                    raise _Failure(f"cannot fetch input blob {i.digest}: {e}", True) from e
                try:
                    copied = await loop.run_in_executor(
                        None, _digests.copy_hashed, algorithm, src, dest
                    )
                except FileNotFoundError:
                    copied = None  # deleted from the store meanwhile (e.g. found corrupt)
                except OSError as e:
                    raise _Failure(f"cannot materialize input {i.path}: {e}", True) from e
                if copied == i.digest:
                    break
                if copied is not None:
                    log.warning(
                        "worker %s: the local store's copy of %s hashes to %s; deleting it",
                        self.worker.worker_id,
                        i.digest,
                        copied,
                    )
                    with contextlib.suppress(FileNotFoundError):
                        src.unlink()
                if not fetches_left:
                    raise _Failure(
                        f"input {i.path}: the local copy of {i.digest} did not match its digest "
                        "even after fetching it again",
                        True,
                    )
            if i.executable:
                try:
                    dest.chmod(dest.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
                except OSError as e:
                    raise _Failure(f"cannot materialize input {i.path}: {e}", True) from e

    async def _command(self, cwd: Path) -> tuple[int, bool]:
        """Runs argv; returns (exit code, timed out). Streams log lines as BUILD_PROGRESS."""
        r = self.run_msg
        if self._cancel_reason is not None:
            return -1, False
        try:
            proc = await asyncio.create_subprocess_exec(
                *r.argv,
                cwd=str(cwd),
                env=dict(r.env),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # its own process group: killpg reaches the whole tree
            )
        except OSError as e:
            raise _Failure(f"cannot start {r.argv[0]}: {e}", False) from e
        self._proc = proc
        if self._cancel_reason is not None:
            self._kill()
        assert proc.stdout is not None
        assert proc.stderr is not None
        pumps = [
            asyncio.ensure_future(self._pump("stdout", proc.stdout)),
            asyncio.ensure_future(self._pump("stderr", proc.stderr)),
        ]
        timed_out = False
        try:
            timeout = r.timeout_ms / 1000.0 if r.timeout_ms is not None else None
            try:
                code = await asyncio.wait_for(proc.wait(), timeout)
            except asyncio.TimeoutError:
                timed_out = True
                self._kill()
                code = await proc.wait()
            # Descendants that outlived the command would hold the pipes open: end the tree.
            self._kill()
            await asyncio.wait(pumps, timeout=10)
        finally:
            for p in pumps:
                p.cancel()
            self._kill()
        return code, timed_out

    async def _pump(self, stream: str, reader: asyncio.StreamReader) -> None:
        pending = b""
        while True:
            chunk = await reader.read(_PIPE_READ)
            if not chunk:
                break
            pending += chunk
            lines = pending.split(b"\n")
            pending = lines.pop()
            for line in lines:
                await self._log(stream, line)
            while len(pending) > _MAX_LINE:
                await self._log(stream, pending[:_MAX_LINE])
                pending = pending[_MAX_LINE:]
        if pending:
            await self._log(stream, pending)

    async def _log(self, stream: str, raw: bytes) -> None:
        r = self.run_msg
        cap = r.output_cap
        self._log_bytes += len(raw) + 1
        if cap is not None and self._log_bytes > cap:
            return  # beyond the cap: dropped
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        line = raw.decode("utf-8", errors="replace")
        with contextlib.suppress(ConnectionLostError):
            await self._send(BuildProgress(r.build_id, 0, 1, r.target, "log", line, stream))

    def _collect(self, outputs: list[tuple[Path, str]]) -> dict[str, Path]:
        """Every declared output's files by sandbox-relative path; a missing one fails."""
        files: dict[str, Path] = {}
        for path, declared in outputs:
            if path.is_symlink():
                raise _Failure(f"output {declared} is a symbolic link (not supported)", False)
            if path.is_file():
                files[self._relative(path)] = path
            elif path.is_dir():
                for dirpath, dirnames, filenames in os.walk(path):
                    for name in sorted(filenames + dirnames):
                        p = Path(dirpath, name)
                        if p.is_symlink():
                            raise _Failure(
                                f"output {declared} contains a symbolic link (not "
                                f"supported): {self._relative(p)}",
                                False,
                            )
                        if p.is_file():
                            files[self._relative(p)] = p
            else:
                raise _Failure(f"declared output {declared} was not produced", False)
        return dict(sorted(files.items()))

    def _relative(self, p: Path) -> str:
        return p.relative_to(self.sandbox).as_posix()

    async def _upload(self, files: dict[str, Path]) -> list[Output]:
        conn = self.conn
        algorithm = conn.blob_algorithm
        loop = asyncio.get_running_loop()
        blobs = Blobs(lambda: conn, timeout=self.worker._request_timeout)
        outputs: list[Output] = []
        if self.run_msg.keep_outputs:
            # Deferred outputs: the blobs stay in this worker's store (hashed as they are
            # stored) until the master asks for them by BLOB_GET.
            try:
                for rel, path in files.items():
                    digest, size = await loop.run_in_executor(
                        None, self.worker._keep, algorithm, path
                    )
                    outputs.append(Output(rel, digest, size, os.access(path, os.X_OK) or None))
            except (OSError, ValueError) as e:
                raise _Failure(f"cannot keep outputs: {e}", True) from e
            return outputs
        try:
            for rel, path in files.items():
                # Pure-Python XXH64 holds the loop for a while on big files: hash in a thread.
                digest, size = await loop.run_in_executor(None, _digests.of_file, algorithm, path)
                executable = os.access(path, os.X_OK) or None
                outputs.append(Output(rel, digest, size, executable))
            missing = set(await blobs.missing([o.digest for o in outputs])) if outputs else set()
            for o in outputs:
                if o.digest in missing:
                    missing.discard(o.digest)
                    got = await blobs.put(files[o.path])
                    if got != o.digest:
                        raise _Failure(
                            f"output {o.path} changed while uploading ({o.digest} then {got})", True
                        )
        except (OSError, BlobTransferError, ConnectionLostError) as e:
            raise _Failure(f"cannot upload outputs: {e}", True) from e
        return outputs


# ---- console script ------------------------------------------------------------------------


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"must be HOST:PORT but was {text!r}")
    return host.strip("[]"), int(port)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``buildnet-worker --master HOST:PORT --secret-file F --capabilities python,pytest``."""
    parser = argparse.ArgumentParser(
        prog="buildnet-worker", description="Runs a BuildNet worker until interrupted."
    )
    parser.add_argument("--master", required=True, type=_host_port, help="HOST:PORT of the master")
    parser.add_argument("--secret-file", required=True, help="file holding the shared secret")
    parser.add_argument("--capabilities", default="", help="comma-separated, e.g. python,pytest")
    parser.add_argument("--slots", type=int, default=os.cpu_count() or 1, help="attempts at once")
    parser.add_argument("--memory-mb", type=int, default=1024, help="memory to advertise")
    parser.add_argument("--id", dest="worker_id", help="worker id (default: random)")
    parser.add_argument("--work-dir", help="sandboxes and blob store (default: a temp dir)")
    parser.add_argument("--tls", action="store_true", help="connect with TLS (system trust)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        secret = read_secret(args.secret_file)
    except OSError as e:
        print(f"buildnet-worker: cannot read the secret file: {e}", file=sys.stderr)
        return 2
    caps = [c.strip() for c in args.capabilities.split(",") if c.strip()]
    try:
        worker = Worker(
            capabilities=caps,
            slots=args.slots,
            memory_mb=args.memory_mb,
            worker_id=args.worker_id,
            work_dir=args.work_dir,
        )
    except ValueError as e:
        print(f"buildnet-worker: {e}", file=sys.stderr)
        return 2
    host, port = args.master

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(worker.close()))
        print(f"buildnet-worker {worker.worker_id} connecting to {host}:{port}", flush=True)
        try:
            await worker.start(host, port, secret=secret, tls=args.tls or None)
        finally:
            # The signal handler's close() runs in a task of its own, which asyncio.run would
            # cancel once this returns: the run ends before close() has deleted the work
            # directory. Awaiting it here (it is idempotent) lets it finish.
            await worker.close()

    try:
        asyncio.run(serve())
    except (AuthError, VersionMismatchError) as e:
        print(f"buildnet-worker: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
