"""The Python master's server side of docs/PROTOCOL.md over real sockets: handshake and refusals,
malformed frames answered as the spec says, pre-authentication limits, the abuse cases of the
Java master's tests, state, locks, blobs, resources, placement and cancel."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import subprocess
from typing import TYPE_CHECKING, Any, Optional

import msgpack
import pytest
import pytest_asyncio

import buildnet
from buildnet import Master
from buildnet.protocol import (
    Ack,
    AuthChallenge,
    AuthProof,
    BlobChunk,
    BlobGet,
    BlobHasResponse,
    BlobPutResponse,
    BuildCompleted,
    BuildFailed,
    BuildStarted,
    ConnectingHandshake,
    ErrorCode,
    ErrorReply,
    Event,
    FrameReader,
    HeartbeatAck,
    Hello,
    HelloAck,
    LockRelease,
    LockRenew,
    LockResponse,
    Message,
    MessageType,
    ResourceClaim,
    ResourceRelease,
    ResourceStatus,
    StateGet,
    StateResponse,
    Subscribe,
    TargetRun,
    encode,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

    from buildnet.protocol.payloads import Payload

pytestmark = pytest.mark.timeout(120)
SECRET = b"master-protocol-secret-0123"

TARGETS: dict[str, Any] = {
    "gen": {
        "command": ["sh", "-c", "mkdir -p out && cat src/in.txt > out/gen.txt"],
        "inputs": ["src/in.txt"],
        "outputs": ["out/gen.txt"],
    },
    "gpu": {"command": ["true"], "requires": ["gpu"]},
    "sleepy": {"command": ["sh", "-c", "echo going; sleep 60"], "requires": ["py"]},
}


@pytest_asyncio.fixture
async def master(tmp_path: Path) -> AsyncIterator[Master]:
    async with _master(tmp_path) as m:
        yield m


@contextlib.asynccontextmanager
async def _master(tmp_path: Path, **options: Any) -> AsyncIterator[Master]:
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "in.txt").write_text("hello\n")
    (ws / "buildnet.json").write_text(json.dumps({"version": 1, "targets": TARGETS}))
    async with Master(ws, secret=SECRET, **options) as m:
        yield m


class Raw:
    """A hand-driven connection: exact bytes out, decoded messages in."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.frames = FrameReader()
        self.ids = 0

    @classmethod
    async def open(cls, m: Master) -> Raw:
        r, w = await asyncio.open_connection(*m.address)
        return cls(r, w)

    async def send_bytes(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send(self, payload: Payload) -> str:
        self.ids += 1
        mid = f"raw-{self.ids}"
        await self.send_bytes(encode(Message(mid, 0, payload)))
        return mid

    async def next(self, timeout: float = 20) -> Optional[Message]:
        """The next message, or None when the master closed the connection."""

        async def read() -> Optional[Message]:
            while True:
                m = self.frames.next_message()
                if m is not None:
                    return m
                data = await self.reader.read(65536)
                if not data:
                    return None
                self.frames.feed(data)

        return await asyncio.wait_for(read(), timeout)

    async def handshake(
        self, role: str = "client", secret: bytes = SECRET, **hello: Any
    ) -> HelloAck:
        peer_id = hello.pop("peer_id", f"raw-{role}")
        hs = ConnectingHandshake(secret, role, peer_id, **hello)
        await self.send(hs.hello())
        challenge = await self.next()
        assert challenge is not None
        await self.send(hs.on_challenge(challenge.payload, challenge.id))  # type: ignore[arg-type]
        ack = await self.next()
        assert ack is not None
        assert isinstance(ack.payload, HelloAck)
        return hs.on_hello_ack(ack.payload)

    async def expect_error(self, code: ErrorCode, *, fatal: bool) -> ErrorReply:
        m = await self.next()
        assert m is not None, "the master closed the connection without an ERROR"
        assert isinstance(m.payload, ErrorReply), m
        assert ErrorCode.from_wire(m.payload.code) == code, m.payload
        assert m.payload.fatal is fatal
        if fatal:
            assert await self.next() is None, "the connection stayed open after a fatal ERROR"
        return m.payload

    def close(self) -> None:
        self.writer.close()


def body(payload: dict[str, Any], type_code: int, **envelope: Any) -> bytes:
    env: dict[str, Any] = {
        "version": 1, "type": type_code, "id": "x-1", "timestamp": 0, "runtime": "python",
        "payload": payload,
    }  # fmt: skip
    env.update(envelope)
    data = bytes(msgpack.packb(env, use_bin_type=True))
    return len(data).to_bytes(4, "big") + data


def trailing(frame: bytes) -> bytes:
    """``frame`` with one byte (a nil) after its envelope, inside the frame."""
    data = frame[4:] + b"\xc0"
    return len(data).to_bytes(4, "big") + data


async def assert_healthy(m: Master) -> None:
    async with await buildnet.connect(*m.address, secret=SECRET) as c:
        await c.state.set("health", b"ok")
        assert await c.state.get("health") == b"ok"


# ---- handshake ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_wrong_secret_is_refused(master: Master) -> None:
    with pytest.raises(buildnet.AuthError, match="wrong proof"):
        await buildnet.connect(*master.address, secret=b"not-the-secret-at-all")
    await assert_healthy(master)


@pytest.mark.asyncio
async def test_a_hello_of_another_major_version_is_refused_with_a_reason(master: Master) -> None:
    raw = await Raw.open(master)
    hs = ConnectingHandshake(SECRET, "client", "old")
    hello = hs.hello()
    await raw.send_bytes(
        body(
            {"role": "client", "peer_id": "old", "minor": 0, "nonce": hello.nonce},
            MessageType.HELLO,
            version=2,
        )
    )
    m = await raw.next()
    assert m is not None
    assert isinstance(m.payload, HelloAck)
    assert not m.payload.accepted
    assert m.payload.error_code == ErrorCode.UNSUPPORTED_VERSION
    assert "2" in (m.payload.reason or "")
    assert await raw.next() is None


@pytest.mark.asyncio
async def test_anything_but_a_proof_after_the_challenge_is_refused(master: Master) -> None:
    raw = await Raw.open(master)
    await raw.send(ConnectingHandshake(SECRET, "client", "c").hello())
    assert await raw.next() is not None  # AUTH_CHALLENGE
    await raw.send(StateGet("k"))
    m = await raw.next()
    assert m is not None
    assert isinstance(m.payload, HelloAck)
    assert m.payload.error_code == ErrorCode.AUTH_FAILED
    assert "proof missing" in (m.payload.reason or "")
    assert await raw.next() is None


@pytest.mark.asyncio
async def test_a_request_before_the_handshake_is_an_unexpected_message(master: Master) -> None:
    raw = await Raw.open(master)
    await raw.send(StateGet("k"))
    await raw.expect_error(ErrorCode.UNEXPECTED_MESSAGE, fatal=True)


@pytest.mark.asyncio
async def test_an_unknown_type_before_the_handshake_is_a_fatal_unknown_type(master: Master) -> None:
    raw = await Raw.open(master)
    await raw.send_bytes(body({}, 0x99, id="odd-0"))
    e = await raw.expect_error(ErrorCode.UNKNOWN_TYPE, fatal=True)
    assert e.reply_to == "odd-0"


@pytest.mark.asyncio
async def test_a_silent_connection_is_closed_after_the_handshake_timeout(tmp_path: Path) -> None:
    async with _master(tmp_path, handshake_timeout=0.5) as m:
        raw = await Raw.open(m)
        await raw.expect_error(ErrorCode.TIMEOUT, fatal=True)


# ---- malformed frames and pre-authentication limits --------------------------------------------


@pytest.mark.asyncio
async def test_a_tcp_connection_that_never_starts_tls_is_closed_at_the_handshake_timeout(
    tmp_path: Path,
) -> None:
    # docs/PROTOCOL.md: the handshake timeout counts from the TCP accept, TLS handshake included.
    # asyncio's own TLS handshake timeout (60 s) used to hold such a socket six times as long.
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=buildnet-test",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    async with _master(tmp_path, tls=tls, handshake_timeout=0.5) as m:
        reader, writer = await asyncio.open_connection(*m.address)
        # Closed without a word: saying why would take the rest of the TLS handshake.
        assert await asyncio.wait_for(reader.read(), 20) == b""
        writer.close()


@pytest.mark.asyncio
async def test_a_frame_above_64_kib_before_the_handshake_is_too_large(master: Master) -> None:
    raw = await Raw.open(master)
    # Only the prefix is sent: the master refuses it without waiting for (or allocating) a body.
    await raw.send_bytes((65537).to_bytes(4, "big"))
    e = await raw.expect_error(ErrorCode.FRAME_TOO_LARGE, fatal=True)
    assert "65536" in e.message


@pytest.mark.asyncio
async def test_a_frame_above_the_maximum_after_the_handshake_is_too_large(tmp_path: Path) -> None:
    async with _master(tmp_path, max_frame_bytes=1 << 20) as m:
        raw = await Raw.open(m)
        await raw.handshake()
        await raw.send_bytes(((1 << 20) + 1).to_bytes(4, "big"))
        await raw.expect_error(ErrorCode.FRAME_TOO_LARGE, fatal=True)
        await assert_healthy(m)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"\x00\x00\x00\x02\xc1\xc1", ErrorCode.BAD_FRAME),
        (b"\x00\x00\x00\x00", ErrorCode.BAD_FRAME),
        (b"\x00\x00\x00\x01\x05", ErrorCode.BAD_FRAME),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", ErrorCode.FRAME_TOO_LARGE),
    ],
    ids=["0xC1", "empty frame", "not a map", "http"],
)
@pytest.mark.asyncio
async def test_garbage_before_the_handshake_gets_an_error_and_a_close(
    master: Master, data: bytes, code: ErrorCode
) -> None:
    raw = await Raw.open(master)
    await raw.send_bytes(data)
    await raw.expect_error(code, fatal=True)
    await assert_healthy(master)


