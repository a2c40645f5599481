"""The Python master runs targets without shell wrappers, as the Java engine does
(docs/WORKSPACE.md): ``{inputs}`` placeholders expanded on the master into one argument per file
(cwd-relative, as in the worker's sandbox), outputs' parent directories created by the worker, and
``envPassthroughUnhashed`` variables seen by the command but not keyed."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest

import buildnet
from tests.javamaster import SECRET
from tests.pymaster import Proc, make_workspace, python_worker, secret_file

pytestmark = pytest.mark.timeout(240)

ODD = [
    "a b.txt",
    'it\'s "quoted".txt',
    "$(rm -rf x);.txt",
    "\u00e9t\u00e9 \U0001f600.txt",
    "-n.txt",
]

TARGETS: dict[str, Any] = {
    "args": {
        "command": [
            "sh",
            "-c",
            'printf "%s\\0" "$@" > "$0"; printf "%s" "$LOCATION" > ../out/loc.txt',
            "../out/deep/args.bin",
            "{inputs:src/*.txt}",
        ],
        "cwd": "src",
        "inputs": ["src"],
        "outputs": ["out/deep/args.bin", "out/loc.txt"],
        "envPassthroughUnhashed": ["LOCATION"],
        "requires": ["py"],
    }
}


def _master(ws: Path, secret: Path, location: str) -> tuple[Proc, str, int]:
    exe = Path(sys.executable).with_name("buildnet-master")
    env = dict(os.environ, LOCATION=location)
    p = Proc(
        "py-master",
        [str(exe), "--workspace", str(ws), "--listen", "127.0.0.1:0", "--secret-file", str(secret)],
        env=env,
    )
    line = p.wait_for("listening on ", 60)
    host, _, port = line.split("listening on ", 1)[1].strip().rpartition(":")
    return p, host, int(port)


async def _build(ws: Path, secret: Path, location: str) -> buildnet.BuildResult:
    master, host, port = _master(ws, secret, location)
    worker = python_worker("py-args", f"{host}:{port}", secret, "py")
    try:
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: master.wait_for("worker py-args joined", 60)
        )
        async with await buildnet.connect(host, port, secret=SECRET) as client:
            build = await client.submit(["args"])
            return (await build.result(120)).check()
    finally:
        worker.stop()
        master.stop()


@pytest.mark.asyncio
async def test_placeholders_and_unhashed_variables_on_the_python_master(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path, TARGETS)
    (ws / "src" / "in.txt").unlink()
    for name in ODD:
        (ws / "src" / name).write_text(name)
    secret = secret_file(tmp_path)

    first = await _build(ws, secret, "/first/bin")
    assert first.executed == 1
    written = (ws / "out" / "deep" / "args.bin").read_bytes().decode()
    assert written.split("\0")[:-1] == [
        "$(rm -rf x);.txt",
        "./-n.txt",
        "a b.txt",
        'it\'s "quoted".txt',
        "\u00e9t\u00e9 \U0001f600.txt",
    ]
    assert (ws / "out" / "loc.txt").read_text() == "/first/bin"

    # Another value of an unhashed variable: still cached, the output is the first run's.
    again = await _build(ws, secret, "/elsewhere/bin")
    assert (again.executed, again.cache_hits) == (0, 1)
    assert (ws / "out" / "loc.txt").read_text() == "/first/bin"
