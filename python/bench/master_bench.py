"""The Python master's figures next to the Java master's (docs/BENCHMARKS.md):

* dispatch: N independent no-op targets (no inputs or outputs; cacheable, so each also writes
  its action record to SQLite) through a ``buildnet-master`` process to 4 workers x 8 slots. The
  workers are protocol-level no-ops in this (other) process: they answer each TARGET_RUN with
  BUILD_STARTED and BUILD_COMPLETED at once, like the Java benchmark's no-op shell, so the
  figure is the master's per-target cost (key, placement, TARGET_RUN, result, bookkeeping);
* state: a client's STATE_GET round trip through the master to SQLite, p50/p90/p99.

    cd python && .venv/bin/python bench/master_bench.py [--targets 5000] [--gets 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import buildnet
from buildnet._connection import Connection, open_connection
from buildnet.protocol import BuildCompleted, BuildStarted, Message, TargetRun

SECRET = b"bench-secret-0123456789"


async def noop_worker(host: str, port: int, name: str) -> Connection:
    conn: Connection | None = None
    pending: set[asyncio.Future[None]] = set()

    def on_message(m: Message) -> None:
        p = m.payload
        if isinstance(p, TargetRun) and conn is not None:
            f = asyncio.ensure_future(answer(conn, m.id, p))
            pending.add(f)
            f.add_done_callback(pending.discard)

    async def answer(c: Connection, mid: str, run: TargetRun) -> None:
        await c.send(BuildStarted(mid, run.build_id, run.target, run.attempt, name))
        await c.send(BuildCompleted(run.build_id, 0, run.target, run.attempt, outputs=()))

    conn = await open_connection(
        host, port, secret=SECRET, role="worker", peer_id=name, capabilities=["noop"],
        cpu_slots=8, memory_mb=1024, handler=on_message,
    )  # fmt: skip
    return conn


async def run(host: str, port: int, targets: int, gets: int) -> None:
    workers = [await noop_worker(host, port, f"noop-{i}") for i in range(4)]
    async with await buildnet.connect(host, port, secret=SECRET) as c:
        names = [f"t{i}" for i in range(targets)]
        for label in ("warm-up", "measured"):
            start = time.perf_counter()
            batch = names[: targets // 10] if label == "warm-up" else names[targets // 10 :]
            build = await c.submit(batch, logs=False)
            result = (await build.result(600)).check()
            elapsed = time.perf_counter() - start
            if label == "measured":
                n = result.executed or 0
                print(
                    f"dispatch: {n} no-op targets to 4 workers x 8 slots in {elapsed * 1000:.0f} "
                    f"ms = {n / elapsed:,.0f} targets/s"
                )
        await c.state.set("bench/key", b"x" * 64)
        times = []
        for i in range(gets + 500):
            t0 = time.perf_counter_ns()
            await c.state.get("bench/key")
            if i >= 500:
                times.append((time.perf_counter_ns() - t0) / 1000)
        q = statistics.quantiles(times, n=100)
        print(
            f"state: STATE_GET round trip p50 {q[49]:.0f} us, p90 {q[89]:.0f} us, "
            f"p99 {q[98]:.0f} us ({gets} gets)"
        )
    for w in workers:
        await w.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int, default=5000)
    parser.add_argument("--gets", type=int, default=5000)
    parser.add_argument("--profile", help="write a cProfile of the master to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        ws.mkdir()
        spec = {
            f"t{i}": {"command": ["true"], "requires": ["noop"], "env": {"N": str(i)}}
            for i in range(args.targets)
        }
        (ws / "buildnet.json").write_text(json.dumps({"version": 1, "targets": spec}))
        (Path(tmp) / "secret").write_bytes(SECRET)
        exe = Path(sys.executable).with_name("buildnet-master")
        prefix = (
            [sys.executable, "-m", "cProfile", "-o", args.profile, str(exe)]
            if (args.profile)
            else [str(exe)]
        )
        master = subprocess.Popen(
            [*prefix, "--workspace", str(ws), "--listen", "127.0.0.1:0", "--secret-file",
             str(Path(tmp) / "secret")],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        try:
            assert master.stdout is not None
            line = master.stdout.readline()
            host, _, port = line.split("listening on ", 1)[1].strip().rpartition(":")
            asyncio.run(run(host, int(port), args.targets, args.gets))
        finally:
            master.terminate()
            master.wait(30)


if __name__ == "__main__":
    main()