@pytest.mark.asyncio
async def test_bad_frames_after_the_handshake_get_the_error_the_spec_names(master: Master) -> None:
    cases = [
        (trailing(body({"key": "k"}, MessageType.STATE_GET)), ErrorCode.BAD_FRAME),
        (body({"key": ""}, MessageType.STATE_GET), ErrorCode.INVALID_PAYLOAD),
        (body({"key": b"\xff".decode("latin-1")}, MessageType.STATE_GET)
         .replace(b"\xc3\xbf", b"\xc0\xaf"), ErrorCode.INVALID_UTF8),
    ]  # fmt: skip
    nested: Any = "x"
    for _ in range(20):
        nested = [nested]
    cases.append((body({"key": "k", "extra": nested}, MessageType.STATE_GET), ErrorCode.TOO_DEEP))
    for data, code in cases:
        raw = await Raw.open(master)
        await raw.handshake()
        await raw.send_bytes(data)
        await raw.expect_error(code, fatal=True)
    await assert_healthy(master)


@pytest.mark.asyncio
async def test_a_message_of_another_major_version_after_the_handshake_is_fatal(
    master: Master,
) -> None:
    # Majors are incompatible (docs/PROTOCOL.md, "Versioning"): a frame of another major is not
    # served as if it were 1.x, even once the handshake is done; the Java side does the same.
    raw = await Raw.open(master)
    await raw.handshake()
    await raw.send_bytes(body({"key": "k"}, MessageType.STATE_GET, id="v2-1", version=2))
    e = await raw.expect_error(ErrorCode.UNSUPPORTED_VERSION, fatal=True)
    assert e.reply_to == "v2-1"
    assert "2" in e.message
    await assert_healthy(master)


