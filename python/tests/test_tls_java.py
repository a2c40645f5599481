"""TLS against the real Java master: ``serve --tls-store`` with a key store made by keytool."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import buildnet
from tests.javamaster import SECRET, JavaMaster

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.timeout(90)


def _keytool(*args: str) -> None:
    # keytool sits beside the java the master runs on, even when only java is on PATH.
    java = shutil.which("java")
    beside = Path(os.path.realpath(java)).parent / "keytool" if java else None
    tool = str(beside) if beside is not None and beside.exists() else shutil.which("keytool")
    assert tool is not None, "keytool (from the JDK) is needed to make the test key store"
    subprocess.run([tool, *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def tls_master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[JavaMaster, Path]]:
    tmp = tmp_path_factory.mktemp("tls-master")
    store, cert = tmp / "master.p12", tmp / "master.pem"
    _keytool("-genkeypair", "-alias", "master", "-keyalg", "EC", "-groupname", "secp256r1",
             "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-validity",
             "2", "-keystore", str(store), "-storetype", "PKCS12", "-storepass", "changeit",
             "-keypass", "changeit")  # fmt: skip
    _keytool("-exportcert", "-rfc", "-alias", "master", "-keystore", str(store),
             "-storepass", "changeit", "-file", str(cert))  # fmt: skip
    password = tmp / "password"
    password.write_text("changeit\n")
    m = JavaMaster(tmp, ["--tls-store", str(store), "--tls-password-file", str(password)])
    try:
        yield m, cert
    finally:
        m.stop()


@pytest.mark.asyncio
async def test_a_client_trusting_the_masters_certificate_talks_over_tls(
    tls_master: tuple[JavaMaster, Path],
) -> None:
    master, cert = tls_master
    context = ssl.create_default_context(cafile=str(cert))
    async with await buildnet.connect(master.host, master.port, secret=SECRET, tls=context) as c:
        await c.state.set("tls/k", b"v")
        assert await c.state.get("tls/k") == b"v"


@pytest.mark.asyncio
async def test_a_client_that_does_not_trust_it_is_refused(
    tls_master: tuple[JavaMaster, Path],
) -> None:
    master, _ = tls_master
    with pytest.raises((ssl.SSLError, buildnet.BuildNetError, OSError)):
        await buildnet.connect(master.host, master.port, secret=SECRET, tls=True, timeout=10)


@pytest.mark.asyncio
async def test_a_plain_connection_to_a_tls_master_fails(
    tls_master: tuple[JavaMaster, Path],
) -> None:
    master, _ = tls_master
    with pytest.raises((buildnet.BuildNetError, OSError)):
        await buildnet.connect(master.host, master.port, secret=SECRET, timeout=5)
