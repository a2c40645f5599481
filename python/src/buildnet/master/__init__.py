"""A BuildNet master in asyncio (``buildnet-master``): coordinates Java and Python workers and
serves clients over docs/PROTOCOL.md, sharing the workspace's ``.buildnet/`` cache with the Java
engine (docs/CACHE-KEY.md)."""

from buildnet.master._server import Master
from buildnet.master._workspace import WorkspaceError

__all__ = ["Master", "WorkspaceError"]