@pytest.mark.asyncio
async def test_an_unknown_type_is_answered_and_the_connection_stays_open(master: Master) -> None:
    raw = await Raw.open(master)
    await raw.handshake()
    await raw.send_bytes(body({"anything": 1}, 0x99, id="odd-1"))
    e = await raw.expect_error(ErrorCode.UNKNOWN_TYPE, fatal=False)
    assert e.reply_to == "odd-1"
    mid = await raw.send(StateGet("missing"))
    m = await raw.next()
    assert m is not None
    assert m.payload == StateResponse(mid, False)


@pytest.mark.asyncio
@pytest.mark.parametrize("role", ["client", "worker"])
async def test_an_unsolicited_blob_chunk_is_dropped_unanswered(master: Master, role: str) -> None:
    raw = await Raw.open(master)
    resources: dict[str, Any] = {"cpu_slots": 1, "memory_mb": 64} if role == "worker" else {}
    await raw.handshake(role, **resources)
    await raw.send(BlobChunk("never-asked", 0, b"x" * 1000, False))
    await raw.send(BlobChunk("never-asked", 1000, b"", True, "xxh64:" + "0" * 16, 1000))
    mid = await raw.send(StateGet("missing"))
    m = await raw.next()  # the first reply answers the STATE_GET: no ERROR came before it
    assert m is not None
    assert m.payload == StateResponse(mid, False)
    assert master.stats["dropped_chunks"] == 2
    assert master.stats["blob_bytes_in"] == 0


