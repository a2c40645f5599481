"""Deferred outputs on the master (``Master(defer_outputs=True)``, ``buildnet-master
--defer-outputs``; docs/PROTOCOL.md, "Deferred outputs"), as the Java master's
``DeferredOutputs``: which outputs workers kept instead of uploading them (TARGET_RUN
``keep_outputs``), and fetching them into the master's store when they are needed.

A kept action is never recorded in the action cache, whose records must name blobs the store
holds. It is remembered in memory and, so that a restarted master (Java or Python) still knows
it, in the state database under ``deferred/<key>`` (the worker id and the action's manifest: the
record both masters write and read, docs/PROTOCOL.md, "The kept-outputs record"). Once its blobs
are fetched the action cache record is written as usual and this one deleted.

The blocking methods (state database, store) run in the master's executor threads.
"""

from __future__ import annotations

import bisect
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from buildnet import _digests
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


class RecordError(ValueError):
    """A kept-outputs record this master cannot use: the message says why, in one line."""


#: The record's fields and the manifest's (docs/PROTOCOL.md, "The kept-outputs record"), in the
#: order writers put them.
_RECORD_FIELDS = ("version", "worker", "manifest")
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
#: manifest field -> the range of an integer field, or the type of another.
_MANIFEST_TYPES: dict[str, Any] = {
    "version": _INT32, "target": str, "outputs": list, "directories": list, "stdout": str,
    "stderr": str, "exitCode": _INT32, "durationMillis": _INT64, "createdAtMillis": _INT64,
}  # fmt: skip
_OUTPUT_TYPES: dict[str, Any] = {
    "path": str, "digest": str, "size": (0, _INT64[1]), "executable": bool,
}  # fmt: skip


def encode_record(worker_id: str, manifest: dict[str, Any]) -> bytes:
    """A record's bytes: compact UTF-8 JSON, fields in the documented order, as Java's Jackson
    writes it (non-ASCII characters as they are, not escaped)."""
    doc = {"version": _VERSION, "worker": worker_id, "manifest": manifest}
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _check(where: str, doc: Any, types: dict[str, Any], nullable: tuple[str, ...] = ()) -> None:
    """``doc`` is an object with exactly the fields of ``types``, each of its type (JSON types:
    no bool for an integer, no float for either)."""
    if not isinstance(doc, dict):
        raise RecordError(f"{where} is not an object")
    if set(doc) != set(types):
        raise RecordError(f"{where} has fields {sorted(doc)}, not {sorted(types)}")
    for name, kind in types.items():
        v = doc[name]
        if v is None and name in nullable:
            continue
        if isinstance(kind, tuple):
            ok = isinstance(v, int) and not isinstance(v, bool) and kind[0] <= v <= kind[1]
        else:
            ok = isinstance(v, kind)
        if not ok:
            raise RecordError(f"{where}'s {name} is {json.dumps(v)[:40]}, not of its type")


def decode_record(raw: bytes) -> Kept:
    """A record read back (its ``earlier`` set), as strictly as Java's ``DeferredRecord.decode``:
    :class:`RecordError` if it is not UTF-8 JSON of exactly the documented fields and types, or of
    another version."""
    try:
        text = raw.decode("utf-8")
        if text.startswith("\ufeff"):
            raise RecordError("it starts with a byte order mark")

        def no_constant(name: str) -> Any:
            raise RecordError(f"unreadable: {name} is not JSON")

        doc = json.loads(text, parse_constant=no_constant)
    except UnicodeDecodeError:
        raise RecordError("it is not UTF-8") from None
    except ValueError as e:
        raise RecordError(f"unreadable: {e}") from None
    _check("the record", doc, {"version": _INT32, "worker": str, "manifest": dict})
    m = doc["manifest"]
    _check("the manifest", m, _MANIFEST_TYPES, nullable=("stdout", "stderr"))
    for o in m["outputs"]:
        _check("an output", o, _OUTPUT_TYPES)
    if not all(isinstance(d, str) for d in m["directories"]):
        raise RecordError("the manifest's directories are not all strings")
    if doc["version"] != _VERSION or m["version"] != _store.MANIFEST_VERSION:
        raise RecordError(f"of another version ({doc['version']}/{m['version']})")
    if not doc["worker"]:
        raise RecordError("it names no worker")
    try:
        for d in [o["digest"] for o in m["outputs"]] + [m["stdout"], m["stderr"]]:
            if d is not None:
                _digests.parse(d)
    except ValueError as e:
        raise RecordError(f"unreadable: {e}") from None
    # In the documented order, as Java's record classes hold it, whatever order it was written in.
    manifest = {f: m[f] for f in _MANIFEST_TYPES}
    manifest["outputs"] = [{f: o[f] for f in _OUTPUT_TYPES} for o in m["outputs"]]
    return Kept(doc["worker"], manifest, earlier=True)


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
        try:
            assert self.m.state is not None
            self.m.state.set(PREFIX + key, encode_record(kept.worker_id, kept.manifest))
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
            k = decode_record(raw)
        except RecordError as e:
            log.warning("dropping kept-outputs record %s: %s", key, e)
            state.delete(PREFIX + key)
            return None
        self._by_key[key] = k
        return k

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
        """None if the master's store holds every blob of ``kept`` (another action made the same
        bytes, or a fetch was not settled), or if the worker that kept it is connected (and, for a
        record from before this master started, confirms it still holds each blob the store
        lacks: BLOB_GET at offset = size, so no bytes cross the wire); else why not. As Java's
        ``DeferredOutputs.lookup``, so both masters act alike on the same record."""
        missing = await self.m.io(self.missing, kept)
        if not missing:
            return None
        peer = self.holder(kept)
        if peer is None:
            return "which is not connected"
        if not kept.earlier:
            return None
        for o in missing:
            try:
                await self.m.fetch_blob(peer, o["digest"], o["size"], probe=True)
            except FetchError as e:
                log.info("worker '%s' does not confirm %s: %s", kept.worker_id, o["digest"], e)
                return "which no longer holds them"
        kept.earlier = False
        return None
