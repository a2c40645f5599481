"""The Python master (``buildnet-master``) against real processes: Java and Python workers, the
Java ``submit`` client and the Python client, worker loss, and a Java master on the same
workspace agreeing on what is cached."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import ssl
import subprocess
from typing import TYPE_CHECKING, Any

import pytest

import buildnet
from tests.javamaster import JAR, SECRET
from tests.pymaster import (
    Proc,
    java_master,
    java_worker,
    make_workspace,
    python_master,
    python_worker,
    secret_file,
)

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.timeout(240)

GRAPH: dict[str, Any] = {
    "gen": {
        "command": ["sh", "-c", "mkdir -p out && cat src/in.txt > out/gen.txt && echo generated"],
        "inputs": ["src/in.txt"],
        "outputs": ["out/gen.txt"],
        "requires": ["py"],
    },
    "j1": {
        "command": ["sh", "-c", "sleep 1; tr a-z A-Z < out/gen.txt > out/j1.txt"],
        "inputs": ["out/gen.txt"],
        "outputs": ["out/j1.txt"],
        "deps": ["gen"],
        "requires": ["jvm"],
    },
    "j2": {
        "command": ["sh", "-c", "sleep 1; mkdir -p out/j2 && wc -c < out/gen.txt > out/j2/n.txt"],
        "inputs": ["out/gen.txt"],
        "outputs": ["out/j2"],
        "deps": ["gen"],
        "requires": ["jvm"],
    },
    "all": {
        "command": ["sh", "-c", "cat out/j1.txt out/j2/n.txt > out/all.txt"],
        "inputs": ["out/j1.txt", "out/j2"],
        "outputs": ["out/all.txt"],
        "deps": ["j1", "j2"],
    },
    "slow": {
        # The worker's pid first, so that the test can stop or kill the worker running it.
        "command": ["sh", "-c", "echo pid=$PPID; sleep 4; mkdir -p out; echo done > out/slow.txt"],
        "inputs": ["src/in.txt"],
        "outputs": ["out/slow.txt"],
        "requires": ["py"],
    },
}


def _stop(*procs: Proc) -> None:
    for p in procs:
        p.stop()


async def _wait(p: Proc, text: str, timeout: float = 60, *, fresh: bool = False) -> str:
    return await asyncio.get_running_loop().run_in_executor(
        None, lambda: p.wait_for(text, timeout, fresh=fresh)
    )


async def _java_submit(host: str, port: int, secret: Path, *targets: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        "java", "-Xmx128m", "-jar", str(JAR), "submit", "--master", f"{host}:{port}",
        "--secret-file", str(secret), *targets,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode()


async def _pid_line(build: buildnet.Build) -> int:
    async for e in build.events():
        if e.kind == "log" and e.line and e.line.startswith("pid="):
            return int(e.line[4:])
    raise AssertionError("the build ended before its target printed its worker's pid")


@pytest.mark.asyncio
async def test_python_master_builds_a_graph_on_java_and_python_workers_for_both_clients(
    tmp_path: Path,
) -> None:
    ws = make_workspace(tmp_path, GRAPH)
    secret = secret_file(tmp_path)
    master, host, port = python_master(ws, secret)
    address = f"{host}:{port}"
    workers = [
        java_worker("java-1", address, secret, "jvm"),
        java_worker("java-2", address, secret, "jvm"),
        python_worker("py-1", address, secret, "py"),
    ]
    try:
        for name in ("java-1", "java-2", "py-1"):
            await _wait(master, f"worker {name} joined")
        async with await buildnet.connect(host, port, secret=SECRET) as client:
            build = await client.submit(["all"])
            result = (await build.result(120)).check()
        assert result.executed == 4
        assert result.cache_hits == 0
        assert [o.path for o in result.outputs] == ["out/all.txt"]
        assert (ws / "out" / "all.txt").read_text() == "HELLO FROM PYTHON\n18\n"
        assert (ws / "out" / "j2" / "n.txt").read_text().strip() == "18"
        # Each Java worker has one slot and j1, j2 need 'jvm': one each, least loaded first.
        await _wait(master, "succeeded in")  # every line before it has been read
        ran = {
            m.group(1): m.group(2)
            for line in master.seen
            if (m := re.search(r"sent '(\w+)' attempt \d+ of build \S+ to worker (\S+)", line))
        }
        assert ran["gen"] == "py-1"
        assert {ran["j1"], ran["j2"]} == {"java-1", "java-2"}

        # The Java client against the Python master: everything is cached now.
        code, text = await _java_submit(host, port, secret, "all")
        assert code == 0, text
        assert "all: cached" in text
        (ws / "src" / "in.txt").write_text("changed\n")
        code, text = await _java_submit(host, port, secret, "all")
        assert code == 0, text
        assert "all: built" in text
        assert (ws / "out" / "all.txt").read_text() == "CHANGED\n8\n"
    finally:
        _stop(*workers, master)


@pytest.mark.asyncio
async def test_kill_9_of_a_worker_mid_target_completes_the_build_on_another(
    tmp_path: Path,
) -> None:
    ws = make_workspace(tmp_path, GRAPH)
    secret = secret_file(tmp_path)
    master, host, port = python_master(ws, secret)
    address = f"{host}:{port}"
    workers = [python_worker(f"py-{i}", address, secret, "py") for i in (1, 2)]
    try:
        for w in workers:
            await _wait(master, f"worker {w.name} joined")
        async with await buildnet.connect(host, port, secret=SECRET) as client:
            build = await client.submit(["slow"])
            victim = await asyncio.wait_for(_pid_line(build), 60)
            assert victim in {w.pid for w in workers}
            os.kill(victim, signal.SIGKILL)
            result = (await build.result(120)).check()
        assert result.executed == 1
        assert (ws / "out" / "slow.txt").read_text() == "done\n"
        lost = next(w for w in workers if w.pid == victim).name
        await _wait(master, f"worker {lost} left")
        await _wait(master, "re-queueing 'slow' (attempt 1)")
        await _wait(master, "sent 'slow' attempt 2")
    finally:
        _stop(*workers, master)


@pytest.mark.asyncio
async def test_a_worker_stopped_past_the_heartbeat_timeout_is_declared_dead_and_its_target_requeued(
    tmp_path: Path,
) -> None:
    ws = make_workspace(tmp_path, GRAPH)
    secret = secret_file(tmp_path)
    master, host, port = python_master(ws, secret, "--heartbeat-timeout", "2")
    address = f"{host}:{port}"
    workers = [python_worker(f"py-{i}", address, secret, "py") for i in (1, 2)]
    stopped = None
    try:
        for w in workers:
            await _wait(master, f"worker {w.name} joined")
        async with await buildnet.connect(host, port, secret=SECRET) as client:
            build = await client.submit(["slow"])
            stopped = await asyncio.wait_for(_pid_line(build), 60)
            os.kill(stopped, signal.SIGSTOP)
            name = next(w for w in workers if w.pid == stopped).name
            await _wait(master, f"worker '{name}' (127.0.0.1) declared dead")
            result = (await build.result(120)).check()
            assert result.executed == 1
            await _wait(master, "sent 'slow' attempt 2")
            os.kill(stopped, signal.SIGCONT)
            stopped = None
            # The stopped worker comes back on a new connection; whatever its old attempt still
            # reports is not in flight there and is ignored. The master goes on serving.
            await _wait(master, f"worker {name} joined", 60, fresh=True)
            again = (await (await client.submit(["slow"])).result(60)).check()
            assert again.cache_hits == 1
        assert (ws / "out" / "slow.txt").read_text() == "done\n"
    finally:
        if stopped is not None:
            os.kill(stopped, signal.SIGCONT)
        _stop(*workers, master)


@pytest.mark.asyncio
async def test_python_and_java_masters_on_one_workspace_agree_on_what_is_cached(
    tmp_path: Path,
) -> None:
    targets = {k: v for k, v in GRAPH.items() if k in ("gen", "j1", "j2", "all")}
    for t in targets.values():
        t.pop("requires", None)
    ws = make_workspace(tmp_path, targets)
    secret = secret_file(tmp_path)

    async def build_with_python_master() -> buildnet.BuildResult:
        master, host, port = python_master(ws, secret)
        worker = python_worker("py-1", f"{host}:{port}", secret, "py", slots=2)
        try:
            await _wait(master, "worker py-1 joined")
            async with await buildnet.connect(host, port, secret=SECRET) as client:
                return (await (await client.submit(["all"])).result(120)).check()
        finally:
            _stop(worker, master)

    async def build_with_java_master() -> buildnet.BuildResult:
        master, host, port = java_master(ws, secret)
        try:
            async with await buildnet.connect(host, port, secret=SECRET) as client:
                return (await (await client.submit(["all"])).result(120)).check()
        finally:
            _stop(master)

    first = await build_with_python_master()
    assert (first.executed, first.cache_hits) == (4, 0)
    (ws / "out" / "all.txt").unlink()  # restored from the cache, not rebuilt
    second = await build_with_java_master()
    assert (second.executed, second.cache_hits) == (0, 4)
    assert (ws / "out" / "all.txt").read_text() == "HELLO FROM PYTHON\n18\n"

    (ws / "src" / "in.txt").write_text("the other way round\n")
    third = await build_with_java_master()
    assert (third.executed, third.cache_hits) == (4, 0)
    fourth = await build_with_python_master()
    assert (fourth.executed, fourth.cache_hits) == (0, 4)
    assert fourth.outputs == third.outputs


@pytest.mark.asyncio
async def test_buildnet_master_serves_tls_with_the_given_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=buildnet-test",
         "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    ws = make_workspace(tmp_path, GRAPH)
    secret = secret_file(tmp_path)
    master, host, port = python_master(
        ws, secret, "--tls-cert", str(cert), "--tls-key", str(key)
    )
    try:
        tls = ssl.create_default_context(cafile=str(cert))
        async with await buildnet.connect(host, port, secret=SECRET, tls=tls) as client:
            await client.state.set("over", b"tls")
            assert await client.state.get("over") == b"tls"
        with pytest.raises((OSError, buildnet.BuildNetError)):
            await buildnet.connect(host, port, secret=SECRET, timeout=5)  # plain TCP: refused
    finally:
        _stop(master)