@pytest.mark.asyncio
@pytest.mark.parametrize("role", ["client", "worker"])
async def test_every_unsolicited_reply_type_is_dropped_unanswered(
    master: Master, role: str
) -> None:
    raw = await Raw.open(master)
    resources: dict[str, Any] = {"cpu_slots": 1, "memory_mb": 64} if role == "worker" else {}
    await raw.handshake(role, **resources)
    for reply in [
        Ack("never-asked"), ErrorReply(5, "x", False, "never-asked"), ErrorReply(5, "x", False),
        HeartbeatAck("never-asked"), BuildStarted("never-asked", "b"),
        StateResponse("never-asked", False), LockResponse("never-asked", False),
        ResourceStatus(True, 0, 0, 0, 0), BlobHasResponse("never-asked", ()),
        BlobPutResponse("never-asked", "xxh64:" + "0" * 16, True),
    ]:  # fmt: skip
        await raw.send(reply)
    mid = await raw.send(StateGet("missing"))
    m = await raw.next()  # the first reply answers the STATE_GET: no ERROR came before it
    assert m is not None
    assert m.payload == StateResponse(mid, False)


@pytest.mark.asyncio
async def test_session_messages_after_the_handshake_are_unexpected(master: Master) -> None:
    raw = await Raw.open(master)
    await raw.handshake()
    for payload in [
        Hello("client", "again", 3, b"n" * 32), HelloAck("x", False, 3, "m", None, 8, "no"),
        AuthChallenge("x", b"n" * 32), AuthProof("x", b"p" * 32),
    ]:  # fmt: skip
        mid = await raw.send(payload)
        e = await raw.expect_error(ErrorCode.UNEXPECTED_MESSAGE, fatal=False)
        assert e.reply_to == mid


@pytest.mark.asyncio
async def test_a_frame_trickled_one_byte_at_a_time_is_accepted(master: Master) -> None:
    raw = await Raw.open(master)
    hs = ConnectingHandshake(SECRET, "client", "slow")
    for b in encode(Message("h-1", 0, hs.hello())):
        await raw.send_bytes(bytes([b]))
    m = await raw.next()
    assert m is not None
    assert m.type == MessageType.AUTH_CHALLENGE


async def _until(what: str, done: Callable[[], bool]) -> None:
    """Waits (a failure bound only) until ``done()`` holds on this loop."""
    deadline = asyncio.get_running_loop().time() + 20
    while not done():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_at_the_handshake_cap_the_oldest_unauthenticated_connection_makes_room(
    tmp_path: Path,
) -> None:
    # As the Java listener: sockets held open without authenticating never keep out a peer that
    # authenticates promptly.
    async with _master(tmp_path, max_unauthenticated=2) as m:
        oldest = await Raw.open(m)
        await _until("the master holds the first", lambda: len(m._pending) == 1)
        younger = await Raw.open(m)
        await _until("the master holds both", lambda: len(m._pending) == 2)
        prompt = await Raw.open(m)
        await prompt.handshake()
        e = await oldest.expect_error(ErrorCode.BUSY, fatal=True)
        assert "handshake" in e.message
        assert e.reply_to is None
        await younger.handshake()  # still open: only the oldest was closed
        for r in (younger, prompt):
            r.close()


