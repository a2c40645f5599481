"""Message type and error codes (``docs/PROTOCOL.md``); public as :mod:`buildnet.protocol.types`."""

from __future__ import annotations

import enum

__all__ = ["MAJOR", "MINOR", "RUNTIME", "ErrorCode", "MessageType"]

#: The protocol major version this package speaks; carried in every envelope.
MAJOR = 1
#: The minor version this package speaks; exchanged in HELLO and HELLO_ACK.
MINOR = 3
#: This implementation's ``runtime`` envelope field.
RUNTIME = "python"


class MessageType(enum.IntEnum):
    """The envelope's ``type`` code of each message."""

    HELLO = 0x01
    HELLO_ACK = 0x02
    AUTH_CHALLENGE = 0x03
    AUTH_PROOF = 0x04
    ACK = 0x0E
    ERROR = 0x0F
    HEARTBEAT = 0x10
    HEARTBEAT_ACK = 0x11
    BUILD_REQUEST = 0x20
    BUILD_STARTED = 0x21
    BUILD_PROGRESS = 0x22
    BUILD_COMPLETED = 0x23
    BUILD_FAILED = 0x24
    BUILD_CANCEL = 0x25
    TARGET_CANCEL = 0x26
    TARGET_RUN = 0x27
    STATE_GET = 0x30
    STATE_SET = 0x31
    STATE_DELETE = 0x32
    STATE_RESPONSE = 0x33
    STATE_KEYS = 0x34
    STATE_INCREMENT = 0x35
    LOCK_ACQUIRE = 0x40
    LOCK_RELEASE = 0x41
    LOCK_RESPONSE = 0x42
    LOCK_RENEW = 0x43
    RESOURCE_CLAIM = 0x50
    RESOURCE_RELEASE = 0x51
    RESOURCE_STATUS = 0x52
    BLOB_HAS = 0x60
    BLOB_HAS_RESPONSE = 0x61
    BLOB_PUT = 0x62
    BLOB_PUT_RESPONSE = 0x63
    BLOB_GET = 0x64
    BLOB_CHUNK = 0x65
    SUBSCRIBE = 0x70
    UNSUBSCRIBE = 0x71
    EVENT = 0x72


class ErrorCode(enum.IntEnum):
    """The ``code`` of an ERROR payload and the ``error_code`` of a refusing HELLO_ACK."""

    BAD_FRAME = 1
    FRAME_TOO_LARGE = 2
    TOO_DEEP = 3
    INVALID_UTF8 = 4
    INVALID_PAYLOAD = 5
    UNKNOWN_TYPE = 6
    UNSUPPORTED_VERSION = 7
    AUTH_FAILED = 8
    UNEXPECTED_MESSAGE = 9
    TIMEOUT = 10
    NOT_FOUND = 11
    BUSY = 12
    CANCELLED = 13
    DIGEST_MISMATCH = 14
    UNSUPPORTED = 15
    INTERNAL = 16
    LOCK_NOT_HELD = 17
    STATE_ERROR = 18

    @classmethod
    def from_wire(cls, code: int) -> ErrorCode:
        """The code numbered ``code``; unknown numbers are treated as :attr:`INTERNAL`."""
        try:
            return cls(code)
        except ValueError:
            return cls.INTERNAL
