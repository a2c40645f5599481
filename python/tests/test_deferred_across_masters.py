"""The kept-outputs record (``deferred/<action key>`` in the workspace's ``.buildnet/state.db``;
docs/PROTOCOL.md, "The kept-outputs record") is the same in both masters: one master builds with
deferred outputs, is stopped, and the other master, started on the same workspace and address,
reads what the first recorded, confirms it with the worker that kept the outputs (which
reconnected), serves the target as cached and fetches its outputs from that worker when a client
asks for them; and the other way round. Real processes and files: the Java ``serve`` master, the
in-process Python master, and a Python worker whose store outlives both masters."""

from __future__ import annotations

import asyncio
import copy
import json
import sqlite3
import time
from typing import TYPE_CHECKING, Any

import pytest

import buildnet
from buildnet import _digests
from buildnet.master import Master
from tests.javamaster import SECRET, JavaMaster
from tests.pymaster import build_node, secret_file, wait_until
from tests.test_keep_outputs_java import (
    ARGS,
    GEN,
    WORKSPACE,
    build,
    in_store,
    joined,
    start,
    worker,
)

if TYPE_CHECKING:
    from pathlib import Path


pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(180)]


def kv(ws: Path, prefix: str) -> dict[str, bytes]:
    """The live rows of the workspace's state whose key starts with ``prefix``."""
    db = sqlite3.connect(ws / ".buildnet" / "state.db")
    try:
        rows = db.execute(
            "SELECT key, value FROM kv WHERE key >= ? AND key < ?"
            " AND (expires_at IS NULL OR expires_at > ?)",
            (prefix, prefix + "\uffff", int(time.time() * 1000)),
        ).fetchall()
    finally:
        db.close()
    return {k: bytes(v) for k, v in rows}


def the_record(ws: Path) -> tuple[str, dict[str, Any]]:
    """The one kept-outputs record in the workspace: its action key and its decoded JSON, which
    must be gen's output kept by 'py-keeper', in exactly the documented fields."""
    records = kv(ws, "deferred/")
    assert len(records) == 1, records
    [(name, raw)] = records.items()
    doc = json.loads(raw.decode("utf-8"))
    assert list(doc) == ["version", "worker", "manifest"]
    assert (doc["version"], doc["worker"]) == (1, "py-keeper")
    m = doc["manifest"]
    assert list(m) == [
        "version", "target", "outputs", "directories", "stdout", "stderr", "exitCode",
        "durationMillis", "createdAtMillis",
    ]  # fmt: skip
    assert (m["version"], m["target"], m["directories"], m["exitCode"]) == (1, "gen", [], 0)
    assert m["outputs"] == [
        {"path": "out/gen.txt", "digest": _digests.of_bytes("xxh64", GEN.encode()),
         "size": len(GEN), "executable": False},
    ]  # fmt: skip
    key = name[len("deferred/") :]
    _digests.parse(key)  # the action key's full algorithm:hex text, as in ac/<key>
    return key, doc


async def _py_build(m: Master, target: str) -> tuple[str, buildnet.BuildResult]:
    async with await buildnet.connect(*m.address, secret=SECRET) as c:
        b = await c.submit([target], logs=False)
        return b.build_id, (await b.result(60)).check()


