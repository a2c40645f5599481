"""Clients' builds on the master: targets keyed in dependency order, served from the shared
action cache or placed on workers (capabilities, CPU and memory claims, least loaded first),
re-queued when a worker is lost or busy, and reported as BUILD_PROGRESS / BUILD_COMPLETED /
BUILD_FAILED to the submitter and as EVENTs to subscribers (docs/PROTOCOL.md, "Master services").

Everything here runs on the event loop; key computation, hashing, restores and SQLite go to the
master's executors.
"""

from __future__ import annotations

import asyncio
import difflib
import itertools
import json
import logging
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from buildnet import _digests
from buildnet._connection import now_ms
from buildnet.master import _store
from buildnet.master._deferred import (
    KEEP_OUTPUTS,
    Deferred,
    Kept,
    input_prefixes,
    outputs_read_as_inputs,
)
from buildnet.master._inputs import InputResolver
from buildnet.master._key import (
    compute_key,
    current_platform,
    dependency_value,
    output_digest,
)
from buildnet.master._server import MAX_QUEUED_EVENTS, RequestError
from buildnet.master._workspace import WorkspaceError, contains, topological
from buildnet.protocol import (
    Ack,
    BuildCancel,
    BuildCompleted,
    BuildFailed,
    BuildProgress,
    BuildRequest,
    BuildStarted,
    ErrorCode,
    ErrorReply,
    Event,
    Message,
    Output,
    Subscribe,
    TargetCancel,
    TargetRun,
    Unsubscribe,
)

if TYPE_CHECKING:
    from pathlib import Path

    from buildnet.master._server import Master, Peer, Subscription
    from buildnet.master._workspace import Target
    from buildnet.protocol.payloads import Payload

log = logging.getLogger("buildnet.master")

MAX_REQUEUES = 3
RECENT_BUILDS = 100
_LOG_CAP = 1 << 20
_FINAL = ("built", "cached", "failed", "skipped", "cancelled")
_DONE = ("built", "cached")


@dataclass
class _Recalled:
    """A key a worker kept the outputs of in an earlier build (deferred outputs), and the
    target's sandbox inputs in case it must run."""

    kept: Kept
    inputs: tuple[Output, ...]


@dataclass(eq=False)
class Attempt:
    node: Node
    number: int
    peer: Peer
    claim: str
    run_id: str = ""
    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    #: TARGET_RUN ``keep_outputs``: the worker keeps the outputs (deferred outputs).
    keep: bool = False
    #: Fetching its dependencies' kept outputs before the TARGET_RUN goes out, else None.
    shipping: Optional[asyncio.Task[None]] = None


@dataclass(eq=False)
class Node:
    target: Target
    build: Build
    seq: int
    status: str = "pending"
    deps_left: int = 0
    dependents: list[Node] = field(default_factory=list)
    key: Optional[str] = None
    #: Its declared input files (its dependencies' outputs are added when it is sent).
    inputs: tuple[Output, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)
    attempts: int = 0
    requeues: int = 0
    retries: int = 0
    waiting_since: Optional[float] = None
    running: Optional[Attempt] = None
    #: The worker that last refused it (BUSY): tried last next time.
    refused_by: Optional[Peer] = None
    outputs: list[dict[str, Any]] = field(default_factory=list)
    #: The digest of the outputs it produced or restored (docs/CACHE-KEY.md, "Output digest"):
    #: what its dependents' keys cover of it when it declares outputs.
    output_digest: Optional[str] = None
    reason: str = ""
    exit_code: Optional[int] = None
    #: Where its outputs are when a worker kept them (deferred outputs), else None.
    kept: Optional[Kept] = None
    #: Why it runs (again) although a worker had kept its outputs, else None.
    kept_lost: Optional[str] = None
    #: The worker it should run on if free (a re-run for a consumer there), else None.
    prefer: Optional[str] = None
    #: One consumer at a time fetches its kept outputs (or has it run again).
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: Its keying step (which may fetch kept outputs a client asked for).
    keying: Optional[asyncio.Task[None]] = None

    @property
    def final(self) -> bool:
        return self.status in _FINAL


@dataclass(eq=False)
class Build:
    build_id: str
    seq: int
    requested: tuple[str, ...]
    keep_going: bool
    submitter: Optional[Peer]
    #: BUILD_REQUEST ``force``: its requested targets ignore cache hits (not their dependencies).
    force: bool = False
    #: BUILD_REQUEST ``env``: values replacing the master's for the variables targets pass
    #: through (``envPassthrough``), in their commands' environments and their keys.
    env: dict[str, str] = field(default_factory=dict)
    #: BUILD_REQUEST ``timeout_ms``: a cap on each of its targets' run time, else None.
    timeout_ms: Optional[int] = None
    nodes: dict[str, Node] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    cancelled: bool = False
    stopped: Optional[str] = None
    finished: bool = False
    #: Its events but log lines: (kind, at, target, status, number counting every event,
    #: number counting every event but log lines), the numbers of a re-attach's ``seq``.
    events: list[tuple[str, int, Optional[str], Optional[str], int, int]] = field(
        default_factory=list
    )
    #: Events so far, log lines included, and without them.
    numbered_all: int = 0
    numbered_kept: int = 0
    #: BUILD_COMPLETED or BUILD_FAILED, once it ended: what a re-attach gets last.
    final: Optional[Payload] = None
    #: The sorted static prefixes of its targets' input patterns, for ``may_defer``.
    input_prefixes: Optional[list[str]] = None

    def host_env(self, master_env: dict[str, str], target: Target) -> dict[str, str]:
        """The master's environment as ``target`` sees it in this build: the build's ``env``
        replaces the values of the variables it passes through (hashed ones only, as Java's
        ``Target.withBuildOverrides``), so its key is the one a master with those values in its
        own environment computes."""
        names = [n for n in target.env_passthrough if n in self.env]
        if not names:
            return master_env
        return {**master_env, **{n: self.env[n] for n in names}}

    def forced(self, node: Node) -> bool:
        """Whether ``node`` ignores cache hits: a requested target of a ``force`` build."""
        return self.force and node.target.name in self.requested

    def run_timeout_ms(self, target: Target) -> Optional[int]:
        """TARGET_RUN ``timeout_ms`` of ``target`` in this build: the smaller of its own timeout
        and the build's cap; None when neither is set."""
        own = target.timeout_s * 1000 if target.timeout_s is not None else None
        if own is None or self.timeout_ms is None:
            return own if self.timeout_ms is None else self.timeout_ms
        return min(own, self.timeout_ms)

    def may_defer(self, node: Node) -> bool:
        """Whether ``node``'s outputs need not be in the master's workspace for this build: not
        requested, and no target of the build declares inputs that may read them."""
        if node.target.name in self.requested:
            return False
        if self.input_prefixes is None:
            self.input_prefixes = input_prefixes(
                i for n in self.nodes.values() for i in n.target.inputs
            )
        return not outputs_read_as_inputs(self.input_prefixes, node.target.outputs)


