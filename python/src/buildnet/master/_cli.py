"""``buildnet-master``: runs a master for a workspace until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import ssl
import sys
from typing import TYPE_CHECKING, Optional

from buildnet.client import read_secret
from buildnet.master._server import Master
from buildnet.master._store import StateError
from buildnet.master._workspace import WorkspaceError

if TYPE_CHECKING:
    from collections.abc import Sequence


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"must be HOST:PORT but was {text!r}")
    return host.strip("[]"), int(port)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds but was {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive but was {text!r}")
    return value


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``buildnet-master --secret-file F [--listen HOST:PORT] [--workspace DIR] ...``"""
    parser = argparse.ArgumentParser(
        prog="buildnet-master",
        description="Runs a BuildNet master for a workspace until interrupted; prints "
        "'listening on HOST:PORT' once it accepts connections.",
    )
    parser.add_argument("--secret-file", required=True, help="file holding the shared secret")
    parser.add_argument(
        "--listen", type=_host_port, default=("127.0.0.1", 7890),
        help="HOST:PORT to listen on (default 127.0.0.1:7890; port 0 picks a free one)",
    )  # fmt: skip
    parser.add_argument("--workspace", "-w", default=".", help="workspace with buildnet.json")
    parser.add_argument(
        "--heartbeat-timeout",
        type=_positive,
        default=15.0,
        metavar="S",
        help="declare a silent worker dead after S seconds (default 15)",
    )
    parser.add_argument(
        "--placement-timeout",
        type=_positive,
        default=300.0,
        metavar="S",
        help="fail a target no worker can run after S seconds (default 300)",
    )
    parser.add_argument(
        "--defer-outputs",
        action="store_true",
        help="deferred outputs (as Java's 'serve --defer-outputs'): outputs of targets the build "
        "did not request, and that no target reads as declared inputs, stay on the worker that "
        "made them and are fetched only when a target on another worker consumes them",
    )
    parser.add_argument("--tls-cert", help="PEM certificate chain (with --tls-key): serve TLS")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")
    parser.add_argument("--id", dest="master_id", help="master id (default: random)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if bool(args.tls_cert) != bool(args.tls_key):
        print("buildnet-master: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    try:
        secret = read_secret(args.secret_file)
    except OSError as e:
        print(f"buildnet-master: cannot read the secret file: {e}", file=sys.stderr)
        return 2
    tls: Optional[ssl.SSLContext] = None
    if args.tls_cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            tls.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as e:
            print(f"buildnet-master: cannot load the TLS certificate or key: {e}", file=sys.stderr)
            return 2
    try:
        master = Master(
            args.workspace,
            secret=secret,
            listen=args.listen,
            heartbeat_timeout=args.heartbeat_timeout,
            placement_timeout=args.placement_timeout,
            tls=tls,
            master_id=args.master_id,
            defer_outputs=args.defer_outputs,
        )
    except ValueError as e:
        print(f"buildnet-master: {e}", file=sys.stderr)
        return 2

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with master:
            host, port = master.address
            print(f"listening on {host}:{port}", flush=True)
            await stop.wait()

    try:
        asyncio.run(serve())
    except (WorkspaceError, StateError) as e:
        print(f"buildnet-master: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(
            f"buildnet-master: cannot listen on {args.listen[0]}:{args.listen[1]}: {e}",
            file=sys.stderr,
        )
        return 1
    return 0
