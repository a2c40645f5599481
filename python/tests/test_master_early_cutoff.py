"""Early cutoff on the Python master (docs/CACHE-KEY.md): a dependent's key covers the digest of
its dependencies' outputs, so a dependency that re-runs and writes the same bytes leaves its
dependents cached; a dependency that declares no outputs is keyed by its key."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

import buildnet
from tests.javamaster import SECRET
from tests.pymaster import make_workspace, python_master, python_worker, secret_file

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.timeout(240)


def _targets(runs: Path) -> dict[str, Any]:
    """a drops comments, trailing blanks and empty lines from its input; b and c read their
    dependency's output from the sandbox; prep (no outputs) feeds use through the key alone.
    Each logs its run to ``runs``, outside every sandbox."""

    def sh(name: str, script: str) -> list[str]:
        return ["sh", "-c", f'{script} && echo {name} >> "$0"', str(runs)]

    return {
        "a": {
            "command": sh("a", "sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "
                               "src/a.txt > out/a.txt"),
            "inputs": ["src/a.txt"],
            "outputs": ["out/a.txt"],
        },
        "b": {"command": sh("b", "tr a-z A-Z < out/a.txt > out/b.txt"),
              "outputs": ["out/b.txt"], "deps": ["a"]},
        "c": {"command": sh("c", "cat out/b.txt out/b.txt > out/c.txt"),
              "outputs": ["out/c.txt"], "deps": ["b"]},
        "prep": {"command": sh("prep", "grep -v '^#' src/prep.txt > /dev/null"),
                 "inputs": ["src/prep.txt"]},
        "use": {"command": sh("use", "echo used > out/use.txt"), "outputs": ["out/use.txt"],
                "deps": ["prep"]},
    }  # fmt: skip


def _runs(runs: Path) -> list[str]:
    lines = runs.read_text().split() if runs.exists() else []
    runs.unlink(missing_ok=True)
    return sorted(lines)


@pytest.mark.asyncio
async def test_a_comment_only_edit_runs_only_the_edited_target_on_the_python_master(
    tmp_path: Path,
) -> None:
    runs = tmp_path / "runs"
    ws = make_workspace(tmp_path, _targets(runs))
    (ws / "src" / "a.txt").write_text("alpha\nbeta\n")
    (ws / "src" / "prep.txt").write_text("setting=1\n")
    secret = secret_file(tmp_path)
    master, host, port = python_master(ws, secret)
    worker = python_worker("py-cutoff", f"{host}:{port}", secret, "py", slots=2)
    try:
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: master.wait_for("worker py-cutoff joined", 60)
        )
        async with await buildnet.connect(host, port, secret=SECRET) as client:

            async def build() -> buildnet.BuildResult:
                b = await client.submit(["c", "use"])
                return (await b.result(120)).check()

            first = await build()
            assert (first.executed, first.cache_hits) == (5, 0)
            assert _runs(runs) == ["a", "b", "c", "prep", "use"]

            # Comment-only edits: a writes the same bytes, so b and c hit; prep has no outputs,
            # so use (keyed by prep's key) runs again.
            (ws / "src" / "a.txt").write_text("# a comment\nalpha   \n\nbeta\n")
            (ws / "src" / "prep.txt").write_text("# a comment\nsetting=1\n")
            edited = await build()
            assert _runs(runs) == ["a", "prep", "use"]
            assert (edited.executed, edited.cache_hits) == (3, 2)
            assert (ws / "out" / "c.txt").read_text() == "ALPHA\nBETA\nALPHA\nBETA\n"

            # Changed outputs run every dependent again.
            (ws / "src" / "a.txt").write_text("alpha\ngamma\n")
            changed = await build()
            assert _runs(runs) == ["a", "b", "c"]
            assert (changed.executed, changed.cache_hits) == (3, 2)
            assert (ws / "out" / "c.txt").read_text() == "ALPHA\nGAMMA\nALPHA\nGAMMA\n"

            nothing = await build()
            assert (nothing.executed, nothing.cache_hits) == (0, 5)
            assert _runs(runs) == []
    finally:
        worker.stop()
        master.stop()
