"""Message type and error codes (``docs/PROTOCOL.md``, "Message types" and "Error codes")."""

# Defined outside this package so that buildnet.errors can use them without importing (and
# initialising) buildnet.protocol, which itself uses buildnet.errors.
from buildnet._codes import MAJOR, MINOR, RUNTIME, ErrorCode, MessageType

__all__ = ["MAJOR", "MINOR", "RUNTIME", "ErrorCode", "MessageType"]