@pytest.mark.asyncio
async def test_unauthenticated_connections_per_address_beyond_the_cap_are_refused(
    tmp_path: Path,
) -> None:
    async with _master(tmp_path, max_unauthenticated_per_address=2) as m:
        idle = [await Raw.open(m) for _ in range(2)]
        await _until("the master holds both", lambda: len(m._pending) == 2)
        extra = await Raw.open(m)
        e = await extra.expect_error(ErrorCode.BUSY, fatal=True)
        assert "127.0.0.1" in e.message
        assert "handshake" in e.message
        await idle[0].handshake()  # the refused one took nothing from those already there
        await assert_healthy(m)
        for r in idle:
            r.close()


@pytest.mark.asyncio
async def test_connections_per_address_beyond_the_cap_are_refused(tmp_path: Path) -> None:
    async with _master(tmp_path, max_connections_per_address=2) as m:
        first = await Raw.open(m)
        await first.handshake()
        second = await Raw.open(m)
        await second.handshake()
        third = await Raw.open(m)
        e = await third.expect_error(ErrorCode.BUSY, fatal=True)
        assert "127.0.0.1" in e.message
        first.close()
        second.close()


@pytest.mark.asyncio
async def test_connections_that_end_in_reverse_order_give_their_places_back(
    tmp_path: Path,
) -> None:
    # The first of two authenticated connections from one address to end once hid the other's
    # handshake count, whose cleanup then failed (KeyError) before it gave back its place under
    # the per-address cap or unregistered the peer.
    async with _master(tmp_path, max_connections_per_address=2) as m:
        first = await Raw.open(m)
        await first.handshake()
        second = await Raw.open(m)
        await second.handshake()
        second.close()
        await _until("the second has ended", lambda: m._per_address.get("127.0.0.1") == 1)
        first.close()
        await _until("both have ended", lambda: "127.0.0.1" not in m._per_address)
        again = [await Raw.open(m) for _ in range(2)]
        for r in again:
            await r.handshake()
            r.close()


@pytest.mark.asyncio
async def test_abusive_bytes_on_one_connection_do_not_disturb_others(master: Master) -> None:
    async with await buildnet.connect(*master.address, secret=SECRET) as c:
        for junk in (b"\xff" * 100, b"\x00\x00\x00\x10" + b"\x81" * 16, b"\x00\x00"):
            raw = await Raw.open(master)
            await raw.handshake()
            await raw.send_bytes(junk)
            raw.writer.write_eof()
            while await raw.next() is not None:
                pass
            await c.state.set("still", junk)
            assert await c.state.get("still") == junk


# ---- state, locks, resources, blobs ------------------------------------------------------------


@pytest.mark.asyncio
async def test_state_and_fenced_locks_round_trip_through_sqlite(master: Master) -> None:
    async with await buildnet.connect(*master.address, secret=SECRET) as a, \
            await buildnet.connect(*master.address, secret=SECRET) as b:  # fmt: skip
        assert not await a.state.set("k", b"1")
        assert await a.state.set("k", b"2")
        assert await b.state.get("k") == b"2"
        assert await a.state.increment("n", 5) == 5
        assert await b.state.increment("n", -2) == 3
        await a.state.set("text", b"x")
        with pytest.raises(buildnet.RemoteError) as caught:
            await a.state.increment("text", 1)
        assert caught.value.code == ErrorCode.STATE_ERROR
        assert await a.state.set_if_absent("once", b"a")
        assert not await b.state.set_if_absent("once", b"b")
        assert await a.state.compare_and_set("once", b"a", b"c")
        assert await a.state.keys("o") == ["once"]
        assert await a.state.delete("once")
        first = a.lock("deploy", lease=30)
        assert await first.try_acquire()
        assert not await b.lock("deploy", lease=30).try_acquire()
        stale = first.fencing_token
        await first.release()
        second = b.lock("deploy", lease=30)
        assert await second.try_acquire()
        assert second.fencing_token > stale
        raw = await Raw.open(master)
        await raw.handshake()
        await raw.send(LockRelease("deploy", str(stale), first.holder))
        await raw.expect_error(ErrorCode.LOCK_NOT_HELD, fatal=False)
        await second.release()
    # The rows are in the Java engine's SQLite layout.
    import sqlite3

    db = sqlite3.connect(master.workspace / ".buildnet" / "state.db")
    try:
        assert db.execute("SELECT value FROM kv WHERE key = 'n'").fetchone() == (b"3",)
        token = db.execute("SELECT last_token FROM fencing WHERE resource = 'deploy'").fetchone()
        assert token == (2,)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        db.close()


