"""Deferred outputs on the Python master (docs/BENCHMARKS.md): a chain a -> b -> c of
``--size``-byte outputs (c requested) on two Python workers over loopback, cold (a fresh
workspace, master and workers per build), the master with and without ``--defer-outputs``.

Per build: the bytes the master's process received and sent over TCP (``ss``'s
``bytes_received`` / ``bytes_acked`` of its connections: every frame, so the workers' uploads and
downloads and the fetches), the bytes that reached its blob store, the wall time of the build as
the client sees it, and the master process's CPU time (``/proc/<pid>/stat``). Variants run
interleaved, so machine load hits them alike:

* ``main``: the master of another source tree (``--base``, e.g. main's ``python/src``), eager;
* ``eager``: this tree's master without ``--defer-outputs``;
* ``deferred``: this tree's master with ``--defer-outputs``.

Placements: ``pinned`` (a on w1, b on w2, c where the scheduler puts it) and ``free`` (the
scheduler chooses all three)::

    cd python && git -C .. archive main python | tar -x -C /tmp/base
    .venv/bin/python bench/deferred_bench.py --base /tmp/base/python/src --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Optional

import buildnet

SECRET = b"deferred-bench-secret-0123456789"
_TICKS = os.sysconf("SC_CLK_TCK")


def _targets(size: int, pinned: bool) -> dict[str, Any]:
    def req(cap: str) -> dict[str, Any]:
        return {"requires": [cap]} if pinned else {}

    return {
        "a": {"command": ["sh", "-c", f"mkdir -p out && head -c {size} /dev/urandom > out/a.bin"],
              "outputs": ["out/a.bin"], **req("one")},
        # Each output its own bytes (a line, then the input's head), so none is deduplicated.
        "b": {"command": ["sh", "-c", f"{{ echo b; head -c {size - 2} out/a.bin; }} > out/b.bin"],
              "outputs": ["out/b.bin"], "deps": ["a"], **req("two")},
        "c": {"command": ["sh", "-c", f"{{ echo c; head -c {size - 2} out/b.bin; }} > out/c.bin"],
              "outputs": ["out/c.bin"], "deps": ["b"]},
    }  # fmt: skip


class _Lines:
    """A child's stderr, line by line, for waiting on what it logs."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.q: queue.Queue[str] = queue.Queue()
        self.proc = proc
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.q.put(line)

    def wait_for(self, text: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.q.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            if text in line:
                return line
        raise RuntimeError(f"the master did not log {text!r}")


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _tcp(port: int) -> tuple[int, int]:
    """Bytes received and bytes sent (acknowledged) over the master's connections."""
    out = subprocess.run(
        ["ss", "-tinH", "state", "established", f"( sport = :{port} )"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rx = sum(int(n) for n in re.findall(r"bytes_received:(\d+)", out))
    tx = sum(int(n) for n in re.findall(r"bytes_acked:(\d+)", out))
    return rx, tx


def _du(d: Path) -> int:
    return sum(f.stat().st_size for f in d.rglob("*") if f.is_file()) if d.exists() else 0


async def _build(port: int, master_pid: int, cas: Path) -> dict[str, float]:
    async with await buildnet.connect("127.0.0.1", port, secret=SECRET) as client:
        rx0, tx0 = _tcp(port)
        cpu0 = _cpu(master_pid)
        store0 = _du(cas)
        t0 = time.perf_counter()
        build = await client.submit(["c"], logs=False)
        result = await build.result(1800)
        wall = time.perf_counter() - t0
        result.check()
        rx1, tx1 = _tcp(port)
        return {
            "in": rx1 - rx0, "out": tx1 - tx0, "store": _du(cas) - store0, "wall": wall,
            "cpu": _cpu(master_pid) - cpu0,
        }  # fmt: skip


def one(variant: str, pinned: bool, size: int, base: Optional[str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="deferred-bench-") as tmp:
        ws = Path(tmp) / "ws"
        ws.mkdir()
        (ws / "buildnet.json").write_text(
            json.dumps({"version": 1, "targets": _targets(size, pinned)})
        )
        secret = Path(tmp) / "secret"
        secret.write_bytes(SECRET)
        env = dict(os.environ)
        if variant == "main":
            assert base, "--base is needed for the main variant"
            env["PYTHONPATH"] = base
        argv = [sys.executable, "-m", "buildnet.master", "--workspace", str(ws), "--listen",
                "127.0.0.1:0", "--secret-file", str(secret)]  # fmt: skip
        if variant == "deferred":
            argv.append("--defer-outputs")
        master = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        workers: list[subprocess.Popen[Any]] = []
        try:
            assert master.stdout is not None
            log = _Lines(master)
            port = int(master.stdout.readline().strip().rpartition(":")[2])
            exe = Path(sys.executable).with_name("buildnet-worker")
            for name, cap in (("w1", "one"), ("w2", "two")):
                workers.append(subprocess.Popen(
                    [str(exe), "--master", f"127.0.0.1:{port}", "--secret-file", str(secret),
                     "--capabilities", cap, "--id", name, "--slots", "1"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                ))  # fmt: skip
                log.wait_for(f"worker {name} joined")  # in order: w1 is the lower number
            return asyncio.run(_build(port, master.pid, ws / ".buildnet" / "cas"))
        finally:
            procs: list[subprocess.Popen[Any]] = [*workers, master]
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=50_000_000, help="bytes per output")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--base", help="python/src of the tree the 'main' variant runs")
    parser.add_argument("--variants", default="main,eager,deferred")
    parser.add_argument("--placements", default="pinned,free")
    args = parser.parse_args()
    variants = args.variants.split(",")
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    print(f"uptime: {Path('/proc/loadavg').read_text().strip()}", flush=True)
    for run in range(args.runs):
        for placement in args.placements.split(","):
            for variant in variants:
                r = one(variant, placement == "pinned", args.size, args.base)
                results.setdefault((placement, variant), []).append(r)
                print(
                    f"run {run + 1} {placement:6} {variant:8} in {r['in'] / 1e6:7.1f} MB  "
                    f"out {r['out'] / 1e6:7.1f} MB  store {r['store'] / 1e6:7.1f} MB  "
                    f"wall {r['wall']:6.1f} s  master CPU {r['cpu']:6.1f} s", flush=True,
                )  # fmt: skip
    print(f"uptime: {Path('/proc/loadavg').read_text().strip()}")
    print("\nplacement variant   MB in        MB out       MB to store  wall s        master CPU s")
    for (placement, variant), rs in results.items():

        def span(k: str, scale: float = 1.0, rs: list[dict[str, float]] = rs) -> str:
            lo, hi = min(r[k] for r in rs) / scale, max(r[k] for r in rs) / scale
            return f"{lo:.1f}-{hi:.1f}".ljust(13)

        print(
            f"{placement:9} {variant:9} {span('in', 1e6)}{span('out', 1e6)}"
            f"{span('store', 1e6)}{span('wall')}{span('cpu')}"
        )


if __name__ == "__main__":
    main()
