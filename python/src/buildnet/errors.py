"""The exceptions of the ``buildnet`` package: one root, :class:`BuildNetError`.

Misuse of the API (a payload built with a wrong value, an id that is too long) raises the
built-in ``ValueError``/``TypeError`` instead, like any Python library.
"""

from __future__ import annotations

from typing import Optional

from buildnet._codes import ErrorCode

__all__ = [
    "AuthError",
    "BlobTransferError",
    "BuildFailedError",
    "BuildNetError",
    "ConnectionLostError",
    "FrameTooLargeError",
    "HandshakeError",
    "LockNotHeldError",
    "LockUnavailableError",
    "ProtocolError",
    "RemoteError",
    "RequestTimeoutError",
    "UnknownMessageTypeError",
    "VersionMismatchError",
]


class BuildNetError(Exception):
    """Root of every error this package raises for a failure that is not API misuse."""


# The most characters an ERROR's ``message`` has (``docs/PROTOCOL.md``, "Error texts").
_MAX_ERROR_TEXT = 1024


def _bounded_error_text(text: str) -> str:
    """``text`` if it has at most :data:`_MAX_ERROR_TEXT` characters, else its head and how long it
    was: an error quotes what the peer sent, and a request of several MiB must not come back as an
    ERROR as large (over the peer's frame limit, unanswered) nor fill a log line."""
    if len(text) <= _MAX_ERROR_TEXT:
        return text
    note = f"…(cut: {len(text)} characters)"
    return text[: _MAX_ERROR_TEXT - len(note)] + note


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
        self.detail = _bounded_error_text(detail)
        self.message_id = message_id
        self.fatal = fatal
        where = f" (message {message_id!r})" if message_id is not None else ""
        super().__init__(f"{code.name} ({int(code)}): {self.detail}{where}")


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


class VersionMismatchError(HandshakeError):
    """The listener speaks another protocol major version (``UNSUPPORTED_VERSION``)."""


class ConnectionLostError(BuildNetError):
    """The connection to the master ended (closed by either side, reset, or silent past its
    idle timeout) before the operation finished. ``reason`` says why, for people."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"the connection to the master was lost: {reason}")


class RequestTimeoutError(BuildNetError, TimeoutError):
    """The master did not answer a request within its timeout (the connection may be fine)."""


class RemoteError(BuildNetError):
    """The master answered a request with ERROR. ``code`` is the wire code (an
    :class:`ErrorCode` when known), ``remote_message`` the master's text, ``request`` the name of
    the request's message type."""

    def __init__(self, request: str, code: int, remote_message: str) -> None:
        self.request = request
        self.code = code
        self.remote_message = remote_message
        super().__init__(
            f"{request} refused by the master: {ErrorCode.from_wire(code).name} ({code}): "
            f"{remote_message}"
        )


class LockNotHeldError(RemoteError):
    """A lock renewed or released is no longer ours (``LOCK_NOT_HELD``): released, expired, or
    granted to another holder."""


class BlobTransferError(BuildNetError):
    """A blob upload or download failed: refused or unknown blob, digest mismatch, or a lost
    connection (then ``__cause__`` is the :class:`ConnectionLostError`)."""


class BuildFailedError(BuildNetError):
    """Raised by ``BuildResult.check()`` for a failed build; ``result`` is the whole result."""

    def __init__(self, result: object, message: str) -> None:
        self.result = result
        super().__init__(message)


class LockUnavailableError(BuildNetError):
    """A lock could not be acquired within the wait given (another holder has it)."""

    def __init__(self, name: str, waited: float) -> None:
        self.name = name
        self.waited = waited
        super().__init__(f"lock {name!r} is held by another holder (waited {waited:g} s)")
