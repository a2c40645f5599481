"""The exceptions of the ``buildnet`` package: one root, :class:`BuildNetError`.

Misuse of the API (a payload built with a wrong value, an id that is too long) raises the
built-in ``ValueError``/``TypeError`` instead, like any Python library.
"""

from __future__ import annotations

from typing import Optional

from buildnet._codes import ErrorCode

__all__ = [
    "AuthError",
    "BuildNetError",
    "FrameTooLargeError",
    "HandshakeError",
    "ProtocolError",
    "UnknownMessageTypeError",
]


class BuildNetError(Exception):
    """Root of every error this package raises for a failure that is not API misuse."""


class ProtocolError(BuildNetError):
    """A frame or message the receiver must reject (``docs/PROTOCOL.md``).

    ``code`` is what the receiver puts in its ERROR reply (the numbers match the Java
    ``ErrorCode``); ``detail`` is the human-readable reason without the code; ``message_id`` is the
    offending message's envelope id when the decoder got that far; ``fatal`` says whether the
    connection must close.
    """

    def __init__(
        self,
        code: ErrorCode,
        detail: str,
        message_id: Optional[str] = None,
        *,
        fatal: bool = True,
    ) -> None:
        self.code = code
        self.detail = detail
        self.message_id = message_id
        self.fatal = fatal
        where = f" (message {message_id!r})" if message_id is not None else ""
        super().__init__(f"{code.name} ({int(code)}): {detail}{where}")


class FrameTooLargeError(ProtocolError):
    """A length prefix above the receiver's maximum frame size; raised before reading the body."""

    def __init__(self, declared: int, maximum: int) -> None:
        self.declared = declared
        self.maximum = maximum
        super().__init__(
            ErrorCode.FRAME_TOO_LARGE,
            f"frame of {declared} bytes exceeds the maximum of {maximum} bytes",
        )


class UnknownMessageTypeError(ProtocolError):
    """A well-formed message of a type this version does not know. Not fatal: answer ERROR
    ``UNKNOWN_TYPE`` with ``reply_to`` = ``message_id`` and keep the connection."""

    def __init__(self, type_code: int, message_id: str) -> None:
        self.type_code = type_code
        super().__init__(
            ErrorCode.UNKNOWN_TYPE,
            f"unknown message type 0x{type_code:02X}",
            message_id,
            fatal=False,
        )


class HandshakeError(BuildNetError):
    """The listener refused the connection (a HELLO_ACK with ``accepted: false``) or the handshake
    went wrong. ``code`` is the wire error code (an :class:`ErrorCode` when known) or None."""

    def __init__(self, message: str, code: Optional[int] = None) -> None:
        self.code = code
        super().__init__(message)


class AuthError(HandshakeError):
    """Authentication failed: the listener refused our proof (``AUTH_FAILED``), or it could not
    prove that it knows the shared secret."""
