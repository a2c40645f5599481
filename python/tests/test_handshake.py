"""The handshake proofs and the connecting side's steps, against the auth example."""

from __future__ import annotations

import pytest

from buildnet import AuthError, HandshakeError
from buildnet.protocol import (
    MINOR,
    AuthChallenge,
    ConnectingHandshake,
    ErrorCode,
    HelloAck,
    check_secret,
    client_proof,
    decode,
    new_nonce,
    proofs_match,
    server_proof,
)
from tests.vectors import VECTORS

AUTH = VECTORS["auth"]
SECRET = bytes.fromhex(AUTH["secret_hex"])
NC = bytes.fromhex(AUTH["client_nonce_hex"])
NS = bytes.fromhex(AUTH["server_nonce_hex"])
PS = bytes.fromhex(AUTH["server_proof_hex"])


def golden(name: str) -> bytes:
    return bytes.fromhex(next(v["hex"] for v in VECTORS["vectors"] if v["name"] == name))


def worker(secret: bytes = SECRET) -> ConnectingHandshake:
    # The golden hello_worker frame is a 1.0 worker's (minor 0), so this one states minor 0 too.
    return ConnectingHandshake(
        secret, "worker", "worker-1", minor=0, capabilities=["node", "esbuild"], cpu_slots=8,
        memory_mb=16384, nonce=NC,
    )  # fmt: skip


def test_the_hello_states_this_packages_minor_by_default() -> None:
    hs = ConnectingHandshake(SECRET, "client", "c-1")
    assert hs.hello().minor == MINOR == 3


def accepted(proof: bytes = PS) -> HelloAck:
    return HelloAck(reply_to="w-1", accepted=True, minor=0, peer_id="master-1", proof=proof)


def test_the_golden_handshake_succeeds_with_the_golden_proofs() -> None:
    hs = worker()
    assert hs.hello() == decode(golden("hello_worker")).payload
    challenge = decode(golden("auth_challenge"))
    assert isinstance(challenge.payload, AuthChallenge)
    proof = hs.on_challenge(challenge.payload, challenge.id)
    assert proof == decode(golden("auth_proof")).payload
    ack = decode(golden("hello_ack_accepted")).payload
    assert isinstance(ack, HelloAck)
    assert hs.on_hello_ack(ack) is ack


def test_a_listener_with_another_secret_fails_its_proof() -> None:
    hs = worker()
    hs.on_challenge(AuthChallenge(reply_to="w-1", nonce=NS), "m-1")
    wrong = server_proof(b"another secret of 16+ bytes", NC, NS, "master-1")
    with pytest.raises(AuthError, match="could not prove") as caught:
        hs.on_hello_ack(accepted(wrong))
    assert caught.value.code == ErrorCode.AUTH_FAILED


def test_the_server_proof_is_bound_to_the_listener_id() -> None:
    hs = worker()
    hs.on_challenge(AuthChallenge(reply_to="w-1", nonce=NS), "m-1")
    ack = HelloAck(reply_to="w-1", accepted=True, minor=0, peer_id="master-2", proof=PS)
    with pytest.raises(AuthError):
        hs.on_hello_ack(ack)


def test_an_accepting_ack_without_a_challenge_is_an_impostor() -> None:
    with pytest.raises(AuthError, match="without a challenge"):
        worker().on_hello_ack(accepted())


def test_a_second_challenge_is_refused() -> None:
    hs = worker()
    hs.on_challenge(AuthChallenge(reply_to="w-1", nonce=NS), "m-1")
    with pytest.raises(HandshakeError):
        hs.on_challenge(AuthChallenge(reply_to="w-1", nonce=NS), "m-2")


def test_a_refusal_raises_with_its_code_and_reason() -> None:
    ack = decode(golden("hello_ack_refused_version")).payload
    assert isinstance(ack, HelloAck)
    with pytest.raises(HandshakeError) as caught:
        worker().on_hello_ack(ack)
    assert not isinstance(caught.value, AuthError)
    assert caught.value.code == ErrorCode.UNSUPPORTED_VERSION
    assert "UNSUPPORTED_VERSION" in str(caught.value)
    assert "this master speaks 1.0" in str(caught.value)


def test_an_auth_failed_refusal_is_an_auth_error() -> None:
    ack = HelloAck(
        reply_to="w-1", accepted=False, minor=0, peer_id="m", error_code=8,
        reason="authentication failed: wrong proof",
    )  # fmt: skip
    with pytest.raises(AuthError, match="AUTH_FAILED"):
        worker().on_hello_ack(ack)


def test_proofs_are_not_interchangeable() -> None:
    pc = client_proof(SECRET, NS, NC, "worker", "worker-1")
    assert pc != server_proof(SECRET, NC, NS, "worker-1")
    assert pc != client_proof(SECRET, NS, NC, "client", "worker-1")
    assert pc != client_proof(SECRET, NC, NS, "worker", "worker-1")  # nonces swapped
    # the 0x00 separator: role "worke" + id "rworker-1" differs from role "worker" + "worker-1"
    assert pc != client_proof(SECRET, NS, NC, "worke", "rworker-1")


def test_proofs_match_is_exact() -> None:
    assert proofs_match(PS, bytes(PS))
    assert not proofs_match(PS, PS[:-1])
    assert not proofs_match(PS, None)


def test_nonces_are_fresh_32_bytes() -> None:
    a, b = new_nonce(), new_nonce()
    assert len(a) == len(b) == 32
    assert a != b


def test_a_short_secret_is_refused() -> None:
    check_secret(b"x" * 16)
    with pytest.raises(ValueError, match="at least 16 bytes"):
        check_secret(b"x" * 15)
    with pytest.raises(ValueError, match="was 5"):
        worker(secret=b"short")