async def test_the_python_master_uses_what_the_java_master_recorded_a_worker_keeps(
    tmp_path: Path,
) -> None:
    java = start(tmp_path)  # serve --defer-outputs, no local slots
    ws = java.workspace
    w = worker(tmp_path, "py-keeper")
    try:
        w.start(java.host, java.port, secret=SECRET)
        await joined(java, "py-keeper")
        assert (await build(java, "up")).executed == 2
        key, _ = the_record(ws)  # gen's output stayed on py-keeper
        assert not (ws / "out" / "gen.txt").exists()
        java.stop()

        async with Master(ws, secret=SECRET, defer_outputs=True,
                          listen=(java.host, java.port)) as m:  # fmt: skip
            await wait_until("py-keeper reconnected", lambda: "py-keeper" in m.workers)
            build_id, r = await _py_build(m, "up")
            assert (r.executed, r.cache_hits) == (0, 2)
            # The Python master keyed gen as the Java master did, found the Java record, and
            # trusted it once the worker it names confirmed the blob (a probe: no bytes crossed).
            assert build_node(m, build_id, "gen").reason == (
                "cached; its outputs stay on worker 'py-keeper' until needed"
            )
            assert m.stats["blob_bytes_in"] == 0
            assert the_record(ws)[0] == key

            build_id, r = await _py_build(m, "gen")
            assert (r.executed, r.cache_hits) == (0, 1)
            assert "fetched from worker 'py-keeper'" in build_node(m, build_id, "gen").reason
            assert m.stats["blob_bytes_in"] == len(GEN)
            assert (ws / "out" / "gen.txt").read_text() == GEN
            # Settled: an action record under the same key, and the kept-outputs record gone.
            assert kv(ws, "deferred/") == {}
            assert f"ac/{key}" in kv(ws, "ac/")
    finally:
        java.stop()
        await w.close()


async def test_the_java_master_uses_what_the_python_master_recorded_a_worker_keeps(
    tmp_path: Path,
) -> None:
    ws = tmp_path / "ws"  # where JavaMaster(tmp_path) puts its workspace, with the same files
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "in.txt").write_text("hello from python\n")
    (ws / "buildnet.json").write_text(json.dumps(WORKSPACE))
    secret_file(tmp_path)
    w = worker(tmp_path, "py-keeper")
    java = None
    try:
        async with Master(ws, secret=SECRET, defer_outputs=True) as m:
            host, port = m.address
            w.start(host, port, secret=SECRET)
            await wait_until("py-keeper joined", lambda: "py-keeper" in m.workers)
            _, r = await _py_build(m, "up")
            assert r.executed == 2
        key, _ = the_record(ws)
        assert not (ws / "out" / "gen.txt").exists()

        java = start(tmp_path, listen=f"{host}:{port}")
        assert java.workspace == ws
        await joined(java, "py-keeper")
        r = await build(java, "up")
        assert (r.executed, r.cache_hits) == (0, 2)
        assert the_record(ws)[0] == key  # still kept: confirmed, not fetched

        r = await build(java, "gen")
        assert (r.executed, r.cache_hits) == (0, 1)
        assert (ws / "out" / "gen.txt").read_text() == GEN
        assert in_store(java, _digests.of_bytes("xxh64", GEN.encode()))
        assert kv(ws, "deferred/") == {}
        assert f"ac/{key}" in kv(ws, "ac/")
    finally:
        if java is not None:
            java.stop()
        await w.close()


@pytest.mark.parametrize("writer", ["java", "python"])
async def test_a_record_naming_a_worker_that_never_returns_makes_the_other_master_run_it_again(
    tmp_path: Path, writer: str
) -> None:
    """The reader takes the worker id from the other master's record and says why it runs the
    target again."""
    gone = worker(tmp_path, "py-keeper")
    ws = tmp_path / "ws"
    try:
        if writer == "java":
            java = start(tmp_path)
            try:
                gone.start(java.host, java.port, secret=SECRET)
                await joined(java, "py-keeper")
                assert (await build(java, "up")).executed == 2
            finally:
                java.stop()
        else:
            (ws / "src").mkdir(parents=True)
            (ws / "src" / "in.txt").write_text("hello from python\n")
            (ws / "buildnet.json").write_text(json.dumps(WORKSPACE))
            secret_file(tmp_path)
            async with Master(ws, secret=SECRET, defer_outputs=True) as m:
                gone.start(*m.address, secret=SECRET)
                await wait_until("py-keeper joined", lambda: "py-keeper" in m.workers)
                assert (await _py_build(m, "up"))[1].executed == 2
        the_record(ws)
    finally:
        await gone.close()

    why = (
        "its outputs were kept on worker 'py-keeper' (recorded before this master started), "
        "which is not connected"
    )
    other = worker(tmp_path, "py-other")
    try:
        if writer == "java":
            async with Master(ws, secret=SECRET, defer_outputs=True) as m:
                other.start(*m.address, secret=SECRET)
                await wait_until("py-other joined", lambda: "py-other" in m.workers)
                build_id, r = await _py_build(m, "gen")
                assert (r.executed, r.cache_hits) == (1, 0)
                assert build_node(m, build_id, "gen").reason.endswith(f"ran again because {why}")
        else:
            java = start(tmp_path)
            try:
                other.start(java.host, java.port, secret=SECRET)
                await joined(java, "py-other")
                r = await build(java, "gen")
                assert (r.executed, r.cache_hits) == (1, 0)
                await asyncio.get_running_loop().run_in_executor(
                    None, java.wait_for, f"'gen' runs again: {why}", 30
                )
            finally:
                java.stop()
        assert (ws / "out" / "gen.txt").read_text() == GEN
        assert kv(ws, "deferred/") == {}
    finally:
        await other.close()


