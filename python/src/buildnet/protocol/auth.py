"""The handshake's challenge-response proofs and the connecting side's handshake steps, without
I/O (``docs/PROTOCOL.md``, "Handshake and authentication").

Both sides prove they know the shared secret with HMAC-SHA256 over both nonces, so the secret
never crosses the wire; the labels make one side's proof useless as the other's::

    Pc = HMAC-SHA256(secret, "buildnet-client-proof" 0x00 Ns Nc role 0x00 peer_id)
    Ps = HMAC-SHA256(secret, "buildnet-server-proof" 0x00 Nc Ns listener_id)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING, Optional

from buildnet.errors import AuthError, HandshakeError, VersionMismatchError
from buildnet.protocol.payloads import NONCE_BYTES, AuthChallenge, AuthProof, Hello, HelloAck
from buildnet.protocol.types import MINOR, ErrorCode

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "MIN_SECRET_BYTES",
    "ConnectingHandshake",
    "check_secret",
    "client_proof",
    "new_nonce",
    "proofs_match",
    "server_proof",
]

#: Shortest shared secret accepted.
MIN_SECRET_BYTES = 16

_CLIENT_LABEL = b"buildnet-client-proof\x00"
_SERVER_LABEL = b"buildnet-server-proof\x00"


def new_nonce() -> bytes:
    """A fresh 32-byte nonce from the operating system's CSPRNG."""
    return secrets.token_bytes(NONCE_BYTES)


def check_secret(secret: bytes) -> None:
    """Raises ``ValueError`` if ``secret`` is too short to be a secret."""
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(
            f"the shared secret must be at least {MIN_SECRET_BYTES} bytes but was {len(secret)}"
        )


def client_proof(
    secret: bytes, server_nonce: bytes, client_nonce: bytes, role: str, peer_id: str
) -> bytes:
    """The connecting peer's proof ``Pc`` (sent in AUTH_PROOF)."""
    msg = _CLIENT_LABEL + server_nonce + client_nonce + role.encode() + b"\x00" + peer_id.encode()
    return hmac.new(secret, msg, hashlib.sha256).digest()


def server_proof(
    secret: bytes, client_nonce: bytes, server_nonce: bytes, listener_id: str
) -> bytes:
    """The listener's proof ``Ps`` (sent in an accepting HELLO_ACK)."""
    msg = _SERVER_LABEL + client_nonce + server_nonce + listener_id.encode()
    return hmac.new(secret, msg, hashlib.sha256).digest()


def proofs_match(expected: bytes, actual: Optional[bytes]) -> bool:
    """Constant-time comparison; False for None."""
    return actual is not None and hmac.compare_digest(expected, actual)


class ConnectingHandshake:
    """The connecting side (worker or client) of the handshake, as pure steps.

    1. send :meth:`hello` (remember the message id you send it under);
    2. on AUTH_CHALLENGE, send :meth:`on_challenge`'s AUTH_PROOF (``reply_to`` is set to the
       challenge's message id, which you pass in);
    3. on HELLO_ACK, call :meth:`on_hello_ack`: it returns the ack when the listener accepted us
       *and* proved it knows the secret, and raises :class:`HandshakeError` (refused) or
       :class:`AuthError` (wrong secret, on either side) otherwise; then close.

    An accepting HELLO_ACK without a challenge first is an impostor: the listener does not know
    the secret. Not thread-safe; one per connection attempt.
    """

    def __init__(
        self,
        secret: bytes,
        role: str,
        peer_id: str,
        *,
        minor: int = MINOR,
        capabilities: Optional[Sequence[str]] = None,
        cpu_slots: Optional[int] = None,
        memory_mb: Optional[int] = None,
        nonce: Optional[bytes] = None,
    ) -> None:
        check_secret(secret)
        self._secret = bytes(secret)
        self._hello = Hello(
            role=role,
            peer_id=peer_id,
            minor=minor,
            nonce=new_nonce() if nonce is None else nonce,
            capabilities=None if capabilities is None else tuple(capabilities),
            cpu_slots=cpu_slots,
            memory_mb=memory_mb,
        )
        self._server_nonce: Optional[bytes] = None

    def hello(self) -> Hello:
        """The HELLO payload to send first."""
        return self._hello

    def on_challenge(self, challenge: AuthChallenge, challenge_id: str) -> AuthProof:
        """The AUTH_PROOF answering ``challenge`` (whose envelope id is ``challenge_id``)."""
        if self._server_nonce is not None:
            raise HandshakeError("a second AUTH_CHALLENGE in one handshake")
        self._server_nonce = challenge.nonce
        h = self._hello
        return AuthProof(
            reply_to=challenge_id,
            proof=client_proof(self._secret, challenge.nonce, h.nonce, h.role, h.peer_id),
        )

    def on_hello_ack(self, ack: HelloAck) -> HelloAck:
        """Checks the listener's verdict and proof; returns ``ack`` if the handshake succeeded."""
        if not ack.accepted:
            code = ack.error_code
            name = ErrorCode.from_wire(code).name if code is not None else "?"
            text = f"refused by {ack.peer_id!r} ({name}, code {code}): {ack.reason}"
            if code == ErrorCode.AUTH_FAILED:
                raise AuthError(text, code)
            if code == ErrorCode.UNSUPPORTED_VERSION:
                raise VersionMismatchError(text, code)
            raise HandshakeError(text, code)
        if self._server_nonce is None:
            raise AuthError(
                f"the listener {ack.peer_id!r} accepted without a challenge: it cannot know "
                "the shared secret",
                ErrorCode.AUTH_FAILED,
            )
        expected = server_proof(self._secret, self._hello.nonce, self._server_nonce, ack.peer_id)
        if not proofs_match(expected, ack.proof):
            raise AuthError(
                f"the listener {ack.peer_id!r} could not prove it knows the shared secret",
                ErrorCode.AUTH_FAILED,
            )
        return ack