class Scheduler:
    def __init__(self, master: Master, targets: dict[str, Target]) -> None:
        self.m = master
        self.targets = targets
        self.platform = current_platform()
        self.builds: dict[str, Build] = {}
        self._recent: list[str] = []
        self._seq = itertools.count(1)
        self.queue: list[Node] = []
        self._unsorted = False
        #: Queued nodes no connected worker can run (for the placement timeout).
        self._waiting: set[Node] = set()
        self.in_flight: dict[tuple[str, str, int], Attempt] = {}
        self._runs: dict[tuple[int, str], Attempt] = {}  # (connection, TARGET_RUN id)
        self._subs: list[tuple[Peer, Subscription]] = []
        self._kicked = False
        self._timer: Optional[asyncio.TimerHandle] = None
        self._closed = False
        self.deferred: Optional[Deferred] = Deferred(master) if master.defer_outputs else None
        #: Attempts fetching their dependencies' kept outputs before they are sent.
        self._shipping: set[Attempt] = set()

    # ---- messages -------------------------------------------------------------------------

    def handle(self, peer: Peer, m: Message) -> bool:
        """Serves ``m`` if it is about builds; False if this master does not serve it."""
        p = m.payload
        if isinstance(p, (BuildRequest, BuildCancel, Subscribe, Unsubscribe)):
            if peer.is_worker:
                raise RequestError(
                    ErrorCode.UNSUPPORTED,
                    f"{m.type.name} is for clients: workers run targets, they do not submit, "
                    "cancel or watch builds",
                )
            if isinstance(p, BuildRequest):
                self._request(peer, m.id, p)
            elif isinstance(p, BuildCancel):
                self._cancel_request(m.id, p, peer)
            elif isinstance(p, Subscribe):
                self._subscribe(peer, m.id, p)
            else:
                self._unsubscribe(peer, m.id, p)
            return True
        if not peer.is_worker:
            return False
        if isinstance(p, (BuildCompleted, BuildFailed)) and p.target is not None:
            self._result(peer, p)
            return True
        if isinstance(p, BuildProgress):
            self._progress(peer, p)
            return True
        if isinstance(p, BuildStarted):
            return True
        if isinstance(p, ErrorReply):
            a = self._runs.get((peer.number, p.reply_to or ""))
            if a is not None:
                self._refused(a, p)
            return True
        return isinstance(p, Ack)  # of a TARGET_CANCEL

    # ---- builds ---------------------------------------------------------------------------

    def _request(self, peer: Peer, mid: str, p: BuildRequest) -> None:
        if p.attempt is not None:
            raise RequestError(
                ErrorCode.INVALID_PAYLOAD, "BUILD_REQUEST with attempt is master -> worker only"
            )
        for name, value in (p.env or {}).items():
            if not name or "=" in name or "\0" in name or "\0" in value:
                raise RequestError(
                    ErrorCode.INVALID_PAYLOAD,
                    f"env variable {name!r} is not usable: names must be non-empty without '=' "
                    "or NUL, values without NUL",
                )
        if self.m.closing:
            raise RequestError(ErrorCode.BUSY, "the master is shutting down")
        if p.build_id in self.builds:
            raise RequestError(ErrorCode.INVALID_PAYLOAD, f"build id '{p.build_id}' is taken")
        for name in p.targets:
            if name not in self.targets:
                close = difflib.get_close_matches(name, list(self.targets), 3)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise RequestError(ErrorCode.INVALID_PAYLOAD, f"unknown target '{name}'{hint}")
        build = Build(
            p.build_id,
            next(self._seq),
            tuple(p.targets),
            bool(p.keep_going),
            peer,
            force=bool(p.force),
            env=dict(p.env or {}),
            timeout_ms=p.timeout_ms,
        )
        for name in topological(self.targets, list(dict.fromkeys(p.targets))):
            node = Node(self.targets[name], build, next(self._seq))
            node.deps_left = len(set(node.target.deps))
            build.nodes[name] = node
            for d in set(node.target.deps):
                build.nodes[d].dependents.append(node)
        self.builds[p.build_id] = build
        peer.send(BuildStarted(mid, p.build_id))
        self._event(build, "build_started")
        log.info("build %s: %s (%d targets)", p.build_id, list(p.targets), len(build.nodes))
        for node in list(build.nodes.values()):
            if node.deps_left == 0:
                self._start(node)

    def _start(self, node: Node) -> None:
        node.status = "keying"
        node.keying = self.m._spawn(self._key(node))

    async def _key(self, node: Node) -> None:
        t = node.target
        build = node.build
        m = self.m
        try:
            if t.bundler is not None:
                raise WorkspaceError(
                    f"'{t.name}' is a bundler target ({t.bundler.adapter}); the Python master "
                    "runs command targets only (bundler keys need the Java adapters' versions)"
                )
            deps = {
                d: dependency_value(
                    build.nodes[d].target, build.nodes[d].key or "", build.nodes[d].output_digest
                )
                for d in set(t.deps)
            }
            # One trip to a thread for the whole step: keying, the cache lookup and restore, and
            # the sandbox inputs (each hand-off costs more than the work for small targets).
            outcome = await m.io(self._prepare, node, deps)
        except (WorkspaceError, OSError, ValueError) as e:
            if not node.final:
                self._finish(node, "failed", str(e))
            return
        if self._stopped(node):
            return
        if isinstance(outcome, _Recalled):
            if await self._recalled(node, outcome.kept) or self._stopped(node):
                return
            outcome = outcome.inputs
        if isinstance(outcome, dict):
            node.outputs = outcome["outputs"]
            node.output_digest = output_digest(
                m.algorithm, outcome["outputs"], outcome.get("directories") or ()
            )
            self._event(build, "target_started", t.name)
            self._finish(node, "cached", "restored from the cache")
            return
        node.inputs = outcome
        node.status = "queued"
        self._enqueue(node)
        self.kick()

    def _prepare(self, node: Node, deps: dict[str, str]) -> Any:
        """In a thread: the key, then the action record if it is a hit (outputs restored), else
        the sandbox inputs of a run."""
        host = node.build.host_env(self.m.host_env, node.target)
        key, inputs, _ = self._compute(node.target, deps, host)
        # The key covers the declared argv and hashed env; the worker gets what the command sees:
        # placeholders expanded (cwd-relative, as in its sandbox) and unhashed variables too.
        node.key, node.env = key, node.target.command_env(host)
        node.argv = node.target.expand_command(list(inputs))
        kept = None
        # A forced target runs whatever the cache (or a worker) holds; its result is recorded.
        if node.target.cacheable and not node.build.forced(node):
            manifest = self._lookup(key)
            if manifest is not None:
                return manifest
            if self.deferred is not None:
                kept = self.deferred.recall(key)
        try:
            sandbox = self._sandbox_inputs(node, inputs)
        except (OSError, ValueError) as e:
            raise ValueError(f"'{node.target.name}': {e}") from None
        return sandbox if kept is None else _Recalled(kept, sandbox)

    async def _recalled(self, node: Node, k: Kept) -> bool:
        """A worker kept ``node``'s outputs in an earlier build: a hit that stays there if this
        build needs them nowhere, else fetched, restored and recorded in the action cache. False
        if they are lost (the worker is gone or no longer holds them): then it runs again, and
        its outcome and the log say why."""
        d = self.deferred
        assert d is not None
        assert node.key is not None
        earlier = k.earlier
        why = await d.still_held(k)
        if why is None and node.build.may_defer(node):
            node.kept = k
            node.outputs = k.manifest["outputs"]
            node.output_digest = output_digest(
                self.m.algorithm, node.outputs, k.manifest["directories"]
            )
            self._event(node.build, "target_started", node.target.name)
            self._finish(
                node, "cached", f"cached; its outputs stay on worker '{k.worker_id}' until needed"
            )
            return True
        if why is None:
            fetching = bool(await self.m.io(d.missing, k))
            why = await d.fetch(k)
            if why is None:
                manifest = await self.m.io(self._settle, node.key, k)
                if manifest is not None:
                    node.outputs = manifest["outputs"]
                    node.output_digest = output_digest(
                        self.m.algorithm, manifest["outputs"], manifest["directories"]
                    )
                    self._event(node.build, "target_started", node.target.name)
                    self._finish(
                        node, "cached", "restored from the cache" + (
                            f" (fetched from worker '{k.worker_id}', which kept its outputs)"
                            if fetching else ""
                        ),
                    )  # fmt: skip
                    return True
                why = "whose copies failed verification"
        node.kept_lost = (
            f"its outputs were kept on worker '{k.worker_id}'"
            + (" (recorded before this master started)" if earlier else "")
            + f", {why}"
        )
        log.warning("'%s' runs again: %s", node.target.name, node.kept_lost)
        await self.m.io(d.forget, node.key)
        return False

    def _settle(self, key: str, k: Kept) -> Optional[dict[str, Any]]:
        """In a thread: the fetched outputs go into the action cache and the workspace."""
        assert self.deferred is not None
        self.deferred.settle(key, k)
        return self._lookup(key)

    def _enqueue(self, node: Node) -> None:
        self.queue.append(node)
        self._unsorted = True

    def _stopped(self, node: Node) -> bool:
        """Whether ``node`` is over (or its build stopped while it was being keyed)."""
        if not node.final and node.build.stopped is not None:
            self._finish(
                node, "cancelled" if node.build.cancelled else "skipped", node.build.stopped
            )
        return node.final

    def _compute(
        self, t: Target, deps: dict[str, str], host: dict[str, str]
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        resolver = InputResolver(self.m.workspace)
        files = resolver.resolve(t)
        inputs = {}
        for f in files:
            try:
                inputs[f] = _digests.of_file(self.m.algorithm, self.m.workspace / f)[0]
            except OSError as e:
                raise WorkspaceError(
                    f"target '{t.name}': cannot digest input '{f}': {e.strerror or e}"
                ) from None
        env = t.resolve_env(host)
        return compute_key(self.m.algorithm, t, env, inputs, deps, self.platform), inputs, env

    def _lookup(self, key: str) -> Optional[dict[str, Any]]:
        """In a thread: the action record of ``key`` if it and every blob it names are there and
        its outputs are in place (restored if need be), else None."""
        m = self.m
        state, blobs = m.state, m.blobs
        assert state is not None
        assert blobs is not None
        record = _store.AC_PREFIX + key
        raw = state.get(record)
        if raw is None:
            return None
        try:
            manifest = _store.decode_manifest(raw)
        except _store.ManifestError as e:
            log.warning("dropping unreadable action cache record %s: %s", key, e)
            state.delete(record)  # a miss, as in Java's ActionCache
            return None
        if not all(blobs.contains(d) for d in _store.manifest_blobs(manifest)):
            state.delete(record)  # its blobs were evicted: a miss
            return None
        try:
            if _store.outputs_up_to_date(m.workspace, manifest, m.algorithm) or (
                _store.restore_outputs(m.workspace, manifest, blobs)
            ):
                return manifest
        except (OSError, ValueError) as e:
            log.warning("restoring %s from the cache failed: %s", key, e)
        return None

    def _run_inputs(self, node: Node) -> tuple[Output, ...]:
        """What the sandbox needs: its direct dependencies' outputs as they are now (a dependency
        whose kept outputs were lost may have run again since ``node`` was keyed) and its input
        files."""
        files: dict[str, Output] = {}
        for d in set(node.target.deps):
            for o in node.build.nodes[d].outputs:
                files[o["path"]] = Output(
                    o["path"], o["digest"], o["size"], True if o.get("executable") else None
                )
        for i in node.inputs:
            files[i.path] = i
        return tuple(files[k] for k in sorted(files))

    def _sandbox_inputs(self, node: Node, inputs: dict[str, str]) -> tuple[Output, ...]:
        """The target's input files, each put in the store."""
        blobs = self.m.blobs
        assert blobs is not None
        files: dict[str, Output] = {}
        for path, digest in inputs.items():
            file = self.m.workspace / path
            size = blobs.size_of(digest)
            if size is None:
                try:
                    blobs.put_verified(file, digest)
                except ValueError:
                    raise ValueError(
                        f"input '{path}' changed while the build ran; build again"
                    ) from None
                size = blobs.size_of(digest) or file.stat().st_size
            files[path] = Output(path, digest, size, True if os.access(file, os.X_OK) else None)
        return tuple(files[k] for k in sorted(files))

    # ---- placement ------------------------------------------------------------------------

    def kick(self) -> None:
        """Schedules a placement pass (coalesced)."""
        if self._kicked or self._closed:
            return
        self._kicked = True
        asyncio.get_running_loop().call_soon(self._place)

    def _place(self) -> None:
        self._kicked = False
        if self._closed:
            return
        now = time.monotonic()
        reserved: set[Peer] = set()
        waiting: list[Node] = []
        if self._unsorted:
            self.queue.sort(key=lambda n: (-n.target.priority, n.build.seq, n.seq))
            self._unsorted = False
        still: list[Node] = []
        workers = list(self.m.workers.values())
        for i, node in enumerate(self.queue):
            if node.status != "queued" or self._waits_for_rerun(node):
                continue
            if workers and not any(w.cpu_free > 0 and w not in reserved for w in workers):
                # Every worker is full: the rest waits for the next pass (one per result), so a
                # pass costs what it places, not the length of the queue.
                still.extend(n for n in self.queue[i:] if n.status == "queued")
                waiting.extend(n for n in self._waiting if n.status == "queued")
                break
            t = node.target
            capable = [
                w
                for w in self.m.workers.values()
                if not w.closed
                and set(t.requires) <= w.capabilities
                and w.cpu_total >= t.cpu
                and w.memory_total >= t.memory_mb
            ]
            if not capable:
                if node.waiting_since is None:
                    node.waiting_since = now
                    self._waiting.add(node)
                    self._log(node, "stderr", f"waiting: {self._why_unplaceable(t)}")
                if now - node.waiting_since >= self.m.placement_timeout:
                    self._finish(
                        node,
                        "failed",
                        f"'{t.name}' could not be placed within the placement timeout of "
                        f"{self.m.placement_timeout:g} s: {self._why_unplaceable(t)}",
                    )
                    continue
                waiting.append(node)
                still.append(node)
                continue
            if node.waiting_since is not None:
                node.waiting_since = None
                self._waiting.discard(node)
            free = [
                w
                for w in capable
                if w not in reserved and w.cpu_free >= t.cpu and w.memory_free >= t.memory_mb
            ]
            if not free:
                reserved.update(capable)  # it waits for these: nothing behind it may take them
                still.append(node)
                continue
            # The worker holding its inputs (deferred outputs) wins whenever it is free.
            preferred = node.prefer or self._holder_of_inputs(node)
            w = min(
                free,
                key=lambda w: (
                    w is node.refused_by,
                    w.peer_id != preferred,
                    (w.cpu_total - w.cpu_free) / w.cpu_total,
                    w.number,
                ),
            )
            self._send(node, w)
        self.queue = still
        self._waiting = {n for n in self._waiting if n.status == "queued"}
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if waiting:
            first = min(n.waiting_since or now for n in waiting)
            delay = max(0.05, first + self.m.placement_timeout - now)
            self._timer = asyncio.get_running_loop().call_later(delay, self.kick)

    def _why_unplaceable(self, t: Target) -> str:
        workers = [
            f"{w.peer_id} ({w.cpu_total} slots, {w.memory_total} MB, "
            f"capabilities {sorted(w.capabilities)})"
            for w in self.m.workers.values()
        ]
        return (
            f"no connected worker offers capabilities {list(t.requires)} with {t.cpu} CPU slots "
            f"and {t.memory_mb} MB; connected workers: {', '.join(workers) or 'none'}"
        )

    def _waits_for_rerun(self, node: Node) -> bool:
        """Whether a dependency of queued ``node`` runs again (its kept outputs were lost): then
        ``node`` waits for it as for any dependency, and is keyed again after it."""
        if self.deferred is None:
            return False
        build = node.build
        left = sum(1 for d in set(node.target.deps) if build.nodes[d].status not in _DONE)
        if left:
            node.status = "pending"
            node.deps_left = left
        return left > 0

    def _holder_of_inputs(self, node: Node) -> Optional[str]:
        """The worker that kept the most bytes of ``node``'s dependencies' outputs, if any."""
        held: dict[str, int] = {}
        for d in set(node.target.deps):
            k = node.build.nodes[d].kept
            if k is not None:
                size = sum(o["size"] for o in k.manifest["outputs"])
                held[k.worker_id] = held.get(k.worker_id, 0) + size
        return max(held, key=lambda w: held[w]) if held else None

    def _send(self, node: Node, w: Peer) -> None:
        t = node.target
        node.attempts += 1
        a = Attempt(node, node.attempts, w, f"run:{node.build.build_id}/{t.name}/{node.attempts}")
        a.keep = (
            self.deferred is not None
            and KEEP_OUTPUTS in w.capabilities
            and node.build.may_defer(node)
        )
        w.claims[a.claim] = (t.cpu, t.memory_mb)
        node.running = a
        node.status = "running"
        node.prefer = None
        deps = [node.build.nodes[d] for d in sorted(set(t.deps))]
        if self.deferred is not None and any(d.kept for d in deps):
            self._shipping.add(a)
            a.shipping = self.m._spawn(self._ship(a, deps))
            return
        self._dispatch(a)

    async def _ship(self, a: Attempt, deps: list[Node]) -> None:
        """Makes the outputs ``a``'s dependencies' workers kept reachable from ``a``'s worker
        (already there, or fetched into the master's store), then sends ``a``. A dependency
        whose outputs are lost runs again first, preferably on ``a``'s worker."""
        try:
            for dep in deps:
                if dep.status not in _DONE:
                    break  # it runs again for another consumer: handled below
                why = await self._reachable(dep, a.peer)
                if why is not None:
                    self._lost(a, dep, why)
                    return
        finally:
            self._shipping.discard(a)
            a.shipping = None
        node = a.node
        if node.running is not a or node.final:
            return
        if any(d.status not in _DONE for d in deps):
            self._release(a)
            self._requeue_after_rerun(node)
            return
        self._dispatch(a)

    async def _reachable(self, dep: Node, w: Peer) -> Optional[str]:
        """None once ``dep``'s kept outputs are on ``w`` or in the master's store (fetched from
        the worker that kept them, then recorded in the action cache), else why they are lost."""
        d = self.deferred
        assert d is not None
        async with dep.lock:  # one consumer fetches; the others find the blobs in the store
            k = dep.kept
            if k is None or k.worker_id == w.peer_id:
                return None
            log.info(
                "fetching the outputs of '%s' from worker '%s' for worker '%s'",
                dep.target.name, k.worker_id, w.peer_id,
            )  # fmt: skip
            why = await d.fetch(k)
            if why is not None:
                return f"its outputs were kept on worker '{k.worker_id}', {why}"
            if dep.kept is k:
                dep.kept = None  # in the store now, as an uploaded output would be
                if dep.target.cacheable and dep.key is not None:
                    await self.m.io(d.settle, dep.key, k)
            return None

    def _lost(self, a: Attempt, dep: Node, why: str) -> None:
        """``dep``'s kept outputs are lost: it runs again (preferably on ``a``'s worker) and
        ``a``'s target waits for it."""
        node = a.node
        build = node.build
        self._release(a)
        if node.final or build.stopped is not None:
            return
        log.warning(
            "build %s: the outputs of '%s' were lost before they were needed (%s); running '%s' "
            "again", build.build_id, dep.target.name, why, dep.target.name,
        )  # fmt: skip
        if dep.kept is not None and dep.key is not None:
            assert self.deferred is not None
            self.m._spawn(self.m.io(self.deferred.forget, dep.key))
        dep.kept = None
        if dep.status in _DONE:
            dep.requeues += 1
            if dep.requeues > MAX_REQUEUES:
                self._finish(
                    node, "failed", f"the outputs of '{dep.target.name}' were lost ({why}) after "
                    f"it ran {MAX_REQUEUES} times; build again",
                )  # fmt: skip
                return
            build.done -= 1
            dep.status = "queued"
            dep.kept_lost = why
            dep.prefer = a.peer.peer_id
            for other in dep.dependents:
                if other.status == "pending":
                    other.deps_left += 1
            self._enqueue(dep)
        self._requeue_after_rerun(node)

    def _requeue_after_rerun(self, node: Node) -> None:
        """``node`` waits for its dependencies that run again, or is queued if there are none."""
        node.status = "queued"
        if not self._waits_for_rerun(node):
            self._enqueue(node)
        self.kick()

    def _dispatch(self, a: Attempt) -> None:
        node = a.node
        t = node.target
        w = a.peer
        run = TargetRun(
            node.build.build_id,
            t.name,
            a.number,
            tuple(node.argv),
            "" if t.cwd == "." else t.cwd,
            node.env,
            self._run_inputs(node),
            t.outputs,
            node.build.run_timeout_ms(t),
            keep_outputs=True if a.keep else None,
        )
        a.run_id = w.send(run)
        self.in_flight[(node.build.build_id, t.name, a.number)] = a
        self._runs[(w.number, a.run_id)] = a
        self._event(node.build, "target_started", t.name)
        log.info(
            "sent '%s' attempt %d of build %s to worker %s", t.name, a.number,
            node.build.build_id, w.peer_id,
        )  # fmt: skip

    def _release(self, a: Attempt) -> None:
        if a.shipping is not None and a.shipping is not asyncio.current_task():
            a.shipping.cancel()  # abandons its fetches: their late chunks are dropped
        self._shipping.discard(a)
        a.peer.claims.pop(a.claim, None)
        self.in_flight.pop((a.node.build.build_id, a.node.target.name, a.number), None)
        self._runs.pop((a.peer.number, a.run_id), None)
        if a.node.running is a:
            a.node.running = None
        self.kick()

    def _requeue(self, a: Attempt, why: str) -> None:
        node = a.node
        self._release(a)
        if node.final or node.build.finished:
            return
        node.requeues += 1
        if node.requeues > MAX_REQUEUES:
            self._finish(
                node,
                "failed",
                f"'{node.target.name}' was re-queued {MAX_REQUEUES} times; last: {why}",
            )
            return
        log.info("re-queueing '%s' (attempt %d): %s", node.target.name, a.number, why)
        node.status = "queued"
        self._enqueue(node)

    def worker_lost(self, peer: Peer, why: str) -> None:
        for a in [a for a in self.in_flight.values() if a.peer is peer]:
            self._requeue(a, f"worker '{peer.peer_id}' was lost: {why}")
        for a in [a for a in self._shipping if a.peer is peer]:
            self._requeue(a, f"worker '{peer.peer_id}' was lost: {why}")
        self.kick()

    def _refused(self, a: Attempt, e: ErrorReply) -> None:
        if e.code == int(ErrorCode.BUSY):
            a.node.refused_by = a.peer
            self._requeue(a, f"worker '{a.peer.peer_id}' was busy")
            return
        node = a.node
        self._release(a)
        if not node.final:
            self._finish(
                node,
                "failed",
                f"worker '{a.peer.peer_id}' refused '{node.target.name}': "
                f"{ErrorCode.from_wire(e.code).name}: {e.message}",
            )

    # ---- results --------------------------------------------------------------------------

    def _attempt_of(
        self, peer: Peer, build_id: str, target: str, attempt: Optional[int]
    ) -> Optional[Attempt]:
        a = self.in_flight.get((build_id, target, attempt or 0))
        if a is None or a.peer is not peer:
            self.m.stats["ignored_results"] += 1
            log.info(
                "ignored a result for '%s' attempt %s of build %s from %s: not in flight there",
                target, attempt, build_id, peer,
            )  # fmt: skip
            return None
        return a

    def _progress(self, peer: Peer, p: BuildProgress) -> None:
        if p.target is None or p.phase != "log" or p.message is None:
            return
        build = self.builds.get(p.build_id)
        node = build.nodes.get(p.target) if build else None
        a = node.running if node else None
        if a is None or a.peer is not peer:
            return
        stream = "stderr" if p.stream == "stderr" else "stdout"
        buf = a.stderr if stream == "stderr" else a.stdout
        line = (p.message + "\n").encode("utf-8", "replace")
        if len(buf) + len(line) <= _LOG_CAP:
            buf += line
        self._log(a.node, stream, p.message)

    def _result(self, peer: Peer, p: Any) -> None:
        a = self._attempt_of(peer, p.build_id, p.target, p.attempt)
        if a is None:
            return
        node = a.node
        if isinstance(p, BuildFailed):
            self._release(a)
            if node.final:
                return
            if p.retryable:
                self._requeue_released(node, f"worker '{peer.peer_id}': {p.error}")
            elif node.retries < node.target.retries:
                node.retries += 1
                node.status = "queued"
                self._enqueue(node)
            else:
                node.exit_code = p.exit_code
                self._finish(
                    node,
                    "failed",
                    f"'{node.target.name}' failed on worker '{peer.peer_id}': {p.error}",
                )
            return
        # Keeps the claim until the outputs are in: the attempt is not over for the master yet.
        self.in_flight.pop((node.build.build_id, node.target.name, a.number), None)
        self.m._spawn(self._completed(a, p))

    def _requeue_released(self, node: Node, why: str) -> None:
        node.requeues += 1
        if node.requeues > MAX_REQUEUES:
            self._finish(node, "failed", f"re-queued {MAX_REQUEUES} times; last: {why}")
            return
        node.status = "queued"
        self._enqueue(node)
        self.kick()

    async def _completed(self, a: Attempt, p: BuildCompleted) -> None:
        node = a.node
        m = self.m
        try:
            if node.final:
                return
            try:
                await m.io(self._accept_outputs, a, p)
            except (OSError, ValueError) as e:
                self._finish(node, "failed", f"outputs of '{node.target.name}': {e}")
                return
            if not node.final:
                self._finish(
                    node, "built", f"built on worker '{a.peer.peer_id}'"
                    + ("; its outputs stay there until needed" if a.keep else "")
                    + (f"; ran again because {node.kept_lost}" if node.kept_lost else ""),
                )  # fmt: skip
        finally:
            self._release(a)

    def _accept_outputs(self, a: Attempt, p: BuildCompleted) -> None:
        """In a thread: checks the reported outputs, restores them into the workspace from the
        store (verified) and records the action in the cache."""
        node = a.node
        t = node.target
        blobs = self.m.blobs
        assert blobs is not None
        files: dict[str, dict[str, Any]] = {}
        for o in p.outputs or ():
            if not _safe_relative(o.path) or not any(contains(d, o.path) for d in t.outputs):
                raise ValueError(
                    f"worker '{a.peer.peer_id}' reported output '{o.path}', which '{t.name}' "
                    "does not declare"
                )
            try:
                algorithm, _ = _digests.parse(o.digest)
            except ValueError as e:
                raise ValueError(f"a malformed digest for '{o.path}': {e}") from None
            if algorithm != self.m.algorithm:
                raise ValueError(
                    f"output '{o.path}' is named by {algorithm} but the store uses "
                    f"{self.m.algorithm}"
                )
            size = o.size if a.keep else blobs.size_of(o.digest)  # kept: verified when fetched
            if size is None or size != o.size:
                raise ValueError(
                    f"worker '{a.peer.peer_id}' reported '{o.path}' as {o.digest} ({o.size} bytes) "
                    f"but the master's store "
                    + ("never received it" if size is None else f"holds {size} bytes under it")
                )
            files[o.path] = {
                "path": o.path, "digest": o.digest, "size": o.size,
                "executable": bool(o.executable),
            }  # fmt: skip
        outputs = [files[k] for k in sorted(files, key=_utf16)]
        directories = [d for d in t.outputs if d not in files]
        keep = t.cacheable
        stdout = blobs.put_bytes(bytes(a.stdout)) if keep and a.stdout else None
        stderr = blobs.put_bytes(bytes(a.stderr)) if keep and a.stderr else None
        if a.keep:
            # Deferred: the worker holds the blobs; consumers fetch them (or run there) if needed.
            kept = Kept(a.peer.peer_id, json.loads(_store.encode_manifest(
                t.name, outputs, directories, stdout, stderr, max(0, p.duration_ms)
            )))  # fmt: skip
            node.kept = kept
            node.outputs = outputs
            node.output_digest = output_digest(self.m.algorithm, outputs, directories)
            if keep and node.key is not None and self.deferred is not None:
                self.deferred.remember(node.key, kept)
            return
        manifest = {"outputs": outputs, "directories": directories}
        _store.clear_outputs(self.m.workspace, t.outputs)
        if not _store.restore_outputs(self.m.workspace, manifest, blobs):
            raise ValueError(
                f"outputs from worker '{a.peer.peer_id}' failed verification in the master's "
                "store and were discarded"
            )
        node.outputs = outputs
        node.output_digest = output_digest(self.m.algorithm, outputs, directories)
        if keep and node.key is not None:
            assert self.m.state is not None
            record = _store.encode_manifest(
                t.name, outputs, directories, stdout, stderr, max(0, p.duration_ms)
            )
            self.m.state.set(_store.AC_PREFIX + node.key, record)

    # ---- finishing ------------------------------------------------------------------------

    def _finish(self, node: Node, status: str, reason: str) -> None:
        build = node.build
        if node.final:
            return
        node.status = status  # a stale queue entry is dropped by the next placement pass
        node.reason = reason
        build.done += 1
        if build.submitter is not None and not build.submitter.closed:
            build.submitter.send(
                BuildProgress(
                    build.build_id, build.done, len(build.nodes), node.target.name, status
                )
            )
        self._event(build, "target_finished", node.target.name, status)
        if status in ("built", "cached"):
            for d in node.dependents:
                d.deps_left -= 1
                if d.deps_left == 0 and d.status == "pending" and not build.stopped:
                    self._start(d)
        else:
            if status == "failed" and not build.keep_going and build.stopped is None:
                build.stopped = f"the build stopped after '{node.target.name}' failed"
            for d in node.dependents:
                if d.status == "pending":
                    self._finish(d, "skipped", f"'{node.target.name}' {status}")
            if build.stopped is not None:
                for other in build.nodes.values():
                    if other.status in ("pending", "queued"):
                        self._finish(other, "skipped", build.stopped)
        if build.done == len(build.nodes):
            self._end(build)

    def _end(self, build: Build) -> None:
        if build.finished:
            return
        build.finished = True
        duration = int((time.monotonic() - build.started) * 1000)
        failed = [n for n in build.nodes.values() if n.status == "failed"]
        ok = not failed and all(n.status in ("built", "cached") for n in build.nodes.values())
        status = (
            "succeeded" if ok else ("cancelled" if build.cancelled and not failed else "failed")
        )
        sub = build.submitter
        if ok:
            outputs: dict[str, Output] = {}
            for name in build.requested:
                for o in build.nodes[name].outputs:
                    outputs[o["path"]] = Output(
                        o["path"], o["digest"], o["size"], True if o.get("executable") else None
                    )
            hits = sum(1 for n in build.nodes.values() if n.status == "cached")
            executed = sum(1 for n in build.nodes.values() if n.status == "built")
            final: Any = BuildCompleted(
                build.build_id,
                duration,
                outputs=tuple(outputs[k] for k in sorted(outputs, key=_utf16)),
                cache_hits=hits,
                executed=executed,
            )
        else:
            first = failed[0] if failed else None
            error = f"{first.reason}" if first is not None else "the build was cancelled"
            final = BuildFailed(
                build.build_id,
                error,
                exit_code=first.exit_code if first is not None else None,
                failed_targets=tuple(n.target.name for n in failed),
            )
        build.final = final
        if sub is not None and not sub.closed:
            sub.send(final)
        self._event(build, "build_finished", None, status)
        # Re-attached connections get it after build_finished, the submitter's only once.
        for peer, s in self._subs:
            if s.open and s.numbered and s.build_id == build.build_id and peer is not sub:
                peer.send(final)
        log.info("build %s %s in %d ms", build.build_id, status, duration)
        self._recent.append(build.build_id)
        while len(self._recent) > RECENT_BUILDS:
            self.builds.pop(self._recent.pop(0), None)

    # ---- cancel ---------------------------------------------------------------------------

    def _cancel_request(self, mid: str, p: BuildCancel, peer: Peer) -> None:
        build = self.builds.get(p.build_id)
        if build is None or build.finished:
            raise RequestError(ErrorCode.NOT_FOUND, f"no build '{p.build_id}' is running")
        peer.send(Ack(mid))
        self.cancel(build, p.reason or "cancelled by a client")

    def cancel(self, build: Build, why: str) -> None:
        build.cancelled = True
        build.stopped = "the build was cancelled"
        for node in build.nodes.values():
            a = node.running
            if a is not None:
                if a.run_id:  # else it is still fetching its inputs: _release stops that
                    a.peer.send(TargetCancel(build.build_id, node.target.name, a.number, why))
                self._release(a)
        for node in list(build.nodes.values()):
            if node.status == "keying" and node.keying is not None:
                node.keying.cancel()  # e.g. fetching kept outputs: abandoned, as for a consumer
            if not node.final:
                self._finish(node, "cancelled", "the build was cancelled")

    def shutdown(self) -> None:
        for build in list(self.builds.values()):
            if not build.finished:
                self.cancel(build, "the master is shutting down")
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()

    # ---- events ---------------------------------------------------------------------------

    def _log(self, node: Node, stream: str, line: str) -> None:
        node.build.numbered_all += 1
        self._emit(node.build, "log", node.target.name, None, stream, line)

    def _event(
        self, build: Build, kind: str, target: Optional[str] = None, status: Optional[str] = None
    ) -> None:
        at = now_ms()
        build.numbered_all += 1
        build.numbered_kept += 1
        build.events.append((kind, at, target, status, build.numbered_all, build.numbered_kept))
        self._emit(build, kind, target, status, None, None, at)

    def _emit(
        self,
        build: Build,
        kind: str,
        target: Optional[str],
        status: Optional[str],
        stream: Optional[str],
        line: Optional[str],
        at: Optional[int] = None,
    ) -> None:
        at = at or now_ms()
        for peer, sub in self._subs:
            if not sub.open or (sub.build_id is not None and sub.build_id != build.build_id):
                continue
            if kind == "log" and not sub.logs:
                continue
            number = build.numbered_all if sub.logs else build.numbered_kept
            self._deliver(
                peer, sub, (kind, build.build_id, at, target, status, stream, line), number
            )

    @staticmethod
    def _deliver(peer: Peer, sub: Subscription, e: tuple[Any, ...], number: int = 0) -> None:
        # A re-attach numbers by the build's events; a gap is what the master no longer keeps.
        sub.seq = number if sub.numbered else sub.seq + 1
        if sub.queued >= MAX_QUEUED_EVENTS:
            return  # dropped: the subscriber sees a gap in seq
        sub.queued += 1
        peer.send(Event(sub.sid, sub.seq, *e), sub)

    def _subscribe(self, peer: Peer, mid: str, p: Subscribe) -> None:
        from buildnet.master._server import Subscription

        if p.subscription_id in peer.subscriptions:
            raise RequestError(
                ErrorCode.INVALID_PAYLOAD, f"subscription '{p.subscription_id}' is already open"
            )
        if p.since is not None:
            self._reattach(peer, mid, p)
            return
        sub = Subscription(p.subscription_id, p.build_id, bool(p.logs))
        peer.subscriptions[p.subscription_id] = sub
        peer.send(Ack(mid))
        builds = (
            [self.builds[p.build_id]] if p.build_id in self.builds
            else [] if p.build_id is not None
            else sorted(self.builds.values(), key=lambda b: b.seq)
        )  # fmt: skip
        for b in builds:
            for kind, at, target, status, _, _ in b.events:
                self._deliver(peer, sub, (kind, b.build_id, at, target, status, None, None))
        self._subs = [(pp, s) for pp, s in self._subs if s.open and not pp.closed]
        self._subs.append((peer, sub))

    def _reattach(self, peer: Peer, mid: str, p: Subscribe) -> None:
        """SUBSCRIBE with ``since`` (1.3): the kept events numbered above it, then live ones, and
        the build's final message after its ``build_finished`` (docs/PROTOCOL.md, "Re-attach")."""
        from buildnet.master._server import Subscription

        # the payload's rules: since needs build_id
        assert p.build_id is not None
        assert p.since is not None
        build = self.builds.get(p.build_id)
        if build is None and p.since > 0:
            raise RequestError(
                ErrorCode.NOT_FOUND,
                f"build '{p.build_id}' is not known to this master (any more): there is nothing "
                f"to re-attach to after event {p.since}",
            )
        sub = Subscription(p.subscription_id, p.build_id, bool(p.logs), numbered=True)
        peer.subscriptions[p.subscription_id] = sub
        peer.send(Ack(mid))
        if build is not None:
            for kind, at, target, status, n_all, n_kept in build.events:
                number = n_all if sub.logs else n_kept
                if number > p.since:
                    e = (kind, build.build_id, at, target, status, None, None)
                    self._deliver(peer, sub, e, number)
            if build.final is not None and peer is not build.submitter:
                peer.send(build.final)
        self._subs = [(pp, s) for pp, s in self._subs if s.open and not pp.closed]
        self._subs.append((peer, sub))

    def _unsubscribe(self, peer: Peer, mid: str, p: Unsubscribe) -> None:
        sub = peer.subscriptions.pop(p.subscription_id, None)
        if sub is None:
            raise RequestError(
                ErrorCode.NOT_FOUND, f"no subscription '{p.subscription_id}' on this connection"
            )
        sub.open = False
        self._subs = [(pp, s) for pp, s in self._subs if s is not sub]
        peer.send(Ack(mid))


def _utf16(s: str) -> bytes:
    return s.encode("utf-16-be", "surrogatepass")


def _safe_relative(path: str) -> bool:
    if not path or path.startswith("/") or "\\" in path or "\0" in path:
        return False
    return all(seg not in ("", ".", "..") for seg in path.split("/"))


def workspace_path(root: Path, rel: str) -> Path:
    return root / rel
