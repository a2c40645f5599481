"""BuildNet for Python: a client and worker for a BuildNet master.

So far: :mod:`buildnet.protocol` (the wire protocol, pure) and :mod:`buildnet.errors`.
"""

from buildnet.errors import (
    AuthError,
    BuildNetError,
    FrameTooLargeError,
    HandshakeError,
    ProtocolError,
    UnknownMessageTypeError,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "AuthError",
    "BuildNetError",
    "FrameTooLargeError",
    "HandshakeError",
    "ProtocolError",
    "UnknownMessageTypeError",
    "__version__",
]
