"""Deferred outputs on the Python master (``Master(defer_outputs=True)``; docs/PROTOCOL.md,
"Deferred outputs"): an in-process master with real worker processes (Python and Java) over real
sockets. Intermediate outputs stay on the worker that made them and cross the wire only when a
target on another worker consumes them, a client asks for them, or the master restarts and the
worker confirms it still holds them; a producer whose worker died runs again; cancelling a build
abandons its fetches, whose late chunks the master drops."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import TYPE_CHECKING, Any

import pytest

import buildnet
from buildnet.master import Master
from buildnet.master._deferred import input_prefixes, outputs_read_as_inputs
from tests.javamaster import SECRET
from tests.pymaster import (
    Proc,
    build_node,
    java_worker,
    make_workspace,
    python_master,
    python_worker,
    secret_file,
    wait_until,
)

if TYPE_CHECKING:
    from pathlib import Path


pytestmark = pytest.mark.timeout(240)

MB = 1_000_000


@pytest.mark.parametrize(
    ("inputs", "outputs", "read"),
    [
        (["out/gen.txt"], ["out/gen.txt"], True),  # the output itself
        (["out/**/*.bin"], ["out/x/a.bin"], True),  # a directory holding it
        (["**/*.txt"], ["out/a.bin"], True),  # the whole workspace
        (["out/j2/n.txt"], ["out/j2"], True),  # a file inside an output directory
        (["out/j2/{a,b}.txt"], ["out/j2"], True),
        (["src/**", "outer/x.txt", "out/a.bin.old"], ["out/a.bin", "ou"], False),
        (["!out/a.bin", "src/in.txt"], ["out/a.bin"], False),  # exclusions read nothing
        ([], ["out/a.bin"], False),
    ],
)
def test_outputs_that_an_input_pattern_may_read_are_never_deferred(
    inputs: list[str], outputs: list[str], read: bool
) -> None:
    assert outputs_read_as_inputs(input_prefixes(inputs), outputs) is read


def _chain(size: int = MB) -> dict[str, Any]:
    """a (on the worker with 'one') -> b (on the worker with 'two') -> c (anywhere)."""
    return {
        "a": {"command": ["sh", "-c", f"mkdir -p out && head -c {size} /dev/urandom > out/a.bin"],
              "outputs": ["out/a.bin"], "requires": ["one"]},
        "b": {"command": ["sh", "-c", "cat out/a.bin out/a.bin > out/b.bin"],
              "outputs": ["out/b.bin"], "deps": ["a"], "requires": ["two"]},
        "c": {"command": ["sh", "-c", "wc -c < out/b.bin | tr -d ' ' > out/c.txt"],
              "outputs": ["out/c.txt"], "deps": ["b"]},
    }  # fmt: skip


def _digest(m: Master, build_id: str, name: str) -> tuple[str, int]:
    o = build_node(m, build_id, name).outputs[0]
    return o["digest"], o["size"]


def _in_store(m: Master, digest: str) -> bool:
    assert m.blobs is not None
    return m.blobs.contains(digest)


def _stop(*procs: Proc) -> None:
    for p in procs:
        p.stop()


async def _join(m: Master, *workers: Proc) -> None:
    """Starts nothing: waits until each of ``workers`` (started in order) has joined."""
    for w in workers:
        await wait_until(f"worker {w.name} joined", lambda w=w: w.name in m.workers)  # type: ignore[misc]


@pytest.mark.asyncio
async def test_a_chain_on_two_workers_keeps_the_middle_output_on_its_worker(
    tmp_path: Path,
) -> None:
    ws = make_workspace(tmp_path, _chain())
    secret = secret_file(tmp_path)
    async with Master(ws, secret=SECRET, defer_outputs=True) as m:
        address = "{}:{}".format(*m.address)
        w1 = python_worker("w1", address, secret, "one")
        w2 = python_worker("w2", address, secret, "two")
        try:
            await _join(m, w1, w2)
            async with await buildnet.connect(*m.address, secret=SECRET) as client:
                build = await client.submit(["c"])
                result = (await build.result(120)).check()
                assert result.executed == 3
                a, a_size = _digest(m, build.build_id, "a")
                b, b_size = _digest(m, build.build_id, "b")
                _, c_size = _digest(m, build.build_id, "c")
                assert (a_size, b_size) == (MB, 2 * MB)
                # b ran on w2 and fetched a's output from w1 through the master; c ran where b's
                # output was (w2), so that output never reached the master.
                assert "built on worker 'w2'" in build_node(m, build.build_id, "b").reason
                assert "built on worker 'w2'" in build_node(m, build.build_id, "c").reason
                assert "stay there until needed" in build_node(m, build.build_id, "b").reason
                assert _in_store(m, a)
                assert not _in_store(m, b)
                assert not (ws / "out" / "b.bin").exists()
                assert not (ws / "out" / "a.bin").exists()
                assert (ws / "out" / "c.txt").read_text() == f"{2 * MB}\n"
                # In: a's bytes fetched from w1, and c's upload. Out: a's bytes served to w2.
                assert m.stats["blob_bytes_in"] == a_size + c_size
                assert m.stats["blob_bytes_out"] == a_size

                again = (await (await client.submit(["c"])).result(120)).check()
                assert (again.executed, again.cache_hits) == (0, 3)

                # A client asking for b gets it: fetched from w2, restored, in the cache.
                before = m.stats["blob_bytes_in"]
                ask = await client.submit(["b"])
                got = (await ask.result(120)).check()
                assert got.cache_hits == 2
                assert "fetched from worker 'w2'" in build_node(m, ask.build_id, "b").reason
                assert m.stats["blob_bytes_in"] - before == b_size
                assert _in_store(m, b)
                assert (ws / "out" / "b.bin").stat().st_size == b_size
                assert [o.digest for o in got.outputs] == [b]
        finally:
            _stop(w1, w2)


@pytest.mark.asyncio
async def test_java_workers_keep_outputs_for_the_python_master_and_serve_them_when_fetched(
    tmp_path: Path,
) -> None:
    targets = _chain()
    targets["c"]["requires"] = ["one"]  # c on java-1: b's output crosses from java-2
    ws = make_workspace(tmp_path, targets)
    secret = secret_file(tmp_path)
    async with Master(ws, secret=SECRET, defer_outputs=True) as m:
        address = "{}:{}".format(*m.address)
        j1 = java_worker("java-1", address, secret, "one")
        j2 = java_worker("java-2", address, secret, "two")
        try:
            await _join(m, j1, j2)
            assert "keep-outputs" in m.workers["java-1"].capabilities
            async with await buildnet.connect(*m.address, secret=SECRET) as client:
                build = await client.submit(["c"])
                (await build.result(180)).check()
                a, a_size = _digest(m, build.build_id, "a")
                b, b_size = _digest(m, build.build_id, "b")
                _, c_size = _digest(m, build.build_id, "c")
                assert "built on worker 'java-1'" in build_node(m, build.build_id, "a").reason
                assert "built on worker 'java-2'" in build_node(m, build.build_id, "b").reason
                assert "built on worker 'java-1'" in build_node(m, build.build_id, "c").reason
                assert _in_store(m, a)
                assert _in_store(m, b)
                assert m.stats["blob_bytes_in"] == a_size + b_size + c_size
                assert m.stats["fetches"] == 2
                assert not (ws / "out" / "b.bin").exists()
                assert (ws / "out" / "c.txt").read_text() == f"{2 * MB}\n"
        finally:
            _stop(j1, j2)


def _gated(go: Path, size: int = 100_000) -> dict[str, Any]:
    """gate blocks w2 (the only worker with 'two') until ``go`` exists, so that a runs on w1;
    b needs a and gate, and runs on w2."""
    return {
        "gate": {"command": ["sh", "-c", 'while [ ! -e "$0" ]; do sleep 0.05; done; '
                             "mkdir -p out; echo open > out/gate.txt", str(go)],
                 "outputs": ["out/gate.txt"], "requires": ["two"], "priority": 10},
        "a": {"command": ["sh", "-c", f"mkdir -p out && head -c {size} /dev/urandom > out/a.bin"],
              "outputs": ["out/a.bin"]},
        "b": {"command": ["sh", "-c", "wc -c < out/a.bin | tr -d ' ' > out/b.txt"],
              "outputs": ["out/b.txt"], "deps": ["a", "gate"], "requires": ["two"]},
    }  # fmt: skip


@pytest.mark.asyncio
async def test_a_producer_whose_worker_was_killed_runs_again_for_its_consumer(
    tmp_path: Path,
) -> None:
    go = tmp_path / "go"
    ws = make_workspace(tmp_path, _gated(go))
    secret = secret_file(tmp_path)
    async with Master(ws, secret=SECRET, defer_outputs=True) as m:
        address = "{}:{}".format(*m.address)
        w1 = python_worker("w1", address, secret, "one")
        await _join(m, w1)
        w2 = python_worker("w2", address, secret, "two")
        try:
            await _join(m, w2)
            async with await buildnet.connect(*m.address, secret=SECRET) as client:
                build = await client.submit(["b"])
                a = build_node(m, build.build_id, "a")
                await wait_until("a is built", lambda: a.status == "built")
                assert "built on worker 'w1'; its outputs stay there" in a.reason
                os.killpg(w1.pid, signal.SIGKILL)
                await wait_until("w1 is gone", lambda: "w1" not in m.workers)
                go.touch()
                result = (await build.result(120)).check()
                assert result.executed == 3  # gate, a (twice) and b
                assert a.reason == (
                    "built on worker 'w2'; its outputs stay there until needed; ran again "
                    "because its outputs were kept on worker 'w1', which is not connected"
                )
                assert (ws / "out" / "b.txt").read_text() == "100000\n"
                # The re-run was placed on b's worker: a's output never crossed the wire.
                assert m.stats["fetches"] == 0
                assert not _in_store(m, a.outputs[0]["digest"])
        finally:
            _stop(w1, w2)


@pytest.mark.asyncio
async def test_cancelling_a_build_mid_fetch_abandons_it_and_drops_the_late_chunks(
    tmp_path: Path,
) -> None:
    go = tmp_path / "go"
    ws = make_workspace(tmp_path, _gated(go, 4 * MB))
    secret = secret_file(tmp_path)
    async with Master(ws, secret=SECRET, defer_outputs=True) as m:
        address = "{}:{}".format(*m.address)
        w1 = python_worker("w1", address, secret, "one")
        await _join(m, w1)
        w2 = python_worker("w2", address, secret, "two")
        try:
            await _join(m, w2)
            async with await buildnet.connect(*m.address, secret=SECRET) as client:
                build = await client.submit(["b"])
                a = build_node(m, build.build_id, "a")
                await wait_until("a is built", lambda: a.status == "built")
                # w1 holds a's output; stopped, it cannot answer the master's BLOB_GET yet.
                os.killpg(w1.pid, signal.SIGSTOP)
                try:
                    go.touch()  # b can start on w2 now, and needs a's output from w1
                    await wait_until(
                        "the master fetches a's output", lambda: m.stats["fetches"] == 1
                    )
                    await build.cancel("mid-fetch")
                    outcome = await build.result(60)
                    assert not outcome.ok
                    assert build_node(m, build.build_id, "b").status == "cancelled"
                    tmp = ws / ".buildnet" / "cas" / "tmp"
                    await wait_until(
                        "the fetch's temp file is gone", lambda: not any(tmp.iterdir())
                    )
                finally:
                    os.killpg(w1.pid, signal.SIGCONT)
                # Resumed, w1 answers the abandoned BLOB_GET: the master drops those chunks.
                await wait_until(
                    "the late chunks are dropped", lambda: m.stats["dropped_chunks"] > 0
                )
                digest, _ = _digest(m, build.build_id, "a")
                assert not _in_store(m, digest)
                assert m.stats["blob_bytes_in"] == 0
                assert "w1" in m.workers  # the connection is fine
        finally:
            _stop(w1, w2)


@pytest.mark.asyncio
async def test_a_restarted_master_trusts_kept_outputs_only_once_their_worker_confirms_them(
    tmp_path: Path,
) -> None:
    targets = _chain()
    for t in targets.values():
        t.pop("requires", None)
    ws = make_workspace(tmp_path, targets)
    secret = secret_file(tmp_path)
    async with Master(ws, secret=SECRET, defer_outputs=True) as m:
        host, port = m.address
        w1 = python_worker("w1", f"{host}:{port}", secret, "one")
        try:
            await _join(m, w1)
            async with await buildnet.connect(host, port, secret=SECRET) as client:
                first = await client.submit(["c"])
                (await first.result(120)).check()
                _, b_size = _digest(m, first.build_id, "b")
                assert m.stats["fetches"] == 0  # one worker: nothing crossed
        except BaseException:
            _stop(w1)
            raise
    try:
        # The worker reconnects to a new master on the same address and workspace.
        async with Master(ws, secret=SECRET, defer_outputs=True, listen=(host, port)) as m2:
            await _join(m2, w1)
            async with await buildnet.connect(host, port, secret=SECRET) as client:
                ask = await client.submit(["b"])
                got = (await ask.result(120)).check()
                assert got.cache_hits == 2
                # a: confirmed (a probe, no bytes); b: confirmed, then fetched for the client.
                assert "stay on worker 'w1'" in build_node(m2, ask.build_id, "a").reason
                assert "fetched from worker 'w1'" in build_node(m2, ask.build_id, "b").reason
                assert m2.stats["fetches"] == 3
                assert m2.stats["blob_bytes_in"] == b_size
                assert (ws / "out" / "b.bin").stat().st_size == b_size
        _stop(w1)
        # A worker with that id but an empty store: the record from before is not trusted.
        async with Master(ws, secret=SECRET, defer_outputs=True, listen=(host, port)) as m3:
            fresh = python_worker("w1", f"{host}:{port}", secret, "one")
            try:
                await _join(m3, fresh)
                async with await buildnet.connect(host, port, secret=SECRET) as client:
                    again = await client.submit(["c"])
                    result = (await again.result(120)).check()
                    a = build_node(m3, again.build_id, "a")
                    assert a.status == "built"
                    assert a.reason.endswith(
                        "ran again because its outputs were kept on worker 'w1' (recorded before "
                        "this master started), which no longer holds them"
                    )
                    assert result.executed == 3  # a's new bytes change b's and c's keys
            finally:
                _stop(fresh)
    finally:
        _stop(w1)


@pytest.mark.asyncio
async def test_buildnet_master_defer_outputs_leaves_intermediate_outputs_on_the_worker(
    tmp_path: Path,
) -> None:
    targets = _chain(1000)
    for t in targets.values():
        t.pop("requires", None)
    ws = make_workspace(tmp_path, targets)
    secret = secret_file(tmp_path)
    master, host, port = python_master(ws, secret, "--defer-outputs")
    worker = python_worker("w1", f"{host}:{port}", secret, "one")
    try:
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: master.wait_for("worker w1 joined", 60)
        )
        async with await buildnet.connect(host, port, secret=SECRET) as client:
            result = (await (await client.submit(["c"])).result(120)).check()
        assert result.executed == 3
        assert (ws / "out" / "c.txt").read_text() == "2000\n"
        # Without --defer-outputs the master restores every output into its workspace.
        assert not (ws / "out" / "a.bin").exists()
        assert not (ws / "out" / "b.bin").exists()
    finally:
        _stop(worker, master)
