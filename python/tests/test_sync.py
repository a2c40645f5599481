"""The blocking facade over the asyncio client."""

from __future__ import annotations

import asyncio
import threading

import pytest

import buildnet.sync
from tests.fakemaster import FakeMaster, simple_script

pytestmark = pytest.mark.timeout(30)


def test_the_sync_facade_wraps_the_same_client() -> None:
    async def serve(ready: asyncio.Queue[int], stop: asyncio.Event) -> None:
        async with FakeMaster(script=simple_script) as m:
            ready.put_nowait(m.port)
            await stop.wait()

    loop = asyncio.new_event_loop()
    ready: asyncio.Queue[int] = asyncio.Queue()
    stop = asyncio.Event()
    t = threading.Thread(target=loop.run_until_complete, args=(serve(ready, stop),))
    t.start()
    try:
        port = asyncio.run_coroutine_threadsafe(ready.get(), loop).result(10)
        with buildnet.sync.connect("127.0.0.1", port, secret=FakeMaster().secret) as c:
            build = c.submit(["app"])
            assert [e.kind for e in build.events()][-1] == "completed"
            assert build.result(5).ok
    finally:
        loop.call_soon_threadsafe(stop.set)
        t.join(10)
        loop.close()
