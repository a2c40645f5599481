"""The workspace's ``.buildnet/`` layout, shared with the Java engine (docs/CACHE-KEY.md):
``state.db`` (SQLite, WAL: tables kv, locks, fencing, as the Java ``SqliteStateBackend``) and
``cas/<algorithm>/<hex[0:2]>/<hex>`` (the content-addressed ``BlobStore``).

Everything here blocks (disk, SQLite, hashing): the master calls it from executor threads, never
from the event loop. Both classes are safe to use from several threads.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any, BinaryIO, Callable, Optional, TypeVar, cast

from buildnet import _digests
from buildnet._connection import now_ms
from buildnet.master._workspace import utf16

_SCHEMA = (
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    "CREATE TABLE kv (key TEXT NOT NULL PRIMARY KEY, value BLOB NOT NULL, expires_at INTEGER)"
    " WITHOUT ROWID",
    "CREATE INDEX kv_expires_at ON kv (expires_at) WHERE expires_at IS NOT NULL",
    "CREATE TABLE locks (resource TEXT NOT NULL PRIMARY KEY, owner TEXT NOT NULL,"
    " token INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE fencing (resource TEXT NOT NULL PRIMARY KEY, last_token INTEGER NOT NULL)"
    " WITHOUT ROWID",
    "INSERT INTO schema_version (version) VALUES (1)",
)
_TABLES = {"schema_version", "kv", "locks", "fencing"}
_LIVE = "(expires_at IS NULL OR expires_at > ?)"
_DECIMAL = re.compile(r"[+-]?[0-9]+")
_INT64 = (-(2**63), 2**63 - 1)


class StateError(Exception):
    """The store refused the operation (STATE_ERROR on the wire)."""


class LockNotHeld(Exception):
    """A renew or release of a lease that is not current (LOCK_NOT_HELD on the wire)."""



_F = TypeVar("_F", bound=Callable[..., Any])


def _locked(method: _F) -> _F:
    @functools.wraps(method)
    def call(self: StateDb, *args: Any) -> Any:
        with self._lock:
            return method(self, *args)

    return cast("_F", call)


class StateDb:
    """The Java SQLite state backend's file format and semantics (TTLs on the wall clock in epoch
    ms, fencing tokens that never repeat per lock name). Thread-safe: one connection, used by one
    thread at a time."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            str(path), timeout=5.0, isolation_level=None, check_same_thread=False
        )
        mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StateError(f"{path}: SQLite could not switch it to WAL mode (it is {mode})")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute("BEGIN IMMEDIATE")
        try:
            tables = {
                r[0]
                for r in self._db.execute(
                    "SELECT name FROM sqlite_master"
                    " WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                )
            }
            if not tables:
                for sql in _SCHEMA:
                    self._db.execute(sql)
            elif "schema_version" not in tables or not tables >= _TABLES:
                raise StateError(
                    f"{path} is not a valid BuildNet state database (tables "
                    f"{sorted(tables)}); it was left untouched"
                )
            else:
                version = self._db.execute("SELECT version FROM schema_version").fetchall()
                if len(version) != 1 or version[0][0] != 1:
                    raise StateError(
                        f"{path} has BuildNet state schema version {version} but "
                        "this master knows only version 1"
                    )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            self._db.close()
            raise

    @_locked
    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def _tx(self) -> Any:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @_locked
    def get(self, key: str) -> Optional[bytes]:
        row = self._db.execute(
            f"SELECT value FROM kv WHERE key = ? AND {_LIVE}", (key, now_ms())
        ).fetchone()
        return None if row is None else bytes(row[0])

    def _put(self, key: str, value: bytes, expires_at: Optional[int]) -> None:
        self._db.execute(
            "INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE"
            " SET value = excluded.value, expires_at = excluded.expires_at",
            (key, value, expires_at),
        )

    @_locked
    def set(self, key: str, value: bytes, ttl_ms: Optional[int] = None) -> bool:
        """Stores ``value``; returns whether a live value existed (read just before)."""
        existed = self.get(key) is not None
        self._put(key, value, None if ttl_ms is None else now_ms() + ttl_ms)
        return existed

    @_locked
    def set_if_absent(self, key: str, value: bytes, ttl_ms: Optional[int]) -> bool:
        with self._tx():
            now = now_ms()
            if self._db.execute(
                f"SELECT 1 FROM kv WHERE key = ? AND {_LIVE}", (key, now)
            ).fetchone():
                return False
            self._put(key, value, None if ttl_ms is None else now + ttl_ms)
            return True

    @_locked
    def compare_and_set(self, key: str, expected: bytes, value: bytes) -> bool:
        cur = self._db.execute(
            f"UPDATE kv SET value = ?, expires_at = NULL WHERE key = ? AND value = ? AND {_LIVE}",
            (value, key, expected, now_ms()),
        )
        return cur.rowcount > 0

    @_locked
    def delete(self, key: str) -> bool:
        cur = self._db.execute(f"DELETE FROM kv WHERE key = ? AND {_LIVE}", (key, now_ms()))
        return cur.rowcount > 0

    @_locked
    def keys(self, prefix: str) -> list[str]:
        found = []
        for (key,) in self._db.execute(
            f"SELECT key FROM kv WHERE key >= ? AND {_LIVE} ORDER BY key", (prefix, now_ms())
        ):
            if not key.startswith(prefix):
                break
            found.append(key)
        found.sort(key=utf16)  # promise Java String order, as the Java backend does
        return found

    @_locked
    def increment(self, key: str, delta: int) -> int:
        with self._tx():
            row = self._db.execute(
                f"SELECT value, expires_at FROM kv WHERE key = ? AND {_LIVE}", (key, now_ms())
            ).fetchone()
            value = 0
            expires = None
            if row is not None:
                text = bytes(row[0]).decode("utf-8", "replace")
                if not _DECIMAL.fullmatch(text) or not _INT64[0] <= int(text) <= _INT64[1]:
                    raise StateError(
                        f"cannot increment key '{key}': its value is not a decimal "
                        f"integer: {text[:40]}"
                    )
                value, expires = int(text), row[1]
            result = value + delta
            if not _INT64[0] <= result <= _INT64[1]:
                raise StateError(
                    f"cannot increment key '{key}': {value} + {delta} overflows a long"
                )
            self._put(key, str(result).encode("ascii"), expires)
            return result

    @_locked
    def acquire(self, name: str, holder: str, lease_ms: int) -> Optional[tuple[int, int]]:
        """(token, expires_at) of a new lease, or None while another is live."""
        with self._tx():
            now = now_ms()
            row = self._db.execute(
                "SELECT expires_at FROM locks WHERE resource = ?", (name,)
            ).fetchone()
            if row is not None and row[0] > now:
                return None
            self._db.execute(
                "INSERT INTO fencing (resource, last_token) VALUES (?, 1) ON CONFLICT (resource)"
                " DO UPDATE SET last_token = last_token + 1",
                (name,),
            )
            token = int(
                self._db.execute(
                    "SELECT last_token FROM fencing WHERE resource = ?", (name,)
                ).fetchone()[0]
            )
            expires = now + lease_ms
            self._db.execute(
                "INSERT INTO locks (resource, owner, token, expires_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (resource) DO UPDATE SET owner = excluded.owner,"
                " token = excluded.token, expires_at = excluded.expires_at",
                (name, holder, token, expires),
            )
            return token, expires

    @_locked
    def renew(self, name: str, holder: str, token: int, lease_ms: int) -> int:
        now = now_ms()
        expires = now + lease_ms
        cur = self._db.execute(
            "UPDATE locks SET expires_at = ? WHERE resource = ? AND owner = ? AND token = ?"
            " AND expires_at > ?",
            (expires, name, holder, token, now),
        )
        if cur.rowcount == 0:
            raise LockNotHeld(
                f"lock on '{name}' held by '{holder}' with fencing token {token} is "
                "not held: it was released, expired or granted to another"
            )
        return expires

    @_locked
    def release(self, name: str, holder: str, token: int) -> None:
        cur = self._db.execute(
            "DELETE FROM locks WHERE resource = ? AND owner = ? AND token = ? AND expires_at > ?",
            (name, holder, token, now_ms()),
        )
        if cur.rowcount == 0:
            raise LockNotHeld(
                f"lock on '{name}' held by '{holder}' with fencing token {token} is "
                "not held: it was released, expired or granted to another"
            )


class BlobStore:
    """``.buildnet/cas``: blobs named by digest, published by atomic rename, verified on read."""

    def __init__(self, root: Path, algorithm: str = "xxh64") -> None:
        self.root = root
        self.algorithm = _digests.check_algorithm(algorithm)
        (root / "tmp").mkdir(parents=True, exist_ok=True)

    def path_of(self, digest: str) -> Path:
        algorithm, hexdigits = _digests.parse(digest)
        if algorithm != self.algorithm:
            raise ValueError(f"this store holds {self.algorithm} blobs, not {digest}")
        return self.root / algorithm / hexdigits[:2] / hexdigits

    def size_of(self, digest: str) -> Optional[int]:
        try:
            st = os.stat(self.path_of(digest))
        except OSError:
            return None
        return st.st_size

    def contains(self, digest: str) -> bool:
        return self.path_of(digest).is_file()

    def new_temp(self) -> tuple[Path, BinaryIO]:
        path = self.root / "tmp" / f"{uuid.uuid4()}.part"
        return path, open(path, "xb")

    def publish(self, tmp: Path, digest: str) -> bool:
        """Moves a verified temp file into place; False (and the temp removed) if present."""
        target = self.path_of(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_file():
            tmp.unlink(missing_ok=True)
            return False
        os.replace(tmp, target)
        return True

    def put_file(self, file: Path) -> tuple[str, int]:
        """Copies ``file`` in (hashing while copying); returns (digest, size)."""
        tmp, out = self.new_temp()
        try:
            with out:
                digest = _digests.copy_hashed(self.algorithm, file, tmp)
            size = tmp.stat().st_size
            self.publish(tmp, digest)
            return digest, size
        finally:
            tmp.unlink(missing_ok=True)

    def put_bytes(self, data: bytes) -> str:
        digest = _digests.of_bytes(self.algorithm, data)
        if self.contains(digest):
            return digest
        tmp, out = self.new_temp()
        try:
            with out:
                out.write(data)
            self.publish(tmp, digest)
        finally:
            tmp.unlink(missing_ok=True)
        return digest

    def put_verified(self, file: Path, expected: str) -> bool:
        """Copies ``file`` in only if it hashes to ``expected``; ValueError if it does not."""
        tmp, out = self.new_temp()
        try:
            with out:
                actual = _digests.copy_hashed(self.algorithm, file, tmp)
            if actual != expected:
                raise ValueError(f"{file} hashes to {actual}, not {expected}")
            return self.publish(tmp, expected)
        finally:
            tmp.unlink(missing_ok=True)

    def copy_verified(self, digest: str, destination: Path) -> bool:
        """Copies the blob to ``destination``, verifying it; False if absent or corrupt (a
        corrupt blob is deleted)."""
        blob = self.path_of(digest)
        try:
            actual = _digests.copy_hashed(self.algorithm, blob, destination)
        except FileNotFoundError:
            return False
        if actual != digest:
            blob.unlink(missing_ok=True)
            return False
        with contextlib.suppress(OSError):
            os.utime(blob)
        return True

    def discard(self, digest: str) -> None:
        self.path_of(digest).unlink(missing_ok=True)


# ---- the action cache: ac/<key> -> ActionManifest JSON (Java ActionCache) ----------------------

AC_PREFIX = "ac/"
MANIFEST_VERSION = 1
_MANIFEST_FIELDS = (
    "version",
    "target",
    "outputs",
    "directories",
    "stdout",
    "stderr",
    "exitCode",
    "durationMillis",
    "createdAtMillis",
)
_OUTPUT_FIELDS = ("path", "digest", "size", "executable")


def encode_manifest(
    target: str,
    outputs: list[dict[str, Any]],
    directories: list[str],
    stdout: Optional[str],
    stderr: Optional[str],
    duration_ms: int,
) -> bytes:
    """The JSON record Java's ``ActionCache`` writes (Jackson, record component order)."""
    doc = {
        "version": MANIFEST_VERSION,
        "target": target,
        "outputs": [{f: o[f] for f in _OUTPUT_FIELDS} for o in outputs],
        "directories": directories,
        "stdout": stdout,
        "stderr": stderr,
        "exitCode": 0,
        "durationMillis": duration_ms,
        "createdAtMillis": now_ms(),
    }
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


def _is_int(v: Any, bounds: tuple[int, int]) -> bool:
    """A JSON integer (not a boolean, not 1.0) within Java's bounds for the field."""
    return isinstance(v, int) and not isinstance(v, bool) and bounds[0] <= v <= bounds[1]


class ManifestError(ValueError):
    """An action record that cannot be used (a cache miss): the message says why, in one line."""


def decode_manifest(raw: bytes) -> dict[str, Any]:
    """The action record (docs/CACHE-KEY.md, "The action record"), refused as Java's
    ``ActionCache`` refuses it: :class:`ManifestError` if it is not a UTF-8 JSON object of the
    documented fields only, of version 1, with ``target`` a string and ``outputs`` and
    ``directories`` arrays (present, not null, possibly empty) of outputs and strings."""
    try:
        text = raw.decode("utf-8")
        if text.startswith("\ufeff"):
            raise ManifestError("it starts with a byte order mark")  # Java does not skip it

        def no_constant(name: str) -> Any:
            raise ManifestError(f"unreadable: {name} is not JSON")

        doc = json.loads(text, parse_constant=no_constant)
    except UnicodeDecodeError:
        raise ManifestError("it is not UTF-8") from None
    except ValueError as e:
        if isinstance(e, ManifestError):
            raise
        raise ManifestError(f"unreadable: {e}") from None
    if not isinstance(doc, dict):
        raise ManifestError("it is not a JSON object")
    if set(doc) - set(_MANIFEST_FIELDS):
        raise ManifestError(f"unknown fields {sorted(set(doc) - set(_MANIFEST_FIELDS))}")
    if not _is_int(doc.get("version"), _INT32) or doc["version"] != MANIFEST_VERSION:
        raise ManifestError(f"of version {json.dumps(doc.get('version'))}, not {MANIFEST_VERSION}")
    # The optional fields, when present, are of their types: Java converts none of them.
    for name, bounds in (("exitCode", _INT32), ("durationMillis", _INT64),
                         ("createdAtMillis", _INT64)):  # fmt: skip
        if name in doc and not _is_int(doc[name], bounds):
            raise ManifestError(f"its {name} is {json.dumps(doc[name])[:40]}, not an integer")
    for name in ("stdout", "stderr"):
        log = doc.get(name)
        if log is not None:
            if not isinstance(log, str):
                raise ManifestError(f"its {name} is neither null nor a digest")
            try:
                _digests.parse(log)
            except ValueError as e:
                raise ManifestError(f"its {name}: {e}") from None
    if not isinstance(doc.get("target"), str):
        raise ManifestError("its target is missing or not a string")
    # Required, as in Java's ActionManifest (which refuses them absent or null): a record without
    # them says nothing about which outputs to restore or clear.
    for name in ("outputs", "directories"):
        if not isinstance(doc.get(name), list):
            raise ManifestError(f"its {name} is missing or not an array")
    for o in doc["outputs"]:
        if not isinstance(o, dict) or set(o) - set(_OUTPUT_FIELDS):
            raise ManifestError(f"an output is not an object of {list(_OUTPUT_FIELDS)}")
        if not isinstance(o.get("path"), str):
            raise ManifestError("an output's path is missing or not a string")
        if not isinstance(o.get("digest"), str):
            raise ManifestError("an output's digest is missing or not a string")
        try:
            _digests.parse(o["digest"])
        except ValueError as e:
            raise ManifestError(f"an output's {e}") from None
        if not _is_int(o.get("size"), (0, _INT64[1])):
            raise ManifestError("an output's size is missing or not an integer of 0 to 2^63-1")
        if not isinstance(o.get("executable", False), bool):
            raise ManifestError("an output's executable is not a boolean")
    if not all(isinstance(d, str) for d in doc["directories"]):
        raise ManifestError("its directories are not all strings")
    return doc


def manifest_blobs(m: dict[str, Any]) -> list[str]:
    blobs = [o["digest"] for o in m["outputs"]]
    blobs += [d for d in (m.get("stdout"), m.get("stderr")) if d]
    return blobs


# ---- outputs in the workspace (Java Outputs): restore all-or-nothing, check, clear ---------------

_STAGE = ".buildnet-stage-"


def resolve_output(workspace: Path, rel: str) -> Path:
    """``rel`` inside the workspace; ValueError if it escapes (a manifest is never trusted)."""
    p = Path(os.path.normpath(workspace / rel))
    if p == workspace or workspace not in p.parents:
        raise ValueError(f"output path '{rel}' escapes the workspace")
    return p


def _list_files(d: Path) -> list[Path]:
    out = []
    for dirpath, _dirs, files in os.walk(d):
        for f in files:
            p = Path(dirpath) / f
            if p.is_file() and not p.is_symlink():
                out.append(p)
    return out


def outputs_up_to_date(workspace: Path, m: dict[str, Any], algorithm: str) -> bool:
    """The workspace already holds exactly the manifest's outputs."""
    for o in m["outputs"]:
        p = resolve_output(workspace, o["path"])
        if not p.is_file() or p.is_symlink():
            return False
        if _digests.of_file(algorithm, p)[0] != o["digest"]:
            return False
    expected = {o["path"] for o in m["outputs"]}
    for d in m["directories"]:
        dp = resolve_output(workspace, d)
        if not dp.is_dir() or dp.is_symlink():
            return False
        for f in _list_files(dp):
            if f.relative_to(workspace).as_posix() not in expected:
                return False
    return True


def _delete_tree(p: Path) -> None:
    import shutil

    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p)
    else:
        p.unlink(missing_ok=True)


def clear_outputs(workspace: Path, declared: Any) -> None:
    for rel in declared:
        _delete_tree(resolve_output(workspace, rel))


def restore_outputs(workspace: Path, m: dict[str, Any], blobs: BlobStore) -> bool:
    """Replaces the workspace's outputs with the stored ones: staged, verified, then renamed;
    False (workspace untouched) if a blob is missing or corrupt."""
    tag = uuid.uuid4().hex
    staged_dirs: dict[str, Path] = {}
    staged_files: list[tuple[Path, Path]] = []
    try:
        for d in m["directories"]:
            dp = resolve_output(workspace, d)
            dp.parent.mkdir(parents=True, exist_ok=True)
            staged = dp.with_name(dp.name + _STAGE + tag)
            staged.mkdir()
            staged_dirs[d] = staged
        for o in m["outputs"]:
            dest = resolve_output(workspace, o["path"])
            staged_path = None
            for d, sd in staged_dirs.items():
                if o["path"].startswith(d + "/"):
                    staged_path = sd / o["path"][len(d) + 1 :]
                    break
            if staged_path is None:
                dest.parent.mkdir(parents=True, exist_ok=True)
                staged_path = dest.with_name("." + dest.name + _STAGE + tag)
                staged_files.append((staged_path, dest))
            else:
                staged_path.parent.mkdir(parents=True, exist_ok=True)
            if not blobs.copy_verified(o["digest"], staged_path):
                _discard(staged_dirs.values(), [s for s, _ in staged_files])
                return False
            if o.get("executable"):
                staged_path.chmod(staged_path.stat().st_mode | 0o111)
    except BaseException:
        _discard(staged_dirs.values(), [s for s, _ in staged_files])
        raise
    for d, sd in staged_dirs.items():
        dp = resolve_output(workspace, d)
        if dp.exists() or dp.is_symlink():
            old = dp.with_name(dp.name + ".buildnet-old-" + tag)
            os.replace(dp, old)
            os.replace(sd, dp)
            _delete_tree(old)
        else:
            os.replace(sd, dp)
    for s, dest in staged_files:
        os.replace(s, dest)
    return True


def _discard(dirs: Any, files: Any) -> None:
    for d in dirs:
        with contextlib.suppress(OSError):
            _delete_tree(d)
    for f in files:
        with contextlib.suppress(OSError):
            f.unlink(missing_ok=True)
