"""TLS between this package and a master. The Java ``serve`` command has no TLS option yet, so
the in-test fake master listens with TLS, on loopback, with a self-signed certificate made by
the ``openssl`` command for the test."""

from __future__ import annotations

import ssl
import subprocess
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

import buildnet
from buildnet import Worker, _digests
from buildnet.protocol import BuildCompleted, Output, TargetRun
from tests.fakemaster import FakeMaster, run_target

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(cert.pem, key.pem) of a self-signed EC certificate for 127.0.0.1, valid for one day."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=buildnet-test",
         "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


@pytest_asyncio.fixture
async def master(certificate: tuple[Path, Path]) -> AsyncIterator[FakeMaster]:
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(*certificate)
    async with FakeMaster(tls=server) as m:
        yield m


def trusting(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


async def test_a_client_and_a_worker_work_over_tls(
    master: FakeMaster, certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    tls = trusting(certificate)
    async with await buildnet.connect("127.0.0.1", master.port, secret=master.secret, tls=tls) as c:
        digest = await c.blobs.put_bytes(b"over tls\n")
        assert await c.blobs.get(digest, tmp_path / "back") == 9
        assert (tmp_path / "back").read_bytes() == b"over tls\n"
        assert master.peers[0].writer.get_extra_info("ssl_object") is not None
    async with Worker(capabilities=["python"], work_dir=tmp_path / "w") as w:
        w.start("127.0.0.1", master.port, secret=master.secret, tls=tls)
        peer = await master.workers.get()
        run = TargetRun("b1", "t", 1, ("cat", "in"), "", {"PATH": "/usr/bin:/bin"},
                        (Output("in", digest, 9),), ())  # fmt: skip
        _, logs, end = await run_target(peer, run)
        assert isinstance(end.payload, BuildCompleted), end
        assert [p.message for p in logs] == ["over tls"]
        assert peer.writer.get_extra_info("ssl_object") is not None
    assert master.blobs[digest] == b"over tls\n"
    assert _digests.of_bytes("xxh64", b"over tls\n") == digest


async def test_a_certificate_the_client_does_not_trust_is_refused(master: FakeMaster) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="self-signed certificate"):
        # tls=True: the system's trust store, which does not hold the test's certificate.
        await buildnet.connect("127.0.0.1", master.port, secret=master.secret, tls=True)