@pytest.mark.asyncio
async def test_resource_claims_are_accounted_per_worker_and_refused_to_clients(
    master: Master,
) -> None:
    worker = await Raw.open(master)
    await worker.handshake("worker", cpu_slots=4, memory_mb=1000, capabilities=["py"])
    mid = await worker.send(ResourceClaim("c1", 3, 600))
    m = await worker.next()
    assert m is not None
    assert m.payload == ResourceStatus(True, 1, 400, 4, 1000, mid, "c1")
    await worker.send(ResourceClaim("c2", 2, 100))
    await worker.expect_error(ErrorCode.BUSY, fatal=False)
    await worker.send(ResourceClaim("c3", 5, 100))
    await worker.expect_error(ErrorCode.INVALID_PAYLOAD, fatal=False)
    mid = await worker.send(ResourceRelease("c1"))
    m = await worker.next()
    assert m is not None
    assert m.payload == ResourceStatus(True, 4, 1000, 4, 1000, mid, "c1")
    client = await Raw.open(master)
    await client.handshake()
    await client.send(ResourceClaim("c1", 1, 1))
    await client.expect_error(ErrorCode.UNSUPPORTED, fatal=False)


@pytest.mark.asyncio
async def test_blobs_are_content_addressed_and_verified_on_every_read(
    master: Master, tmp_path: Path
) -> None:
    async with await buildnet.connect(*master.address, secret=SECRET) as c:
        data = bytes(range(256)) * 9000  # more than two chunks
        digest = await c.blobs.put_bytes(data)
        assert await c.blobs.missing([digest, "xxh64:0000000000000000"]) == [
            "xxh64:0000000000000000"
        ]
        assert await c.blobs.get(digest, tmp_path / "back") == len(data)
        assert (tmp_path / "back").read_bytes() == data
        hexdigits = digest.split(":")[1]
        stored = master.workspace / ".buildnet" / "cas" / "xxh64" / hexdigits[:2] / hexdigits
        assert stored.read_bytes() == data  # the Java BlobStore's layout
        stored.write_bytes(data[:-1] + b"\x00")
        with pytest.raises(buildnet.BlobTransferError, match=r"DIGEST_MISMATCH|corrupt"):
            await c.blobs.get(digest, tmp_path / "again")
        assert not stored.exists()  # a corrupt blob is deleted
        assert not (tmp_path / "again").exists()
        with pytest.raises(buildnet.BlobTransferError):
            await c.blobs.missing(["sha256:" + "0" * 64])


# ---- builds ------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_target_no_worker_can_run_fails_after_the_placement_timeout(
    tmp_path: Path,
) -> None:
    async with (
        _master(tmp_path, placement_timeout=0.5) as m,
        await buildnet.connect(*m.address, secret=SECRET) as c,
    ):
        result = await (await c.submit(["gpu"])).result(30)
    assert not result.ok
    assert result.failed_targets == ("gpu",)
    assert "could not be placed" in (result.error or "")
    assert "['gpu']" in (result.error or "")


@pytest.mark.asyncio
async def test_unknown_targets_and_taken_build_ids_are_refused(master: Master) -> None:
    async with await buildnet.connect(*master.address, secret=SECRET) as c:
        with pytest.raises(buildnet.RemoteError, match="did you mean gen"):
            await c.submit(["gne"])
        await (await c.submit(["gpu"], build_id="b-1")).cancel()
        with pytest.raises(buildnet.RemoteError, match="taken"):
            await c.submit(["gen"], build_id="b-1")


