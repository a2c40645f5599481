"""Deferred outputs on the master (``Master(defer_outputs=True)``, ``buildnet-master
--defer-outputs``; docs/PROTOCOL.md, "Deferred outputs"), as the Java master's
``DeferredOutputs``: which outputs workers kept instead of uploading them (TARGET_RUN
``keep_outputs``), and fetching them into the master's store when they are needed.

A kept action is never recorded in the action cache, whose records must name blobs the store
holds. It is remembered in memory and, so that a restarted master (Java or Python) still knows
it, in the state database under ``deferred/<key>`` (the worker id and the action's manifest, in
the Java record's JSON). Once its blobs are fetched the action cache record is written as usual
and this one deleted.

The blocking methods (state database, store) run in the master's executor threads.
"""

from __future__ import annotations

import bisect
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from buildnet.master import _store

if TYPE_CHECKING:
    from collections.abc import Iterable

    from buildnet.master._server import Master, Peer

log = logging.getLogger("buildnet.master")

#: The capability of a worker that honours TARGET_RUN ``keep_outputs``.
KEEP_OUTPUTS = "keep-outputs"
#: State database key prefix of the records that outlive this master (as Java's).
PREFIX = "deferred/"
_VERSION = 1
#: Bound on remembered actions; past it the memory is cleared (the records stay in the database).
_MAX_REMEMBERED = 100_000


@dataclass(eq=False)
class Kept:
    """The outputs of one action as a worker kept them: ``worker_id`` holds every blob of
    ``manifest`` (an action cache manifest: ``outputs``, ``directories``, ...) that the master's
    store lacks. ``earlier``: recorded before this master started, so trusted only once the worker
    confirms it still holds the blobs."""

    worker_id: str
    manifest: dict[str, Any]
    earlier: bool = False


class FetchError(Exception):
    """A kept blob could not be fetched (or confirmed): the message says why, in one line."""


def static_prefix(pattern: str) -> str:
    """The leading segments of an input pattern that hold no glob characters (Java
    ``GeneratedPaths.staticPrefix``)."""
    out: list[str] = []
    for segment in pattern.split("/"):
        if any(c in segment for c in "*?{"):
            break
        out.append(segment)
    return "/".join(out)


def input_prefixes(input_patterns: Iterable[str]) -> list[str]:
    """The sorted static prefixes of input patterns (exclusions left out), for
    :func:`outputs_read_as_inputs`."""
    return sorted({static_prefix(p) for p in input_patterns if not p.startswith("!")})


def outputs_read_as_inputs(prefixes: list[str], outputs: Iterable[str]) -> bool:
    """Whether an input whose static prefix is in the sorted ``prefixes`` may read one of
    ``outputs`` from the workspace: its fixed leading directories contain, or lie in, an output.
    Such outputs must be in the workspace before the reader's key is computed, so they are never
    deferred (as Java's ``BuildRun.outputsReadAsInputs``)."""
    for out in outputs:
        p = out
        while True:
            i = bisect.bisect_left(prefixes, p)
            if i < len(prefixes) and prefixes[i] == p:
                return True  # an input walks this output or a directory holding it
            if not p:
                break
            p = p[: max(0, p.rfind("/"))]
        i = bisect.bisect_left(prefixes, out + "/")
        if i < len(prefixes) and prefixes[i].startswith(out + "/"):
            return True  # an input lies inside this output
    return False


