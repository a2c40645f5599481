"""Starts the real Java master (``buildnet.jar serve``) on port 0 for integration tests."""

from __future__ import annotations

import atexit
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

REPO = Path(__file__).resolve().parents[2]
# Worker processes that a test kills on purpose (kill -9, SIGSTOP) cannot delete their work
# directories: each gets one under this root, which the test session removes at exit.
WORK_ROOT = Path(tempfile.mkdtemp(prefix="buildnet-test-workers-"))
atexit.register(shutil.rmtree, WORK_ROOT, True)


def work_dir(worker_id: str) -> str:
    """A new work directory for a worker process, under :data:`WORK_ROOT`."""
    return tempfile.mkdtemp(prefix=f"{worker_id}-", dir=WORK_ROOT)


JAR = REPO / "buildnet-examples" / "target" / "buildnet.jar"
SECRET = b"integration-secret-0123456789"

#: Targets the Python workers run (``requires: python``) and one Java workers run (``jvm-only``).
WORKSPACE = {
    "version": 1,
    "targets": {
        "gen": {
            "command": [
                "sh",
                "-c",
                "mkdir -p out && cat src/in.txt > out/gen.txt && echo generated",
            ],
            "inputs": ["src/in.txt"],
            "outputs": ["out/gen.txt"],
            "requires": ["python"],
        },
        "upper": {
            "command": ["sh", "-c", "tr a-z A-Z < out/gen.txt > out/upper.txt"],
            "inputs": ["out/gen.txt"],
            "outputs": ["out/upper.txt"],
            "deps": ["gen"],
            "requires": ["python"],
        },
        "slow": {
            "command": ["sh", "-c", "echo begin; sleep 3; mkdir -p out; echo done > out/slow.txt"],
            "inputs": ["src/in.txt"],
            "outputs": ["out/slow.txt"],
            "requires": ["python"],
        },
        "shout": {
            "command": [
                "sh",
                "-c",
                "mkdir -p out && echo on-a-python-worker && "
                "tr a-z A-Z < src/in.txt > out/shout.txt",
            ],
            "inputs": ["src/in.txt"],
            "outputs": ["out/shout.txt"],
            "requires": ["python"],
        },
        "example": {
            "command": [
                "sh",
                "-c",
                "mkdir -p out && echo counting && wc -c < src/in.txt > out/n.txt",
            ],
            "inputs": ["src/in.txt"],
            "outputs": ["out/n.txt"],
            "requires": ["python"],
        },
        "jvm": {
            "command": ["sh", "-c", "mkdir -p out && echo from-java > out/jvm.txt"],
            "inputs": ["src/in.txt"],
            "outputs": ["out/jvm.txt"],
            "requires": ["jvm-only"],
        },
    },
}


class JavaMaster:
    """The ``serve`` process; ``lines`` collects its output (e.g. ``worker X joined``).

    A second one on the same ``tmp`` reuses its workspace (a restart); ``listen`` may name the
    port the first one had, so that workers reconnect to the second."""

    def __init__(
        self,
        tmp: Path,
        extra_args: Sequence[str] = (),
        workspace: dict[str, object] | None = None,
        files: dict[str, str] | None = None,
        listen: str = "127.0.0.1:0",
    ) -> None:
        if not JAR.is_file():
            raise RuntimeError(
                f"{JAR} is missing: build it with "
                "`mvn -B -q -pl buildnet-examples -am package -DskipTests`"
            )
        self.workspace = tmp / "ws"
        (self.workspace / "src").mkdir(parents=True, exist_ok=True)
        (self.workspace / "src" / "in.txt").write_text("hello from python\n")
        for name, text in (files or {}).items():
            (self.workspace / name).parent.mkdir(parents=True, exist_ok=True)
            (self.workspace / name).write_text(text)
        (self.workspace / "buildnet.json").write_text(json.dumps(workspace or WORKSPACE))
        self.secret_file = tmp / "secret"
        self.secret_file.write_bytes(SECRET + b"\n")
        self.lines: queue.Queue[str] = queue.Queue()
        self.proc = subprocess.Popen(
            [
                "java",
                "-Xmx256m",
                "-XX:TieredStopAtLevel=1",
                "-jar",
                str(JAR),
                "serve",
                "--workspace",
                str(self.workspace),
                "--listen",
                listen,
                "--secret-file",
                str(self.secret_file),
                "--slots",
                "1",
                *extra_args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._pump, name="java-master-out", daemon=True).start()
        line = self.wait_for("listening on ", 60, start=True)
        host, _, port = line[len("listening on ") :].strip().rpartition(":")
        self.host, self.port = host, int(port)

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            sys.stderr.write(f"[master] {line}")
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float, *, start: bool = False) -> str:
        """The first line from now on containing ``text`` (beginning with it if ``start``)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or (self.proc.poll() is not None and self.lines.empty()):
                raise AssertionError(f"the master did not print {text!r} within {timeout} s")
            try:
                line = self.lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if line.startswith(text) if start else text in line:
                return line

    def worker_cli(
        self, worker_id: str, *extra: str, temp_dir: Path | None = None
    ) -> subprocess.Popen[bytes]:
        """Starts the ``buildnet-worker`` console script of this venv, with a work directory
        under :data:`WORK_ROOT`, or with ``temp_dir`` as its ``TMPDIR`` and the default one."""
        exe = Path(sys.executable).with_name("buildnet-worker")
        where = ["--work-dir", work_dir(worker_id)] if temp_dir is None else []
        env = None if temp_dir is None else {**os.environ, "TMPDIR": str(temp_dir)}
        return subprocess.Popen(
            [
                str(exe),
                "--master",
                f"{self.host}:{self.port}",
                "--secret-file",
                str(self.secret_file),
                "--id",
                worker_id,
                *where,
                *extra,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def env_with_venv() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env
