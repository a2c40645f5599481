"""The BuildNet wire protocol (``docs/PROTOCOL.md``): pure functions and types, no I/O.

* :func:`encode` / :func:`decode` turn a :class:`Message` into a canonical frame and back;
* :class:`FrameReader` turns stream chunks into messages;
* :mod:`buildnet.protocol.payloads` has one frozen dataclass per message type;
* :mod:`buildnet.protocol.auth` has the handshake proofs and the connecting side's steps.
"""

from buildnet.protocol.auth import (
    ConnectingHandshake,
    check_secret,
    client_proof,
    new_nonce,
    proofs_match,
    server_proof,
)
from buildnet.protocol.codec import (
    DEFAULT_MAX_FRAME_BYTES,
    HANDSHAKE_MAX_FRAME_BYTES,
    PREFIX_BYTES,
    FrameReader,
    Message,
    check_declared_length,
    decode,
    decode_body,
    encode,
)
from buildnet.protocol.payloads import *  # noqa: F403
from buildnet.protocol.payloads import __all__ as _payloads_all
from buildnet.protocol.types import MAJOR, MINOR, RUNTIME, ErrorCode, MessageType

__all__ = [
    "DEFAULT_MAX_FRAME_BYTES",
    "HANDSHAKE_MAX_FRAME_BYTES",
    "MAJOR",
    "MINOR",
    "PREFIX_BYTES",
    "RUNTIME",
    "ConnectingHandshake",
    "ErrorCode",
    "FrameReader",
    "Message",
    "MessageType",
    "check_declared_length",
    "check_secret",
    "client_proof",
    "decode",
    "decode_body",
    "encode",
    "new_nonce",
    "proofs_match",
    "server_proof",
    *_payloads_all,
]