#: WORKSPACE and twin, which makes gen's bytes too but is requested: its output is uploaded.
TWIN: dict[str, Any] = copy.deepcopy(WORKSPACE)
TWIN["targets"]["twin"] = {
    "command": ["sh", "-c", "mkdir -p out && cat src/in.txt src/in.txt > out/twin.txt"],
    "inputs": ["src/in.txt"],
    "outputs": ["out/twin.txt"],
    "requires": ["python"],
}


@pytest.mark.parametrize("writer", ["java", "python"])
async def test_a_record_whose_blobs_the_store_holds_is_a_hit_in_the_other_master_without_its_worker(
    tmp_path: Path, writer: str
) -> None:
    """Both masters act alike on such a record: nothing to fetch, so the worker that kept the
    outputs need not be connected (the Python master ran the target again before)."""
    gone = worker(tmp_path, "py-keeper")
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "in.txt").write_text("hello from python\n")
    (ws / "buildnet.json").write_text(json.dumps(TWIN))
    secret_file(tmp_path)
    try:
        if writer == "java":
            java = JavaMaster(tmp_path, ARGS, workspace=TWIN)
            try:
                gone.start(java.host, java.port, secret=SECRET)
                await joined(java, "py-keeper")
                assert (await build(java, "up")).executed == 2
                assert (await build(java, "twin")).executed == 1
            finally:
                java.stop()
        else:
            async with Master(ws, secret=SECRET, defer_outputs=True) as m:
                gone.start(*m.address, secret=SECRET)
                await wait_until("py-keeper joined", lambda: "py-keeper" in m.workers)
                assert (await _py_build(m, "up"))[1].executed == 2
                assert (await _py_build(m, "twin"))[1].executed == 1
        key, _ = the_record(ws)
        assert (ws / "out" / "twin.txt").read_text() == GEN  # so the store holds gen's blob
    finally:
        await gone.close()

    other = worker(tmp_path, "py-other")
    try:
        if writer == "java":
            async with Master(ws, secret=SECRET, defer_outputs=True) as m:
                other.start(*m.address, secret=SECRET)
                await wait_until("py-other joined", lambda: "py-other" in m.workers)
                build_id, r = await _py_build(m, "gen")
                assert (r.executed, r.cache_hits) == (0, 1)
                assert build_node(m, build_id, "gen").reason == "restored from the cache"
                assert m.stats["fetches"] == 0
        else:
            java = JavaMaster(tmp_path, ARGS, workspace=TWIN)
            try:
                other.start(java.host, java.port, secret=SECRET)
                await joined(java, "py-other")
                r = await build(java, "gen")
                assert (r.executed, r.cache_hits) == (0, 1)
            finally:
                java.stop()
        assert (ws / "out" / "gen.txt").read_text() == GEN
        assert kv(ws, "deferred/") == {}
        assert f"ac/{key}" in kv(ws, "ac/")
    finally:
        await other.close()
