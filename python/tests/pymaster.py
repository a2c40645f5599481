"""Processes for the Python master's integration tests: ``buildnet-master`` (this venv's console
script), Java and Python workers, the Java ``serve`` master, and their output."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.javamaster import JAR, SECRET, work_dir

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from buildnet.master import Master
    from buildnet.master._builds import Node


def make_workspace(root: Path, targets: dict[str, Any]) -> Path:
    ws = root / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "in.txt").write_text("hello from python\n")
    (ws / "buildnet.json").write_text(json.dumps({"version": 1, "targets": targets}))
    return ws


class Proc:
    """A child process whose merged output is collected line by line (and echoed to stderr)."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.name = name
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.proc = subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            env=env,
        )
        threading.Thread(target=self._pump, name=f"{name}-out", daemon=True).start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            sys.stderr.write(f"[{self.name}] {line}")
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 60, *, fresh: bool = False) -> str:
        """The first line containing ``text``: among those seen so far (unless ``fresh``) or
        from now on."""
        for line in () if fresh else self.seen:
            if text in line:
                return line
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or (self.proc.poll() is not None and self.lines.empty()):
                raise AssertionError(f"{self.name} did not print {text!r} within {timeout} s")
            try:
                line = self.lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def secret_file(root: Path) -> Path:
    f = root / "secret"
    f.write_bytes(SECRET + b"\n")
    return f


def python_master(ws: Path, secret: Path, *extra: str) -> tuple[Proc, str, int]:
    exe = Path(sys.executable).with_name("buildnet-master")
    p = Proc(
        "py-master",
        [str(exe), "--workspace", str(ws), "--listen", "127.0.0.1:0", "--secret-file",
         str(secret), *extra],
    )  # fmt: skip
    line = p.wait_for("listening on ", 60)
    host, _, port = line.split("listening on ", 1)[1].strip().rpartition(":")
    return p, host, int(port)


def java_master(ws: Path, secret: Path) -> tuple[Proc, str, int]:
    p = Proc(
        "java-master",
        ["java", "-Xmx256m", "-XX:TieredStopAtLevel=1", "-jar", str(JAR), "serve",
         "--workspace", str(ws), "--listen", "127.0.0.1:0", "--secret-file", str(secret),
         "--local-slots", "1"],
    )  # fmt: skip
    line = p.wait_for("listening on ", 60)
    host, _, port = line.split("listening on ", 1)[1].strip().rpartition(":")
    return p, host.split("/")[-1] or "127.0.0.1", int(port)


def java_worker(name: str, address: str, secret: Path, caps: str, slots: int = 1) -> Proc:
    return Proc(
        name,
        ["java", "-Xmx128m", "-XX:TieredStopAtLevel=1", "-jar", str(JAR), "worker",
         "--master", address, "--secret-file", str(secret), "--capabilities", caps,
         "--id", name, "-j", str(slots), "--work-dir", work_dir(name)],
    )  # fmt: skip


def python_worker(name: str, address: str, secret: Path, caps: str, slots: int = 1) -> Proc:
    exe = Path(sys.executable).with_name("buildnet-worker")
    return Proc(
        name,
        [str(exe), "--master", address, "--secret-file", str(secret), "--capabilities", caps,
         "--id", name, "--slots", str(slots), "--work-dir", work_dir(name)],
    )  # fmt: skip


async def wait_until(what: str, done: Callable[[], bool], timeout: float = 90) -> None:
    """Waits until ``done()`` holds (checked on the calling loop, so on an in-process master's own
    loop), or fails naming ``what``."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.02)


def build_node(m: Master, build_id: str, name: str) -> Node:
    """The in-process master's node for target ``name`` in build ``build_id``."""
    assert m.scheduler is not None
    return m.scheduler.builds[build_id].nodes[name]