@pytest.mark.asyncio
async def test_cancel_reaches_the_worker_and_ends_the_build(master: Master) -> None:
    worker = buildnet.Worker(capabilities=["py"], slots=1, worker_id="w-cancel")
    task = asyncio.ensure_future(worker.start(*master.address, secret=SECRET))
    try:
        async with await buildnet.connect(*master.address, secret=SECRET) as c:
            build = await c.submit(["sleepy"])
            async for e in build.events():
                if e.kind == "log" and e.line == "going":
                    break
            assert worker.running_attempts == 1
            await build.cancel("enough")
            result = await build.result(30)
            assert not result.ok
            assert "cancel" in (result.error or "")
            deadline = asyncio.get_running_loop().time() + 30
            while worker.running_attempts and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)  # polling a condition; the deadline is a failure bound
            assert worker.running_attempts == 0
    finally:
        await worker.close()
        with contextlib.suppress(BaseException):
            await task


@pytest.mark.asyncio
async def test_busy_refusals_are_requeued_and_results_of_other_attempts_ignored(
    master: Master,
) -> None:
    busy = await Raw.open(master)
    await busy.handshake("worker", peer_id="busy", cpu_slots=1, memory_mb=100, capabilities=["py"])
    async with await buildnet.connect(*master.address, secret=SECRET) as c:
        build = await c.submit(["sleepy"])
        first = await busy.next()
        assert first is not None
        assert isinstance(first.payload, TargetRun)
        assert first.payload.attempt == 1
        # A second worker joins, then the first refuses: attempt 2 goes to the second.
        good = await Raw.open(master)
        await good.handshake(
            "worker", peer_id="good", cpu_slots=1, memory_mb=100, capabilities=["py"]
        )
        await busy.send(ErrorReply(int(ErrorCode.BUSY), "all slots taken", False, first.id))
        second = await good.next()
        assert second is not None
        assert isinstance(second.payload, TargetRun)
        assert second.payload.attempt == 2
        # A result for the refused attempt, and one from the wrong connection: both ignored.
        await busy.send(BuildCompleted(second.payload.build_id, 1, "sleepy", 1, outputs=()))
        await busy.send(BuildCompleted(second.payload.build_id, 1, "sleepy", 2, outputs=()))
        await good.send(BuildCompleted(second.payload.build_id, 5, "sleepy", 2, outputs=()))
        result = (await build.result(30)).check()
        assert result.executed == 1
    assert master.stats["ignored_results"] == 2


@pytest.mark.asyncio
async def test_a_subscription_replays_what_the_master_remembers_of_a_build(master: Master) -> None:
    async with await buildnet.connect(*master.address, secret=SECRET) as c:
        await (await c.submit(["gpu"], build_id="b-replay")).cancel()
        watcher = await Raw.open(master)
        await watcher.handshake()
        mid = await watcher.send(Subscribe("s-1", "b-replay"))
        ack = await watcher.next()
        assert ack is not None
        assert ack.payload == Ack(mid)
        events = []
        for _ in range(2):
            m = await watcher.next()
            assert m is not None
            assert isinstance(m.payload, Event)
            events.append((m.payload.seq, m.payload.kind, m.payload.target, m.payload.status))
        assert events == [
            (1, "build_started", None, None),
            (2, "target_finished", "gpu", "cancelled"),
        ]
        m = await watcher.next()
        assert m is not None
        assert isinstance(m.payload, Event)
        assert (m.payload.seq, m.payload.kind, m.payload.status) == (
            3,
            "build_finished",
            "cancelled",
        )
        await watcher.send(Subscribe("s-1"))
        await watcher.expect_error(ErrorCode.INVALID_PAYLOAD, fatal=False)


