"""Benchmarks: protocol frames encoded/decoded per second, and the no-op targets per second one
Python worker sustains (driven by the in-test fake master over loopback, so this measures the
worker: TARGET_RUN handling, sandbox, process spawn, replies).

    cd python && .venv/bin/python bench/bench.py [--frames 200000] [--targets 300] [--slots 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakemaster import FakeMaster

from buildnet import Worker
from buildnet.protocol import (
    BuildCompleted,
    BuildFailed,
    BuildProgress,
    FrameReader,
    Message,
    StateSet,
    TargetRun,
    decode,
    encode,
)


def bench_frames(n: int) -> None:
    samples = {
        "BUILD_PROGRESS log line": BuildProgress("build-42", 0, 1, "app", "log",
                                                 "compiling src/main/App.java ...", "stdout"),
        "STATE_SET 64 B": StateSet("cache/some/key", bytes(64), ttl_ms=60_000),
    }  # fmt: skip
    for name, payload in samples.items():
        msg = Message("py-123", 1767225600000, payload)
        frame = encode(msg)
        t = time.perf_counter()
        for _ in range(n):
            encode(msg)
        enc = n / (time.perf_counter() - t)
        t = time.perf_counter()
        for _ in range(n):
            decode(frame)
        dec = n / (time.perf_counter() - t)
        reader = FrameReader()
        stream = frame * 1000
        t = time.perf_counter()
        got = 0
        for _ in range(n // 1000):
            for i in range(0, len(stream), 4096):
                got += sum(1 for _ in reader.feed(stream[i : i + 4096]))
        streamed = got / (time.perf_counter() - t)
        print(f"{name} ({len(frame)} B): encode {enc:,.0f}/s, decode {dec:,.0f}/s, "
              f"FrameReader over 4 KiB reads {streamed:,.0f}/s")  # fmt: skip


async def bench_worker(n: int, slots: int) -> None:
    async with FakeMaster() as master:
        with tempfile.TemporaryDirectory() as tmp:
            worker = Worker(slots=slots, work_dir=tmp)
            worker.start("127.0.0.1", master.port, secret=master.secret)
            assert await worker.wait_connected(10)
            peer = await master.workers.get()
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
            sem = asyncio.Semaphore(slots)
            done = 0

            async def collect() -> None:
                nonlocal done
                while done < n:
                    m = await peer.next(60)
                    if isinstance(m.payload, (BuildCompleted, BuildFailed)):
                        assert isinstance(m.payload, BuildCompleted), m
                        done += 1
                        sem.release()

            collector = asyncio.ensure_future(collect())
            t = time.perf_counter()
            for i in range(n):
                await sem.acquire()
                await peer.send(TargetRun("b", f"t{i}", 1, ("true",), "", env, (), ()))
            await collector
            elapsed = time.perf_counter() - t
            await worker.close()
    print(f"worker, no-op targets (`true`), {slots} slots: {n / elapsed:,.0f} targets/s "
          f"({n} in {elapsed:.2f} s)")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--frames", type=int, default=200_000)
    p.add_argument("--targets", type=int, default=300)
    p.add_argument("--slots", type=int, default=2)
    a = p.parse_args()
    print(f"Python {sys.version.split()[0]}")
    bench_frames(a.frames)
    asyncio.run(bench_worker(a.targets, a.slots))


if __name__ == "__main__":
    main()