class Deferred:
    """What workers keep for this master, and fetching it."""

    def __init__(self, master: Master) -> None:
        self.m = master
        self._by_key: dict[str, Kept] = {}

    # ---- records (in threads) -------------------------------------------------------------

    def remember(self, key: str, kept: Kept) -> None:
        """Records that ``kept.worker_id`` holds the outputs of action ``key``; a failure to write
        the record only costs a re-run after a restart."""
        if len(self._by_key) >= _MAX_REMEMBERED:
            self._by_key.clear()
        self._by_key[key] = kept
        doc = {"version": _VERSION, "worker": kept.worker_id, "manifest": kept.manifest}
        try:
            assert self.m.state is not None
            self.m.state.set(PREFIX + key, json.dumps(doc, separators=(",", ":")).encode())
        except Exception as e:
            log.warning(
                "cannot record that worker '%s' keeps the outputs of '%s' (%s); after a restart "
                "of this master it runs again", kept.worker_id, kept.manifest.get("target"), e,
            )  # fmt: skip

    def recall(self, key: str) -> Optional[Kept]:
        """What a worker kept for action ``key``: remembered by this master, or by an earlier
        master on this workspace (the state database; an unreadable record is dropped)."""
        k = self._by_key.get(key)
        if k is not None:
            return k
        state = self.m.state
        assert state is not None
        raw = state.get(PREFIX + key)
        if raw is None:
            return None
        try:
            doc = json.loads(raw.decode("utf-8"))
            manifest = _store.decode_manifest(json.dumps(doc["manifest"]).encode("utf-8"))
            if doc.get("version") == _VERSION and isinstance(doc.get("worker"), str) and manifest:
                k = Kept(doc["worker"], manifest, earlier=True)
                self._by_key[key] = k
                return k
            log.warning("dropping kept-outputs record %s of another version", key)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
            log.warning("dropping unreadable kept-outputs record %s: %s", key, e)
        state.delete(PREFIX + key)
        return None

    def forget(self, key: str) -> None:
        """Forgets action ``key`` (its record is in the action cache now, or it is lost)."""
        self._by_key.pop(key, None)
        assert self.m.state is not None
        self.m.state.delete(PREFIX + key)

    def settle(self, key: str, kept: Kept) -> None:
        """Its blobs are in the store now: the action cache records it, this record goes."""
        assert self.m.state is not None
        m = kept.manifest
        record = _store.encode_manifest(
            m["target"], m["outputs"], m["directories"], m.get("stdout"), m.get("stderr"),
            int(m.get("durationMillis") or 0),
        )  # fmt: skip
        self.m.state.set(_store.AC_PREFIX + key, record)
        self.forget(key)

    def missing(self, kept: Kept) -> list[dict[str, Any]]:
        """The outputs of ``kept`` whose blobs the master's store lacks."""
        blobs = self.m.blobs
        assert blobs is not None
        return [o for o in kept.manifest["outputs"] if blobs.size_of(o["digest"]) != o["size"]]

    # ---- fetching (on the event loop) -----------------------------------------------------

    def holder(self, kept: Kept) -> Optional[Peer]:
        return self.m.workers.get(kept.worker_id)

    async def fetch(self, kept: Kept) -> Optional[str]:
        """Fetches every output blob of ``kept`` the store lacks from the worker that kept it,
        verified; None when they are all in, else why not ("which is not connected", ...)."""
        for o in await self.m.io(self.missing, kept):
            peer = self.holder(kept)
            if peer is None:
                return "which is not connected"
            try:
                await self.m.fetch_blob(peer, o["digest"], o["size"])
            except FetchError as e:
                log.warning(
                    "cannot fetch output %s of '%s' from worker '%s': %s", o["path"],
                    kept.manifest.get("target"), kept.worker_id, e,
                )  # fmt: skip
                return f"which could not serve them ({e})"
        return None

    async def still_held(self, kept: Kept) -> Optional[str]:
        """None if the worker that kept ``kept`` is connected (and, for a record from before this
        master started, confirms it still holds each blob the store lacks: BLOB_GET at offset =
        size, so no bytes cross the wire); else why not."""
        peer = self.holder(kept)
        if peer is None:
            return "which is not connected"
        if not kept.earlier:
            return None
        for o in await self.m.io(self.missing, kept):
            try:
                await self.m.fetch_blob(peer, o["digest"], o["size"], probe=True)
            except FetchError as e:
                log.info("worker '%s' does not confirm %s: %s", kept.worker_id, o["digest"], e)
                return "which no longer holds them"
        kept.earlier = False
        return None