@pytest.mark.asyncio
async def test_a_reattach_replays_the_events_above_since_then_the_final_message(
    master: Master,
) -> None:
    async with await buildnet.connect(*master.address, secret=SECRET) as c:
        await (await c.submit(["gpu"], build_id="b-gone")).cancel()
    raw = await Raw.open(master)
    await raw.handshake()
    for since, expected in ((0, [1, 2, 3]), (2, [3]), (3, [])):
        mid = await raw.send(Subscribe(f"s-{since}", "b-gone", since=since))
        ack = await raw.next()
        assert ack is not None
        assert ack.payload == Ack(mid)
        seqs = []
        for _ in expected:
            m = await raw.next()
            assert m is not None
            assert isinstance(m.payload, Event), m
            seqs.append(m.payload.seq)
        assert seqs == expected
        final = await raw.next()
        assert final is not None
        assert isinstance(final.payload, BuildFailed), final
        assert final.payload.build_id == "b-gone"
    await raw.send(Subscribe("s-9", "b-unknown", since=9))
    await raw.expect_error(ErrorCode.NOT_FOUND, fatal=False)
    raw.close()


@pytest.mark.asyncio
async def test_a_client_that_lost_its_connection_reattaches_with_logs_and_gets_the_result(
    master: Master, tmp_path: Path
) -> None:
    first = await buildnet.connect(*master.address, secret=SECRET)
    build = await first.submit(["gen"], logs=True)
    async for e in build.events():
        if e.kind == "build_started":
            break
    await first.close()  # lost; no worker yet, so the build waits and runs on without it
    seen = build.last_event_seq
    assert seen >= 1
    worker = buildnet.Worker(capabilities=["py"], slots=1, work_dir=tmp_path / "w",
                             worker_id="w-reattach")  # fmt: skip
    task = asyncio.ensure_future(worker.start(*master.address, secret=SECRET))
    try:
        async with await buildnet.connect(*master.address, secret=SECRET) as second:
            again = await second.attach(build.build_id, since=seen, logs=True)
            events = [e async for e in again.events()]
            result = (await again.result(60)).check()
    finally:
        await worker.close()
        with contextlib.suppress(BaseException):
            await task
    assert ("target_finished", "gen", "built") in [(e.kind, e.target, e.status) for e in events]
    assert [e.kind for e in events][-2:] == ["build_finished", "completed"], events
    assert [o.path for o in result.outputs] == ["out/gen.txt"]
    assert again.last_event_seq > seen


@pytest.mark.asyncio
async def test_an_error_quoting_a_huge_request_is_cut_to_the_bound(master: Master) -> None:
    raw = await Raw.open(master)
    await raw.handshake()
    await raw.send(BlobGet("xxh64:" + "a" * (5 << 20)))
    error = await raw.expect_error(ErrorCode.INVALID_PAYLOAD, fatal=False)
    assert len(error.message) <= 1024, error.message[:200]
    assert error.message.startswith("digest 'xxh64:aaa"), error.message[:200]
    assert error.message.endswith(" characters)"), error.message
    assert "…(cut: " in error.message, error.message
    await raw.send(StateGet("still-open"))
    answer = await raw.next()
    assert answer is not None
    assert isinstance(answer.payload, StateResponse), answer
    raw.close()


@pytest.mark.asyncio
async def test_a_fencing_token_that_is_no_int64_is_lock_not_held_not_internal(
    master: Master,
) -> None:
    raw = await Raw.open(master)
    await raw.handshake()
    for token in ("9" * 5000, "9" * 20, "\u00b2"):
        await raw.send(LockRenew("deploy", "h", token, 1000))
        await raw.expect_error(ErrorCode.LOCK_NOT_HELD, fatal=False)
        await raw.send(LockRelease("deploy", token, "h"))
        await raw.expect_error(ErrorCode.LOCK_NOT_HELD, fatal=False)
    raw.close()


@pytest.mark.asyncio
async def test_a_peer_silent_past_the_heartbeat_timeout_is_declared_dead(tmp_path: Path) -> None:
    async with _master(tmp_path, heartbeat_timeout=0.5) as m:
        raw = await Raw.open(m)
        ack = await raw.handshake("worker", cpu_slots=1, memory_mb=10)
        assert ack.heartbeat_ms is not None
        assert ack.heartbeat_ms < 500
        assert "raw-worker" in m.workers
        e = await raw.expect_error(ErrorCode.TIMEOUT, fatal=True)
        assert "heartbeat timeout" in e.message
        assert "raw-worker" not in m.workers
        await assert_healthy(m)
