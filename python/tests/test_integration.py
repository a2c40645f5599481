"""Against the real Java master (``buildnet.jar serve`` on port 0, always stopped).

The build tests (``test_build_*``) use the master's build dispatch (BUILD_REQUEST from clients,
TARGET_RUN to workers)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

import buildnet
from tests.javamaster import JAR, REPO, SECRET, JavaMaster, env_with_venv, work_dir

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JavaMaster]:
    m = JavaMaster(tmp_path_factory.mktemp("master"))
    try:
        yield m
    finally:
        m.stop()


@pytest_asyncio.fixture
async def client(master: JavaMaster) -> AsyncIterator[buildnet.Client]:
    async with await buildnet.connect(master.host, master.port, secret=SECRET) as c:
        yield c


@pytest_asyncio.fixture
async def worker(master: JavaMaster, tmp_path: Path) -> AsyncIterator[buildnet.Worker]:
    w = buildnet.Worker(capabilities=["python"], slots=1, work_dir=tmp_path / "w",
                        worker_id=f"py-{tmp_path.name[-12:]}")  # fmt: skip
    w.start(master.host, master.port, secret=SECRET)
    assert await w.wait_connected(15)
    yield w
    await w.close()


@pytest.mark.asyncio
async def test_state_operations(client: buildnet.Client) -> None:
    s = client.state
    assert await s.get("it/a") is None
    assert await s.set("it/a", b"1") is False
    assert await s.set("it/a", b"\x00\xff") is True
    assert await s.get("it/a") == b"\x00\xff"
    assert await s.set_if_absent("it/a", b"x") is False
    assert await s.compare_and_set("it/a", b"\x00\xff", b"2") is True
    assert await s.increment("it/n", 5) == 5
    assert await s.increment("it/n", -2) == 3
    assert await s.keys("it/") == ["it/a", "it/n"]
    assert await s.delete("it/a") is True
    assert await s.delete("it/a") is False
    await s.set("it/text", b"not a number")
    with pytest.raises(buildnet.RemoteError, match="STATE_ERROR"):
        await s.increment("it/text")


@pytest.mark.asyncio
async def test_locks_hand_out_increasing_fencing_tokens(master: JavaMaster) -> None:
    async with await buildnet.connect(master.host, master.port, secret=SECRET) as a, \
            await buildnet.connect(master.host, master.port, secret=SECRET) as b:  # fmt: skip
        async with a.lock("it/deploy", lease=30) as first:
            t1 = first.fencing_token
            with pytest.raises(buildnet.LockUnavailableError, match="it/deploy"):
                await b.lock("it/deploy", wait=0.2).acquire()
            await first.renew(20)
        async with b.lock("it/deploy", lease=30) as second:
            assert second.fencing_token > t1
            stale = a.lock("it/deploy")
            stale.token = str(t1)
            with pytest.raises(buildnet.LockNotHeldError):
                await stale.release()


@pytest.mark.asyncio
async def test_a_wrong_secret_is_refused(master: JavaMaster) -> None:
    with pytest.raises(buildnet.AuthError, match="AUTH_FAILED"):
        await buildnet.connect(master.host, master.port, secret=b"not-the-secret-at-all!")


@pytest.mark.asyncio
async def test_blobs_round_trip_with_the_masters_algorithm(
    client: buildnet.Client, tmp_path: Path
) -> None:
    data = os.urandom(1_300_000)
    (tmp_path / "f").write_bytes(data)
    digest = await client.blobs.put(tmp_path / "f")
    assert digest.startswith(client.blobs.algorithm + ":")
    assert await client.blobs.missing([digest]) == []
    await client.blobs.get(digest, tmp_path / "g")
    assert (tmp_path / "g").read_bytes() == data


@pytest.mark.asyncio
async def test_a_python_worker_registers(master: JavaMaster, worker: buildnet.Worker) -> None:
    await asyncio.get_running_loop().run_in_executor(
        None, master.wait_for, f"worker {worker.worker_id} joined", 15
    )


def test_the_example_script_runs(master: JavaMaster) -> None:
    r = subprocess.run(
        [
            sys.executable,
            str(REPO / "python" / "examples" / "state_and_lock.py"),
            "--master",
            f"{master.host}:{master.port}",
            "--secret-file",
            str(master.secret_file),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env_with_venv(),
    )
    assert r.returncode == 0, r.stderr
    assert "fencing token" in r.stdout


def test_the_build_with_worker_example_runs(master: JavaMaster, tmp_path: Path) -> None:
    env = env_with_venv()
    env["BUILDNET_MASTER"] = f"{master.host}:{master.port}"
    env["BUILDNET_SECRET_FILE"] = str(master.secret_file)
    script = REPO / "python" / "examples" / "build_with_worker.py"
    r = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path / "out"), "example"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "counting" in r.stdout
    assert "1 executed" in r.stdout
    assert (tmp_path / "out" / "out" / "n.txt").read_text().strip() == "18"


# ---- builds: need the master's dispatch --------------------------------------------------------


@pytest.mark.asyncio
async def test_build_by_a_python_client_runs_on_a_python_worker(
    client: buildnet.Client, worker: buildnet.Worker, tmp_path: Path
) -> None:
    build = await client.submit(["upper"])
    events = [e async for e in build.events()]
    result = (await build.result(30)).check()
    assert events[0].kind == "build_started"
    assert events[-1].kind == "completed"
    assert "generated" in [e.line for e in events if e.kind == "log"]
    assert result.executed == 2
    out = {o.path: o for o in result.outputs}
    await client.blobs.get(out["out/upper.txt"].digest, tmp_path / "upper.txt")
    assert (tmp_path / "upper.txt").read_text() == "HELLO FROM PYTHON\n"


@pytest.mark.asyncio
async def test_build_survives_a_python_worker_killed_mid_target(
    master: JavaMaster, client: buildnet.Client
) -> None:
    doomed = master.worker_cli("py-doomed", "--capabilities", "python", "--slots", "1")
    try:
        await asyncio.get_running_loop().run_in_executor(
            None, master.wait_for, "worker py-doomed joined", 20
        )
        build = await client.submit(["slow"])
        async for e in build.events():
            if e.kind == "target_started" or (e.kind == "log" and e.line == "begin"):
                break
        os.killpg(doomed.pid, signal.SIGKILL)
        async with buildnet.Worker(capabilities=["python"], worker_id="py-rescuer") as rescuer:
            rescuer.start(master.host, master.port, secret=SECRET)
            result = await build.result(60)
        assert result.ok, result.error
        assert [o.path for o in result.outputs] == ["out/slow.txt"]
    finally:
        if doomed.poll() is None:
            os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait(10)


def test_a_worker_stopped_by_sigterm_deletes_the_work_directory_it_made(
    master: JavaMaster, tmp_path: Path
) -> None:
    w = master.worker_cli("py-term", "--capabilities", "python", temp_dir=tmp_path)
    try:
        master.wait_for("worker py-term joined", 20)
        made = [p.name for p in tmp_path.iterdir()]
        assert len(made) == 1, made
        assert made[0].startswith("buildnet-worker-"), made
        os.killpg(w.pid, signal.SIGTERM)
        assert w.wait(30) == 0
        # The loop must not end before close() has deleted it: asyncio.run cancels what is left.
        assert [p.name for p in tmp_path.iterdir()] == []
    finally:
        if w.poll() is None:
            os.killpg(w.pid, signal.SIGKILL)
        w.wait(10)


@pytest.mark.asyncio
async def test_build_by_a_python_client_runs_on_a_java_worker(
    master: JavaMaster, client: buildnet.Client
) -> None:
    java = subprocess.Popen(
        [
            "java",
            "-Xmx128m",
            "-jar",
            str(REPO / "buildnet-examples" / "target" / "buildnet.jar"),
            "worker",
            "--master",
            f"{master.host}:{master.port}",
            "--secret-file",
            str(master.secret_file),
            "--capabilities",
            "jvm-only",
            "--id",
            "java-w",
            "--work-dir",
            work_dir("java-w"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await asyncio.get_running_loop().run_in_executor(
            None, master.wait_for, "worker java-w joined", 30
        )
        build = await client.submit(["jvm"])
        result = (await build.result(60)).check()
        assert result.executed == 1
        assert [o.path for o in result.outputs] == ["out/jvm.txt"]
    finally:
        java.terminate()
        java.wait(15)


@pytest.mark.asyncio
async def test_a_python_worker_executes_targets_submitted_by_a_java_client(
    master: JavaMaster, worker: buildnet.Worker
) -> None:
    proc = await asyncio.create_subprocess_exec(
        "java", "-Xmx128m", "-jar", str(JAR), "submit",
        "--master", f"{master.host}:{master.port}", "--secret-file", str(master.secret_file),
        "shout",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode()
    assert proc.returncode == 0, f"{text}\n{err.decode()}"
    # "shout" requires the capability "python": only the Python worker can have run it.
    assert "shout | on-a-python-worker" in text.splitlines()
    assert "shout: built" in text
    assert "1 executed" in text
    assert (master.workspace / "out" / "shout.txt").read_text() == "HELLO FROM PYTHON\n"


@pytest.mark.asyncio
async def test_a_client_that_lost_its_connection_reattaches_and_gets_the_rest_and_the_result(
    master: JavaMaster, tmp_path: Path
) -> None:
    first = await buildnet.connect(master.host, master.port, secret=SECRET)
    # force: run even if an earlier test cached it, so there is something to miss.
    build = await first.submit(["gen"], force=True, logs=False)
    async for e in build.events():
        if e.kind == "build_started":
            break
    await first.close()  # the connection is lost; the build waits for a worker and runs on
    seen = build.last_event_seq
    assert seen >= 1
    async with buildnet.Worker(capabilities=["python"], slots=1, work_dir=tmp_path / "w",
                               worker_id="py-reattach") as w:  # fmt: skip
        w.start(master.host, master.port, secret=SECRET)
        async with await buildnet.connect(master.host, master.port, secret=SECRET) as second:
            again = await second.attach(build.build_id, since=seen, logs=build.logs)
            events = [e async for e in again.events()]
            result = (await again.result(60)).check()
    kinds = [e.kind for e in events]
    assert ("target_finished", "gen", "built") in [(e.kind, e.target, e.status) for e in events]
    assert kinds[-2:] == ["build_finished", "completed"], kinds
    assert [o.path for o in result.outputs] == ["out/gen.txt"]
    assert again.last_event_seq > seen


@pytest.mark.asyncio
async def test_reattaching_after_events_of_an_unknown_build_is_not_found(
    client: buildnet.Client,
) -> None:
    with pytest.raises(buildnet.RemoteError) as caught:
        await client.attach("no-such-build", since=3)
    assert caught.value.code == int(buildnet.protocol.ErrorCode.NOT_FOUND)


def test_the_blocking_client_reattaches_too(master: JavaMaster) -> None:
    from buildnet import sync

    w = master.worker_cli("py-sync", "--capabilities", "python", "--slots", "1")
    try:
        master.wait_for("worker py-sync joined", 20)
        with sync.connect(master.host, master.port, secret=SECRET) as c:
            build = c.submit(["example"], force=True, logs=False)
            result = build.result(60)
            assert result.ok, result.error
        with sync.connect(master.host, master.port, secret=SECRET) as c:
            # Every event seen already: the result still comes.
            again = c.attach(build.build_id, since=build.last_event_seq, logs=build.logs)
            assert again.result(60) == result
    finally:
        if w.poll() is None:
            os.killpg(w.pid, signal.SIGKILL)
        w.wait(10)
