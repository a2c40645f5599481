"""BUILD_REQUEST's per-build options on the Python master (docs/PROTOCOL.md, "Client builds"):
``force`` runs the requested targets despite cache hits, ``env`` replaces the values of the
variables targets pass through (in their commands and their keys), ``timeout_ms`` caps each
target's run time. An in-process master with a real Python worker over real sockets."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import pytest

import buildnet
from buildnet.master import Master
from buildnet.protocol import ErrorCode
from tests.javamaster import SECRET
from tests.pymaster import build_node, make_workspace, python_worker, secret_file, wait_until

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

pytestmark = pytest.mark.timeout(240)

TARGETS: dict[str, Any] = {
    "dep": {
        "command": ["sh", "-c", "mkdir -p out && cat src/in.txt > out/dep.txt"],
        "inputs": ["src/in.txt"],
        "outputs": ["out/dep.txt"],
        "requires": ["py"],
    },
    "top": {
        "command": ["sh", "-c", "wc -c < out/dep.txt > out/top.txt"],
        "outputs": ["out/top.txt"],
        "deps": ["dep"],
        "requires": ["py"],
    },
    # GREETING from the master's environment (or the build's env).
    "pass": {
        "command": ["sh", "-c", 'mkdir -p out && printf %s "$GREETING" > out/pass.txt'],
        "outputs": ["out/pass.txt"],
        "envPassthrough": ["GREETING"],
        "requires": ["py"],
    },
    # Sets GREETING itself.
    "own": {
        "command": ["sh", "-c", 'mkdir -p out && printf %s "$GREETING" > out/own.txt'],
        "outputs": ["out/own.txt"],
        "env": {"GREETING": "its own"},
        "requires": ["py"],
    },
    # Does not pass GREETING through.
    "plain": {
        "command": ["sh", "-c", 'mkdir -p out && printf %s "${GREETING-unset}" > out/plain.txt'],
        "outputs": ["out/plain.txt"],
        "requires": ["py"],
    },
    "slow": {"command": ["sleep", "30"], "requires": ["py"]},
    "own_timeout": {"command": ["sleep", "30"], "timeoutSeconds": 1, "requires": ["py"]},
    "quick": {
        "command": ["sh", "-c", "mkdir -p out && echo quick > out/quick.txt"],
        "outputs": ["out/quick.txt"],
        "requires": ["py"],
    },
}


@contextlib.asynccontextmanager
async def _running(tmp_path: Path, **options: Any) -> AsyncIterator[tuple[Master, buildnet.Client]]:
    """An in-process master on a workspace holding TARGETS, one Python worker and a client."""
    ws = tmp_path / "ws"
    if not ws.exists():
        make_workspace(tmp_path, TARGETS)
    secret = secret_file(tmp_path)
    async with Master(ws, secret=SECRET, **options) as m:
        worker = python_worker("py-options", "{}:{}".format(*m.address), secret, "py", slots=2)
        try:
            await wait_until("the worker joined", lambda: "py-options" in m.workers)
            async with await buildnet.connect(*m.address, secret=SECRET) as client:
                yield m, client
        finally:
            worker.stop()


async def _build(client: buildnet.Client, targets: list[str], **options: Any) -> tuple[str, Any]:
    b = await client.submit(targets, **options)
    return b.build_id, await b.result(120)


@pytest.mark.asyncio
async def test_force_runs_the_requested_target_again_but_its_dependency_comes_from_the_cache(
    tmp_path: Path,
) -> None:
    async with _running(tmp_path) as (m, client):
        _, first = await _build(client, ["top"])
        assert (first.check().executed, first.cache_hits) == (2, 0)

        forced_id, forced = await _build(client, ["top"], force=True)
        assert (forced.check().executed, forced.cache_hits) == (1, 1)
        assert build_node(m, forced_id, "top").status == "built"
        assert build_node(m, forced_id, "dep").status == "cached"

        # The forced run's result was cached as usual.
        _, after = await _build(client, ["top"])
        assert (after.check().executed, after.cache_hits) == (0, 2)
        assert (m.workspace / "out" / "top.txt").read_text().strip() == str(
            len("hello from python\n")
        )


@pytest.mark.asyncio
async def test_env_reaches_passthrough_targets_and_their_keys_only(tmp_path: Path) -> None:
    out = tmp_path / "ws" / "out"
    async with _running(tmp_path, host_env={"GREETING": "the master's"}) as (m, client):
        plain_id, plain = await _build(client, ["pass", "own", "plain"])
        assert plain.check().executed == 3
        assert (out / "pass.txt").read_text() == "the master's"
        keys = {n: build_node(m, plain_id, n).key for n in ("pass", "own", "plain")}

        env_id, with_env = await _build(
            client, ["pass", "own", "plain"], env={"GREETING": "the build's"}
        )
        assert (with_env.check().executed, with_env.cache_hits) == (1, 2)
        assert build_node(m, env_id, "pass").status == "built"
        assert (out / "pass.txt").read_text() == "the build's"
        assert (out / "own.txt").read_text() == "its own"
        assert (out / "plain.txt").read_text() == "unset"
        env_key = build_node(m, env_id, "pass").key
        assert env_key != keys["pass"]
        assert build_node(m, env_id, "own").key == keys["own"]
        assert build_node(m, env_id, "plain").key == keys["plain"]

        # The same value again: the same key, a cache hit.
        again_id, again = await _build(client, ["pass"], env={"GREETING": "the build's"})
        assert (again.check().executed, again.cache_hits) == (0, 1)
        assert build_node(m, again_id, "pass").key == env_key

    # A master whose own environment has the value computes the same key: a hit in the cache.
    async with _running(tmp_path, host_env={"GREETING": "the build's"}) as (m2, client2):
        hit_id, hit = await _build(client2, ["pass"])
        assert (hit.check().executed, hit.cache_hits) == (0, 1)
        assert build_node(m2, hit_id, "pass").key == env_key


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "env",
    [{"": "x"}, {"A=B": "x"}, {"A\0B": "x"}, {"GREETING": "x\0y"}],
    ids=["empty-name", "name-with-equals", "name-with-nul", "value-with-nul"],
)
async def test_unusable_env_names_and_values_are_invalid_payload(
    tmp_path: Path, env: dict[str, str]
) -> None:
    make_workspace(tmp_path, TARGETS)
    async with Master(tmp_path / "ws", secret=SECRET) as m:
        client = await buildnet.connect(*m.address, secret=SECRET)
        async with client:
            with pytest.raises(buildnet.RemoteError) as caught:
                await client.submit(["pass"], env=env, build_id="bad-env")
            assert caught.value.code == ErrorCode.INVALID_PAYLOAD
            assert m.scheduler is not None
            assert "bad-env" not in m.scheduler.builds


@pytest.mark.asyncio
async def test_timeout_ms_caps_each_targets_run_and_is_not_part_of_keys(tmp_path: Path) -> None:
    async with _running(tmp_path) as (m, client):
        slow_id, slow = await _build(client, ["slow"], timeout=0.5)
        assert not slow.ok
        assert slow.failed_targets == ("slow",)
        assert "timed out after 500 ms" in (slow.error or "")
        assert build_node(m, slow_id, "slow").status == "failed"

        # Its own timeout wins when it is the smaller.
        _, own = await _build(client, ["own_timeout"], timeout=60)
        assert own.failed_targets == ("own_timeout",)
        assert "timed out after 1000 ms" in (own.error or "")

        quick_id, quick = await _build(client, ["quick"])
        assert quick.check().executed == 1
        capped_id, capped = await _build(client, ["quick"], timeout=60)
        assert (capped.check().executed, capped.cache_hits) == (0, 1)
        assert build_node(m, capped_id, "quick").key == build_node(m, quick_id, "quick").key
