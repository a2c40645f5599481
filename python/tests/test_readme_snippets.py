"""Every ```python block of python/README.md runs, against a real Java master (``buildnet.jar
serve``) with the README's workspace and a real Python worker.

Each block is preceded by a marker comment, so a new block cannot be skipped silently:
``<!-- snippet: run ... -->`` runs it as a script; ``run in an async function given secret``
makes its lines the body of ``async def main(secret)``, run with the master's secret (for
fragments that use ``await`` and a ``secret`` from the text around them); ``until it prints the
address`` is for a block that serves forever: it runs until it prints a line (the address, with
``127.0.0.1``) and is then
stopped. Blocks run in a directory holding ``secret.txt`` and ``my-ws/buildnet.json``; the
README's port ``7890`` stands for the test master's port (``0``, any free port, for a block that
starts its own master).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

import pytest

from tests.javamaster import REPO, SECRET, JavaMaster, env_with_venv

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

README = REPO / "python" / "README.md"
_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```\n", re.M | re.S)
_MARKER = re.compile(r"<!-- snippet: (run[^>]*|workspace of the examples below) -->\s*$")
WAIT = 90.0

pytestmark = pytest.mark.timeout(300)


def blocks(text: str, lang: str) -> list[tuple[int, str, str]]:
    """(line, marker, code) of each ``lang`` block; a block without a marker is an error."""
    out = []
    for m in _BLOCK.finditer(text):
        if m.group(1) != lang:
            continue
        before = text[: m.start()].rstrip("\n")
        line = before.count("\n") + 2
        marker = _MARKER.search(before.rsplit("\n", 1)[-1])
        if marker is None:
            raise AssertionError(f"README.md:{line}: a ```{lang} block needs a snippet marker")
        out.append((line, marker.group(1), m.group(2)))
    return out


def test_a_block_without_a_marker_is_an_error_not_a_skip() -> None:
    with pytest.raises(AssertionError, match="needs a snippet marker"):
        blocks("text\n\n```python\nprint(1)\n```\n", "python")
    assert blocks("<!-- snippet: run -->\n```python\nprint(1)\n```\n", "python") == [
        (2, "run", "print(1)\n")
    ]


WORKSPACE_BLOCKS = blocks(README.read_text(encoding="utf-8"), "json")
PYTHON_BLOCKS = blocks(README.read_text(encoding="utf-8"), "python")


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JavaMaster]:
    (workspace,) = [json.loads(code) for _, marker, code in WORKSPACE_BLOCKS]
    report = "import pathlib\npathlib.Path('out/report.txt').write_text('a report\\n')\n"
    m = JavaMaster(
        tmp_path_factory.mktemp("readme"), workspace=workspace, files={"make_report.py": report}
    )
    worker = m.worker_cli("readme-python", "--capabilities", "python")
    try:
        m.wait_for("worker readme-python joined", WAIT)
        yield m
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(30)
        m.stop()


@pytest.mark.parametrize(
    ("line", "marker", "code"), PYTHON_BLOCKS, ids=[f"README.md:{b[0]}" for b in PYTHON_BLOCKS]
)
def test_every_python_block_of_the_readme_runs(
    line: int, marker: str, code: str, master: JavaMaster, tmp_path: Path
) -> None:
    (tmp_path / "secret.txt").write_bytes(SECRET + b"\n")
    (tmp_path / "my-ws").mkdir()
    (tmp_path / "my-ws" / "buildnet.json").write_text(WORKSPACE_BLOCKS[0][2])
    serves = "until it prints the address" in marker
    code = code.replace("7890", "0" if serves else str(master.port))
    if "in an async function given secret" in marker:
        code = (
            "import asyncio\nimport buildnet\n\n"
            "async def main(secret: bytes) -> None:\n"
            + textwrap.indent(code, "    ")
            + f"\nasyncio.run(main({SECRET!r}))\n"
        )
    script = tmp_path / "snippet.py"
    script.write_text(code)
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env_with_venv(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    if serves:
        first = proc.stdout.readline()  # blocks until the master prints (or the script dies)
        proc.terminate()
        rest = proc.communicate(timeout=WAIT)[0]
        assert "127.0.0.1" in first, f"README.md:{line} printed:\n{first}{rest}"
        return
    out = proc.communicate(timeout=WAIT)[0]
    assert proc.returncode == 0, f"README.md:{line} failed:\n{out}"
    if "python worker" in marker and "asyncio.run" in code:  # fetches the output by digest
        assert (tmp_path / "out_report.txt").read_text() == "a report\n", out
    elif "python worker" in marker:  # prints the outputs
        assert "out/report.txt" in out, out
