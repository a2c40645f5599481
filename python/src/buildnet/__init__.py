"""BuildNet for Python: an asyncio client, worker and master.

* :func:`connect` -> :class:`Client` (builds, ``state``, ``lock()``, ``blobs``);
  :mod:`buildnet.sync` is the blocking facade for scripts;
* :class:`Worker` (and the ``buildnet-worker`` console script) runs targets for a master;
* :class:`Master` (and the ``buildnet-master`` console script) is a master for Java and Python
  workers and clients;
* :mod:`buildnet.protocol` is the wire protocol, pure; :mod:`buildnet.errors` the exceptions.
"""

from buildnet.client import (
    Build,
    BuildEvent,
    BuildResult,
    Client,
    Lock,
    State,
    connect,
    read_secret,
)
from buildnet.errors import (
    AuthError,
    BlobTransferError,
    BuildFailedError,
    BuildNetError,
    ConnectionLostError,
    FrameTooLargeError,
    HandshakeError,
    LockNotHeldError,
    LockUnavailableError,
    ProtocolError,
    RemoteError,
    RequestTimeoutError,
    UnknownMessageTypeError,
    VersionMismatchError,
)
from buildnet.master import Master
from buildnet.worker import Worker

__version__ = "0.1.0.dev0"

__all__ = [
    "AuthError",
    "BlobTransferError",
    "Build",
    "BuildEvent",
    "BuildFailedError",
    "BuildNetError",
    "BuildResult",
    "Client",
    "ConnectionLostError",
    "FrameTooLargeError",
    "HandshakeError",
    "Lock",
    "LockNotHeldError",
    "LockUnavailableError",
    "Master",
    "ProtocolError",
    "RemoteError",
    "RequestTimeoutError",
    "State",
    "UnknownMessageTypeError",
    "VersionMismatchError",
    "Worker",
    "__version__",
    "connect",
    "read_secret",
]
