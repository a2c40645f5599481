"""Example: a Python worker and a client on one master; the client builds a target the worker runs.

    python examples/build_with_worker.py --master 127.0.0.1:7890 --secret-file secret.txt app
    export BUILDNET_MASTER=127.0.0.1:7890 BUILDNET_SECRET_FILE=secret.txt
    python examples/build_with_worker.py app

The worker offers the capability ``python`` (targets with ``"requires": ["python"]`` go to it).
The script prints the build's events and result and downloads each output file into ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

import buildnet


async def build(host: str, port: int, secret: bytes, targets: list[str], out: Path) -> bool:
    async with buildnet.Worker(capabilities=["python"]) as worker:
        worker.start(host, port, secret=secret)  # runs in the background until closed
        if not await worker.wait_connected(timeout=15):
            raise SystemExit(f"the worker could not connect to {host}:{port}")
        print(f"worker {worker.worker_id} connected")

        async with await buildnet.connect(host, port, secret=secret) as client:
            b = await client.submit(targets)
            async for event in b.events():
                detail = event.line if event.kind == "log" else event.status
                print(f"  {event.kind:<16} {event.target or '':<10} {detail or ''}")
            result = await b.result()
            if not result.ok:
                print(f"failed: {result.error} (targets: {', '.join(result.failed_targets)})")
                return False
            print(f"succeeded: {result.executed} executed, {result.cache_hits} from cache")
            for o in result.outputs:
                dest = out / o.path
                dest.parent.mkdir(parents=True, exist_ok=True)
                size = await client.blobs.get(o.digest, dest)
                print(f"downloaded {o.path} ({size} bytes, {o.digest}) to {dest}")
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="+", help="targets to build")
    parser.add_argument("--master", default=os.environ.get("BUILDNET_MASTER"), help="HOST:PORT")
    parser.add_argument("--secret-file", default=os.environ.get("BUILDNET_SECRET_FILE"))
    parser.add_argument("--out", type=Path, default=Path("downloaded"), help="output directory")
    args = parser.parse_args()
    if not args.master or not args.secret_file:
        parser.error("give --master and --secret-file (or BUILDNET_MASTER, BUILDNET_SECRET_FILE)")
    host, _, port = args.master.rpartition(":")
    secret = buildnet.read_secret(args.secret_file)
    ok = asyncio.run(build(host, int(port), secret, args.targets, args.out))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
