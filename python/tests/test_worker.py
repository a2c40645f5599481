"""The worker's TARGET_RUN duties (PROTOCOL.md), against the in-test fake master: sandbox, inputs
fetched once, exact env, log streaming, outputs uploaded, failures, cancel and timeout killing
the whole process tree, BUSY, reconnect."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from buildnet import Worker, _digests
from buildnet.protocol import (
    AuthChallenge,
    BuildCompleted,
    BuildFailed,
    BuildProgress,
    BuildStarted,
    ErrorCode,
    ErrorReply,
    Hello,
    Output,
    TargetRun,
)
from tests.fakemaster import FakeMaster, Peer, cancel_target, run_target

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ONLY": "this"}


@pytest_asyncio.fixture
async def master() -> AsyncIterator[FakeMaster]:
    async with FakeMaster() as m:
        yield m


@pytest_asyncio.fixture
async def worker(master: FakeMaster, tmp_path: Path) -> AsyncIterator[Worker]:
    w = Worker(capabilities=["python"], slots=2, work_dir=tmp_path / "work", worker_id="w1",
               initial_backoff=0.05, max_backoff=0.2)  # fmt: skip
    w.start("127.0.0.1", master.port, secret=master.secret)
    assert await w.wait_connected(10)
    yield w
    await w.close()


async def peer(master: FakeMaster) -> Peer:
    return await asyncio.wait_for(master.workers.get(), 10)


def target(argv: list[str], **kw: object) -> TargetRun:
    fields: dict[str, object] = {
        "build_id": "b1", "target": "t", "attempt": 1, "argv": tuple(argv), "cwd": "",
        "env": ENV, "inputs": (), "outputs": (),
    }  # fmt: skip
    fields.update(kw)
    return TargetRun(**fields)  # type: ignore[arg-type]


def put(master: FakeMaster, data: bytes) -> str:
    d = _digests.of_bytes("xxh64", data)
    master.blobs[d] = data
    return d


async def test_runs_a_target_with_inputs_exact_env_logs_and_uploaded_outputs(
    master: FakeMaster, worker: Worker
) -> None:
    w = await peer(master)
    assert w.hello.capabilities == ("python", "keep-outputs")
    assert w.hello.cpu_slots == 2
    src = put(master, b"hello input\n")
    run = target(
        ["sh", "-c", "mkdir -p out/d && cat src/in.txt > out/d/copy.txt && env | sort && "
                     "echo oops >&2 && printf 'no newline'"],
        inputs=(Output("src/in.txt", src, 12),),
        outputs=("out/d",),
    )  # fmt: skip
    started, logs, end = await run_target(w, run)
    assert isinstance(started.payload, BuildStarted)
    assert started.payload.worker_id == "w1"
    assert isinstance(end.payload, BuildCompleted), end
    assert end.payload.attempt == 1
    assert end.payload.target == "t"
    out = end.payload.outputs
    assert out is not None
    assert [o.path for o in out] == ["out/d/copy.txt"]
    assert master.blobs[out[0].digest] == b"hello input\n"
    assert out[0].digest.startswith("xxh64:")
    stdout = [p.message for p in logs if p.stream == "stdout"]
    env_lines = [s for s in stdout if s and "=" in s and s.split("=")[0] in ("ONLY", "PATH", "PWD")]
    assert "ONLY=this" in env_lines
    assert all(p.phase == "log" for p in logs)
    assert [p.message for p in logs if p.stream == "stderr"] == ["oops"]
    assert stdout[-1] == "no newline"
    # Nothing inherited: only the given variables (sh may add PWD, SHLVL and _).
    names = {s.split("=")[0] for s in stdout if s and "=" in s}
    assert names <= {"ONLY", "PATH", "PWD", "SHLVL", "_"}
    assert list((worker.work_dir / "sandboxes").iterdir()) == []  # sandbox deleted


async def test_fetches_an_input_blob_only_once(master: FakeMaster, worker: Worker) -> None:
    w = await peer(master)
    d = put(master, b"shared")
    for attempt in (1, 2):
        run = target(["cat", "a", "b"], attempt=attempt,
                     inputs=(Output("a", d, 6), Output("b", d, 6, True)))  # fmt: skip
        _, logs, end = await run_target(w, run)
        assert isinstance(end.payload, BuildCompleted), end
        assert [p.message for p in logs] == ["sharedshared"]
    assert master.blob_gets == [d]


async def test_a_corrupted_local_store_entry_is_detected_deleted_and_fetched_again(
    master: FakeMaster, worker: Worker
) -> None:
    w = await peer(master)
    d = put(master, b"the real content\n")
    for attempt in (1, 2):
        run = target(["cat", "in"], attempt=attempt, inputs=(Output("in", d, 17),))
        _, logs, end = await run_target(w, run)
        assert isinstance(end.payload, BuildCompleted), end
        assert [p.message for p in logs] == ["the real content"]
        if attempt == 1:
            cached = worker._cas_path(d)
            assert cached.read_bytes() == b"the real content\n"
            cached.write_bytes(b"the evil content\n")  # same size, other bytes
    assert master.blob_gets == [d, d]
    assert cached.read_bytes() == b"the real content\n"


async def test_a_failing_command_reports_its_exit_code(master: FakeMaster, worker: Worker) -> None:
    _, _, end = await run_target(await peer(master), target(["sh", "-c", "exit 3"]))
    assert isinstance(end.payload, BuildFailed)
    assert end.payload.exit_code == 3
    assert end.payload.retryable is False


@pytest.mark.parametrize(
    ("field", "value"),
    [("cwd", "../x"), ("outputs", ("/etc/passwd",)), ("outputs", ("a/../../b",))],
)
async def test_paths_leaving_the_sandbox_are_refused(
    master: FakeMaster, worker: Worker, field: str, value: object
) -> None:
    _, _, end = await run_target(await peer(master), target(["true"], **{field: value}))
    assert isinstance(end.payload, BuildFailed)
    assert "sandbox" in end.payload.error
    assert end.payload.retryable is False


async def test_a_missing_output_fails(master: FakeMaster, worker: Worker) -> None:
    _, _, end = await run_target(await peer(master), target(["true"], outputs=("nope.txt",)))
    assert isinstance(end.payload, BuildFailed)
    assert "was not produced" in end.payload.error


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


async def _wait_gone(pid: int) -> bool:
    for _ in range(500):
        if _gone(pid):
            return True
        await asyncio.sleep(0.01)
    return False


async def test_cancel_kills_the_whole_process_tree(master: FakeMaster, worker: Worker) -> None:
    w = await peer(master)
    run = target(["sh", "-c", "sleep 300 & echo $!; wait"])
    pids: list[int] = []

    async def on_log(p: BuildProgress) -> None:
        assert p.message is not None
        pids.append(int(p.message))
        await cancel_target(w, run)

    _, _, end = await run_target(w, run, on_log=on_log)
    assert isinstance(end.payload, BuildFailed)
    assert end.payload.error.startswith("cancelled")
    assert await _wait_gone(pids[0]), "the grandchild survived the cancel"


async def test_a_timeout_kills_the_tree_and_fails(master: FakeMaster, worker: Worker) -> None:
    _, logs, end = await run_target(
        await peer(master), target(["sh", "-c", "sleep 300 & echo $!; wait"], timeout_ms=300)
    )
    assert isinstance(end.payload, BuildFailed)
    assert "timed out" in end.payload.error
    assert logs[0].message is not None
    assert await _wait_gone(int(logs[0].message))


async def test_more_attempts_than_slots_are_refused_busy(
    master: FakeMaster, worker: Worker
) -> None:
    w = await peer(master)
    runs = [target(["sh", "-c", "sleep 300"], attempt=i) for i in (1, 2, 3)]
    ids = [await w.send(r) for r in runs]
    replies = [await w.next() for _ in ids]
    busy = [m for m in replies if isinstance(m.payload, ErrorReply)]
    assert len(busy) == 1
    assert busy[0].payload.reply_to == ids[2]  # type: ignore[attr-defined]
    assert busy[0].payload.code == ErrorCode.BUSY  # type: ignore[attr-defined]
    assert worker.running_attempts == 2
    for r in runs[:2]:
        await cancel_target(w, r)


async def test_a_rerun_of_an_attempt_it_runs_is_invalid_even_with_every_slot_taken(
    master: FakeMaster, worker: Worker
) -> None:
    # docs/PROTOCOL.md, TARGET_RUN: a (target, attempt) the worker already runs is INVALID_PAYLOAD
    # whatever its load (as the Java worker answers), not BUSY, which the master would re-queue.
    w = await peer(master)
    runs = [target(["sh", "-c", "sleep 300"], attempt=i) for i in (1, 2)]
    for r in runs:
        await w.send(r)
    for _ in runs:
        assert isinstance((await w.next()).payload, BuildStarted)
    mid = await w.send(runs[0])
    reply = await w.next()
    assert isinstance(reply.payload, ErrorReply), reply
    assert (reply.payload.reply_to, reply.payload.code) == (mid, ErrorCode.INVALID_PAYLOAD)
    for r in runs:
        await cancel_target(w, r)


async def test_session_messages_after_the_handshake_are_unexpected(
    master: FakeMaster, worker: Worker
) -> None:
    w = await peer(master)
    for payload in (Hello("client", "odd", 3, bytes(32)), AuthChallenge("x-1", bytes(32))):
        mid = await w.send(payload)
        reply = await w.next()
        assert isinstance(reply.payload, ErrorReply), reply
        assert (reply.payload.reply_to, reply.payload.code) == (mid, ErrorCode.UNEXPECTED_MESSAGE)
        assert not reply.payload.fatal


async def test_reconnects_after_the_master_drops_it_and_kills_its_attempts(
    master: FakeMaster, worker: Worker
) -> None:
    w = await peer(master)
    await w.send(target(["sh", "-c", "echo $$; sleep 300"]))
    await w.next()  # BUILD_STARTED
    log = await w.next()
    assert isinstance(log.payload, BuildProgress)
    assert log.payload.message is not None
    master.drop_all()
    w2 = await peer(master)
    assert w2.hello.peer_id == "w1"
    assert await _wait_gone(int(log.payload.message))
    _, _, end = await run_target(w2, target(["true"], build_id="b2"))
    assert isinstance(end.payload, BuildCompleted)
    assert worker.connection_count == 2
