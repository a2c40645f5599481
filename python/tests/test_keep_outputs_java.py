"""Deferred outputs with the real Java master (``serve --defer-outputs``) and Python workers: an
intermediate output stays on the Python worker that made it, the master fetches it by BLOB_GET
from that worker when a build requests it, also after the master restarted (which worker keeps
what is in the workspace's SQLite state), and a target whose worker never returns runs again
with a log line saying why."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

import buildnet
from buildnet import _digests
from tests.javamaster import SECRET, JavaMaster

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(180)]

ARGS = ("--defer-outputs", "--local-slots", "0")

#: gen -> up; up reads gen's output from its sandbox without declaring it as an input, so gen's
#: output may stay on its worker when only up is requested.
WORKSPACE = {
    "version": 1,
    "targets": {
        "gen": {
            "command": ["sh", "-c", "mkdir -p out && cat src/in.txt src/in.txt > out/gen.txt"],
            "inputs": ["src/in.txt"],
            "outputs": ["out/gen.txt"],
            "requires": ["python"],
        },
        "up": {
            "command": ["sh", "-c", "tr a-z A-Z < out/gen.txt > out/up.txt"],
            "outputs": ["out/up.txt"],
            "deps": ["gen"],
            "requires": ["python"],
        },
    },
}


def start(tmp: Path, listen: str = "127.0.0.1:0") -> JavaMaster:
    return JavaMaster(tmp, ARGS, workspace=WORKSPACE, listen=listen)


async def joined(master: JavaMaster, worker_id: str) -> None:
    await asyncio.get_running_loop().run_in_executor(
        None, master.wait_for, f"worker {worker_id} joined", 30
    )


async def build(master: JavaMaster, target: str) -> buildnet.BuildResult:
    async with await buildnet.connect(master.host, master.port, secret=SECRET) as c:
        b = await c.submit([target], logs=False)
        return (await b.result(60)).check()


def in_store(master: JavaMaster, digest: str) -> bool:
    _, hexdigits = _digests.parse(digest)
    return any(p.name == hexdigits for p in (master.workspace / ".buildnet" / "cas").rglob("*"))


def worker(tmp: Path, worker_id: str) -> buildnet.Worker:
    return buildnet.Worker(capabilities=["python"], slots=1, work_dir=tmp / worker_id,
                           worker_id=worker_id, initial_backoff=0.05, max_backoff=0.5)  # fmt: skip


GEN = "hello from python\n" * 2  # src/in.txt twice: not a blob the master holds already


async def test_a_kept_output_is_fetched_from_the_python_worker_also_after_a_master_restart(
    tmp_path: Path,
) -> None:
    gen_digest = _digests.of_bytes("xxh64", GEN.encode())
    first = start(tmp_path)
    w = worker(tmp_path, "py-keeper")
    try:
        w.start(first.host, first.port, secret=SECRET)
        await joined(first, "py-keeper")
        r = await build(first, "up")
        assert r.executed == 2
        assert (first.workspace / "out" / "up.txt").read_text() == GEN.upper()
        # gen's output stayed in the Python worker's store: neither in the master's nor its
        # workspace.
        assert not (first.workspace / "out" / "gen.txt").exists()
        assert not in_store(first, gen_digest)
        assert w._cas_path(gen_digest).read_bytes() == GEN.encode()

        again = await build(first, "up")
        assert (again.executed, again.cache_hits) == (0, 2)

        first.stop()  # the worker loses its master and keeps reconnecting to the same port
        second = start(tmp_path, listen=f"127.0.0.1:{first.port}")
        try:
            await joined(second, "py-keeper")
            r = await build(second, "gen")
            assert (r.executed, r.cache_hits) == (0, 1)
            # Fetched from the Python worker by BLOB_GET: in the master's store and workspace.
            assert (second.workspace / "out" / "gen.txt").read_text() == GEN
            assert in_store(second, gen_digest)
        finally:
            second.stop()
    finally:
        first.stop()
        await w.close()


async def test_after_a_restart_a_target_whose_worker_never_returns_runs_again_and_says_why(
    tmp_path: Path,
) -> None:
    first = start(tmp_path)
    gone = worker(tmp_path, "py-gone")
    try:
        gone.start(first.host, first.port, secret=SECRET)
        await joined(first, "py-gone")
        assert (await build(first, "up")).executed == 2
        assert not (first.workspace / "out" / "gen.txt").exists()
    finally:
        await gone.close()
        first.stop()
    second = start(tmp_path)
    other = worker(tmp_path, "py-other")
    try:
        other.start(second.host, second.port, secret=SECRET)
        await joined(second, "py-other")
        r = await build(second, "gen")
        assert (r.executed, r.cache_hits) == (1, 0)
        assert (second.workspace / "out" / "gen.txt").read_text() == GEN
        second.wait_for(
            "'gen' runs again: its outputs were kept on worker 'py-gone' (recorded before this "
            "master started), which is not connected",
            30,
        )
    finally:
        second.stop()
        await other.close()


async def test_after_a_restart_a_worker_back_under_its_id_without_the_blobs_is_not_trusted(
    tmp_path: Path,
) -> None:
    first = start(tmp_path)
    old = worker(tmp_path, "py-same")
    try:
        old.start(first.host, first.port, secret=SECRET)
        await joined(first, "py-same")
        assert (await build(first, "up")).executed == 2
    finally:
        await old.close()
        first.stop()
    second = start(tmp_path)
    # A new worker process with the same id and an empty store.
    new = buildnet.Worker(capabilities=["python"], slots=1, work_dir=tmp_path / "py-same-new",
                          worker_id="py-same")  # fmt: skip
    try:
        new.start(second.host, second.port, secret=SECRET)
        await joined(second, "py-same")
        r = await build(second, "gen")
        assert (r.executed, r.cache_hits) == (1, 0)
        assert (second.workspace / "out" / "gen.txt").read_text() == GEN
        second.wait_for(
            "'gen' runs again: its outputs were kept on worker 'py-same' (recorded before this "
            "master started), which no longer holds them",
            30,
        )
    finally:
        second.stop()
        await new.close()
